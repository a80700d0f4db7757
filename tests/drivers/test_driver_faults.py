"""The drivers' seeded fault injection (loss, duplication, delay, reordering), on its own."""

from __future__ import annotations

import pytest

from synfin.drivers.faults import NO_FAULTS, FaultInjector, FaultSpec

PACKETS = [i.to_bytes(2, "big") for i in range(2000)]


def run(spec: FaultSpec, seed: int | None = 1, step_us: int = 100) -> list[bytes]:
    """Feed the packets one per ``step_us`` and collect what comes out, in order."""
    inj = FaultInjector(spec, seed, "out")
    out: list[bytes] = []
    now = 0
    for packet in PACKETS:
        inj.submit(packet, now)
        out += inj.due(now)
        now += step_us
    release = inj.next_release()
    while release is not None:
        now = max(now, release)
        out += inj.due(now)
        release = inj.next_release()
    return out


def test_no_faults_passes_everything_through_in_order_at_once() -> None:
    inj = FaultInjector(NO_FAULTS, 1, "in")
    inj.submit(b"a", 0)
    inj.submit(b"b", 0)
    assert inj.next_release() == 0
    assert inj.due(0) == [b"a", b"b"]
    assert inj.next_release() is None and len(inj) == 0
    assert inj.counts == {}


def test_loss_drops_about_the_given_share_and_keeps_order() -> None:
    out = run(FaultSpec(loss=0.1))
    lost = len(PACKETS) - len(out)
    assert 120 < lost < 280  # 10% of 2000, with room for chance
    kept = set(out)
    assert out == [p for p in PACKETS if p in kept]


def test_same_seed_same_decisions_other_seed_others() -> None:
    spec = FaultSpec(loss=0.2, duplicate=0.1, reorder=0.1, jitter_us=500)
    assert run(spec, seed=5) == run(spec, seed=5)
    assert run(spec, seed=5) != run(spec, seed=6)
    a, b = FaultInjector(spec, 5, "in"), FaultInjector(spec, 5, "out")
    for i, packet in enumerate(PACKETS[:200]):
        a.submit(packet, i)
        b.submit(packet, i)
    assert a.counts != b.counts  # each direction has its own random stream


def test_duplication_sends_copies() -> None:
    out = run(FaultSpec(duplicate=0.5))
    assert 800 < len(out) - len(PACKETS) < 1200


def test_delay_holds_every_packet() -> None:
    inj = FaultInjector(FaultSpec(delay_us=1000), 1, "in")
    inj.submit(b"x", 0)
    assert inj.due(999) == []
    assert inj.next_release() == 1000
    assert inj.due(1000) == [b"x"]
    assert inj.counts == {"delayed": 1}


def test_reordering_lets_later_packets_overtake() -> None:
    inj = FaultInjector(FaultSpec(reorder=1.0, reorder_us=500), 1, "in")
    inj.submit(b"first", 0)
    spec_none = FaultInjector(NO_FAULTS, 1, "in")
    spec_none.submit(b"second", 100)
    assert inj.due(100) == []  # held
    assert spec_none.due(100) == [b"second"]
    assert inj.due(500) == [b"first"]
    out = run(FaultSpec(reorder=0.2, reorder_us=1000))
    assert sorted(out) == sorted(PACKETS) and out != PACKETS


@pytest.mark.parametrize("field,value", [("loss", 1.5), ("duplicate", -0.1), ("reorder", 2.0),
                                         ("delay_us", -1), ("jitter_us", -5)])
def test_invalid_specs_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValueError):
        FaultSpec(**{field: value})  # type: ignore[arg-type]
