"""A host's TCP: many connections, demultiplexed by 4-tuple, behind the driver contract.

Driver contract (DESIGN.md, after aioquic and smoltcp)::

    stack.on_packet(data, now)        # an IPv4 packet arrived
    stack.poll_transmit(now) -> [..]  # IPv4 packets to send now
    stack.next_deadline() -> int|None # when on_timer must be called next
    stack.on_timer(now)

Demultiplexing (RFC 9293 3.10.7): a connection by exact 4-tuple, else a listener on the
port, else the CLOSED-state rule: answer with RST (3.10.7.1).
"""

from __future__ import annotations

import heapq
import random

from synfin import drops
from synfin.config import Config
from synfin.connection import Connection, Outgoing
from synfin.connection.core import ConnectionCore
from synfin.errors import CONNECTION_ALREADY_EXISTS, INSUFFICIENT_RESOURCES, LocalError
from synfin.isn import IsnGenerator
from synfin.listener import Listener
from synfin.reset import reset_for
from synfin.states import State
from synfin.trace.records import (
    NULL_SINK,
    ConnId,
    SegmentDropped,
    SegmentReceived,
    SegmentSent,
    StateChange,
    TraceSink,
)
from synfin.wire import MalformedSegment, Packet, TcpSegment, emit_packet, parse_packet
from synfin.wire.flags import Flags

ANY = "0.0.0.0"


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
        self.connections: dict[ConnId, Connection] = {}
        self.listeners: dict[int, Listener] = {}
        self._parents: dict[ConnId, Listener] = {}
        self._dirty: dict[ConnId, Connection] = {}
        self._stray: list[tuple[str, TcpSegment, str]] = []
        self._timer_heap: list[tuple[int, int, ConnId]] = []
        self._deadlines: dict[ConnId, int] = {}
        self._tick = 0
        #: Counters of drops by reason (also in the trace when tracing is on).
        self.drop_counts: dict[str, int] = {}

    # -- user side ------------------------------------------------------------------------

    def listen(self, port: int, backlog: int | None = None, now: int = 0) -> Listener:
        """Passive OPEN on ``port`` for any peer (RFC 9293 3.10.1)."""
        if port in self.listeners:
            raise LocalError(CONNECTION_ALREADY_EXISTS)
        cfg = self.config
        listener = Listener(self.address, port, backlog or cfg.listen_backlog, cfg.syn_backlog)
        self.listeners[port] = listener
        if self.sink.enabled:
            cid = ConnId(self.address, port, ANY, 0)
            self.sink.emit(StateChange(now, self.address, cid, State.CLOSED, State.LISTEN,
                                       "passive OPEN / create TCB"))
        return listener

    def close_listener(self, listener: Listener, now: int) -> None:
        """CLOSE of a LISTEN TCB: stop accepting; half-open children are reset."""
        self.listeners.pop(listener.port, None)
        listener.closed = True
        for conn in list(listener.syn_queue.values()):
            conn.abort(now)
        if self.sink.enabled:
            cid = ConnId(self.address, listener.port, ANY, 0)
            self.sink.emit(StateChange(now, self.address, cid, State.LISTEN, State.CLOSED,
                                       "CLOSE / delete TCB"))

    def connect(self, remote_ip: str, remote_port: int, now: int,
                local_port: int | None = None) -> Connection:
        """Active OPEN to ``remote_ip:remote_port`` from an ephemeral (or given) port."""
        port = local_port if local_port is not None else self._ephemeral_port(remote_ip,
                                                                             remote_port)
        cid = ConnId(self.address, port, remote_ip, remote_port)
        if cid in self.connections:
            raise LocalError(CONNECTION_ALREADY_EXISTS)
        conn = self._new_connection(port)
        conn.open_active(remote_ip, remote_port, now)
        self._register(conn)
        return conn

    def _ephemeral_port(self, remote_ip: str, remote_port: int) -> int:
        """A free port of the ephemeral range for this destination (random start, then
        the next free one, like Linux's per-destination search)."""
        low, high = self.config.ephemeral_ports
        span = high - low + 1
        start = self._rng.randrange(span)
        for i in range(span):
            port = low + (start + i) % span
            if (ConnId(self.address, port, remote_ip, remote_port) not in self.connections
                    and port not in self.listeners):
                return port
        raise LocalError(INSUFFICIENT_RESOURCES)

    def _new_connection(self, port: int) -> Connection:
        conn = Connection(self.config, self.address, port, isn=self._isn, rng=self._rng,
                          sink=self.sink)
        conn.on_wake = self._wake
        return conn

    def _wake(self, conn: ConnectionCore) -> None:
        if isinstance(conn, Connection):
            self._dirty[conn.conn_id] = conn

    def _register(self, conn: Connection) -> None:
        self.connections[conn.conn_id] = conn
        self._dirty[conn.conn_id] = conn

    # -- driver contract: input -----------------------------------------------------------

    def on_packet(self, data: bytes, now: int) -> None:
        """An IPv4 packet arrived at ``now``. Malformed ones are dropped with the reason."""
        try:
            packet = parse_packet(data)
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
        listener = self.listeners.get(seg.dst_port)
        if listener is not None:
            self._to_listener(listener, cid, seg, packet.src, now)
            return
        self._no_connection(packet, now)

    def _deliver(self, conn: Connection, seg: TcpSegment, src: str, now: int) -> None:
        parent = self._parents.get(conn.conn_id)
        if (parent is not None and conn.state is State.SYN_RECEIVED
                and seg.flags & Flags.ACK and not seg.flags & (Flags.RST | Flags.SYN)
                and parent.accept_queue_full()):
            self._count_drop(now, conn.conn_id, None, drops.ACCEPT_QUEUE_FULL)
            return
        conn.on_segment(seg, src, now)
        self._after_event(conn)

    def _to_listener(self, listener: Listener, cid: ConnId, seg: TcpSegment, src: str,
                     now: int) -> None:
        """A segment for a listening port and no connection: a SYN makes a half-open
        connection (bounded by the SYN queue); anything else follows LISTEN's rules."""
        is_syn = seg.flags & Flags.SYN and not seg.flags & (Flags.ACK | Flags.RST)
        if is_syn and listener.syn_queue_full():
            self._count_drop(now, cid, None, drops.SYN_QUEUE_FULL)
            return
        child = self._new_connection(listener.port)
        child.passive = True
        child.state = State.LISTEN  # a clone of the LISTEN TCB (no transition: no record)
        child.on_segment(seg, src, now)
        if child.state not in (State.LISTEN, State.CLOSED):
            listener.syn_queue[child.conn_id] = child
            self._parents[child.conn_id] = listener
            self._register(child)
        else:
            self._collect(child.take_outgoing(), child)

    def _no_connection(self, packet: Packet, now: int) -> None:
        """RFC 9293 3.10.7.1: no TCB, so the CLOSED rules: RST unless it is a RST."""
        seg = packet.segment
        rst = reset_for(seg)
        if rst is not None:
            self._stray.append((packet.src, rst, "no connection (RFC 9293 3.10.7.1)"))
        self._count_drop(now, None, packet, drops.NO_CONNECTION)

    # -- driver contract: output ----------------------------------------------------------

    def poll_transmit(self, now: int) -> list[bytes]:
        """Every packet due now, encoded."""
        out: list[bytes] = []
        for conn in list(self._dirty.values()):
            for item in conn.poll_outgoing(now):
                out.append(self._encode(conn.remote_ip, item, conn.conn_id, now))
            self._settle(conn)
        self._dirty.clear()
        for dst, seg, reason in self._stray:
            out.append(self._encode(dst, Outgoing(seg, reason), None, now))
        self._stray.clear()
        return out

    def _encode(self, dst: str, item: Outgoing, cid: ConnId | None, now: int) -> bytes:
        packet = Packet(self.address, dst, item.segment, ttl=self.config.ttl)
        if self.sink.enabled:
            self.sink.emit(SegmentSent(now, self.address, cid, packet, item.reason))
        return emit_packet(packet)

    def _collect(self, items: list[Outgoing], conn: Connection) -> None:
        for item in items:
            self._stray.append((conn.remote_ip, item.segment, item.reason))

    # -- driver contract: timers ----------------------------------------------------------

    def next_deadline(self) -> int | None:
        """The earliest timer of any connection (a lazily cleaned heap)."""
        heap = self._timer_heap
        while heap and self._deadlines.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def on_timer(self, now: int) -> None:
        """Run every connection timer that is due."""
        heap = self._timer_heap
        while heap and heap[0][0] <= now:
            deadline, _, cid = heapq.heappop(heap)
            if self._deadlines.get(cid) != deadline:
                continue
            del self._deadlines[cid]
            conn = self.connections.get(cid)
            if conn is not None:
                conn.on_timer(now)
                self._after_event(conn)

    # -- bookkeeping ----------------------------------------------------------------------

    def _after_event(self, conn: Connection) -> None:
        self._dirty[conn.conn_id] = conn

    def _settle(self, conn: Connection) -> None:
        """After output: file the connection where its state says, and its deadline."""
        cid = conn.conn_id
        parent = self._parents.get(cid)
        if conn.state in (State.CLOSED, State.LISTEN):
            self._forget(cid, parent)
            return
        if parent is not None and conn.state is not State.SYN_RECEIVED:
            parent.syn_queue.pop(cid, None)
            del self._parents[cid]
            if not parent.closed:
                parent.accept_queue.append(conn)
        deadline = conn.next_deadline()
        if deadline is None:
            self._deadlines.pop(cid, None)
        elif self._deadlines.get(cid) != deadline:
            self._deadlines[cid] = deadline
            self._tick += 1
            heapq.heappush(self._timer_heap, (deadline, self._tick, cid))

    def _forget(self, cid: ConnId, parent: Listener | None) -> None:
        self.connections.pop(cid, None)
        self._deadlines.pop(cid, None)
        if parent is not None:
            parent.syn_queue.pop(cid, None)
            self._parents.pop(cid, None)

    def _count_drop(self, now: int, cid: ConnId | None, packet: Packet | None, reason: str,
                    detail: str = "") -> None:
        self.drop_counts[reason] = self.drop_counts.get(reason, 0) + 1
        if self.sink.enabled:
            self.sink.emit(SegmentDropped(now, self.address, cid, packet, reason, detail))
