"""The Transmission Control Block variables of RFC 9293 section 3.3.1, with their RFC names."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Tcb:
    """Send and receive sequence variables plus what the handshake negotiated.

    ``snd_max`` is not in the RFC: it is the highest sequence number sent so far. synfin
    rewinds ``snd_nxt`` to ``snd_una`` on a retransmission timeout (go-back-N), so ACKs are
    judged against ``snd_max`` (see docs/deviations.md).
    """

    # Send sequence variables (RFC 9293 3.3.1, Figure 3)
    iss: int = 0
    snd_una: int = 0
    snd_nxt: int = 0
    snd_max: int = 0
    snd_wnd: int = 0
    snd_up: int = 0
    snd_wl1: int = 0
    snd_wl2: int = 0
    max_snd_wnd: int = 0
    # Receive sequence variables (RFC 9293 3.3.1, Figure 4)
    irs: int = 0
    rcv_nxt: int = 0
    rcv_up: int = 0
    # Negotiated at the handshake
    smss: int = 536  #: effective send MSS (RFC 9293 3.7.1 Eff.snd.MSS), options excluded
    snd_wscale: int = 0  #: RFC 7323 Snd.Wind.Shift
    rcv_wscale: int = 0  #: RFC 7323 Rcv.Wind.Shift
    ws_ok: bool = False  #: RFC 7323 window scaling in use both ways
    ts_ok: bool = False  #: RFC 7323 timestamps in use
    ts_recent: int = 0  #: RFC 7323 TS.Recent
    ts_offset: int = 0  #: random per-connection TSval offset (RFC 7323 section 5.4)
    sack_ok: bool = False  #: RFC 2018 SACK permitted both ways
