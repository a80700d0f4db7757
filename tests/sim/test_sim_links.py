"""Links: exact propagation delay, bandwidth serialization, routing, seeded random faults."""

from __future__ import annotations

from functools import partial

import pytest
from simfakes import FakeStack, make_packet

from synfin.sim import LinkConfig, Network
from synfin.trace.records import LinkEvent, ListSink, Note
from synfin.wire.flags import Flags

A, B, C = "10.0.0.1", "10.0.0.2", "10.0.0.3"


def _pair(
    ab: LinkConfig, ba: LinkConfig | None = None, seed: int = 0, sink: ListSink | None = None
) -> tuple[Network, FakeStack, FakeStack]:
    net = Network(seed=seed, sink=sink) if sink is not None else Network(seed=seed)
    a, b = FakeStack(A), FakeStack(B)
    net.connect(net.add_host(a), net.add_host(b), ab, ba)
    return net, a, b


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LinkConfig(loss=1.5)
    with pytest.raises(ValueError):
        LinkConfig(delay_us=-1)
    with pytest.raises(ValueError):
        LinkConfig(bandwidth_bps=0)


def test_arrival_is_send_time_plus_one_way_delay() -> None:
    net, a, b = _pair(LinkConfig(delay_us=7_000))
    net.at(500, lambda: a.queue(make_packet(A, B)))
    net.run()
    assert b.arrival_times() == [7_500]


def test_directions_have_their_own_delays() -> None:
    net, a, b = _pair(LinkConfig(delay_us=1_000), LinkConfig(delay_us=9_000))
    a.queue(make_packet(A, B))
    b.queue(make_packet(B, A))
    net.run()
    assert b.arrival_times() == [1_000]
    assert a.arrival_times() == [9_000]


def test_ba_defaults_to_ab() -> None:
    net, a, b = _pair(LinkConfig(delay_us=4_000))
    b.queue(make_packet(B, A))
    net.run()
    assert a.arrival_times() == [4_000]


def test_bandwidth_serializes_packets_fifo() -> None:
    net, a, b = _pair(LinkConfig(delay_us=1_000, bandwidth_bps=1_000_000))
    first = make_packet(A, B, seq=1, payload=bytes(85))  # 20 + 20 + 85 = 125 octets = 1000 µs
    assert len(first) == 125
    a.queue(first)
    a.queue(make_packet(A, B, seq=2, payload=bytes(85)))
    net.run()
    assert b.arrival_times() == [2_000, 3_000]
    assert b.received_seqs() == [1, 2]


def test_serialization_rounds_up_to_whole_microseconds() -> None:
    net, a, b = _pair(LinkConfig(delay_us=0, bandwidth_bps=3_000_000))
    a.queue(make_packet(A, B))  # 40 octets = 320 bits / 3 Mbit/s = 106.67 µs
    net.run()
    assert b.arrival_times() == [107]


def test_idle_link_does_not_queue() -> None:
    net, a, b = _pair(LinkConfig(delay_us=0, bandwidth_bps=320_000))  # 40 octets = 1000 µs
    a.queue(make_packet(A, B))
    net.at(5_000, lambda: a.queue(make_packet(A, B)))
    net.run()
    assert b.arrival_times() == [1_000, 6_000]


def test_changing_a_link_mid_run() -> None:
    net, a, b = _pair(LinkConfig(delay_us=1_000))
    ha, hb = net.host(A), net.host(B)
    a.queue(make_packet(A, B))
    net.at(10_000, lambda: net.connect(ha, hb, LinkConfig(delay_us=2_000)))
    net.at(10_000, lambda: a.queue(make_packet(A, B)))
    net.run()
    assert b.arrival_times() == [1_000, 12_000]
    assert net.link(ha, hb).config.delay_us == 2_000


def test_unknown_destination_is_lost_as_no_route() -> None:
    sink = ListSink()
    net, a, b = _pair(LinkConfig(), sink=sink)
    a.queue(make_packet(A, "192.0.2.9"))
    net.run()
    assert b.received == []
    (event,) = [r for r in sink.records if isinstance(r, LinkEvent)]
    assert (event.kind, event.fault, event.dst_host, event.t_arrive) == (
        "lose",
        "no-route",
        "192.0.2.9",
        None,
    )


def test_known_host_without_a_link_is_unreachable() -> None:
    net, a, _ = _pair(LinkConfig())
    c = FakeStack(C)
    net.add_host(c)
    a.queue(make_packet(A, C))
    net.run()
    assert c.received == []
    with pytest.raises(KeyError):
        net.link(net.host(A), net.host(C))


def test_unparsable_bytes_are_routed_and_noted() -> None:
    sink = ListSink()
    net, a, b = _pair(LinkConfig(delay_us=10), sink=sink)
    junk = bytearray(make_packet(A, B))
    junk[9] = 17  # UDP, not TCP
    a.queue(bytes(junk))
    net.run()
    assert b.received == [(10, bytes(junk))]
    notes = [r for r in sink.records if isinstance(r, Note)]
    assert len(notes) == 1 and "unparsable" in notes[0].text


def _send_many(seed: int, config: LinkConfig, count: int = 2_000) -> FakeStack:
    net, a, b = _pair(config, seed=seed)
    for seq in range(count):
        a.queue(make_packet(A, B, seq=seq))
    net.run()
    return b


def test_random_loss_rate_is_about_right_and_reproducible() -> None:
    config = LinkConfig(delay_us=1_000, loss=0.2)
    first = _send_many(42, config)
    lost = 2_000 - len(first.received)
    assert 320 <= lost <= 480
    again = _send_many(42, config)
    assert again.received == first.received
    other = _send_many(43, config)
    assert other.received_seqs() != first.received_seqs()


def test_random_duplicates_arrive_right_after_the_original() -> None:
    b = _send_many(5, LinkConfig(delay_us=1_000, duplicate=0.25), count=400)
    seqs = b.received_seqs()
    extra = len(seqs) - 400
    assert 60 <= extra <= 140
    assert sorted(set(seqs)) == list(range(400))
    assert seqs == sorted(seqs)


def test_reorder_lets_later_packets_overtake() -> None:
    sink = ListSink()
    net, a, b = _pair(LinkConfig(delay_us=1_000, reorder=0.3, reorder_delay_us=5_000), sink=sink)
    for seq in range(200):
        net.at(seq * 100, partial(a.queue, make_packet(A, B, seq=seq)))
    net.run()
    seqs = b.received_seqs()
    assert sorted(seqs) == list(range(200))
    assert seqs != sorted(seqs)
    reordered = [e for e in sink.records if isinstance(e, LinkEvent) and e.fault == "reorder"]
    assert 30 <= len(reordered) <= 90
    assert all(e.t_arrive == e.t + 6_000 for e in reordered)


def test_jitter_varies_delay_but_keeps_order() -> None:
    net, a, b = _pair(LinkConfig(delay_us=1_000, jitter_us=800), seed=9)
    for seq in range(100):
        net.at(seq * 100, partial(a.queue, make_packet(A, B, seq=seq)))
    net.run()
    assert b.received_seqs() == list(range(100))
    delays = [t - seq * 100 for seq, t in enumerate(b.arrival_times())]
    assert min(delays) >= 1_000 and max(delays) <= 1_800
    assert len(set(delays)) > 10


def test_link_counters() -> None:
    net, a, b = _pair(LinkConfig(loss=0.5), seed=1)
    for seq in range(100):
        a.queue(make_packet(A, B, seq=seq, flags=Flags.ACK))
    net.run()
    link = net.link(net.host(A), net.host(B))
    assert link.sent == 100
    assert link.delivered == len(b.received)
    assert link.lost + link.delivered == 100
