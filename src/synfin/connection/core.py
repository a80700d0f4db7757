"""The state a Connection carries, and the three mechanisms every part of it uses:
state changes checked against the RFC table, named timers, and trace records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from synfin.buffers import ReceiveBuffer, SendBuffer
from synfin.config import Config
from synfin.congestion import ALGORITHMS, CongestionControl
from synfin.connection.sack import SackScoreboard
from synfin.errors import RemoteError
from synfin.isn import IsnGenerator
from synfin.rto import RtoEstimator
from synfin.states import State, check_transition
from synfin.tcb import Tcb
from synfin.trace.records import (
    ConnId,
    SegmentDropped,
    StateChange,
    TimerFired,
    TimerStarted,
    TimerStopped,
    TraceSink,
    UserCall,
)
from synfin.wire.segment import Packet, TcpSegment

#: Timer names (trace records and ``Connection.timers`` use these).
RETRANSMIT = "retransmit"
PERSIST = "persist"
DELAYED_ACK = "delayed-ack"
TIME_WAIT = "time-wait"
FIN_WAIT_2 = "fin-wait-2"

ANY_IP = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A segment the connection wants sent, and why (house rule 3)."""

    segment: TcpSegment
    reason: str


def _ignore(_conn: ConnectionCore) -> None:
    return None


class ConnectionCore:
    """Fields and shared mechanisms of a connection; the behaviour lives in the mixins."""

    def __init__(
        self,
        config: Config,
        local_ip: str,
        local_port: int,
        *,
        isn: IsnGenerator,
        sink: TraceSink,
    ) -> None:
        self.config = config
        self.local_ip = local_ip
        self.local_port = local_port
        self.remote_ip = ANY_IP
        self.remote_port = 0
        self._conn_id: ConnId | None = None
        self.state = State.CLOSED
        self.tcb = Tcb()
        self.send_buffer = SendBuffer(config.send_buffer)
        self.recv_buffer = ReceiveBuffer(config.recv_buffer)
        self.rto = RtoEstimator(config.rto_initial_us, config.rto_min_us, config.rto_max_us)
        self.cc: CongestionControl = ALGORITHMS[config.congestion_control](config.default_peer_mss)
        #: The error that ended the connection ("connection reset", ...), once there is one.
        self.error: RemoteError | None = None
        #: Opened by a passive OPEN: an RST in SYN-RECEIVED returns it to LISTEN.
        self.passive = False
        #: The user called CLOSE: a FIN follows the queued data.
        self.fin_queued = False
        self.fin_acked = False
        #: The peer's FIN has been received and processed (RFC: "connection closing").
        self.peer_fin = False
        #: The application will read no more (Linux "orphan"): FIN-WAIT-2 may time out.
        self.orphaned = False
        self.nagle = config.nagle
        self._isn = isn
        self._sink = sink
        self._outbox: list[Outgoing] = []
        self._ack_reason = ""  # non-empty: an ACK must go out at the next output
        self._timers: dict[str, int] = {}
        self._retries = 0
        self._rtt_seq: int | None = None
        self._rtt_start = 0
        self._unacked_since: int | None = None  # for the user timeout
        self._pending_peer_fin: int | None = None  # seq of a FIN that arrived out of order
        self._challenge_window = 0
        self._challenge_count = 0
        self._segments_unacked = 0  # in-order data segments not yet acknowledged (delayed ACK)
        self._persist_backoff = 0
        self._last_advertised = 0
        #: What the receiver reported holding beyond SND.UNA (RFC 2018, RFC 6675).
        self.sacked = SackScoreboard()
        #: During recovery, where the search for the next hole to resend starts.
        self._rexmit_next: int | None = None
        #: Called when a user call leaves work for the next output (the stack listens).
        self.on_wake: Callable[[ConnectionCore], None] = _ignore

    def _wake(self) -> None:
        self.on_wake(self)

    # -- identity -------------------------------------------------------------------------

    @property
    def conn_id(self) -> ConnId:
        """The 4-tuple from this end's point of view. Kept between calls (the stack asks
        several times per segment) and rebuilt when any of the four fields changed."""
        cid = self._conn_id
        if (cid is None or cid.remote_port != self.remote_port
                or cid.remote_ip != self.remote_ip or cid.local_port != self.local_port
                or cid.local_ip != self.local_ip):
            cid = self._conn_id = ConnId(self.local_ip, self.local_port, self.remote_ip,
                                         self.remote_port)
        return cid

    # -- state changes (house rule 1) ------------------------------------------------------

    def _set_state(self, new: State, now: int, cause: str = "") -> None:
        """Move to ``new`` after checking RFC 9293's transition table; record why."""
        label = check_transition(self.state, new)
        old, self.state = self.state, new
        if self._sink.enabled:
            self._sink.emit(StateChange(now, self.local_ip, self.conn_id, old, new,
                                        cause or label))
        if new is State.CLOSED:
            self._timers.clear()

    # -- output queue -----------------------------------------------------------------------

    def _queue(self, segment: TcpSegment, reason: str) -> None:
        self._outbox.append(Outgoing(segment, reason))

    def take_outgoing(self) -> list[Outgoing]:
        """Hand the queued segments to the stack (and forget them)."""
        out, self._outbox = self._outbox, []
        return out

    # -- timers -----------------------------------------------------------------------------

    def _arm(self, name: str, deadline: int, now: int) -> None:
        self._timers[name] = deadline
        if self._sink.enabled:
            self._sink.emit(TimerStarted(now, self.local_ip, self.conn_id, name, deadline))

    def _stop(self, name: str, now: int) -> None:
        if self._timers.pop(name, None) is not None and self._sink.enabled:
            self._sink.emit(TimerStopped(now, self.local_ip, self.conn_id, name))

    def _fired(self, name: str, now: int) -> None:
        del self._timers[name]
        if self._sink.enabled:
            self._sink.emit(TimerFired(now, self.local_ip, self.conn_id, name))

    def next_deadline(self) -> int | None:
        """The earliest armed timer, absolute microseconds, or ``None``."""
        return min(self._timers.values()) if self._timers else None

    @property
    def timers(self) -> dict[str, int]:
        """A copy of the armed timers: name to deadline."""
        return dict(self._timers)

    # -- trace helpers ----------------------------------------------------------------------

    def _drop(self, seg: TcpSegment, now: int, reason: str, detail: str = "") -> None:
        """Discard ``seg`` with a named reason (house rule 3)."""
        if self._sink.enabled:
            packet = Packet(self.remote_ip, self.local_ip, seg)
            self._sink.emit(SegmentDropped(now, self.local_ip, self.conn_id, packet, reason,
                                           detail))

    def _record_call(self, now: int, call: str, detail: str = "") -> None:
        if self._sink.enabled:
            self._sink.emit(UserCall(now, self.local_ip, self.conn_id, call, detail))

    def _ack_soon(self, reason: str) -> None:
        """Ask for an ACK at the next output (it may ride on a data segment)."""
        if not self._ack_reason:
            self._ack_reason = reason

    # -- endings ----------------------------------------------------------------------------

    def _fail(self, now: int, text: str, cause: str) -> None:
        """End the connection with an error the user will see (reset, refused, timed out)."""
        self.error = RemoteError(text)
        self._outbox.clear()
        self._set_state(State.CLOSED, now, f"{cause}: {text}")

    def _close_quietly(self, now: int, cause: str) -> None:
        """Enter CLOSED without an error (LAST-ACK/CLOSING reset, TIME-WAIT expiry)."""
        self._set_state(State.CLOSED, now, cause)
