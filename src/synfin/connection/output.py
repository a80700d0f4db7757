"""Output: what a connection sends, decided from its state and sequence variables.

Like smoltcp's ``dispatch``, output is derived from position: ``SND.NXT == ISS`` means the SYN
is due, bytes between SND.NXT and the end of the send buffer are due (within the send and
congestion windows), then the FIN. A retransmission timeout rewinds SND.NXT to SND.UNA and the
same code resends. ACKs ride on whatever goes out; a pure ACK goes only when nothing else did.
"""

from __future__ import annotations

from synfin.connection.core import PERSIST, RETRANSMIT, ConnectionCore, Outgoing
from synfin.handshake import Negotiated, syn_options, timestamps_options, tsval_at
from synfin.seq import SEQ_MOD, seq_add, seq_diff, seq_ge, seq_gt
from synfin.states import State
from synfin.variants import TWO_WAY_HANDSHAKE
from synfin.wire.flags import Flags
from synfin.wire.segment import (
    NopOption,
    SackOption,
    TcpOption,
    TcpSegment,
)

_NO_OUTPUT = frozenset({State.CLOSED, State.LISTEN})
_MAX_WINDOW_FIELD = 0xFFFF


class Output(ConnectionCore):
    """Builds and queues outgoing segments."""

    def poll_transmit(self, now: int) -> list[TcpSegment]:
        """Everything due to be sent now, in order."""
        return [out.segment for out in self.poll_outgoing(now)]

    def poll_outgoing(self, now: int) -> list[Outgoing]:
        """Everything due to be sent now, each with the reason it is sent."""
        self._dispatch(now)
        return self.take_outgoing()

    def _dispatch(self, now: int) -> None:
        if self.state in _NO_OUTPUT:
            return
        if self.state is not State.TIME_WAIT:
            if not self._syn_acked():
                if self.tcb.snd_nxt == self.tcb.iss:
                    self._send_syn(now)
                if not self.send_buffer:
                    # CLOSE in SYN-RECEIVED with nothing queued: "form a FIN segment and send
                    # it, and enter FIN-WAIT-1" (RFC 9293 3.10.4); it need not wait for the ACK.
                    self._send_fin_if_due(now)
            else:
                self._send_data(now)
                self._send_fin_if_due(now)
        self._flush_ack(now)

    # -- positions ------------------------------------------------------------------------

    def _syn_acked(self) -> bool:
        return seq_gt(self.tcb.snd_una, self.tcb.iss)

    def _fin_seq(self) -> int:
        """Sequence number our FIN takes: just after the last queued byte."""
        base = self.tcb.snd_una if self._syn_acked() else seq_add(self.tcb.iss, 1)
        return seq_add(base, len(self.send_buffer))

    def _fin_sent(self) -> bool:
        return self.fin_queued and seq_gt(self.tcb.snd_max, self._fin_seq())

    def flight_size(self) -> int:
        """Octets sent and not yet acknowledged (RFC 5681 FlightSize)."""
        return seq_diff(self.tcb.snd_max, self.tcb.snd_una)

    # -- SYN ------------------------------------------------------------------------------

    def _send_syn(self, now: int) -> None:
        """Send (or resend) our SYN: ``<SEQ=ISS><CTL=SYN>`` from SYN-SENT, ``<SEQ=ISS>
        <ACK=RCV.NXT><CTL=SYN,ACK>`` once the peer's SYN is known (RFC 9293 3.10.7.2-3)."""
        tcb = self.tcb
        active = self.state is State.SYN_SENT
        flags = Flags.SYN if active else Flags.SYN | Flags.ACK
        seg = self._segment(tcb.iss, flags, b"", now)
        first = tcb.snd_max == tcb.iss
        tcb.snd_nxt = seq_add(tcb.iss, 1)
        if first:
            tcb.snd_max = tcb.snd_nxt  # never lowered: a FIN may follow (CLOSE in SYN-RECEIVED)
            self._start_rtt_sample(tcb.snd_nxt, now)
        if self._unacked_since is None:
            self._unacked_since = now  # USER TIMEOUT holds "for any state" (RFC 9293 3.10.8)
        self._ensure_retransmit_timer(now)
        self._queue(seg, self._syn_reason(active, first))
        if not active:
            self._ack_sent(now)
            if TWO_WAY_HANDSHAKE in self.config.variants:
                tcb.snd_una = tcb.snd_nxt  # nothing will confirm the SYN,ACK: assume it
                self._unacked_since = None
                self._stop(RETRANSMIT, now)

    def _syn_reason(self, active: bool, first: bool) -> str:
        what = "SYN" if active else "SYN,ACK"
        if self._retries:
            return f"{what} retransmission (RTO)"
        if first:
            return f"{what} (first)"
        if not self.passive and not active:
            return "SYN,ACK (simultaneous open)"
        return f"{what} again (duplicate SYN)"

    # -- data -----------------------------------------------------------------------------

    def _send_data(self, now: int) -> None:
        """Send queued data within min(SND.WND, cwnd) (RFC 9293 3.8.6, RFC 5681 3.1)."""
        tcb = self.tcb
        while True:
            in_flight = seq_diff(tcb.snd_nxt, tcb.snd_una)
            unsent = len(self.send_buffer) - in_flight
            if unsent <= 0:
                return
            usable = min(tcb.snd_wnd, self.cc.cwnd) - in_flight
            if usable <= 0:
                if tcb.snd_wnd == 0 and in_flight == 0:
                    self._arm_persist(now)
                return
            size = min(tcb.smss, unsent, usable)
            if not self._sws_allows(size, unsent, in_flight):
                return
            fin = self.fin_queued and size == unsent
            self._send_from(tcb.snd_nxt, in_flight, size, fin, now, self._data_reason())

    def _sws_allows(self, size: int, unsent: int, in_flight: int) -> bool:
        """Sender silly-window avoidance and Nagle (RFC 9293 3.8.6.2.1, RFC 1122 4.2.3.4).

        Full-sized segments always go. With nothing in flight, anything goes (no ACK would
        come to clock it out). Otherwise Nagle holds small segments; without Nagle, a small
        segment goes when it empties the queue or fills half the largest window seen.
        """
        if size >= self.tcb.smss or in_flight == 0:
            return True
        if self.nagle:
            return False
        return size == unsent or 2 * size >= self.tcb.max_snd_wnd

    def _data_reason(self) -> str:
        if seq_gt(self.tcb.snd_max, self.tcb.snd_nxt):
            return "retransmission (go-back-N after RTO)"
        return "data"

    def _send_from(self, seq: int, offset: int, size: int, fin: bool, now: int,
                   reason: str) -> None:
        """Queue a segment carrying ``size`` bytes from buffer ``offset`` (and FIN)."""
        tcb = self.tcb
        payload = self.send_buffer.peek(offset, size)
        flags = Flags.ACK
        if size and offset + size == len(self.send_buffer):
            flags |= Flags.PSH
        if fin:
            flags |= Flags.FIN
        seg = self._segment(seq, flags, payload, now)
        end = seq_add(seq, size + (1 if fin else 0))
        if seq_ge(seq, tcb.snd_max) and self._rtt_seq is None:
            self._start_rtt_sample(end, now)
        tcb.snd_nxt = end
        if seq_gt(end, tcb.snd_max):
            tcb.snd_max = end
        if self._unacked_since is None:
            self._unacked_since = now
        self._ensure_retransmit_timer(now)
        self._queue(seg, reason + (" + FIN" if fin and size else ""))
        self._ack_sent(now)

    def _send_fin_if_due(self, now: int) -> None:
        """Send FIN once every queued byte has been sent (RFC 9293 3.10.4 CLOSE)."""
        if not self.fin_queued or self.fin_acked:
            return
        fin_seq = self._fin_seq()
        if self.tcb.snd_nxt != fin_seq:
            return
        reason = "FIN retransmission" if seq_gt(self.tcb.snd_max, fin_seq) else "FIN (CLOSE)"
        self._send_from(fin_seq, len(self.send_buffer), 0, True, now, reason)

    def _retransmit_first(self, now: int, reason: str) -> None:
        """Resend the first unacknowledged segment without moving SND.NXT (RFC 5681 3.2
        fast retransmit, RFC 6582 partial ACK). Karn: no RTT sample from it."""
        tcb = self.tcb
        outstanding = self.flight_size()
        data = min(outstanding, len(self.send_buffer))
        size = min(tcb.smss, data)
        fin = self._fin_sent() and size == data and outstanding == data + 1
        if size == 0 and not fin:
            return
        flags = Flags.ACK | (Flags.FIN if fin else Flags(0))
        seg = self._segment(tcb.snd_una, flags, self.send_buffer.peek(0, size), now)
        self._rtt_seq = None
        self._rexmit_next = seq_add(tcb.snd_una, size)
        self._restart_retransmit_timer(now)
        self._queue(seg, reason)
        self._ack_sent(now)

    def _retransmit_next_hole(self, now: int) -> None:
        """In recovery, resend the first range the receiver has not SACKed, below the
        highest SACKed octet and not yet resent in this recovery (RFC 6675 NextSeg rule 1)."""
        tcb = self.tcb
        hole = self.sacked.next_hole(self._rexmit_next or tcb.snd_una, tcb.snd_una)
        if hole is None:
            return
        start, end = hole
        offset = seq_diff(start, tcb.snd_una)
        size = min(tcb.smss, seq_diff(end, start), len(self.send_buffer) - offset)
        if size <= 0:
            return
        seg = self._segment(start, Flags.ACK, self.send_buffer.peek(offset, size), now)
        self._rexmit_next = seq_add(start, size)
        self._rtt_seq = None  # Karn
        self._queue(seg, "retransmission of a SACK hole (RFC 6675)")
        self._ack_sent(now)

    # -- ACK, RST, probes -----------------------------------------------------------------

    def _flush_ack(self, now: int) -> None:
        """A pure ACK, ``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`` (RFC 9293 3.10.7.4). The RFC's
        SND.NXT never moves back; ours is rewound by go-back-N after an RTO, so the ACK
        carries SND.MAX, else the peer, whose RCV.NXT may be past our rewound SND.NXT, would
        find the ACK's SEQ old, drop it as unacceptable, and never learn what we received."""
        if self._ack_reason:
            reason = self._ack_reason
            self._queue(self._segment(self.tcb.snd_max, Flags.ACK, b"", now), reason)
            self._ack_sent(now)

    def _ack_sent(self, now: int) -> None:
        self._ack_reason = ""
        self._segments_unacked = 0
        if "delayed-ack" in self._timers:
            self._stop("delayed-ack", now)

    def _send_ack_now(self, now: int, reason: str) -> None:
        """``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`` at once."""
        self._ack_reason = reason
        self._flush_ack(now)

    def _send_challenge_ack(self, now: int, reason: str) -> bool:
        """An RFC 5961 challenge ACK, at most ``challenge_ack_limit`` a second (section 7).
        Returns False when the limit suppressed it."""
        second = now // 1_000_000
        if second != self._challenge_window:
            self._challenge_window, self._challenge_count = second, 0
        if self._challenge_count >= self.config.challenge_ack_limit:
            return False
        self._challenge_count += 1
        self._send_ack_now(now, f"challenge ACK (RFC 5961): {reason}")
        return True

    def _send_rst(self, seq: int, now: int, reason: str, ack: int | None = None) -> None:
        flags = Flags.RST if ack is None else Flags.RST | Flags.ACK
        seg = TcpSegment(self.local_port, self.remote_port, seq, ack or 0, flags, 0)
        self._queue(seg, reason)

    def _send_window_probe(self, now: int) -> None:
        """Zero-window probe: an ACK with SEQ=SND.UNA-1, outside the peer's window, which the
        peer must answer with an ACK carrying its current window (RFC 9293 3.8.6.1; the
        probe form follows Linux, see docs/deviations.md)."""
        seq = (self.tcb.snd_una - 1) % SEQ_MOD
        self._queue(self._segment(seq, Flags.ACK, b"", now), "zero-window probe")
        self._ack_sent(now)

    # -- segment building -----------------------------------------------------------------

    def _segment(self, seq: int, flags: Flags, payload: bytes, now: int) -> TcpSegment:
        ack = self.tcb.rcv_nxt if flags & Flags.ACK else 0
        syn = bool(flags & Flags.SYN)
        options = self._syn_options(now) if syn else self._data_options(now)
        return TcpSegment(self.local_port, self.remote_port, seq, ack, flags,
                          self._window_field(syn), 0, options, payload)

    def _window_field(self, syn: bool) -> int:
        """SEG.WND: free receive space, scaled except in SYNs (RFC 7323 2.2)."""
        wnd = self.recv_buffer.window()
        self._last_advertised = wnd
        if syn:
            return min(wnd, _MAX_WINDOW_FIELD)
        return min(wnd >> self.tcb.rcv_wscale, _MAX_WINDOW_FIELD)

    def _tsval(self, now: int) -> int:
        """TSval: a 1 ms clock plus a random per-connection offset (RFC 7323 5.4)."""
        return tsval_at(now, self.tcb.ts_offset)

    def _syn_options(self, now: int) -> tuple[TcpOption, ...]:
        """Options of our SYN, or of our SYN,ACK (only those the SYN offered)."""
        tcb = self.tcb
        if self.state is State.SYN_SENT:
            return syn_options(self.config, None, self._tsval(now), 0)
        agreed = Negotiated(tcb.smss, tcb.ws_ok, tcb.snd_wscale, tcb.rcv_wscale, tcb.ts_ok,
                            tcb.sack_ok)
        return syn_options(self.config, agreed, self._tsval(now), tcb.ts_recent)

    def _data_options(self, now: int) -> tuple[TcpOption, ...]:
        tcb = self.tcb
        opts: list[TcpOption] = []
        if tcb.ts_ok:
            opts += timestamps_options(self._tsval(now), tcb.ts_recent)
        if tcb.sack_ok and self.recv_buffer.has_out_of_order():
            room = 3 if tcb.ts_ok else 4
            base = tcb.rcv_nxt
            blocks = tuple(
                (seq_add(base, start), seq_add(base, end))
                for start, end in self.recv_buffer.out_of_order_ranges()[:room]
            )
            opts += [NopOption(), NopOption(), SackOption(blocks)]
        return tuple(opts)

    # -- timers used by output ------------------------------------------------------------

    def _start_rtt_sample(self, end_seq: int, now: int) -> None:
        self._rtt_seq, self._rtt_start = end_seq, now

    def _ensure_retransmit_timer(self, now: int) -> None:
        """RFC 6298 5.1: start the timer when a segment goes and it is not running."""
        if RETRANSMIT not in self._timers:
            self._arm(RETRANSMIT, self._retransmit_deadline(now), now)

    def _restart_retransmit_timer(self, now: int) -> None:
        """RFC 6298 5.3: restart on an ACK of new data."""
        self._arm(RETRANSMIT, self._retransmit_deadline(now), now)

    def _retransmit_deadline(self, now: int) -> int:
        """now + RTO, but no later than the USER TIMEOUT of the oldest unacknowledged data
        (RFC 9293 3.10.8, RFC 5482), so the abort comes on time and not up to a backed-off
        RTO late (as Linux clamps the RTO to TCP_USER_TIMEOUT)."""
        deadline = now + self.rto.rto
        ut = self.config.user_timeout_us
        if ut is not None and self._unacked_since is not None:
            deadline = min(deadline, max(self._unacked_since + ut, now))
        return deadline

    def _arm_persist(self, now: int) -> None:
        if PERSIST in self._timers:
            return
        base = max(self.rto.rto, self.config.persist_min_us)
        interval = min(base << self._persist_backoff, self.config.persist_max_us)
        self._arm(PERSIST, now + interval, now)
