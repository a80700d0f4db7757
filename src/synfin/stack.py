"""A host's TCP: many connections, demultiplexed by 4-tuple, behind the driver contract.

Driver contract (DESIGN.md, after aioquic and smoltcp)::

    stack.on_packet(data, now)        # an IPv4 packet arrived
    stack.poll_transmit(now) -> [..]  # IPv4 packets to send now
    stack.next_deadline() -> int|None # when on_timer must be called next
    stack.on_timer(now)

Demultiplexing (RFC 9293 3.10.7), each step a dictionary lookup: a connection by exact
4-tuple; else a compact TIME-WAIT record (``synfin.timewait``); else a listener on the port
(half-open records and SYN cookies live there, ``synfin.listener``); else the CLOSED-state
rule: answer with RST (3.10.7.1). Timers of all connections and half-open records share one
lazily cleaned heap; TIME-WAIT records expire from their own FIFO. No operation scans all
connections.
"""

from __future__ import annotations

import hashlib
import heapq
import random
import weakref

from synfin import drops
from synfin.config import Config
from synfin.connection import Connection, Outgoing
from synfin.connection.core import ConnectionCore
from synfin.errors import CONNECTION_ALREADY_EXISTS, INSUFFICIENT_RESOURCES, LocalError
from synfin.handshake import timestamps_options, tsval_at
from synfin.isn import IsnGenerator
from synfin.listener import Listener
from synfin.reset import reset_for
from synfin.seq import seq_add
from synfin.states import State
from synfin.timewait import (
    CHALLENGE_REASONS,
    TimeWaitRecord,
    TimeWaitTable,
    TwAction,
    time_wait_key,
    time_wait_verdict,
)
from synfin.trace.records import (
    NULL_SINK,
    ConnId,
    SegmentDropped,
    SegmentReceived,
    SegmentSent,
    StateChange,
    TimerFired,
    TimerStarted,
    TraceSink,
)
from synfin.variants import TWO_WAY_HANDSHAKE
from synfin.wire import MalformedSegment, Packet, TcpSegment, emit_packet, parse_packet
from synfin.wire.flags import Flags
from synfin.wire.ipv4 import unpack_ip
from synfin.wire.segment import TcpOption

ANY = "0.0.0.0"
TIME_WAIT_TIMER = "time-wait"
#: Linux reuses a TIME-WAIT 4-tuple for an outgoing connection once it is this old.
TW_REUSE_MIN_AGE_US = 1_000_000
#: How far past the old connection's SND.NXT a reopened 4-tuple starts (as Linux).
REOPEN_ISS_GAP = 65535 + 2


class Stack:
    """One host's TCP/IPv4 endpoint. Sans-IO: time and randomness come in."""

    def __init__(
        self,
        address: str,
        config: Config | None = None,
        *,
        secret: bytes,
        rng: random.Random,
        sink: TraceSink = NULL_SINK,
    ) -> None:
        self.address = address
        self.config = config or Config()
        self.sink = sink
        self._rng = rng
        self._isn = IsnGenerator(secret, self.config.isn_tick_us)
        self._cookie_secret = hashlib.blake2s(secret, person=b"cookies").digest()
        self.connections: dict[ConnId, Connection] = {}
        self.listeners: dict[int, Listener] = {}
        #: Connections in SYN-RECEIVED that a listener made, by the listener.
        self._parents: dict[ConnId, Listener] = {}
        self.time_wait = TimeWaitTable(self.config.time_wait_us, self.config.max_tw_buckets)
        #: Connection objects still referenced by an application while their 4-tuple is a
        #: TIME-WAIT record: told when TIME-WAIT ends (weak: no cost once they are dropped).
        self._tw_conns: weakref.WeakValueDictionary[int, Connection] = (
            weakref.WeakValueDictionary())
        self._dirty: dict[ConnId, Connection] = {}
        self._stray: list[tuple[str, TcpSegment, str, ConnId | None]] = []
        self._timer_heap: list[tuple[int, int, ConnId]] = []
        self._deadlines: dict[ConnId, int] = {}
        self._tick = 0
        self._tw_challenge = (-1, 0)
        #: Counters of drops by reason (also in the trace when tracing is on).
        self.drop_counts: dict[str, int] = {}
        #: Other events worth counting: SYN cookies sent and accepted, ...
        self.counters: dict[str, int] = {}

    # -- user side ------------------------------------------------------------------------

    def listen(self, port: int, backlog: int | None = None, now: int = 0) -> Listener:
        """Passive OPEN on ``port`` for any peer (RFC 9293 3.10.1)."""
        if port in self.listeners:
            raise LocalError(CONNECTION_ALREADY_EXISTS)
        listener = Listener(self, port, backlog or self.config.listen_backlog, isn=self._isn,
                            cookie_secret=self._cookie_secret)
        self.listeners[port] = listener
        self._record_state(now, ConnId(self.address, port, ANY, 0), State.CLOSED, State.LISTEN,
                           "passive OPEN / create TCB")
        return listener

    def close_listener(self, listener: Listener, now: int) -> None:
        """CLOSE of a LISTEN TCB (3.10.4): stop accepting; pending connections go."""
        self.listeners.pop(listener.port, None)
        listener.close(now)
        self._record_state(now, ConnId(self.address, listener.port, ANY, 0), State.LISTEN,
                           State.CLOSED, "CLOSE / delete TCB")

    def connect(self, remote_ip: str, remote_port: int, now: int,
                local_port: int | None = None) -> Connection:
        """Active OPEN to ``remote_ip:remote_port`` from an ephemeral (or given) port. A
        4-tuple in TIME-WAIT is reused only with ``tw_reuse`` and timestamps (RFC 6191)."""
        port = local_port if local_port is not None else self._ephemeral_port(
            remote_ip, remote_port, now)
        cid = ConnId(self.address, port, remote_ip, remote_port)
        if cid in self.connections:
            raise LocalError(CONNECTION_ALREADY_EXISTS)
        iss = None
        key = time_wait_key(remote_ip, port, remote_port)
        record = self.time_wait.get(key)
        if record is not None:
            if not self._may_reuse(record, now):
                raise LocalError(CONNECTION_ALREADY_EXISTS)
            iss = self._end_time_wait(key, cid, record, now, "tw_reuse: a new outgoing "
                                                              "connection reopens the 4-tuple")
        conn = self.new_connection(port)
        conn.open_active(remote_ip, remote_port, now, iss=iss)
        self._register(conn)
        return conn

    def _ephemeral_port(self, remote_ip: str, remote_port: int, now: int) -> int:
        """A free port of the ephemeral range for this destination (random start, then
        the next free one, like Linux's per-destination search)."""
        low, high = self.config.ephemeral_ports
        span = high - low + 1
        start = self._rng.randrange(span)
        for i in range(span):
            port = low + (start + i) % span
            if (ConnId(self.address, port, remote_ip, remote_port) in self.connections
                    or port in self.listeners):
                continue
            record = self.time_wait.get(time_wait_key(remote_ip, port, remote_port))
            if record is None or self._may_reuse(record, now):
                return port
        raise LocalError(INSUFFICIENT_RESOURCES)

    def _may_reuse(self, record: TimeWaitRecord, now: int) -> bool:
        """Linux tcp_tw_reuse: timestamps on both connections make the new one's segments
        provably newer (RFC 6191, RFC 7323 PAWS), once TIME-WAIT is a second old."""
        entered = record.expires - self.config.time_wait_us
        return (self.config.tw_reuse and self.config.timestamps
                and record.ts_recent is not None and now - entered >= TW_REUSE_MIN_AGE_US)

    # -- inspection -----------------------------------------------------------------------

    def state_of(self, cid: ConnId) -> State | None:
        """The state of a 4-tuple on this host, wherever it is kept: a connection, a
        listener's half-open record (SYN-RECEIVED), a TIME-WAIT record; ``None`` if none."""
        conn = self.connections.get(cid)
        if conn is not None:
            return conn.state
        if time_wait_key(cid.remote_ip, cid.local_port, cid.remote_port) in self.time_wait:
            return State.TIME_WAIT
        listener = self.listeners.get(cid.local_port)
        if listener is not None and cid in listener.half_open:
            return State.SYN_RECEIVED
        return None

    def uses_port(self, port: int) -> bool:
        """Whether any connection or TIME-WAIT record of this host has local ``port`` (what
        bind() without SO_REUSEADDR refuses). A scan: for bind and listen, not per packet."""
        return (any(cid.local_port == port for cid in self.connections)
                or any((key >> 16) & 0xFFFF == port for key in self.time_wait))

    def table(self) -> list[tuple[ConnId, State]]:
        """Every endpoint of this host and its state, like ``ss -tan``: listeners, half-open
        records, connections, TIME-WAIT records."""
        rows = [(ConnId(self.address, port, ANY, 0), State.LISTEN) for port in self.listeners]
        for listener in self.listeners.values():
            rows += [(cid, State.SYN_RECEIVED) for cid in listener.half_open]
        rows += [(cid, conn.state) for cid, conn in self.connections.items()]
        rows += [(self._time_wait_conn_id(key), State.TIME_WAIT)
                 for key in self.time_wait]
        return rows

    # -- what listeners use (ListenerHost) ------------------------------------------------

    def new_connection(self, port: int) -> Connection:
        conn = Connection(self.config, self.address, port, isn=self._isn,
                          sink=self.sink)
        conn.on_wake = self._wake
        return conn

    def adopt(self, conn: Connection, parent: Listener) -> None:
        """Take a connection a listener made (in SYN-RECEIVED) into the demultiplexing
        table; it joins the listener's accept queue once it leaves SYN-RECEIVED."""
        self._register(conn)
        self._parents[conn.conn_id] = parent

    def send_segment(self, dst: str, seg: TcpSegment, cid: ConnId | None, reason: str) -> None:
        """Queue a segment that belongs to no connection object (listener, TIME-WAIT, RST)."""
        self._stray.append((dst, seg, reason, cid))

    def arm_timer(self, cid: ConnId, deadline: int) -> None:
        self._schedule(cid, deadline)

    def count_drop(self, now: int, cid: ConnId | None, reason: str, detail: str = "") -> None:
        self._count_drop(now, cid, None, reason, detail)

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _wake(self, conn: ConnectionCore) -> None:
        if isinstance(conn, Connection):
            self._dirty[conn.conn_id] = conn

    def _register(self, conn: Connection) -> None:
        self.connections[conn.conn_id] = conn
        self._dirty[conn.conn_id] = conn

    # -- driver contract: input -----------------------------------------------------------

    def on_packet(self, data: bytes, now: int, verify_checksums: bool = True) -> None:
        """An IPv4 packet arrived at ``now``. Malformed ones are dropped with the reason.
        ``verify_checksums=False`` is for a driver whose link vouches for the checksums (a
        TUN device with checksum offload handing over the kernel's own packets)."""
        try:
            packet = parse_packet(data, verify_checksums)
        except MalformedSegment as exc:
            self._count_drop(now, None, None, drops.MALFORMED, str(exc))
            return
        self.on_tcp_packet(packet, now)

    def on_tcp_packet(self, packet: Packet, now: int) -> None:
        """A parsed packet arrived: demultiplex it (RFC 9293 3.10.7)."""
        seg = packet.segment
        if packet.dst != self.address:
            self._count_drop(now, None, packet, drops.NOT_FOR_US)
            return
        cid = ConnId(self.address, seg.dst_port, packet.src, seg.src_port)
        if self.sink.enabled:
            self.sink.emit(SegmentReceived(now, self.address, cid, packet))
        conn = self.connections.get(cid)
        if conn is not None:
            self._deliver(conn, seg, packet.src, now)
            return
        iss = None
        if self.time_wait:
            key = time_wait_key(packet.src, seg.dst_port, seg.src_port)
            record = self.time_wait.get(key)
            if record is not None:
                iss = self._time_wait_arrival(key, cid, record, packet, now)
                if iss is None:
                    return
        listener = self.listeners.get(seg.dst_port)
        if listener is None:
            self._no_connection(packet, now)
        elif TWO_WAY_HANDSHAKE in self.config.variants:
            self._two_way_listen(listener, seg, packet.src, now)
        else:
            listener.on_segment(cid, seg, now, iss)

    def _deliver(self, conn: Connection, seg: TcpSegment, src: str, now: int) -> None:
        """SEGMENT ARRIVES for a connection. A listener's child still in SYN-RECEIVED does
        not complete while the accept queue is full (Linux, tcp_abort_on_overflow = 0)."""
        parent = self._parents.get(conn.conn_id)
        if (parent is not None and conn.state is State.SYN_RECEIVED
                and seg.flags & (Flags.ACK | Flags.SYN | Flags.RST) == Flags.ACK
                and parent.accept_queue_full()):
            self._count_drop(now, conn.conn_id, None, drops.ACCEPT_QUEUE_FULL)
            return
        conn.on_segment(seg, src, now)
        self._dirty[conn.conn_id] = conn

    def _time_wait_arrival(self, key: int, cid: ConnId, record: TimeWaitRecord,
                           packet: Packet, now: int) -> int | None:
        """A segment for a compact TIME-WAIT record, judged by ``time_wait_verdict``.
        Returns the ISS for a new connection when a SYN reopens the 4-tuple, else None."""
        seg = packet.segment
        window = min(self.config.recv_buffer, 0xFFFF << record.rcv_wscale)
        verdict = time_wait_verdict(seg, record.rcv_nxt, window, record.ts_recent,
                                    record.snd_nxt, record.max_snd_wnd)
        action, reason = verdict.action, verdict.reason
        if action is TwAction.REUSE:
            return self._end_time_wait(key, cid, record, now,
                                       "a new SYN reopens the 4-tuple (RFC 6191)")
        if action is TwAction.ACK_RESTART:
            self._time_wait_ack(cid, record, now, "re-ACK of retransmitted FIN in TIME-WAIT")
            deadline = self.time_wait.restart(key, now)
            if self.sink.enabled:
                self.sink.emit(TimerStarted(now, self.address, cid, TIME_WAIT_TIMER, deadline))
        elif action is TwAction.ACK and reason in CHALLENGE_REASONS:
            if self.challenge_allowed(now):
                self._time_wait_ack(cid, record, now, f"challenge ACK (RFC 5961): {reason}")
                self._count_drop(now, cid, packet, reason)
            else:
                self._count_drop(now, cid, packet, drops.CHALLENGE_ACK_LIMIT)
        elif action is TwAction.ACK:
            self._time_wait_ack(cid, record, now, f"ACK in TIME-WAIT ({reason})")
            self._count_drop(now, cid, packet, reason)
        else:
            self._count_drop(now, cid, packet, reason)
        return None

    def _time_wait_ack(self, cid: ConnId, record: TimeWaitRecord, now: int, reason: str) -> None:
        """``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`` from a TIME-WAIT record."""
        options: tuple[TcpOption, ...] = ()
        if record.ts_recent is not None:
            options = timestamps_options(tsval_at(now, record.ts_offset), record.ts_recent)
        window = min(self.config.recv_buffer >> record.rcv_wscale, 0xFFFF)
        seg = TcpSegment(cid.local_port, cid.remote_port, record.snd_nxt, record.rcv_nxt,
                         Flags.ACK, window, 0, options)
        self.send_segment(cid.remote_ip, seg, cid, reason)

    def challenge_allowed(self, now: int) -> bool:
        """RFC 5961 section 7 for records (TIME-WAIT and half-open), which keep no counter
        of their own: one budget of ``challenge_ack_limit`` a second for all of them."""
        second, count = self._tw_challenge
        if now // 1_000_000 != second:
            second, count = now // 1_000_000, 0
        self._tw_challenge = (second, count + 1)
        return count < self.config.challenge_ack_limit

    def _end_time_wait(self, key: int, cid: ConnId, record: TimeWaitRecord, now: int,
                       cause: str) -> int:
        """Delete a TIME-WAIT record early for a new incarnation; its ISS lies beyond
        anything the old one sent (RFC 6191, RFC 1122 4.2.2.13)."""
        self.time_wait.remove(key)
        self._time_wait_over(key, cid, now, cause)
        return seq_add(record.snd_nxt, REOPEN_ISS_GAP)

    def _time_wait_over(self, key: int, cid: ConnId, now: int, cause: str) -> None:
        """TIME-WAIT -> CLOSED for a record, through its Connection object when the
        application still holds one (house rule 1), else recorded here."""
        conn = self._tw_conns.pop(key, None)
        if conn is not None and conn.state is State.TIME_WAIT:
            conn.end_time_wait(now, cause)
        else:
            self._record_state(now, cid, State.TIME_WAIT, State.CLOSED, cause)

    def _two_way_listen(self, listener: Listener, seg: TcpSegment, src: str, now: int) -> None:
        """Variant two-way-handshake: a clone of the LISTEN TCB takes the SYN and counts
        itself ESTABLISHED at once (no half-open record: nothing waits for a third step)."""
        child = self.new_connection(listener.port)
        child.passive = True
        child.state = State.LISTEN  # a clone of the LISTEN TCB (no transition: no record)
        child.on_segment(seg, src, now)
        if child.state is State.ESTABLISHED:
            self._register(child)
            listener.accept_queue.append(child)
        else:
            for item in child.take_outgoing():
                self.send_segment(src, item.segment, child.conn_id, item.reason)

    def _no_connection(self, packet: Packet, now: int) -> None:
        """RFC 9293 3.10.7.1: no TCB, so the CLOSED rules: RST unless it is a RST."""
        seg = packet.segment
        rst = reset_for(seg)
        if rst is not None:
            self.send_segment(packet.src, rst, None, "no connection (RFC 9293 3.10.7.1)")
        self._count_drop(now, None, packet, drops.NO_CONNECTION)

    # -- driver contract: output ----------------------------------------------------------

    def poll_transmit(self, now: int) -> list[bytes]:
        """Every packet due now, encoded."""
        out: list[bytes] = []
        for conn in list(self._dirty.values()):
            for item in conn.poll_outgoing(now):
                out.append(self._encode(conn.remote_ip, item, conn.conn_id, now))
            self._settle(conn, now)
        self._dirty.clear()
        for dst, seg, reason, cid in self._stray:
            out.append(self._encode(dst, Outgoing(seg, reason), cid, now))
        self._stray.clear()
        return out

    def _encode(self, dst: str, item: Outgoing, cid: ConnId | None, now: int) -> bytes:
        packet = Packet(self.address, dst, item.segment, ttl=self.config.ttl)
        if self.sink.enabled:
            self.sink.emit(SegmentSent(now, self.address, cid, packet, item.reason))
        return emit_packet(packet)

    # -- driver contract: timers ----------------------------------------------------------

    def next_deadline(self) -> int | None:
        """The earliest timer of any connection, half-open record or TIME-WAIT record."""
        heap = self._timer_heap
        while heap and self._deadlines.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        first = heap[0][0] if heap else None
        tw = self.time_wait.next_deadline()
        if tw is None or (first is not None and first <= tw):
            return first
        return tw

    def on_timer(self, now: int) -> None:
        """Run every timer that is due."""
        heap = self._timer_heap
        while heap and heap[0][0] <= now:
            deadline, _, cid = heapq.heappop(heap)
            if self._deadlines.get(cid) != deadline:
                continue
            del self._deadlines[cid]
            conn = self.connections.get(cid)
            if conn is not None:
                conn.on_timer(now)
                self._dirty[cid] = conn
                continue
            listener = self.listeners.get(cid.local_port)
            if listener is not None:
                listener.on_timer(cid, now)
        for key in self.time_wait.expire(now):
            cid = self._time_wait_conn_id(key)
            if self.sink.enabled:
                self.sink.emit(TimerFired(now, self.address, cid, TIME_WAIT_TIMER))
            self._time_wait_over(key, cid, now, "timeout=2MSL / delete TCB")

    def _schedule(self, cid: ConnId, deadline: int) -> None:
        if self._deadlines.get(cid) != deadline:
            self._deadlines[cid] = deadline
            self._tick += 1
            heapq.heappush(self._timer_heap, (deadline, self._tick, cid))

    # -- bookkeeping ----------------------------------------------------------------------

    def _settle(self, conn: Connection, now: int) -> None:
        """After output: file the connection where its state says, and its deadline."""
        cid = conn.conn_id
        parent = self._parents.get(cid)
        if parent is not None and conn.state is not State.SYN_RECEIVED:
            del self._parents[cid]
            if conn.state not in (State.CLOSED, State.LISTEN) and not parent.closed:
                parent.accept_queue.append(conn)
        if conn.state in (State.CLOSED, State.LISTEN):
            self._forget(cid)
            key = time_wait_key(cid.remote_ip, cid.local_port, cid.remote_port)
            if self._tw_conns.get(key) is conn:  # ABORT of a connection in TIME-WAIT
                del self._tw_conns[key]
                self.time_wait.remove(key)
            return
        if conn.state is State.TIME_WAIT and self._to_time_wait_record(conn, now):
            return
        deadline = conn.next_deadline()
        if deadline is None:
            self._deadlines.pop(cid, None)
        else:
            self._schedule(cid, deadline)

    def _to_time_wait_record(self, conn: Connection, now: int) -> bool:
        """Replace a connection entering TIME-WAIT by a compact record; when the table is
        full (``max_tw_buckets``) the connection is closed at once, as Linux does."""
        tcb = conn.tcb
        cid = conn.conn_id
        deadline = conn.timers.get(TIME_WAIT_TIMER)
        entered = deadline - self.config.time_wait_us if deadline is not None else now
        key = time_wait_key(cid.remote_ip, cid.local_port, cid.remote_port)
        filed = self.time_wait.add(key, tcb.snd_max, tcb.rcv_nxt,
                                   tcb.ts_recent if tcb.ts_ok else None, tcb.ts_offset,
                                   tcb.rcv_wscale, tcb.max_snd_wnd, entered)
        self._forget(cid)
        if filed:
            self._tw_conns[key] = conn
        else:
            # Through the connection (house rule 1), so that an application holding it
            # sees CLOSED rather than a TIME-WAIT that would never end.
            self._count_drop(now, cid, None, drops.TIME_WAIT_OVERFLOW)
            conn.end_time_wait(now, "time wait bucket table overflow (max_tw_buckets)")
        return True

    def _time_wait_conn_id(self, key: int) -> ConnId:
        remote_ip = unpack_ip((key >> 32).to_bytes(4, "big"))
        return ConnId(self.address, (key >> 16) & 0xFFFF, remote_ip, key & 0xFFFF)

    def _forget(self, cid: ConnId) -> None:
        self.connections.pop(cid, None)
        self._deadlines.pop(cid, None)
        self._parents.pop(cid, None)

    def _record_state(self, now: int, cid: ConnId, old: State, new: State, cause: str) -> None:
        if self.sink.enabled:
            self.sink.emit(StateChange(now, self.address, cid, old, new, cause))

    def _count_drop(self, now: int, cid: ConnId | None, packet: Packet | None, reason: str,
                    detail: str = "") -> None:
        self.drop_counts[reason] = self.drop_counts.get(reason, 0) + 1
        if self.sink.enabled:
            self.sink.emit(SegmentDropped(now, self.address, cid, packet, reason, detail))
