"""A listening endpoint (the LISTEN TCB of a passive OPEN) with the defences of RFC 4987.

Half-open connections are small :class:`HalfOpen` records, not full connections: a SYN costs
a few hundred bytes until its handshake ACK arrives, and the SYN queue holding them is
bounded. When the queue is full (or always, by configuration) the listener answers with a
SYN cookie instead (``synfin.syncookies``) and keeps nothing. A completed handshake becomes a
full :class:`~synfin.connection.Connection` in the accept queue, bounded by the backlog; when
that queue is full the final ACK is dropped, as Linux does with ``tcp_abort_on_overflow = 0``,
and the SYN,ACK retransmission gives the client another chance.

The listener itself stays in LISTEN. RFC 9293 3.10.7.2 is followed for every arrival.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

from synfin import drops
from synfin.config import Config
from synfin.connection import Connection
from synfin.handshake import (
    TIMESTAMPS_OPTION_LEN,
    PeerSyn,
    negotiate,
    paws_rejects,
    syn_options,
    timestamps_options,
    tsval_at,
)
from synfin.isn import IsnGenerator
from synfin.reset import reset_for_ack
from synfin.seq import segment_acceptable, seq_add
from synfin.states import State
from synfin.syncookies import decode_cookie, decode_ts_options, encode_cookie, encode_ts_options
from synfin.trace.records import ConnId, StateChange, TimerFired, TimerStarted, TraceSink
from synfin.wire.flags import Flags
from synfin.wire.segment import TcpOption, TcpSegment

RETRANSMIT = "retransmit"
S = State


class ListenerHost(Protocol):
    """What a listener needs from its stack."""

    address: str
    config: Config
    sink: TraceSink

    def send_segment(self, dst: str, seg: TcpSegment, cid: ConnId, reason: str) -> None: ...

    def arm_timer(self, cid: ConnId, deadline: int) -> None: ...

    def new_connection(self, port: int) -> Connection: ...

    def adopt(self, conn: Connection, parent: Listener) -> None: ...

    def count_drop(self, now: int, cid: ConnId | None, reason: str, detail: str = "") -> None: ...

    def count(self, name: str) -> None: ...

    def challenge_allowed(self, now: int) -> bool: ...


@dataclass(slots=True)
class HalfOpen:
    """A SYN-RECEIVED connection before its handshake completes: the peer's SYN, our ISS,
    and the SYN,ACK retransmission state."""

    peer: PeerSyn
    iss: int
    first_sent: int
    retries: int
    deadline: int


class Listener:
    """Half-open records, SYN cookies and the accept queue of one listening port."""

    def __init__(self, host: ListenerHost, port: int, backlog: int, *, isn: IsnGenerator,
                 cookie_secret: bytes) -> None:
        self.host = host
        self.local_ip = host.address
        self.port = port
        self.backlog = backlog
        self.syn_backlog = host.config.syn_backlog
        self.half_open: dict[ConnId, HalfOpen] = {}
        self.accept_queue: deque[Connection] = deque()
        self.closed = False
        self._isn = isn
        self._cookie_secret = cookie_secret
        self._rate_second = -1
        self._syns_by_source: dict[str, int] = {}

    # -- queues ---------------------------------------------------------------------------

    @property
    def syn_queue(self) -> dict[ConnId, HalfOpen]:
        """The half-open connections (the SYN queue)."""
        return self.half_open

    def syn_queue_full(self) -> bool:
        return len(self.half_open) >= self.syn_backlog

    def accept_queue_full(self) -> bool:
        return len(self.accept_queue) >= self.backlog

    def accept(self) -> Connection | None:
        """The oldest completed connection, or ``None`` when there is none yet."""
        return self.accept_queue.popleft() if self.accept_queue else None

    def __repr__(self) -> str:
        return (f"<Listener {self.local_ip}:{self.port} syn={len(self.half_open)} "
                f"accept={len(self.accept_queue)}>")

    # -- arrivals (RFC 9293 3.10.7.2, then the SYN-RECEIVED rules for half-open ones) --------

    def on_segment(self, cid: ConnId, seg: TcpSegment, now: int, iss: int | None = None) -> None:
        """A segment for this port and no connection. ``iss`` forces the ISS of a new
        half-open connection (a SYN that reopens a TIME-WAIT 4-tuple, RFC 6191)."""
        half = self.half_open.get(cid)
        if half is not None:
            self._to_half_open(cid, half, seg, now)
            return
        flags = seg.flags
        if flags & Flags.RST:
            self.host.count_drop(now, cid, drops.RST_IN_LISTEN)
        elif flags & Flags.SYN and not flags & Flags.ACK:
            self._on_syn(cid, seg, now, iss)
        elif flags & Flags.ACK and not flags & Flags.SYN and self.host.config.syn_cookies != "off":
            self._complete_cookie(cid, seg, now)
        elif flags & Flags.ACK:
            self._reset(cid, seg, "ACK in LISTEN (RFC 9293 3.10.7.2)")
            self.host.count_drop(now, cid, drops.ACK_IN_LISTEN)
        else:
            self.host.count_drop(now, cid, drops.LISTEN_NOT_SYN)

    def _to_half_open(self, cid: ConnId, half: HalfOpen, seg: TcpSegment, now: int) -> None:
        """A segment for a half-open connection, judged by the record with the SYN-RECEIVED
        rules of RFC 9293 3.10.7.4. Only the handshake ACK (SEG.ACK = ISS+1) makes the full
        connection, so no segment a spoofer can send turns a record into a connection outside
        the SYN queue's bound. A retransmitted SYN gets the SYN,ACK again (as Linux); the
        handshake ACK waits while the accept queue is full (Linux, ``tcp_abort_on_overflow =
        0``)."""
        flags = seg.flags & (Flags.SYN | Flags.ACK | Flags.RST)
        if flags == Flags.SYN and seg.seq == half.peer.isn:
            self._send_syn_ack(cid, half, now, "SYN,ACK again (duplicate SYN)")
            self.host.count_drop(now, cid, drops.DUPLICATE_SYN, "SYN,ACK sent again")
            return
        if not self._half_open_sequence_ok(cid, half, seg, now):
            return
        if flags & (Flags.RST | Flags.SYN):
            self._half_open_rst_or_syn(cid, half, seg, now)
        elif not flags & Flags.ACK:
            self.host.count_drop(now, cid, drops.NO_ACK_FLAG)
        elif seg.ack != seq_add(half.iss, 1):
            self._reset(cid, seg, "unacceptable ACK in SYN-RECEIVED")
            self.host.count_drop(now, cid, drops.ACK_UNACCEPTABLE)
        elif self.accept_queue_full():
            self.host.count_drop(now, cid, drops.ACCEPT_QUEUE_FULL)
        else:
            del self.half_open[cid]
            rtt = now - half.first_sent if half.retries == 0 else None
            conn = self._materialize(cid, half.peer, half.iss, now, rtt, half.retries,
                                     half.deadline)
            conn.on_segment(seg, cid.remote_ip, now)

    def _half_open_sequence_ok(self, cid: ConnId, half: HalfOpen, seg: TcpSegment,
                               now: int) -> bool:
        """First step (RFC 9293 3.10.7.4, with PAWS, RFC 7323 5.3): an unacceptable segment
        is answered with ``<SEQ=ISS+1><ACK=RCV.NXT><CTL=ACK>`` unless it is a RST."""
        cfg = self.host.config
        rcv_nxt = seq_add(half.peer.isn, 1)
        paws = paws_rejects(seg, half.peer.tsval if cfg.timestamps else None)
        if not paws and segment_acceptable(seg.seq, seg.seg_len, rcv_nxt, cfg.recv_buffer):
            return True
        if seg.flags & Flags.RST:
            self.host.count_drop(now, cid, drops.RST_OUT_OF_WINDOW)
            return False
        self._send_ack(cid, half, now, "ACK for unacceptable segment (RFC 9293 3.10.7.4)")
        self.host.count_drop(now, cid, drops.PAWS if paws else drops.SEQ_UNACCEPTABLE)
        return False

    def _half_open_rst_or_syn(self, cid: ConnId, half: HalfOpen, seg: TcpSegment,
                              now: int) -> None:
        """Second and fourth steps: a RST at exactly RCV.NXT, or a new SYN, returns a
        passive OPEN's connection to LISTEN (the record is deleted); any other RST in the
        window gets a challenge ACK (RFC 5961 3.2)."""
        if seg.flags & Flags.RST and seg.seq != seq_add(half.peer.isn, 1):
            if not self.host.challenge_allowed(now):
                self.host.count_drop(now, cid, drops.CHALLENGE_ACK_LIMIT)
                return
            self._send_ack(cid, half, now, "challenge ACK (RFC 5961): RST in window but not "
                                           "at RCV.NXT")
            self.host.count_drop(now, cid, drops.RST_IN_WINDOW_CHALLENGED)
            return
        del self.half_open[cid]
        cause = "rcv RST (from passive OPEN)" if seg.flags & Flags.RST else "rcv SYN in window"
        self._state(now, cid, S.SYN_RECEIVED, S.LISTEN, cause)

    def _on_syn(self, cid: ConnId, seg: TcpSegment, now: int, iss: int | None) -> None:
        if self._rate_limited(cid.remote_ip, now):
            self.host.count_drop(now, cid, drops.SYN_RATE_LIMITED)
            return
        cookies = self.host.config.syn_cookies
        if cookies == "always" or (self.syn_queue_full() and cookies == "on-overflow"):
            self._send_cookie(cid, seg, now)
            return
        if self.syn_queue_full():
            self.host.count_drop(now, cid, drops.SYN_QUEUE_FULL)
            return
        self._open_half(cid, seg, now, iss)

    def _open_half(self, cid: ConnId, seg: TcpSegment, now: int, iss: int | None) -> None:
        """LISTEN -> SYN-RECEIVED with a small record: choose ISS, send SYN,ACK (3.10.7.2)."""
        if iss is None:
            iss = self._isn.isn(cid.local_ip, cid.local_port, cid.remote_ip, cid.remote_port, now)
        deadline = now + self.host.config.rto_initial_us
        half = HalfOpen(PeerSyn.from_segment(seg), iss, now, 0, deadline)
        self.half_open[cid] = half
        self._state(now, cid, S.LISTEN, S.SYN_RECEIVED, "rcv SYN / snd SYN,ACK")
        self._send_syn_ack(cid, half, now, "SYN,ACK (first)")
        self._arm(cid, half, now)

    def _complete_cookie(self, cid: ConnId, seg: TcpSegment, now: int) -> None:
        """An ACK with no half-open record may complete a SYN cookie handshake (RFC 4987)."""
        mss = decode_cookie(self._cookie_secret, _four(cid), seg.seq, seg.ack, now)
        if mss is None:
            self._reset(cid, seg, "ACK in LISTEN (RFC 9293 3.10.7.2)")
            self.host.count_drop(now, cid, drops.BAD_SYN_COOKIE)
            return
        if self.accept_queue_full():
            self.host.count_drop(now, cid, drops.ACCEPT_QUEUE_FULL)
            return
        ts = seg.timestamps
        wscale, sack = decode_ts_options(ts.tsecr) if ts is not None else (None, False)
        peer = PeerSyn(seq_add(seg.seq, -1), seg.window, mss, wscale, sack,
                       ts.tsval if ts is not None else None)
        self.host.count("syn-cookie-accepted")
        self._state(now, cid, S.LISTEN, S.SYN_RECEIVED, "valid SYN cookie ACK (RFC 4987)")
        conn = self._materialize(cid, peer, seq_add(seg.ack, -1), now, None, 0, None)
        conn.on_segment(seg, cid.remote_ip, now)

    def _materialize(self, cid: ConnId, peer: PeerSyn, iss: int, now: int, rtt: int | None,
                     retries: int, retransmit_at: int | None) -> Connection:
        """The full connection of a handshake, in SYN-RECEIVED, owned by this listener
        until it reaches ESTABLISHED (then the stack moves it to the accept queue)."""
        conn = self.host.new_connection(self.port)
        conn.adopt_handshake(cid.remote_ip, cid.remote_port, peer, iss, now, rtt, retries,
                             retransmit_at)
        self.host.adopt(conn, self)
        return conn

    # -- SYN,ACK, cookies, timers ---------------------------------------------------------

    def _tsval(self, cid: ConnId, now: int) -> int:
        return tsval_at(now, self._isn.ts_offset(cid.local_ip, cid.remote_ip))

    def _send_syn_ack(self, cid: ConnId, half: HalfOpen, now: int, reason: str,
                      tsval: int | None = None) -> None:
        """``<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>`` with the options the SYN offered
        (``tsval`` overrides our timestamp: a SYN cookie's encoded options)."""
        cfg = self.host.config
        peer = half.peer
        stamp = self._tsval(cid, now) if tsval is None else tsval
        options = syn_options(cfg, negotiate(cfg, peer), stamp, peer.tsval or 0)
        seg = TcpSegment(self.port, cid.remote_port, half.iss, seq_add(peer.isn, 1),
                         Flags.SYN | Flags.ACK, min(cfg.recv_buffer, 0xFFFF), 0, options)
        self.host.send_segment(cid.remote_ip, seg, cid, reason)

    def _send_ack(self, cid: ConnId, half: HalfOpen, now: int, reason: str) -> None:
        """``<SEQ=ISS+1><ACK=RCV.NXT><CTL=ACK>`` from a half-open record."""
        cfg = self.host.config
        agreed = negotiate(cfg, half.peer)
        options: tuple[TcpOption, ...] = ()
        if agreed.ts_ok:
            options = timestamps_options(self._tsval(cid, now), half.peer.tsval or 0)
        seg = TcpSegment(self.port, cid.remote_port, seq_add(half.iss, 1),
                         seq_add(half.peer.isn, 1), Flags.ACK,
                         min(cfg.recv_buffer >> agreed.rcv_wscale, 0xFFFF), 0, options)
        self.host.send_segment(cid.remote_ip, seg, cid, reason)

    def _send_cookie(self, cid: ConnId, seg: TcpSegment, now: int) -> None:
        """A stateless SYN,ACK whose ISS is a SYN cookie (RFC 4987 3.6). With timestamps the
        low TSval bits carry the SYN's window scale and SACK-permitted; without them the
        cookie cannot, so they are not offered (as Linux)."""
        peer = PeerSyn.from_segment(seg)
        cfg = self.host.config
        agreed = negotiate(cfg, peer)
        mss = agreed.smss + (TIMESTAMPS_OPTION_LEN if agreed.ts_ok else 0)
        cookie = encode_cookie(self._cookie_secret, _four(cid), peer.isn, mss, now)
        tsval = None
        if agreed.ts_ok:
            tsval = encode_ts_options(self._tsval(cid, now), peer.wscale, peer.sack)
        else:
            peer = PeerSyn(peer.isn, peer.window, peer.mss)
        self._send_syn_ack(cid, HalfOpen(peer, cookie, now, 0, now), now,
                           "SYN,ACK with SYN cookie", tsval)
        self.host.count("syn-cookie-sent")

    def on_timer(self, cid: ConnId, now: int) -> None:
        """SYN,ACK retransmission with exponential backoff; after ``synack_retries`` the
        half-open connection is deleted (SYN-RECEIVED -> CLOSED, timeout)."""
        half = self.half_open.get(cid)
        if half is None or half.deadline > now:
            if half is not None:
                self.host.arm_timer(cid, half.deadline)
            return
        if self.host.sink.enabled:
            self.host.sink.emit(TimerFired(now, self.local_ip, cid, RETRANSMIT))
        cfg = self.host.config
        if half.retries >= cfg.synack_retries:
            del self.half_open[cid]
            self._state(now, cid, S.SYN_RECEIVED, S.CLOSED,
                        f"{half.retries} SYN,ACK retransmissions unanswered")
            return
        half.retries += 1
        half.deadline = now + min(cfg.rto_initial_us << half.retries, cfg.rto_max_us)
        self._send_syn_ack(cid, half, now, "SYN,ACK retransmission (RTO)")
        self._arm(cid, half, now)

    def close(self, now: int) -> None:
        """CLOSE of the LISTEN TCB: half-open connections are forgotten (their peers get a
        RST when they answer), completed but unaccepted ones are aborted."""
        self.closed = True
        for cid in list(self.half_open):
            del self.half_open[cid]
            self._state(now, cid, S.SYN_RECEIVED, S.CLOSED, "listener closed")
        while self.accept_queue:
            conn = self.accept_queue.popleft()
            if conn.state is not S.CLOSED:
                conn.abort(now)

    # -- helpers --------------------------------------------------------------------------

    def _rate_limited(self, source: str, now: int) -> bool:
        """The optional per-source SYN rate limit (the seeds' "drop repeated SYNs from one
        address"): at most ``syn_rate_per_source`` SYNs a second from one address."""
        limit = self.host.config.syn_rate_per_source
        if limit is None:
            return False
        second = now // 1_000_000
        if second != self._rate_second:
            self._rate_second, self._syns_by_source = second, {}
        count = self._syns_by_source.get(source, 0) + 1
        self._syns_by_source[source] = count
        return count > limit

    def _arm(self, cid: ConnId, half: HalfOpen, now: int) -> None:
        self.host.arm_timer(cid, half.deadline)
        if self.host.sink.enabled:
            self.host.sink.emit(TimerStarted(now, self.local_ip, cid, RETRANSMIT, half.deadline))

    def _reset(self, cid: ConnId, seg: TcpSegment, reason: str) -> None:
        self.host.send_segment(cid.remote_ip, reset_for_ack(seg), cid, reason)

    def _state(self, now: int, cid: ConnId, old: State, new: State, cause: str) -> None:
        if self.host.sink.enabled:
            self.host.sink.emit(StateChange(now, self.local_ip, cid, old, new, cause))


def _four(cid: ConnId) -> tuple[str, int, str, int]:
    return (cid.local_ip, cid.local_port, cid.remote_ip, cid.remote_port)
