"""Congestion control: RFC 5681 slow start / congestion avoidance with RFC 6582 NewReno recovery.

The connection talks to an algorithm only through :class:`CongestionControl`, so other
algorithms can be added to :data:`ALGORITHMS` later.  The connection keeps the jobs that need
its state:

* deciding what a duplicate ACK is (RFC 5681 section 2: no data, no window change, SND.UNA
  unchanged, data outstanding) and calling :meth:`~CongestionControl.on_duplicate_ack`;
* Karn's rule and the RTO timer itself, including restarting the timer on the first partial ACK
  of a recovery (RFC 6582 section 3.2 step 3 and section 4);
* limited transmit on the first two duplicates (RFC 3042), using ``dupacks`` if it wants.

Sizes are bytes; FlightSize is the amount of sent-but-unacknowledged data (RFC 5681 section 2).

``recover`` is stored as SND.NXT at the moment it is set, one past "the highest sequence number
transmitted" of RFC 6582 section 3.2.  With that choice both RFC tests, "the Cumulative
Acknowledgment field covers more than recover" (step 2) and "acknowledges all of the data up to
and including recover" (step 3, full ACK), read ``seq_ge(ack, recover)``.  RFC 6582 step 1 sets
recover to the ISS; here an unset recover (``None``) means the same thing, and recover is
forgotten once SND.UNA passes it outside recovery so that a stale value can never wrap around
the 32-bit sequence space and block a later fast retransmit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from synfin.seq import seq_ge

#: An "arbitrarily high" initial ssthresh (RFC 5681 section 3.1), Linux's TCP_INFINITE_SSTHRESH.
INFINITE_SSTHRESH = 0x7FFFFFFF
#: RFC 5681 section 3.2: fast retransmit on the third duplicate ACK.
DUPACK_THRESHOLD = 3


def default_initial_window(smss: int) -> int:
    """Return IW for a sender maximum segment size, RFC 5681 section 3.1 (after RFC 3390)."""
    if smss > 2190:
        return 2 * smss
    if smss > 1095:
        return 3 * smss
    return 4 * smss


def loss_ssthresh(flight_size: int, smss: int) -> int:
    """Return ssthresh after a loss, RFC 5681 equation (4): max(FlightSize / 2, 2*SMSS)."""
    return max(flight_size // 2, 2 * smss)


class CongestionControl(Protocol):
    """What the connection needs from a congestion control algorithm (RFC 5681 section 3)."""

    name: str
    cwnd: int
    ssthresh: int
    in_recovery: bool

    def on_ack(self, acked: int, snd_una: int, flight_size: int) -> bool:
        """An ACK advanced SND.UNA by ``acked`` bytes to ``snd_una``.

        ``flight_size`` is the data outstanding before this ACK.  Returns True when the first
        unacknowledged segment must be retransmitted now (RFC 6582 section 3.2 step 3, partial
        ACK).
        """
        ...

    def on_duplicate_ack(self, snd_una: int, snd_nxt: int, flight_size: int) -> bool:
        """A duplicate ACK arrived (RFC 5681 section 3.2).

        Returns True exactly when fast retransmit of the segment at ``snd_una`` must happen now.
        """
        ...

    def on_retransmission_timeout(self, flight_size: int, snd_nxt: int) -> None:
        """The retransmission timer expired (RFC 5681 section 3.1, RFC 6582 section 3.2 step 4)."""
        ...

    def set_mss(self, mss: int) -> None:
        """The sender maximum segment size changed (e.g. learned from the peer's MSS option)."""
        ...


class NewReno:
    """RFC 5681 congestion control with RFC 6582 NewReno fast recovery.

    Choices where the RFCs leave room:

    * Slow start while ``cwnd < ssthresh``, congestion avoidance from ``cwnd == ssthresh``
      (RFC 5681 section 3.1 allows either at equality).
    * Slow start grows by ``min(acked, SMSS)`` per ACK (RFC 5681 equation 2).
    * Congestion avoidance counts acknowledged bytes and adds one SMSS each time a full cwnd's
      worth has been acknowledged (the byte-counting method RFC 5681 section 3.1 describes), so
      growth is exactly one SMSS per window of data, free of the rounding of equation 3.
    * A full ACK leaves recovery with ``cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS)``,
      option (1) of RFC 6582 section 3.2 step 3, which avoids a burst when little is in flight.
    * A partial ACK deflates cwnd by the bytes acknowledged, never below one SMSS.
    * Repeated timeouts with no new ACK in between hold ssthresh constant (RFC 5681 section 3.1,
      the segment "has already been retransmitted by way of the retransmission timer").
    """

    name = "newreno"

    def __init__(self, mss: int, initial_window: int | None = None) -> None:
        """Start in slow start with cwnd = IW and an arbitrarily high ssthresh (RFC 5681 3.1)."""
        if mss <= 0:
            raise ValueError("mss must be positive")
        self.smss = mss
        self._iw_given = initial_window is not None
        self.cwnd = initial_window if initial_window is not None else default_initial_window(mss)
        self.ssthresh = INFINITE_SSTHRESH
        self.in_recovery = False
        #: Duplicate ACKs counted since the last new ACK (RFC 5681 section 3.2).
        self.dupacks = 0
        #: SND.NXT when recovery (or the last timeout) began, see the module docstring.
        self.recover: int | None = None
        self._bytes_acked = 0
        self._timed_out_since_ack = False
        self._started = False

    def on_ack(self, acked: int, snd_una: int, flight_size: int) -> bool:
        """Grow cwnd, or run NewReno's full/partial ACK logic (RFC 6582 section 3.2 step 3)."""
        self._started = True
        self.dupacks = 0
        self._timed_out_since_ack = False
        if self.in_recovery:
            if self.recover is None or seq_ge(snd_una, self.recover):
                self._exit_recovery(flight_size - acked)
                return False
            self._deflate_partial(acked)
            return True
        if self.recover is not None and seq_ge(snd_una, self.recover):
            self.recover = None
        self._grow(acked)
        return False

    def on_duplicate_ack(self, snd_una: int, snd_nxt: int, flight_size: int) -> bool:
        """Count a duplicate ACK; fast retransmit on the third (RFC 5681 3.2, RFC 6582 3.2 step 2).

        In recovery every further duplicate inflates cwnd by SMSS (RFC 5681 section 3.2 step 4).
        """
        self._started = True
        if self.in_recovery:
            self.cwnd += self.smss
            return False
        self.dupacks += 1
        if self.dupacks != DUPACK_THRESHOLD:
            return False
        if self.recover is not None and not seq_ge(snd_una, self.recover):
            return False
        self._enter_recovery(snd_nxt, flight_size)
        return True

    def on_retransmission_timeout(self, flight_size: int, snd_nxt: int) -> None:
        """Collapse to the loss window (RFC 5681 section 3.1, equation 4; RFC 6582 3.2 step 4).

        ssthresh = max(FlightSize/2, 2*SMSS) unless this is a repeated timeout of the same data;
        cwnd = LW = 1 SMSS; recovery is left and recover = SND.NXT, so duplicate ACKs caused by
        the go-back-N retransmissions below SND.NXT cannot start a spurious fast retransmit.
        """
        self._started = True
        if not self._timed_out_since_ack:
            self.ssthresh = loss_ssthresh(flight_size, self.smss)
        self._timed_out_since_ack = True
        self.cwnd = self.smss
        self.in_recovery = False
        self.recover = snd_nxt
        self.dupacks = 0
        self._bytes_acked = 0

    def set_mss(self, mss: int) -> None:
        """Use a new SMSS; before any ACK, a default IW is recomputed for it (RFC 5681 3.1)."""
        if mss <= 0:
            raise ValueError("mss must be positive")
        self.smss = mss
        if not self._started and not self._iw_given:
            self.cwnd = default_initial_window(mss)
        self.cwnd = max(self.cwnd, mss)

    def _grow(self, acked: int) -> None:
        """Slow start (RFC 5681 equation 2) or byte-counting congestion avoidance (3.1)."""
        if self.cwnd < self.ssthresh:
            self.cwnd += min(acked, self.smss)
            return
        self._bytes_acked += acked
        if self._bytes_acked >= self.cwnd:
            self._bytes_acked -= self.cwnd
            self.cwnd += self.smss

    def _enter_recovery(self, snd_nxt: int, flight_size: int) -> None:
        """Fast retransmit and enter fast recovery (RFC 5681 3.2 steps 2-3, RFC 6582 3.2 step 2)."""
        self.ssthresh = loss_ssthresh(flight_size, self.smss)
        self.cwnd = self.ssthresh + DUPACK_THRESHOLD * self.smss
        self.recover = snd_nxt
        self.in_recovery = True
        self._bytes_acked = 0

    def _exit_recovery(self, flight_now: int) -> None:
        """Full ACK: deflate with option (1) of RFC 6582 section 3.2 step 3 and leave recovery."""
        self.cwnd = min(self.ssthresh, max(flight_now, self.smss) + self.smss)
        self.in_recovery = False

    def _deflate_partial(self, acked: int) -> None:
        """Partial ACK: deflate by bytes acked, add back SMSS if >= SMSS (RFC 6582 3.2 step 3)."""
        self.cwnd = max(self.cwnd - acked, self.smss)
        if acked >= self.smss:
            self.cwnd += self.smss


#: Congestion control algorithms by name, each built from the sender MSS.
ALGORITHMS: dict[str, Callable[[int], CongestionControl]] = {"newreno": NewReno}
