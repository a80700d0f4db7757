"""SEGMENT ARRIVES, RFC 9293 section 3.10.7, one method per state group and per step.

The steps for synchronized states run in the RFC's order: check sequence number, check RST,
(security), check SYN, check ACK, (URG), process text, check FIN. Every discarded segment gets
a reason from ``synfin.drops``; peer mistakes never raise.
"""

from __future__ import annotations

from synfin import drops
from synfin.connection.core import FIN_WAIT_2, PERSIST, RETRANSMIT, TIME_WAIT
from synfin.connection.timeouts import Timeouts
from synfin.errors import CONNECTION_REFUSED, CONNECTION_RESET
from synfin.handshake import paws_rejects
from synfin.reset import reset_for, reset_for_ack
from synfin.rto import RtoEstimator
from synfin.seq import (
    ack_acceptable,
    segment_acceptable,
    seq_add,
    seq_diff,
    seq_ge,
    seq_gt,
    seq_le,
    seq_lt,
)
from synfin.states import State
from synfin.timewait import CHALLENGE_REASONS, TwAction, time_wait_verdict
from synfin.variants import NO_TIME_WAIT, TWO_WAY_HANDSHAKE
from synfin.wire.flags import Flags
from synfin.wire.segment import TcpSegment

S = State
#: RFC 6298 5.7: the RTO after a SYN (or SYN,ACK) timed out without an RTT sample.
SYN_TIMEOUT_FALLBACK_US = 3_000_000
_CLOSING_TEXT_IGNORED = frozenset({S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT})


class Arrival(Timeouts):
    """Processing of arriving segments."""

    def on_segment(self, seg: TcpSegment, src_ip: str, now: int) -> None:
        """SEGMENT ARRIVES (RFC 9293 3.10.7): ``seg`` came from ``src_ip`` at ``now``."""
        state = self.state
        if state is S.CLOSED:
            self._arrive_closed(seg, now)
        elif state is S.LISTEN:
            self._arrive_listen(seg, src_ip, now)
        elif state is S.SYN_SENT:
            self._arrive_syn_sent(seg, now)
        elif state is S.TIME_WAIT:
            self._arrive_time_wait(seg, now)
        else:
            self._arrive_synchronized(seg, now)

    # -- 3.10.7.1 CLOSED ------------------------------------------------------------------

    def _arrive_closed(self, seg: TcpSegment, now: int) -> None:
        """All data is discarded; anything but a RST is answered with a RST (3.10.7.1)."""
        rst = reset_for(seg)
        if rst is not None:
            self._queue(rst, "segment for a CLOSED connection (RFC 9293 3.10.7.1)")
        self._drop(seg, now, drops.CLOSED_CONNECTION)

    # -- 3.10.7.2 LISTEN ------------------------------------------------------------------

    def _arrive_listen(self, seg: TcpSegment, src_ip: str, now: int) -> None:
        """LISTEN: ignore RST, reset an ACK, answer a SYN with SYN,ACK (3.10.7.2)."""
        flags = seg.flags
        if flags & Flags.RST:
            self._drop(seg, now, drops.RST_IN_LISTEN)
        elif flags & Flags.ACK:
            self.remote_ip, self.remote_port = src_ip, seg.src_port
            self._queue(reset_for_ack(seg), "ACK in LISTEN (RFC 9293 3.10.7.2)")
            self._drop(seg, now, drops.ACK_IN_LISTEN)
        elif flags & Flags.SYN:
            self._accept_syn(seg, src_ip, now)
        else:
            self._drop(seg, now, drops.LISTEN_NOT_SYN)

    def _accept_syn(self, seg: TcpSegment, src_ip: str, now: int) -> None:
        """RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ, choose ISS, send SYN,ACK, enter SYN-RECEIVED.

        Data carried on the SYN is not acknowledged (the peer sends it again), as Linux
        without TCP Fast Open; see docs/deviations.md.
        """
        self.remote_ip, self.remote_port = src_ip, seg.src_port
        tcb = self.tcb
        self._negotiate(seg)
        self._choose_iss(now)
        tcb.snd_wnd = seg.window
        tcb.max_snd_wnd = seg.window
        # SND.WL1/WL2 go with SND.WND, as in SYN-SENT (3.10.7.3 fourth step): a CLOSE before
        # the handshake ends skips the SYN-RECEIVED ACK rule that would set them.
        tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack
        self._set_state(S.SYN_RECEIVED, now)
        if TWO_WAY_HANDSHAKE in self.config.variants:
            self._set_state(S.ESTABLISHED, now, "variant two-way-handshake: established "
                                                "on sending SYN,ACK")

    # -- 3.10.7.3 SYN-SENT ----------------------------------------------------------------

    def _arrive_syn_sent(self, seg: TcpSegment, now: int) -> None:
        """SYN-SENT: check ACK, RST, then SYN (RFC 9293 3.10.7.3)."""
        tcb, flags = self.tcb, seg.flags
        ack_ok = False
        if flags & Flags.ACK:
            if seq_le(seg.ack, tcb.iss) or seq_gt(seg.ack, tcb.snd_max):
                if not flags & Flags.RST:
                    self._queue(reset_for_ack(seg), "unacceptable ACK in SYN-SENT")
                self._drop(seg, now, drops.ACK_UNACCEPTABLE)
                return
            ack_ok = True
        if flags & Flags.RST:
            if ack_ok:
                self._fail(now, CONNECTION_REFUSED, "rcv RST,ACK in SYN-SENT")
            else:
                self._drop(seg, now, drops.RST_WITHOUT_ACK_IN_SYN_SENT)
            return
        if not flags & Flags.SYN:
            self._drop(seg, now, drops.SYN_SENT_NO_SYN)
            return
        self._negotiate(seg)
        if ack_ok:
            self._syn_sent_acked(seg, now)
        else:
            self._simultaneous_open(seg, now)

    def _syn_sent_acked(self, seg: TcpSegment, now: int) -> None:
        """Our SYN is acknowledged: enter ESTABLISHED and ACK theirs (3.10.7.3, 4th)."""
        tcb = self.tcb
        self._process_new_ack(seg, now)
        tcb.snd_wnd = seg.window << tcb.snd_wscale
        tcb.max_snd_wnd = tcb.snd_wnd
        tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack
        self._set_state(S.ESTABLISHED, now)
        if TWO_WAY_HANDSHAKE not in self.config.variants:
            self._ack_soon("ACK of SYN,ACK (handshake step 3)")
        if seg.payload or seg.flags & Flags.FIN:
            self._process_text_and_fin(seg, seq_add(seg.seq, 1), now)

    def _simultaneous_open(self, seg: TcpSegment, now: int) -> None:
        """SYN without ACK in SYN-SENT: simultaneous open, enter SYN-RECEIVED and send
        ``<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>`` (3.10.7.3, 4th step)."""
        tcb = self.tcb
        tcb.snd_wnd = seg.window
        tcb.max_snd_wnd = seg.window
        tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack  # "Set the variables" (3.10.7.3)
        self._set_state(S.SYN_RECEIVED, now)
        tcb.snd_nxt = tcb.iss  # resend our SYN, now with ACK
        self._rtt_seq = None

    # -- TIME-WAIT ------------------------------------------------------------------------

    def _arrive_time_wait(self, seg: TcpSegment, now: int) -> None:
        """TIME-WAIT, by the rules of :func:`synfin.timewait.time_wait_verdict` (shared with
        the stack's compact TIME-WAIT records): re-ACK a retransmitted FIN and restart 2MSL
        (RFC 9293 3.10.7.4), ignore RST (RFC 1337), ACK what is old or unacceptable."""
        tcb = self.tcb
        verdict = time_wait_verdict(seg, tcb.rcv_nxt, self.recv_buffer.window(),
                                    tcb.ts_recent if tcb.ts_ok else None, tcb.snd_max,
                                    tcb.max_snd_wnd)
        action, reason = verdict.action, verdict.reason
        if action is TwAction.ACK_RESTART:
            self._send_ack_now(now, "re-ACK of retransmitted FIN in TIME-WAIT")
            self._arm(TIME_WAIT, now + self.config.time_wait_us, now)
        elif action is TwAction.ACK and reason in CHALLENGE_REASONS:
            self._challenge(seg, now, f"{reason} in TIME-WAIT", reason)
        elif action is TwAction.ACK:
            self._send_ack_now(now, f"ACK in TIME-WAIT ({reason})")
            self._drop(seg, now, reason)
        elif action is TwAction.REUSE:
            self._challenge(seg, now, "SYN in TIME-WAIT", drops.SYN_IN_WINDOW_CHALLENGED)
        else:
            self._drop(seg, now, reason)

    def _challenge(self, seg: TcpSegment, now: int, why: str, drop_reason: str) -> None:
        """Answer ``seg`` with an RFC 5961 challenge ACK and drop it; when the rate limit
        (section 7) suppresses the ACK, the drop says so."""
        sent = self._send_challenge_ack(now, why)
        self._drop(seg, now, drop_reason if sent else drops.CHALLENGE_ACK_LIMIT)

    # -- 3.10.7.4 synchronized states (and SYN-RECEIVED) -----------------------------------

    def _arrive_synchronized(self, seg: TcpSegment, now: int) -> None:
        if self._duplicate_syn_in_syn_received(seg, now):
            return
        if self._simultaneous_open_syn_ack(seg, now):
            return
        if not self._check_sequence(seg, now):
            return
        if seg.flags & Flags.RST:
            self._check_rst(seg, now)
            return
        if seg.flags & Flags.SYN:
            self._check_syn(seg, now)
            return
        if not seg.flags & Flags.ACK:
            self._drop(seg, now, drops.NO_ACK_FLAG)
            return
        if not self._check_ack(seg, now):
            return
        self._update_ts_recent(seg)
        self._process_text_and_fin(seg, seg.seq, now)
        if self.state is S.FIN_WAIT_1 and self.fin_acked:
            self._enter_fin_wait_2(now)  # a FIN,ACK whose FIN was not processed

    def _simultaneous_open_syn_ack(self, seg: TcpSegment, now: int) -> bool:
        """Simultaneous open, RFC 9293 Figure 7 line 6: in SYN-RECEIVED after an active OPEN
        the peer's SYN,ACK (SEG.SEQ = IRS, acknowledging our SYN) brings ESTABLISHED. Taken
        literally, the first step would find it old (it ends at RCV.NXT) and the fourth would
        challenge its SYN, so it is recognised first (Linux makes the same exception)."""
        tcb = self.tcb
        if (self.state is not S.SYN_RECEIVED or self.passive
                or seg.flags & (Flags.SYN | Flags.ACK | Flags.RST) != Flags.SYN | Flags.ACK
                or seg.seq != tcb.irs or not ack_acceptable(tcb.snd_una, seg.ack, tcb.snd_max)):
            return False
        tcb.snd_wnd = seg.window << tcb.snd_wscale
        tcb.max_snd_wnd = max(tcb.max_snd_wnd, tcb.snd_wnd)
        tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack
        self._set_state(S.ESTABLISHED, now, "rcv SYN,ACK of SYN (simultaneous open)")
        self._process_new_ack(seg, now)
        return True

    def _duplicate_syn_in_syn_received(self, seg: TcpSegment, now: int) -> bool:
        """A retransmission of the SYN we already answered: send the SYN,ACK again at once
        (Linux behaviour; the RFC would send a bare ACK, see docs/deviations.md)."""
        if (self.state is S.SYN_RECEIVED and seg.flags & (Flags.SYN | Flags.ACK | Flags.RST)
                == Flags.SYN and seg.seq == self.tcb.irs):
            self.tcb.snd_nxt = self.tcb.iss
            self._rtt_seq = None
            self._drop(seg, now, drops.DUPLICATE_SYN, "SYN,ACK sent again")
            return True
        return False

    def _check_sequence(self, seg: TcpSegment, now: int) -> bool:
        """First step: the acceptability test of RFC 9293 3.10.7.4, and PAWS (RFC 7323 5).
        An unacceptable segment is answered with an ACK unless it is a RST."""
        tcb = self.tcb
        if paws_rejects(seg, tcb.ts_recent if tcb.ts_ok else None):
            if not seg.flags & Flags.RST:
                self._send_ack_now(now, "ACK for segment failing PAWS (RFC 7323 5.3)")
            self._drop(seg, now, drops.PAWS)
            return False
        if segment_acceptable(seg.seq, seg.seg_len, tcb.rcv_nxt, self.recv_buffer.window()):
            return True
        if seg.flags & Flags.RST:
            self._drop(seg, now, drops.RST_OUT_OF_WINDOW)
        else:
            self._send_ack_now(now, "ACK for unacceptable segment (RFC 9293 3.10.7.4)")
            self._drop(seg, now, drops.SEQ_UNACCEPTABLE)
        return False

    def _update_ts_recent(self, seg: TcpSegment) -> None:
        """RFC 7323 4.3: remember the peer's TSval of an in-order segment."""
        ts = seg.timestamps
        if self.tcb.ts_ok and ts is not None and seq_le(seg.seq, self.tcb.rcv_nxt):
            self.tcb.ts_recent = ts.tsval

    def _check_rst(self, seg: TcpSegment, now: int) -> None:
        """Second step, with RFC 5961 3.2: only an exact SEQ match resets; any other
        in-window RST gets a challenge ACK."""
        if seg.seq != self.tcb.rcv_nxt:
            self._challenge(seg, now, "RST in window but not at RCV.NXT",
                            drops.RST_IN_WINDOW_CHALLENGED)
            return
        if self.state is S.SYN_RECEIVED:
            if self.passive:
                self._return_to_listen(now)
            else:
                self._fail(now, CONNECTION_REFUSED, "rcv RST in SYN-RECEIVED (active OPEN)")
            return
        if self.state in (S.CLOSING, S.LAST_ACK):
            self._close_quietly(now, "rcv RST")
            return
        self._fail(now, CONNECTION_RESET, f"rcv RST in {self.state}")

    def _check_syn(self, seg: TcpSegment, now: int) -> None:
        """Fourth step: a SYN in SYN-RECEIVED from a passive OPEN returns to LISTEN; in a
        synchronized state it gets a challenge ACK (RFC 5961 section 4)."""
        if self.state is S.SYN_RECEIVED and self.passive:
            self._return_to_listen(now)
            return
        self._challenge(seg, now, f"SYN in {self.state}", drops.SYN_IN_WINDOW_CHALLENGED)

    def _check_ack(self, seg: TcpSegment, now: int) -> bool:
        """Fifth step: the ACK field (RFC 9293 3.10.7.4, RFC 5961 5.2). Returns whether
        processing continues."""
        tcb = self.tcb
        if self.state is S.SYN_RECEIVED:
            if not ack_acceptable(tcb.snd_una, seg.ack, tcb.snd_max):
                self._queue(reset_for_ack(seg), "unacceptable ACK in SYN-RECEIVED")
                self._drop(seg, now, drops.ACK_UNACCEPTABLE)
                return False
            tcb.snd_wnd = seg.window << tcb.snd_wscale
            tcb.max_snd_wnd = max(tcb.max_snd_wnd, tcb.snd_wnd)
            tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack
            self._set_state(S.ESTABLISHED, now)
        if seq_gt(seg.ack, tcb.snd_max):
            self._send_ack_now(now, "ACK of data not yet sent (RFC 9293 3.10.7.4)")
            self._drop(seg, now, drops.ACK_TOO_NEW)
            return False
        if seq_lt(seg.ack, seq_add(tcb.snd_una, -tcb.max_snd_wnd)):
            self._challenge(seg, now, "ACK older than SND.UNA - MAX.SND.WND", drops.ACK_TOO_OLD)
            return False
        if seq_gt(seg.ack, tcb.snd_una):
            self._process_new_ack(seg, now)
        elif seg.ack == tcb.snd_una:
            self._maybe_duplicate_ack(seg, now)
        if seq_ge(seg.ack, tcb.snd_una):
            # "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated" (RFC 9293
            # 3.10.7.4 fifth step): an older ACK's window is relative to an older left edge.
            self._update_send_window(seg, now)
        return self._ack_moves_state(seg, now)

    def _ack_moves_state(self, seg: TcpSegment, now: int) -> bool:
        """FIN-WAIT-1 -> FIN-WAIT-2, CLOSING -> TIME-WAIT, LAST-ACK -> CLOSED once our FIN
        is acknowledged (3.10.7.4 fifth step). Returns whether processing continues.

        A segment that acknowledges our FIN and carries the peer's FIN leaves FIN-WAIT-1 in
        the eighth step instead, straight to TIME-WAIT: "If our FIN has been ACKed (perhaps
        in this segment), then enter TIME-WAIT" (RFC 9293 3.10.7.4, FIN-WAIT-1 eighth step).
        """
        if not self.fin_acked:
            return True
        if self.state is S.FIN_WAIT_1:
            if not seg.flags & Flags.FIN:
                self._enter_fin_wait_2(now)
        elif self.state is S.CLOSING:
            self._enter_time_wait(now)
        elif self.state is S.LAST_ACK:
            self._set_state(S.CLOSED, now)
            return False
        return True

    def _enter_fin_wait_2(self, now: int) -> None:
        self._set_state(S.FIN_WAIT_2, now)
        if self.orphaned and self.config.fin_timeout_us is not None:
            self._arm(FIN_WAIT_2, now + self.config.fin_timeout_us, now)

    def _process_new_ack(self, seg: TcpSegment, now: int) -> None:
        """SND.UNA < SEG.ACK =< SND.NXT: advance SND.UNA, drop acknowledged data, take an
        RTT sample (Karn), feed congestion control, manage the timer (RFC 6298 5.2/5.3)."""
        tcb = self.tcb
        flight_before = self.flight_size()
        fin_seq = self._fin_seq() if self.fin_queued else None
        advanced = seq_diff(seg.ack, tcb.snd_una)
        syn_timed_out = False
        if not self._syn_acked():
            advanced -= 1  # the SYN's sequence number
            syn_timed_out = self._retries > 0
        if fin_seq is not None and seq_gt(seg.ack, fin_seq):
            self.fin_acked = True
            advanced -= 1
        self.send_buffer.discard(min(advanced, len(self.send_buffer)))
        tcb.snd_una = seg.ack
        self.sacked.advance(tcb.snd_una)
        self._take_sack(seg)
        if seq_lt(tcb.snd_nxt, tcb.snd_una):
            tcb.snd_nxt = tcb.snd_una
        self._take_rtt_sample(seg.ack, now)
        self._retries = 0
        self.rto.reset_backoff()
        if syn_timed_out and self.rto.srtt is None and self.rto.rto < SYN_TIMEOUT_FALLBACK_US:
            # RFC 6298 5.7: the timer expired awaiting the ACK of our SYN and no RTT sample
            # came (Karn): "the RTO MUST be re-initialized to 3 seconds when data
            # transmission begins" (Linux TCP_TIMEOUT_FALLBACK).
            cfg = self.config
            self.rto = RtoEstimator(SYN_TIMEOUT_FALLBACK_US, cfg.rto_min_us,
                                    max(cfg.rto_max_us, SYN_TIMEOUT_FALLBACK_US))
        self._unacked_since = now if self.flight_size() else None
        if self.cc.on_ack(max(advanced, 0), tcb.snd_una, flight_before):
            self._repair_after_partial_ack(now)
        if not self.cc.in_recovery:
            self._rexmit_next = None
        if self.flight_size() == 0:
            self._stop(RETRANSMIT, now)
        else:
            self._restart_retransmit_timer(now)

    def _repair_after_partial_ack(self, now: int) -> None:
        """A partial ACK in recovery: resend the first unacknowledged segment (RFC 6582 3.2
        step 3) unless this recovery already resent it from the SACK scoreboard; then the
        next hole is due instead (RFC 6675 5, NextSeg)."""
        resent_up_to = self._rexmit_next
        if resent_up_to is None or not seq_gt(resent_up_to, self.tcb.snd_una):
            self._retransmit_first(now, "retransmission (NewReno partial ACK)")
        elif self.sacked:
            self._retransmit_next_hole(now)

    def _take_rtt_sample(self, ack: int, now: int) -> None:
        if self._rtt_seq is not None and seq_ge(ack, self._rtt_seq):
            self.rto.on_rtt_sample(now - self._rtt_start)
            self._rtt_seq = None

    def _maybe_duplicate_ack(self, seg: TcpSegment, now: int) -> None:
        """A duplicate ACK: data outstanding, no payload, no SYN/FIN, and either the same
        window (RFC 5681 section 2) or, with SACK, new SACK information (RFC 6675 section 2:
        a receiver such as Linux changes its window on nearly every ACK). The third starts
        fast retransmit; later ones in recovery resend the next SACK hole."""
        tcb = self.tcb
        new_sack = self._take_sack(seg)
        if self.flight_size() == 0 or seg.payload or seg.flags & (Flags.SYN | Flags.FIN):
            return
        if not new_sack and seg.window << tcb.snd_wscale != tcb.snd_wnd:
            return
        if self.cc.on_duplicate_ack(tcb.snd_una, tcb.snd_max, self.flight_size()):
            self._retransmit_first(now, "fast retransmit (3 duplicate ACKs)")
        elif self.cc.in_recovery and new_sack:
            self._retransmit_next_hole(now)

    def _take_sack(self, seg: TcpSegment) -> bool:
        """Merge the segment's SACK blocks into the scoreboard; whether they were news."""
        blocks = seg.sack_blocks
        if not (self.tcb.sack_ok and blocks):
            return False
        return self.sacked.update(blocks, self.tcb.snd_una, self.tcb.snd_max)

    def _update_send_window(self, seg: TcpSegment, now: int) -> None:
        """Take SEG.WND when the segment is newer than the last update (3.10.7.4 fifth
        step: SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK))."""
        tcb = self.tcb
        if seq_lt(tcb.snd_wl1, seg.seq) or (tcb.snd_wl1 == seg.seq
                                             and seq_le(tcb.snd_wl2, seg.ack)):
            tcb.snd_wnd = seg.window << tcb.snd_wscale
            tcb.snd_wl1, tcb.snd_wl2 = seg.seq, seg.ack
            tcb.max_snd_wnd = max(tcb.max_snd_wnd, tcb.snd_wnd)
            if tcb.snd_wnd > 0 and PERSIST in self._timers:
                self._stop(PERSIST, now)
                self._persist_backoff = 0

    # -- seventh and eighth steps ---------------------------------------------------------

    def _process_text_and_fin(self, seg: TcpSegment, data_seq: int, now: int) -> None:
        """Seventh step (text) and eighth step (FIN). ``data_seq`` is where the payload
        starts (after a SYN's sequence number)."""
        if seg.payload:
            if self.state in _CLOSING_TEXT_IGNORED or self.peer_fin:
                self._drop(seg, now, drops.TEXT_IN_CLOSING_STATE)
            else:
                self._receive_text(seg, data_seq, now)
        if seg.flags & Flags.FIN:
            fin_seq = seq_add(data_seq, len(seg.payload))
            if fin_seq == self.tcb.rcv_nxt:
                self._process_fin(now)
            elif seq_gt(fin_seq, self.tcb.rcv_nxt):
                self._pending_peer_fin = fin_seq
                self._ack_soon("ACK of out-of-order segment")

    def _receive_text(self, seg: TcpSegment, data_seq: int, now: int) -> None:
        """Put the text in the receive buffer, advance RCV.NXT over what became contiguous,
        and acknowledge (immediately when out of order or filling a hole, RFC 5681 4.2)."""
        tcb = self.tcb
        payload = seg.payload
        offset = seq_diff(data_seq, tcb.rcv_nxt)
        if offset < 0:
            payload = payload[-offset:]
            offset = 0
        had_holes = self.recv_buffer.has_out_of_order()
        advanced = self.recv_buffer.write(offset, payload)
        tcb.rcv_nxt = seq_add(tcb.rcv_nxt, advanced)
        if offset > 0 or had_holes:
            self._ack_soon("ACK of out-of-order segment" if offset else "ACK filling a hole")
        else:
            self._ack_in_order_data(now)
        if self._pending_peer_fin == tcb.rcv_nxt:
            self._process_fin(now)

    def _ack_in_order_data(self, now: int) -> None:
        """Acknowledge in-order data: at once, or per the delayed-ACK rule (RFC 9293
        3.8.6.3: at least every second full-sized segment, within the delay)."""
        delay = self.config.delayed_ack_us
        self._segments_unacked += 1
        if delay is None or self._segments_unacked >= 2:
            self._ack_soon("ACK of data")
        elif "delayed-ack" not in self._timers:
            self._arm("delayed-ack", now + delay, now)

    def _process_fin(self, now: int) -> None:
        """Eighth step: advance RCV.NXT over the FIN, ACK it, signal "connection closing",
        and move on: ESTABLISHED -> CLOSE-WAIT, FIN-WAIT-1 -> CLOSING (or TIME-WAIT when
        our FIN is acknowledged too), FIN-WAIT-2 -> TIME-WAIT."""
        self._pending_peer_fin = None
        self.peer_fin = True
        self.tcb.rcv_nxt = seq_add(self.tcb.rcv_nxt, 1)
        self._ack_fin(now)
        state = self.state
        if state is S.ESTABLISHED:
            self._set_state(S.CLOSE_WAIT, now)
        elif state is S.FIN_WAIT_1:
            if self.fin_acked:
                self._enter_time_wait(now, "rcv FIN,ACK of FIN / snd ACK")
            else:
                self._set_state(S.CLOSING, now)
        elif state is S.FIN_WAIT_2:
            self._enter_time_wait(now)

    def _ack_fin(self, now: int) -> None:
        """ACK the peer's FIN: at once, or with delayed ACK configured, after the delay, so
        that a prompt CLOSE by the application lets ACK and FIN travel as one FIN,ACK (the
        three-segment close Linux shows)."""
        delay = self.config.delayed_ack_us
        if delay is None or self.state in (S.FIN_WAIT_1, S.FIN_WAIT_2):
            self._ack_soon("ACK of FIN")
        elif "delayed-ack" not in self._timers:
            self._arm("delayed-ack", now + delay, now)

    def _enter_time_wait(self, now: int, cause: str = "") -> None:
        """Enter TIME-WAIT: stop other timers and start 2MSL (RFC 9293 3.10.7.4)."""
        for name in list(self._timers):
            self._stop(name, now)
        self._set_state(S.TIME_WAIT, now, cause)
        if NO_TIME_WAIT in self.config.variants:
            self._send_ack_now(now, "ACK of FIN")
            self._close_quietly(now, "variant no-time-wait: TCB deleted at once")
            return
        self._arm(TIME_WAIT, now + self.config.time_wait_us, now)

    def _return_to_listen(self, now: int) -> None:
        """SYN-RECEIVED from a passive OPEN goes back to LISTEN (3.10.7.4 second step)."""
        self._timers.clear()
        self._outbox.clear()
        self._set_state(S.LISTEN, now)
