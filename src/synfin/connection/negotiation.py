"""What the handshake settles: ISS (RFC 6528) and the SYN options (RFC 9293 3.7.1 MSS,
RFC 7323 window scale and timestamps, RFC 2018 SACK-permitted)."""

from __future__ import annotations

from synfin.congestion import ALGORITHMS
from synfin.connection.output import MAX_WSCALE, Output, window_shift_for
from synfin.seq import SEQ_MOD
from synfin.states import State
from synfin.wire.segment import TcpSegment

#: Bytes the timestamps option takes in every segment once negotiated (with two NOPs).
TIMESTAMPS_OPTION_LEN = 12


class Negotiation(Output):
    """ISS choice and option negotiation."""

    def _choose_iss(self, now: int) -> None:
        """ISS from the RFC 6528 generator; SND.UNA = SND.NXT = ISS until the SYN goes."""
        tcb = self.tcb
        tcb.iss = self._isn.isn(self.local_ip, self.local_port, self.remote_ip,
                                self.remote_port, now)
        tcb.snd_una = tcb.snd_nxt = tcb.snd_max = tcb.iss
        tcb.ts_offset = self._rng.randrange(SEQ_MOD)

    def _negotiate(self, syn: TcpSegment) -> None:
        """Settle MSS, window scale, timestamps and SACK from the peer's SYN (or SYN,ACK).

        An option counts only when both ends sent it; in a SYN,ACK the passive end echoes
        only what the SYN offered (RFC 7323 1.3, RFC 2018 2). A shift above 14 is taken as
        14 (RFC 7323 2.3). The effective send MSS leaves room for the timestamps option
        (RFC 6691).
        """
        cfg, tcb = self.config, self.tcb
        peer_mss = syn.mss if syn.mss is not None else cfg.default_peer_mss
        peer_ws = syn.wscale
        if cfg.window_scaling and peer_ws is not None:
            tcb.ws_ok = True
            tcb.snd_wscale = min(peer_ws, MAX_WSCALE)
            tcb.rcv_wscale = window_shift_for(cfg.recv_buffer)
        else:
            tcb.ws_ok = False
            tcb.snd_wscale = tcb.rcv_wscale = 0
        ts = syn.timestamps
        tcb.ts_ok = cfg.timestamps and ts is not None
        if ts is not None:
            tcb.ts_recent = ts.tsval
        tcb.sack_ok = cfg.sack and syn.sack_permitted
        tcb.smss = min(peer_mss, cfg.mss) - (TIMESTAMPS_OPTION_LEN if tcb.ts_ok else 0)
        self._start_congestion_control()
        if self.state is State.SYN_SENT and not tcb.ws_ok:
            tcb.rcv_wscale = 0

    def _start_congestion_control(self) -> None:
        """Congestion state starts once the MSS is known (RFC 5681 3.1): the initial window
        from SMSS, ssthresh "arbitrarily high". A handshake timeout does not touch it (no
        data was in flight), but after a lost SYN or SYN,ACK the initial window is one
        segment (RFC 5681 3.1, last paragraph)."""
        self.cc = ALGORITHMS[self.config.congestion_control](self.tcb.smss)
        if self._retries:
            self.cc.cwnd = self.tcb.smss
