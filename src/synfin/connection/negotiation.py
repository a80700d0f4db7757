"""What the handshake settles for a connection: ISS (RFC 6528) and the SYN options, applied
to the TCB (the rules themselves are in ``synfin.handshake``)."""

from __future__ import annotations

from synfin.congestion import ALGORITHMS
from synfin.connection.core import RETRANSMIT
from synfin.connection.output import Output
from synfin.handshake import PeerSyn, negotiate
from synfin.seq import seq_add
from synfin.states import State
from synfin.wire.segment import TcpSegment


class Negotiation(Output):
    """ISS choice and option negotiation."""

    def _choose_iss(self, now: int, iss: int | None = None) -> None:
        """ISS from the RFC 6528 generator (or ``iss``); SND.UNA = SND.NXT = ISS until the
        SYN goes."""
        tcb = self.tcb
        tcb.iss = iss if iss is not None else self._isn.isn(
            self.local_ip, self.local_port, self.remote_ip, self.remote_port, now)
        tcb.snd_una = tcb.snd_nxt = tcb.snd_max = tcb.iss
        tcb.ts_offset = self._isn.ts_offset(self.local_ip, self.remote_ip)

    def _negotiate(self, syn: TcpSegment) -> None:
        """Settle MSS, window scale, timestamps and SACK from the peer's SYN (or SYN,ACK)."""
        self._take_peer_syn(PeerSyn.from_segment(syn))

    def _take_peer_syn(self, peer: PeerSyn) -> None:
        """Apply :func:`synfin.handshake.negotiate` to the TCB; IRS and RCV.NXT from it."""
        tcb = self.tcb
        agreed = negotiate(self.config, peer)
        tcb.irs = peer.isn
        tcb.rcv_nxt = seq_add(peer.isn, 1)
        tcb.ws_ok, tcb.snd_wscale, tcb.rcv_wscale = (agreed.ws_ok, agreed.snd_wscale,
                                                     agreed.rcv_wscale)
        tcb.ts_ok, tcb.sack_ok, tcb.smss = agreed.ts_ok, agreed.sack_ok, agreed.smss
        if peer.tsval is not None:
            tcb.ts_recent = peer.tsval
        self._start_congestion_control()

    def adopt_handshake(self, remote_ip: str, remote_port: int, peer: PeerSyn, iss: int,
                        now: int, rtt_sample: int | None = None, retries: int = 0,
                        retransmit_at: int | None = None) -> None:
        """Become the SYN-RECEIVED end of a handshake a listener carried out without a full
        connection (a half-open record, or a SYN cookie): the SYN,ACK ``<SEQ=iss>`` has been
        sent. The listener has already recorded LISTEN -> SYN-RECEIVED. ``rtt_sample`` is the
        time from the SYN,ACK to its ACK when the SYN,ACK was not retransmitted (Karn);
        ``retries`` and ``retransmit_at`` carry on the SYN,ACK retransmission state."""
        if self.state is not State.CLOSED:
            raise RuntimeError("adopt_handshake needs a fresh connection")
        self.remote_ip, self.remote_port = remote_ip, remote_port
        self.passive = True
        tcb = self.tcb
        self._take_peer_syn(peer)
        tcb.iss = iss
        tcb.snd_una = iss
        tcb.snd_nxt = tcb.snd_max = seq_add(iss, 1)
        tcb.ts_offset = self._isn.ts_offset(self.local_ip, self.remote_ip)
        tcb.snd_wnd = tcb.max_snd_wnd = peer.window
        tcb.snd_wl1 = peer.isn
        self._last_advertised = self.recv_buffer.window()  # what the SYN,ACK offered
        if rtt_sample is not None:
            self.rto.on_rtt_sample(rtt_sample)
        for _ in range(retries):
            self.rto.back_off()
        self._retries = retries
        self.state = State.SYN_RECEIVED  # recorded by the listener (house rule 1 there)
        if retransmit_at is not None:
            self._arm(RETRANSMIT, retransmit_at, now)

    def _start_congestion_control(self) -> None:
        """Congestion state starts once the MSS is known (RFC 5681 3.1): the initial window
        from SMSS, ssthresh "arbitrarily high". A handshake timeout does not touch it (no
        data was in flight), but after a lost SYN or SYN,ACK the initial window is one
        segment (RFC 5681 3.1, last paragraph)."""
        self.cc = ALGORITHMS[self.config.congestion_control](self.tcb.smss)
        if self._retries:
            self.cc.cwnd = self.tcb.smss
