"""The Network driver: clock, timers, callbacks, injection, trace, and determinism."""

from __future__ import annotations

import pytest
from simfakes import EchoStack, FakeStack, PacerStack, make_packet

from synfin.sim import LinkConfig, Network
from synfin.trace.records import NULL_SINK, LinkEvent, ListSink, Note, Record, TraceSink
from synfin.wire import parse_packet
from synfin.wire.flags import Flags
from synfin.wire.segment import Packet, TcpSegment

A, B = "10.0.0.1", "10.0.0.2"


def _pair(
    a: FakeStack, b: FakeStack, config: LinkConfig | None = None, sink: TraceSink = NULL_SINK
) -> Network:
    net = Network(sink=sink)
    net.connect(net.add_host(a), net.add_host(b), config or LinkConfig(delay_us=1_000))
    return net


def test_duplicate_address_is_refused() -> None:
    net = Network()
    net.add_host(FakeStack(A))
    with pytest.raises(ValueError):
        net.add_host(FakeStack(A))


def test_timer_fires_exactly_at_deadline() -> None:
    a, b = FakeStack(A), FakeStack(B)
    a.deadline = 123_456
    net = _pair(a, b)
    assert net.run() == 123_456
    assert a.fired == [123_456]


def test_moving_a_deadline_later_fires_at_the_new_time_only() -> None:
    a, b = FakeStack(A), FakeStack(B)
    a.deadline = 1_000
    net = _pair(a, b)

    def postpone() -> None:
        a.deadline = 5_000

    net.at(500, postpone)
    net.run()
    assert a.fired == [5_000]


def test_moving_a_deadline_earlier_fires_at_the_new_time() -> None:
    a, b = FakeStack(A), FakeStack(B)
    a.deadline = 9_000
    net = _pair(a, b)

    def hurry() -> None:
        a.deadline = 2_000

    net.at(100, hurry)
    net.run()
    assert a.fired == [2_000]


def test_cancelled_timer_does_not_advance_the_clock() -> None:
    a, b = FakeStack(A), FakeStack(B)
    a.deadline = 50_000
    net = _pair(a, b)

    def cancel() -> None:
        a.deadline = None

    net.at(10, cancel)
    assert net.run() == 10
    assert a.fired == []


def test_periodic_timer_sends_on_schedule() -> None:
    a, b = PacerStack(A, B, count=4, interval_us=3_000), FakeStack(B)
    net = _pair(a, b)
    net.run()
    assert a.fired == [0, 3_000, 6_000, 9_000]
    assert b.arrival_times() == [1_000, 4_000, 7_000, 10_000]


def test_stuck_deadline_is_reported() -> None:
    class Stuck(FakeStack):
        def on_timer(self, now: int) -> None:
            self.fired.append(now)

    a = Stuck(A)
    a.deadline = 7
    net = _pair(a, FakeStack(B))
    with pytest.raises(RuntimeError, match="next_deadline"):
        net.run()


def test_callbacks_run_at_their_time_and_their_packets_are_sent() -> None:
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b)
    seen: list[int] = []

    def app() -> None:
        seen.append(net.now)
        a.queue(make_packet(A, B))

    net.at(2_500, app)
    net.run()
    assert seen == [2_500]
    assert b.arrival_times() == [3_500]


def test_host_scoped_callback_polls_only_that_host() -> None:
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b)
    host_a = net.host(A)
    polls: list[int] = []
    host_a.at(50, lambda: polls.append(b.polls))
    host_a.at(100, lambda: a.queue(make_packet(A, B)))
    host_a.at(150, lambda: polls.append(b.polls))
    net.run()
    assert polls[0] == polls[1]
    assert b.arrival_times() == [1_100]


def test_after_schedules_relative_to_now() -> None:
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b)
    net.run_until(1_000)
    hits: list[int] = []
    net.after(250, lambda: hits.append(net.now))
    net.run()
    assert hits == [1_250]


def test_scheduling_in_the_past_is_an_error() -> None:
    net = _pair(FakeStack(A), FakeStack(B))
    net.run_until(1_000)
    with pytest.raises(ValueError):
        net.at(999, lambda: None)
    with pytest.raises(ValueError):
        net.inject(5, A, make_packet(B, A))


def test_work_done_before_run_is_sent_at_the_start() -> None:
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b)
    net.run_until(300)
    a.queue(make_packet(A, B))  # user code touching a stack between runs
    net.run()
    assert b.arrival_times() == [1_300]


def test_echo_round_trip() -> None:
    a, b = FakeStack(A), EchoStack(B)
    net = _pair(a, b, LinkConfig(delay_us=2_000))
    a.queue(make_packet(A, B, Flags.SYN, seq=77, src_port=4000, dst_port=80))
    assert net.run() == 4_000
    ((t, data),) = a.received
    reply = parse_packet(data)
    assert t == 4_000
    assert (reply.src, reply.dst, reply.segment.seq) == (B, A, 77)
    assert (reply.segment.src_port, reply.segment.dst_port) == (80, 4000)


def test_run_until_predicate_stops_at_that_step() -> None:
    a, b = PacerStack(A, B, count=10, interval_us=1_000), FakeStack(B)
    net = _pair(a, b)
    t = net.run(until=lambda: len(b.received) >= 3)
    assert t == 3_000
    assert len(b.received) == 3
    assert net.run() == 10_000


def test_run_predicate_true_at_start_returns_immediately() -> None:
    a, b = PacerStack(A, B, count=10, interval_us=1_000), FakeStack(B)
    net = _pair(a, b)
    assert net.run(until=lambda: True) == 0
    assert b.received == []


def test_run_stops_at_max_time() -> None:
    a, b = PacerStack(A, B, count=100, interval_us=1_000), FakeStack(B)
    net = _pair(a, b)
    assert net.run(max_time_us=5_500) == 5_500
    assert b.arrival_times() == [1_000, 2_000, 3_000, 4_000, 5_000]


def test_run_until_time_sets_the_clock_even_when_idle() -> None:
    net = _pair(FakeStack(A), FakeStack(B))
    assert net.run_until(42_000) == 42_000
    assert net.now == 42_000


def test_step_processes_one_working_event() -> None:
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b)
    a.queue(make_packet(A, B))
    assert net.step()
    assert net.now == 1_000 and len(b.received) == 1
    assert not net.step()


def test_on_step_lets_an_application_react() -> None:
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b)
    answered: list[int] = []

    def server_app() -> None:
        if len(b.received) > len(answered):
            answered.append(net.now)
            b.queue(make_packet(B, A, seq=len(answered)))

    net.on_step(server_app)
    a.queue(make_packet(A, B))
    net.run()
    assert answered == [1_000]
    assert a.arrival_times() == [2_000]


def test_inject_delivers_at_the_given_time() -> None:
    sink = ListSink()
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b, sink=sink)
    crafted = Packet("198.51.100.7", B, TcpSegment(9, 80, 301, 0, Flags.ACK, 1000, payload=b"old"))
    net.inject(25_000, "198.51.100.7", crafted)
    net.inject(30_000, "203.0.113.1", make_packet("203.0.113.1", B, Flags.RST))
    net.run()
    assert b.arrival_times() == [25_000, 30_000]
    assert parse_packet(b.received[0][1]) == crafted
    events = [r for r in sink.records if isinstance(r, LinkEvent)]
    assert [(e.t, e.src_host, e.dst_host, e.kind, e.t_arrive) for e in events] == [
        (25_000, "198.51.100.7", B, "inject", 25_000),
        (30_000, "203.0.113.1", B, "inject", 30_000),
    ]


def test_inject_to_unknown_address_is_lost() -> None:
    sink = ListSink()
    net = _pair(FakeStack(A), FakeStack(B), sink=sink)
    net.inject(10, "198.51.100.7", make_packet("198.51.100.7", "192.0.2.1"))
    net.run()
    (event,) = [r for r in sink.records if isinstance(r, LinkEvent)]
    assert (event.kind, event.fault) == ("lose", "no-route")


def test_link_events_record_send_and_arrival_times() -> None:
    sink = ListSink()
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b, LinkConfig(delay_us=3_000), sink=sink)
    net.at(1_000, lambda: a.queue(make_packet(A, B, Flags.SYN, seq=5)))
    net.note("hello")
    net.run()
    assert sink.records[0] == Note(0, "", "hello")
    event = sink.records[1]
    assert isinstance(event, LinkEvent)
    assert (event.t, event.src_host, event.dst_host, event.kind, event.t_arrive) == (
        1_000,
        A,
        B,
        "deliver",
        4_000,
    )
    assert event.packet.segment.seq == 5 and event.fault == ""


class _DisabledSink:
    enabled = False

    def __init__(self) -> None:
        self.records: list[Record] = []

    def emit(self, record: Record) -> None:
        self.records.append(record)


def test_disabled_sink_gets_nothing() -> None:
    sink = _DisabledSink()
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b, LinkConfig(loss=0.5), sink=sink)
    for seq in range(20):
        a.queue(make_packet(A, B, seq=seq))
    net.inject(5, A, make_packet(A, B))
    net.note("x")
    net.run()
    assert sink.records == []
    assert 0 < len(b.received) < 21


def _chatter(seed: int) -> tuple[list[Record], list[tuple[int, bytes]], list[tuple[int, bytes]]]:
    """Two pacers and an echo over lossy, duplicating, reordering, jittery links."""
    sink = ListSink()
    net = Network(seed=seed, sink=sink)
    a = PacerStack(A, B, count=60, interval_us=700)
    b = EchoStack(B)
    c = PacerStack("10.0.0.3", B, count=60, interval_us=900)
    ha, hb, hc = net.add_host(a), net.add_host(b), net.add_host(c)
    messy = LinkConfig(
        delay_us=2_000,
        loss=0.1,
        duplicate=0.1,
        reorder=0.1,
        reorder_delay_us=3_000,
        jitter_us=500,
        bandwidth_bps=2_000_000,
    )
    net.connect(ha, hb, messy)
    net.connect(hc, hb, messy)
    net.run()
    return sink.records, a.received, b.received


def test_same_seed_same_events_same_bytes() -> None:
    first = _chatter(2024)
    second = _chatter(2024)
    assert first == second
    assert len(first[2]) > 80
    other = _chatter(2025)
    assert other[2] != first[2]


def test_wake_polls_a_host_touched_by_a_scoped_callback() -> None:
    a, b = FakeStack(A), FakeStack(B)
    net = _pair(a, b)
    host_b = net.host(B)

    def touch_b() -> None:
        b.queue(make_packet(B, A))
        host_b.wake()

    net.host(A).at(200, touch_b)
    net.run()
    assert a.arrival_times() == [1_200]


def test_topology_views() -> None:
    net = _pair(FakeStack(A), FakeStack(B), LinkConfig(delay_us=5))
    assert [h.address for h in net.hosts] == [A, B]
    links = net.host(A).links
    assert list(links) == [B] and links[B].config.delay_us == 5
    with pytest.raises(KeyError):
        net.host("10.9.9.9")


def test_derived_random_sources_are_reproducible_and_independent() -> None:
    one, two = Network(seed=7), Network(seed=7)
    assert one.rng_for("isn:a").random() == two.rng_for("isn:a").random()
    assert one.rng_for("isn:a").random() != one.rng_for("isn:b").random()
    assert Network(seed=8).rng_for("isn:a").random() != two.rng_for("isn:a").random()
    assert one.rng.random() == two.rng.random()
