"""The timeouts of RFC 9293 section 3.10.8 and the timers synfin adds: retransmission
(RFC 6298), persist (zero-window probes), delayed ACK, TIME-WAIT (2MSL) and the Linux-style
FIN-WAIT-2 timeout for orphaned connections.
"""

from __future__ import annotations

from synfin.connection.core import DELAYED_ACK, FIN_WAIT_2, PERSIST, RETRANSMIT, TIME_WAIT
from synfin.connection.negotiation import Negotiation
from synfin.errors import CONNECTION_TIMED_OUT, USER_TIMEOUT
from synfin.states import State


class Timeouts(Negotiation):
    """Timer expiry handling."""

    def on_timer(self, now: int) -> None:
        """Run every timer whose deadline has passed, earliest first."""
        due = sorted((deadline, name) for name, deadline in self._timers.items()
                     if deadline <= now)
        for _, name in due:
            if name not in self._timers or self.state is State.CLOSED:
                continue
            self._fired(name, now)
            self._on_expiry(name, now)

    def _on_expiry(self, name: str, now: int) -> None:
        if name == RETRANSMIT:
            self._on_retransmission_timeout(now)
        elif name == PERSIST:
            self._on_persist_timeout(now)
        elif name == DELAYED_ACK:
            self._ack_soon("delayed ACK timer")
        elif name == TIME_WAIT:
            self._close_quietly(now, "timeout=2MSL / delete TCB")
        elif name == FIN_WAIT_2:
            self._close_quietly(now, "FIN-WAIT-2 timeout of an orphaned connection "
                                     "(Linux tcp_fin_timeout)")

    def _retry_limit(self) -> int:
        if self.state is State.SYN_SENT:
            return self.config.syn_retries
        if not self._syn_acked():
            return self.config.synack_retries
        return self.config.data_retries

    def _on_retransmission_timeout(self, now: int) -> None:
        """RFC 6298 5.4-5.6: resend the earliest unacknowledged segment, double the RTO,
        restart the timer; collapse cwnd (RFC 5681 3.1). Give up after the retry limit
        ("connection timed out") or the user timeout (RFC 9293 3.10.8)."""
        ut = self.config.user_timeout_us
        if ut is not None and self._unacked_since is not None and now - self._unacked_since >= ut:
            self._fail(now, USER_TIMEOUT, "USER TIMEOUT")
            return
        if self._retries >= self._retry_limit():
            self._fail(now, CONNECTION_TIMED_OUT, f"{self._retries} retransmissions unanswered")
            return
        self._retries += 1
        tcb = self.tcb
        self.rto.back_off()
        if self._syn_acked():
            self.cc.on_retransmission_timeout(self.flight_size(), tcb.snd_max)
        self._rtt_seq = None  # Karn's rule: no sample from a retransmitted segment
        self.sacked.clear()  # RFC 2018 section 8: SACK state is not trusted after an RTO
        self._rexmit_next = None
        tcb.snd_nxt = tcb.snd_una
        self._arm(RETRANSMIT, self._retransmit_deadline(now), now)

    def _on_persist_timeout(self, now: int) -> None:
        """Probe a zero window and back off (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17)."""
        if self.tcb.snd_wnd > 0 or self.state is State.CLOSED:
            self._persist_backoff = 0
            return
        self._send_window_probe(now)
        self._persist_backoff = min(self._persist_backoff + 1, 16)
        self._arm_persist(now)
