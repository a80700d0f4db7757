"""Packet predicates and exactly staged faults (drop / delay / duplicate the nth match)."""

from __future__ import annotations

from simfakes import FakeStack, make_packet

from synfin.sim import (
    LinkConfig,
    Network,
    all_of,
    any_of,
    any_packet,
    flags_exactly,
    from_host,
    from_port,
    has_flags,
    none_of,
    to_host,
    to_port,
    with_payload,
)
from synfin.trace.records import LinkEvent, ListSink
from synfin.wire import parse_packet
from synfin.wire.flags import Flags

A, B = "10.0.0.1", "10.0.0.2"


def _pair(sink: ListSink | None = None) -> tuple[Network, FakeStack, FakeStack]:
    net = Network(seed=1, sink=sink) if sink is not None else Network(seed=1)
    a, b = FakeStack(A), FakeStack(B)
    net.connect(net.add_host(a), net.add_host(b), LinkConfig(delay_us=1_000))
    return net, a, b


def test_predicates_select_by_host_flags_ports_and_payload() -> None:
    fin_ack = parse_packet(make_packet(A, B, Flags.FIN | Flags.ACK, src_port=5, dst_port=80))
    data = parse_packet(make_packet(A, B, Flags.ACK, payload=b"x"))
    assert from_host(A)(fin_ack, A) and not from_host(B)(fin_ack, A)
    assert to_host(B)(fin_ack, A) and not to_host(A)(fin_ack, A)
    assert has_flags(Flags.FIN)(fin_ack, A) and not has_flags(Flags.SYN)(fin_ack, A)
    assert not flags_exactly(Flags.FIN)(fin_ack, A)
    assert flags_exactly(Flags.FIN | Flags.ACK)(fin_ack, A)
    assert with_payload()(data, A) and not with_payload()(fin_ack, A)
    assert from_port(5)(fin_ack, A) and to_port(80)(fin_ack, A) and not to_port(81)(fin_ack, A)
    assert any_packet()(data, B)


def test_combinators() -> None:
    fin = parse_packet(make_packet(B, A, Flags.FIN | Flags.ACK))
    assert all_of(from_host(B), has_flags(Flags.FIN))(fin, B)
    assert not all_of(from_host(A), has_flags(Flags.FIN))(fin, B)
    assert any_of(from_host(A), has_flags(Flags.FIN))(fin, B)
    assert not any_of(from_host(A), has_flags(Flags.SYN))(fin, B)
    assert none_of(has_flags(Flags.SYN), has_flags(Flags.RST))(fin, B)
    assert not none_of(has_flags(Flags.FIN))(fin, B)


def test_from_host_accepts_a_host_or_stack() -> None:
    net, a, _ = _pair()
    host = net.host(A)
    pkt = parse_packet(make_packet(A, B))
    assert from_host(host)(pkt, A) and from_host(a)(pkt, A)


def test_drop_loses_exactly_the_nth_match() -> None:
    net, a, b = _pair()
    fault = net.drop(all_of(from_host(A), has_flags(Flags.FIN)), nth=2)
    for seq in range(5):
        a.queue(make_packet(A, B, Flags.FIN | Flags.ACK, seq=seq))
    a.queue(make_packet(A, B, Flags.ACK, seq=99))
    net.run()
    assert b.received_seqs() == [0, 2, 3, 4, 99]
    assert fault.fired and fault.fired_at == 0
    assert fault.packet is not None and fault.packet.segment.seq == 1


def test_drop_counts_only_matching_packets() -> None:
    net, a, b = _pair()
    net.drop(has_flags(Flags.SYN), nth=1)
    a.queue(make_packet(A, B, Flags.ACK, seq=1))
    a.queue(make_packet(A, B, Flags.SYN, seq=2))
    a.queue(make_packet(A, B, Flags.SYN, seq=3))
    net.run()
    assert b.received_seqs() == [1, 3]


def test_several_drops_stage_consecutive_losses() -> None:
    net, a, b = _pair()
    faults = [net.drop(has_flags(Flags.SYN), nth=n) for n in (1, 2, 3)]
    for seq in range(4):
        a.queue(make_packet(A, B, Flags.SYN, seq=seq))
    net.run()
    assert b.received_seqs() == [3]
    assert all(f.fired for f in faults)


def test_unfired_fault_reports_not_fired() -> None:
    net, a, b = _pair()
    fault = net.drop(has_flags(Flags.RST))
    a.queue(make_packet(A, B, Flags.ACK))
    net.run()
    assert not fault.fired and fault.matches == 0
    assert len(b.received) == 1


def test_delay_holds_back_the_nth_match_only() -> None:
    sink = ListSink()
    net, a, b = _pair(sink)
    net.delay(from_host(A), by_us=5_000, nth=1)
    a.queue(make_packet(A, B, seq=1))
    a.queue(make_packet(A, B, seq=2))
    net.run()
    assert b.received == [(1_000, b.received[0][1]), (6_000, b.received[1][1])]
    assert b.received_seqs() == [2, 1]
    events = [r for r in sink.records if isinstance(r, LinkEvent)]
    assert [(e.kind, e.t_arrive, e.fault) for e in events] == [
        ("deliver", 6_000, "staged-delay"),
        ("deliver", 1_000, ""),
    ]


def test_duplicate_delivers_original_then_copy() -> None:
    sink = ListSink()
    net, a, b = _pair(sink)
    net.duplicate(has_flags(Flags.SYN), nth=1, copy_delay_us=30_000)
    a.queue(make_packet(A, B, Flags.SYN, seq=7))
    net.run()
    assert b.arrival_times() == [1_000, 31_000]
    assert b.received[0][1] == b.received[1][1]
    events = [r for r in sink.records if isinstance(r, LinkEvent)]
    assert [(e.kind, e.t_arrive, e.fault) for e in events] == [
        ("deliver", 1_000, ""),
        ("duplicate", 31_000, "staged-duplicate"),
    ]
    assert net.link(net.host(A), net.host(B)).duplicated == 1


def test_staged_fault_preempts_random_loss() -> None:
    net = Network(seed=3)
    a, b = FakeStack(A), FakeStack(B)
    net.connect(net.add_host(a), net.add_host(b), LinkConfig(delay_us=1_000, loss=1.0))
    net.delay(has_flags(Flags.SYN), by_us=2_000)
    a.queue(make_packet(A, B, Flags.SYN, seq=1))
    a.queue(make_packet(A, B, Flags.ACK, seq=2))
    net.run()
    assert b.received_seqs() == [1]
    assert b.arrival_times() == [3_000]


def test_drop_wins_when_two_faults_hit_one_packet() -> None:
    sink = ListSink()
    net, a, b = _pair(sink)
    delay = net.delay(any_packet(), by_us=10)
    drop = net.drop(any_packet())
    a.queue(make_packet(A, B))
    net.run()
    assert b.received == []
    assert delay.fired and drop.fired
    events = [r for r in sink.records if isinstance(r, LinkEvent)]
    assert [(e.kind, e.fault) for e in events] == [("lose", "staged-drop")]
