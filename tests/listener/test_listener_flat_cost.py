"""Per-event work does not grow with the number of connections (issue 5, rule 4), shown
structurally rather than by timing: the same foreground events (a handshake, data, a close, a
SYN,ACK retransmission timer, a FIN to a TIME-WAIT record, a segment for nobody) execute
exactly the same number of Python lines whether the stack holds a handful or a thousand
established connections, TIME-WAIT records and half-open records. A scan over connections,
timers or records anywhere on those paths would add lines per entry and fail the test.
(Wall-clock ratios are measured by ``bench/bench_scale.py``, not here.)"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from listenkit import PLAIN, SECOND, SERVER, Host, ack_of, segment, syn

from synfin.seq import seq_add
from synfin.states import State
from synfin.wire import Flags, Packet, TcpSegment, emit_packet, parse_packet

FOREGROUND = "10.0.0.1"
T = 100 * SECOND
MS = 1_000


def _background(i: int) -> str:
    return f"10.1.{i // 200}.{1 + i % 200}"


def _count_lines(fn: Callable[[], object]) -> int:
    """How many Python lines ``fn()`` executes (``sys.settrace`` line events)."""
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return tracer

    # No cyclic collection in the middle: its weakref callbacks would run Python lines.
    gc.collect()
    gc.disable()
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn()
    finally:
        sys.settrace(previous)
        gc.enable()
    return count


class Measured:
    """Drives one stack and counts the lines of each driver call sequence."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.lines: list[int] = []

    def deliver(self, seg: TcpSegment, src: str = FOREGROUND) -> list[TcpSegment]:
        data = emit_packet(Packet(src, SERVER, seg))
        stack, now = self.host.stack, self.host.now
        out: list[bytes] = []

        def event() -> None:
            stack.on_packet(data, now)
            out.extend(stack.poll_transmit(now))
            stack.next_deadline()

        self.lines.append(_count_lines(event))
        self.host.sent_elsewhere()
        return [parse_packet(d).segment for d in out]

    def user(self, call: Callable[[], object]) -> list[TcpSegment]:
        stack, now = self.host.stack, self.host.now
        out: list[bytes] = []

        def event() -> None:
            call()
            out.extend(stack.poll_transmit(now))
            stack.next_deadline()

        self.lines.append(_count_lines(event))
        self.host.sent_elsewhere()
        return [parse_packet(d).segment for d in out]

    def timer(self) -> list[TcpSegment]:
        stack, now = self.host.stack, self.host.now
        out: list[bytes] = []

        def event() -> None:
            stack.on_timer(now)
            out.extend(stack.poll_transmit(now))
            stack.next_deadline()

        self.lines.append(_count_lines(event))
        self.host.sent_elsewhere()
        return [parse_packet(d).segment for d in out]


def _build(n: int) -> tuple[Host, TcpSegment]:
    """A server with ``n`` idle established connections (made at 0), ``n`` TIME-WAIT records
    (made at T - 10 s) and ``n`` half-open records (made at T - 0.5 s). Also returns the
    last ACK of the first TIME-WAIT record."""
    host = Host(PLAIN.with_(syn_backlog=100_000), backlog=100_000)
    for i in range(n):
        (reply,) = host.feed(syn(20_000, 1000), src=_background(i))
        host.feed(ack_of(reply.seg), src=_background(i))
        assert host.listening.accept() is not None  # accepted, then left idle
    host.run_until(T - 10 * SECOND)
    last_acks = []
    for i in range(n):
        (reply,) = host.feed(syn(30_000, 1000), src=_background(i))
        host.feed(ack_of(reply.seg), src=_background(i))
        conn = host.listening.accept()
        assert conn is not None
        conn.close(host.now)
        (fin,) = host.flush()
        last_acks += host.feed(ack_of(fin.seg, flags=Flags.FIN | Flags.ACK),
                               src=_background(i))
    host.run_until(T - SECOND // 2)
    for i in range(n):
        host.feed(syn(40_000, 1000), src=_background(i))
    # Warm up the foreground address (the codec keeps small address caches).
    assert host.feed(syn(49_999, 7))
    host.feed(segment(Flags.RST, 49_999, 8))
    host.run_until(T)
    table = host.stack.table()
    assert sum(st is State.ESTABLISHED for _, st in table) == n
    assert sum(st is State.TIME_WAIT for _, st in table) == n
    assert sum(st is State.SYN_RECEIVED for _, st in table) == n
    return host, last_acks[0].seg


def _foreground(host: Host, tw_last_ack: TcpSegment) -> list[int]:
    """The same events against any background; returns the lines each one executed."""
    m = Measured(host)
    (syn_ack,) = m.deliver(syn(50_000, 5000))
    host.at(T + 10 * MS)
    assert m.deliver(ack_of(syn_ack)) == []
    conn = host.listening.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    host.at(T + 20 * MS)
    (ack,) = m.deliver(segment(Flags.ACK | Flags.PSH, 50_000, 5001, seq_add(syn_ack.seq, 1),
                               payload=b"request"))
    assert ack.ack == 5008
    assert conn.receive(now=host.now) == b"request"
    host.at(T + 30 * MS)
    (data,) = m.user(lambda: conn.send(b"response" * 10, host.now))
    host.at(T + 40 * MS)
    assert m.deliver(ack_of(data)) == []
    host.at(T + 50 * MS)
    (ack_of_fin,) = m.deliver(segment(Flags.FIN | Flags.ACK, 50_000, 5008,
                                      seq_add(data.seq, len(data.payload))))
    assert ack_of_fin.ack == 5009
    (fin,) = m.user(lambda: conn.close(host.now))
    assert m.deliver(ack_of(fin)) == []
    assert host.stack.state_of(conn.conn_id) is None  # CLOSED and forgotten
    host.at(T + 60 * MS)
    (first,) = m.deliver(syn(50_001, 9000))
    host.run_until(T + 1_060 * MS - 1)  # background timers may fire here, unmeasured
    host.now = T + 1_060 * MS
    (again,) = m.timer()
    assert again.seq == first.seq and again.flags == Flags.SYN | Flags.ACK
    fin_again = segment(Flags.FIN | Flags.ACK, 30_000, seq_add(tw_last_ack.ack, -1),
                        tw_last_ack.seq)
    (reack,) = m.deliver(fin_again, src=_background(0))
    assert (reack.flags, reack.seq, reack.ack) == (Flags.ACK, tw_last_ack.seq, tw_last_ack.ack)
    (rst,) = m.deliver(segment(Flags.ACK, 50_002, 1, 1, dport=81))
    assert rst.flags & Flags.RST
    return m.lines


def test_per_event_work_does_not_depend_on_the_number_of_connections() -> None:
    small = _foreground(*_build(5))
    large = _foreground(*_build(800))
    assert len(small) == 12
    assert all(lines > 0 for lines in small)
    assert large == small
