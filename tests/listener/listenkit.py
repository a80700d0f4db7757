"""Helpers for the listener and TIME-WAIT record tests.

:class:`Host` is one :class:`~synfin.stack.Stack` (10.0.0.2, listening on port 80 unless told
otherwise) that the test feeds hand-built segments through the driver contract
(``on_packet``/``poll_transmit``/``next_deadline``/``on_timer``); every segment it sends comes
back as a :class:`Sent` with the reason the stack gave. Sources may be any address, so a test
plays a legitimate client and a thousand spoofers alike.

:class:`Pair` is two stacks (client 10.0.0.1, server 10.0.0.2) in the seeded simulator, for
exchanges where both ends are real synfin.

Both write every record into one :class:`ListSink`; the functions at the bottom read it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from synfin.config import Config
from synfin.connection import Connection
from synfin.listener import Listener
from synfin.seq import seq_add
from synfin.sim import LinkConfig, Network
from synfin.stack import Stack
from synfin.states import State
from synfin.trace.records import (
    ConnId,
    ListSink,
    Record,
    SegmentDropped,
    SegmentSent,
    StateChange,
    TimerStarted,
)
from synfin.wire import (
    Flags,
    MssOption,
    Packet,
    SackPermittedOption,
    TcpOption,
    TcpSegment,
    TimestampsOption,
    WindowScaleOption,
    emit_packet,
    parse_packet,
)

CLIENT = "10.0.0.1"
SERVER = "10.0.0.2"
PORT = 80
SECOND = 1_000_000
#: No window scaling, timestamps or SACK: every segment is stated by flags and numbers.
PLAIN = Config(timestamps=False, sack=False, window_scaling=False)
#: The window the hand-built peers advertise.
PEER_WINDOW = 64240


@dataclass(frozen=True, slots=True)
class Sent:
    """A segment a stack sent: when, to whom, what, and why."""

    t: int
    dst: str
    seg: TcpSegment
    reason: str

    @property
    def flags(self) -> Flags:
        return self.seg.flags


def syn(sport: int, isn: int, *, mss: int | None = 1460, tsval: int | None = None,
        wscale: int | None = None, sack: bool = False, dport: int = PORT,
        window: int = PEER_WINDOW) -> TcpSegment:
    """A SYN with the options a test asks for (MSS 1460 by default, nothing else)."""
    options: list[TcpOption] = []
    if mss is not None:
        options.append(MssOption(mss))
    if sack:
        options.append(SackPermittedOption())
    if tsval is not None:
        options.append(TimestampsOption(tsval, 0))
    if wscale is not None:
        options.append(WindowScaleOption(wscale))
    return TcpSegment(sport, dport, isn, 0, Flags.SYN, window, 0, tuple(options))


def segment(flags: Flags, sport: int, seq: int, ack: int = 0, *, dport: int = PORT,
            payload: bytes = b"", ts: tuple[int, int] | None = None,
            window: int = PEER_WINDOW) -> TcpSegment:
    """Any other segment from a peer; ``ts`` is (TSval, TSecr)."""
    options: tuple[TcpOption, ...] = (TimestampsOption(*ts),) if ts is not None else ()
    return TcpSegment(sport, dport, seq, ack, flags, window, 0, options, payload)


def ack_of(reply: TcpSegment, *, flags: Flags = Flags.ACK, payload: bytes = b"",
           ts: tuple[int, int] | None = None) -> TcpSegment:
    """The peer's answer to ``reply`` (a SYN,ACK or data): SEQ = its ACK, ACK = its end."""
    return segment(flags, reply.dst_port, reply.ack, seq_add(reply.seq, reply.seg_len),
                   dport=reply.src_port, payload=payload, ts=ts)


class Host:
    """One stack fed hand-built segments, with a virtual clock the test moves."""

    def __init__(self, config: Config | None = None, *, address: str = SERVER,
                 listen: bool = True, backlog: int | None = None, secret: bytes = b"listenkit",
                 start: int = 0) -> None:
        self.sink = ListSink()
        self.address = address
        self.stack = Stack(address, config or Config(), secret=secret, rng=random.Random(7),
                           sink=self.sink)
        self.now = start
        self._mark = 0
        self.listener: Listener | None = (self.stack.listen(PORT, backlog, start)
                                          if listen else None)

    @property
    def listening(self) -> Listener:
        assert self.listener is not None
        return self.listener

    def feed(self, seg: TcpSegment, src: str = CLIENT) -> list[Sent]:
        """``seg`` arrives from ``src`` now; returns what the stack sends in answer."""
        self.stack.on_packet(emit_packet(Packet(src, self.address, seg)), self.now)
        return self.flush()

    def flush(self) -> list[Sent]:
        """Everything the stack sends now (``poll_transmit``), checked against the bytes."""
        data = self.stack.poll_transmit(self.now)
        records = self.sink.records[self._mark:]
        self._mark = len(self.sink.records)
        sent = [Sent(r.t, r.packet.dst, r.packet.segment, r.reason) for r in records
                if isinstance(r, SegmentSent)]
        assert [parse_packet(d).segment for d in data] == [s.seg for s in sent]
        return sent

    def sent_elsewhere(self) -> None:
        """Segments were taken from ``poll_transmit`` directly: ``flush`` starts after them."""
        self._mark = len(self.sink.records)

    def run_until(self, t: int) -> list[Sent]:
        """Fire every timer due up to ``t`` at its own time; the clock ends at ``t``."""
        out: list[Sent] = []
        while (deadline := self.stack.next_deadline()) is not None and deadline <= t:
            self.now = max(self.now, deadline)
            self.stack.on_timer(self.now)
            out += self.flush()
        self.now = max(self.now, t)
        return out

    def at(self, t: int) -> None:
        """Move the clock to ``t`` with no timer due on the way."""
        assert not self.run_until(t), "a timer fired on the way"

    def conn_id(self, sport: int, src: str = CLIENT, port: int = PORT) -> ConnId:
        return ConnId(self.address, port, src, sport)

    def drops(self) -> list[str]:
        return drop_reasons(self.sink.records, self.address)


class Pair:
    """Client 10.0.0.1 and server 10.0.0.2 on a simulated link (10 ms each way)."""

    def __init__(self, client: Config | None = None, server: Config | None = None, *,
                 backlog: int | None = None, delay_us: int = 10_000, seed: int = 1) -> None:
        self.sink = ListSink()
        self.net = Network(seed=seed, sink=self.sink)
        self.client = Stack(CLIENT, client or Config(), secret=b"pair-client",
                            rng=self.net.rng_for("client"), sink=self.sink)
        self.server = Stack(SERVER, server or Config(), secret=b"pair-server",
                            rng=self.net.rng_for("server"), sink=self.sink)
        ch, sh = self.net.add_host(self.client), self.net.add_host(self.server)
        self.net.connect(ch, sh, LinkConfig(delay_us=delay_us))
        self.listener = self.server.listen(PORT, backlog)

    @property
    def now(self) -> int:
        return self.net.now

    def connect(self, local_port: int | None = None) -> Connection:
        return self.client.connect(SERVER, PORT, self.net.now, local_port)

    def run_until(self, t: int) -> None:
        self.net.run_until(t)

    def run(self, until: int) -> None:
        """Run until nothing is left to do or ``until``."""
        self.net.run(max_time_us=until)

    def inject(self, src: str, seg: TcpSegment, dst: str = SERVER, at: int | None = None) -> None:
        """A crafted packet from ``src`` arrives at ``dst`` (now, or at ``at``)."""
        self.net.inject(self.net.now if at is None else at, src, Packet(src, dst, seg))

    def sent(self, host: str) -> list[Sent]:
        return [Sent(r.t, r.packet.dst, r.packet.segment, r.reason) for r in self.sink.records
                if isinstance(r, SegmentSent) and r.host == host]

    def drops(self, host: str) -> list[str]:
        return drop_reasons(self.sink.records, host)


# -- reading a trace --------------------------------------------------------------------------


def drop_reasons(records: list[Record], host: str) -> list[str]:
    return [r.reason for r in records if isinstance(r, SegmentDropped) and r.host == host]


def changes(records: list[Record], host: str, conn: ConnId | None = None
            ) -> list[tuple[int, State, State, str]]:
    """(t, old, new, cause) of every state change of ``host`` (one connection), listeners
    excluded."""
    return [(r.t, r.old, r.new, r.cause) for r in records
            if isinstance(r, StateChange) and r.host == host and r.conn.remote_port != 0
            and (conn is None or r.conn == conn)]


def timers_started(records: list[Record], host: str, name: str,
                   conn: ConnId | None = None) -> list[tuple[int, int]]:
    """(started at, deadline) of every start of timer ``name`` on ``host``."""
    return [(r.t, r.deadline) for r in records
            if isinstance(r, TimerStarted) and r.host == host and r.timer == name
            and (conn is None or r.conn == conn)]
