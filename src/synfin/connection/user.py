"""The user calls of RFC 9293 section 3.10: OPEN, SEND, RECEIVE, CLOSE, ABORT, STATUS.

User calls only change state and queue work; segments go out at the next
``poll_transmit(now)``. Wrong-state calls raise :class:`~synfin.errors.LocalError` with the
RFC's words; calls on a connection that failed raise its :class:`~synfin.errors.RemoteError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from synfin.connection.arrival import Arrival
from synfin.connection.core import ANY_IP, FIN_WAIT_2, ConnectionCore
from synfin.errors import (
    CONNECTION_ALREADY_EXISTS,
    CONNECTION_CLOSING,
    CONNECTION_DOES_NOT_EXIST,
    REMOTE_SOCKET_UNSPECIFIED,
    LocalError,
)
from synfin.states import State

S = State
_CAN_SEND = frozenset({S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT})
_CLOSING = frozenset({S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSING, S.LAST_ACK, S.TIME_WAIT})
_NOT_YET_OPEN = frozenset({S.LISTEN, S.SYN_SENT, S.SYN_RECEIVED})
_RST_ON_ABORT = frozenset(
    {S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.CLOSE_WAIT}
)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """What STATUS reports (RFC 9293 3.10.6), plus synfin's estimator and window state."""

    state: State
    local: tuple[str, int]
    remote: tuple[str, int]
    snd_una: int
    snd_nxt: int
    snd_wnd: int
    rcv_nxt: int
    rcv_wnd: int
    send_queue: int  #: bytes queued and not yet acknowledged
    recv_queue: int  #: bytes received and not yet read
    srtt_us: int | None
    rto_us: int
    cwnd: int
    ssthresh: int
    smss: int
    error: str | None


class UserCalls(Arrival):
    """RFC 9293 3.10 user calls."""

    def open_active(self, remote_ip: str, remote_port: int, now: int,
                    iss: int | None = None) -> None:
        """Active OPEN (3.10.1): choose ISS, send SYN, enter SYN-SENT. ``iss`` overrides the
        RFC 6528 choice (a stack reopening a TIME-WAIT 4-tuple, RFC 6191)."""
        if self.state not in (S.CLOSED, S.LISTEN) or self.error is not None:
            raise LocalError(CONNECTION_ALREADY_EXISTS)
        if self.state is S.CLOSED:
            self._new_tcb()
        self.remote_ip, self.remote_port = remote_ip, remote_port
        self._record_call(now, "OPEN", f"active to {remote_ip}:{remote_port}")
        self.passive = False
        self._choose_iss(now, iss)
        self._set_state(S.SYN_SENT, now)
        self._wake()

    def open_passive(self, now: int) -> None:
        """Passive OPEN (3.10.1): enter LISTEN and wait for a SYN."""
        self._record_call(now, "OPEN", "passive")
        if self.state is not S.CLOSED or self.error is not None:
            raise LocalError(CONNECTION_ALREADY_EXISTS)
        self._new_tcb()
        self.passive = True
        self._set_state(S.LISTEN, now)

    def _new_tcb(self) -> None:
        """OPEN in CLOSED "create[s] a new transmission control block" (3.10.1): nothing of
        an earlier connection through this object survives (queued or unread data, FIN
        flags, sequence variables, estimators). The user's settings (Nagle, the wake-up
        callback) stay."""
        keep = self.on_wake, self.nagle
        ConnectionCore.__init__(self, self.config, self.local_ip, self.local_port,
                                isn=self._isn, sink=self._sink)
        self.on_wake, self.nagle = keep

    def send(self, data: bytes, now: int) -> int:
        """SEND (3.10.2): queue data; returns how many bytes the send buffer took."""
        self._raise_if_gone()
        if self.state is S.LISTEN:
            raise LocalError(REMOTE_SOCKET_UNSPECIFIED)
        if self.state not in _CAN_SEND or self.fin_queued:
            raise LocalError(CONNECTION_CLOSING)
        taken = self.send_buffer.write(data)
        self._record_call(now, "SEND", f"{taken} of {len(data)} bytes queued")
        if taken:
            self._wake()
        return taken

    def receive(self, max_bytes: int = -1, *, now: int) -> bytes:
        """RECEIVE (3.10.3): up to ``max_bytes`` of data in order. Before ESTABLISHED it
        returns ``b""``; after the peer's FIN with nothing left it raises "connection
        closing" (the end of the stream)."""
        if self.recv_buffer.readable():
            data = self.recv_buffer.read(max_bytes)
            self._maybe_update_window()
            return data
        self._raise_if_gone()
        if self.peer_fin:
            raise LocalError(CONNECTION_CLOSING)
        return b""

    def close(self, now: int) -> None:
        """CLOSE (3.10.4): no more data from us; a FIN follows what is queued."""
        self._record_call(now, "CLOSE")
        state = self.state
        if state is S.CLOSED:
            self._raise_if_gone()
            raise LocalError(CONNECTION_DOES_NOT_EXIST)
        if state in (S.LISTEN, S.SYN_SENT):
            self._outbox.clear()
            self._close_quietly(now, "CLOSE / delete TCB")
        elif state in (S.SYN_RECEIVED, S.ESTABLISHED):
            self.fin_queued = True
            self._set_state(S.FIN_WAIT_1, now)
        elif state is S.CLOSE_WAIT:
            self.fin_queued = True
            self._set_state(S.LAST_ACK, now)
        else:
            raise LocalError(CONNECTION_CLOSING)
        self._wake()

    def abort(self, now: int) -> None:
        """ABORT (3.10.5): RST where the peer holds state, then CLOSED at once."""
        self._record_call(now, "ABORT")
        state = self.state
        if state is S.CLOSED:
            raise LocalError(CONNECTION_DOES_NOT_EXIST)
        self._outbox.clear()
        if state in _RST_ON_ABORT:
            # <SEQ=SND.NXT><CTL=RST> (3.10.5). The RFC's SND.NXT never moves back; ours is
            # rewound by go-back-N, and a RST before the peer's RCV.NXT would be dropped as out
            # of its window (3.10.7.4 second step), so the RST carries SND.MAX.
            self._send_rst(self.tcb.snd_max, now, "ABORT (RFC 9293 3.10.5)")
        self._close_quietly(now, "ABORT")
        self._wake()

    def end_time_wait(self, now: int, cause: str) -> None:
        """TIME-WAIT is over for this connection (called by a stack that kept its 4-tuple as
        a compact record): enter CLOSED."""
        self._timers.clear()
        self._close_quietly(now, cause)

    def orphan(self, now: int) -> None:
        """The application let go of the connection (a socket's close()): from now on an
        idle FIN-WAIT-2 times out after ``fin_timeout_us`` (Linux tcp_fin_timeout)."""
        self.orphaned = True
        timeout = self.config.fin_timeout_us
        if self.state is S.FIN_WAIT_2 and timeout is not None:
            self._arm(FIN_WAIT_2, now + timeout, now)
            self._wake()

    def status(self) -> ConnectionStatus:
        """STATUS (3.10.6)."""
        tcb = self.tcb
        return ConnectionStatus(
            state=self.state,
            local=(self.local_ip, self.local_port),
            remote=(self.remote_ip, self.remote_port),
            snd_una=tcb.snd_una,
            snd_nxt=tcb.snd_nxt,
            snd_wnd=tcb.snd_wnd,
            rcv_nxt=tcb.rcv_nxt,
            rcv_wnd=self.recv_buffer.window(),
            send_queue=len(self.send_buffer),
            recv_queue=self.recv_buffer.readable(),
            srtt_us=self.rto.srtt,
            rto_us=self.rto.rto,
            cwnd=self.cc.cwnd,
            ssthresh=self.cc.ssthresh,
            smss=tcb.smss,
            error=self.error.text if self.error else None,
        )

    # -- conveniences for APIs built on top -----------------------------------------------

    def readable(self) -> int:
        """Bytes ready for RECEIVE."""
        return self.recv_buffer.readable()

    def send_space(self) -> int:
        """Bytes SEND would take now."""
        return self.send_buffer.free()

    @property
    def at_eof(self) -> bool:
        """The peer sent FIN and every byte before it has been read."""
        return self.peer_fin and not self.recv_buffer.readable()

    @property
    def has_remote(self) -> bool:
        return self.remote_ip != ANY_IP

    def _raise_if_gone(self) -> None:
        if self.error is not None:
            raise self.error
        if self.state is S.CLOSED:
            raise LocalError(CONNECTION_DOES_NOT_EXIST)

    def _maybe_update_window(self) -> None:
        """Receiver SWS avoidance (RFC 9293 3.8.6.2.2): announce a reopened window once it
        grew by min(half the buffer, one MSS). Like Linux, only when the window last
        announced was below half the buffer: a wide-open window needs no news."""
        if self.state in _NOT_YET_OPEN or self.state is S.CLOSED:
            return
        half = self.config.recv_buffer // 2
        grown = self.recv_buffer.window() - self._last_advertised
        if self._last_advertised < half and grown >= min(half, self.tcb.smss):
            self._ack_soon("window update")
            self._wake()
