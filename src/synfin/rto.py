"""Retransmission timeout estimator of RFC 6298, in integer microseconds.

The estimator keeps SRTT and RTTVAR (RFC 6298 section 2) and the current RTO including any
exponential backoff (section 5.5).  Everything is an ``int`` number of microseconds; the
smoothing uses alpha = 1/8 and beta = 1/4 with floor division, so results are exact and
reproducible.

Karn's algorithm (RFC 6298 section 3) is the caller's job: RTT samples MUST NOT be taken from
segments that were retransmitted (unless timestamps disambiguate them, RFC 7323 section 4), and
an ACK for a retransmitted segment must not be fed to :meth:`RtoEstimator.on_rtt_sample`.

Not implemented: the optional clearing of SRTT/RTTVAR after several backoffs (RFC 6298 5.7
"MAY"); a fresh sample after backoff simply recomputes RTO from the kept SRTT and RTTVAR.
"""

from __future__ import annotations

#: RFC 6298 section 2.3: K = 4.
K = 4
#: RFC 6298 section 2.1: the initial RTO is 1 second.
INITIAL_RTO_US = 1_000_000
#: RFC 6298 section 2.4: RTO is rounded up to 1 second when below it.
MIN_RTO_US = 1_000_000
#: RFC 6298 section 2.5: a maximum of at least 60 seconds may be placed on RTO.
MAX_RTO_US = 60_000_000


class RtoEstimator:
    """SRTT, RTTVAR and RTO of one connection (RFC 6298 sections 2 and 5)."""

    __slots__ = (
        "_base_rto",
        "_rto",
        "_rttvar",
        "_srtt",
        "backoffs",
        "granularity_us",
        "max_us",
        "min_us",
    )

    def __init__(
        self,
        initial_us: int = INITIAL_RTO_US,
        min_us: int = MIN_RTO_US,
        max_us: int = MAX_RTO_US,
        granularity_us: int = 1_000,
    ) -> None:
        """Start with no samples and RTO = ``initial_us`` (RFC 6298 section 2.1)."""
        if not 0 < min_us <= max_us:
            raise ValueError("need 0 < min_us <= max_us")
        if initial_us <= 0 or granularity_us < 0:
            raise ValueError("initial_us must be positive and granularity_us non-negative")
        self.min_us = min_us
        self.max_us = max_us
        self.granularity_us = granularity_us
        self._srtt: int | None = None
        self._rttvar: int | None = None
        self._base_rto = min(initial_us, max_us)
        self._rto = self._base_rto
        #: How many times :meth:`back_off` doubled the timer since the last sample or reset.
        self.backoffs = 0

    @property
    def srtt(self) -> int | None:
        """Smoothed round-trip time in microseconds, None before the first sample."""
        return self._srtt

    @property
    def rttvar(self) -> int | None:
        """Round-trip time variation in microseconds, None before the first sample."""
        return self._rttvar

    @property
    def rto(self) -> int:
        """Current retransmission timeout in microseconds, including backoff."""
        return self._rto

    def on_rtt_sample(self, rtt_us: int) -> None:
        """Fold one RTT measurement in (RFC 6298 sections 2.2 and 2.3).

        The first sample sets SRTT = R, RTTVAR = R/2; later ones update RTTVAR (with the old
        SRTT) then SRTT.  RTO = SRTT + max(G, K*RTTVAR), clamped to [min_us, max_us] (2.4, 2.5).
        A sample taken after backoff collapses the backoff (note after RFC 6298 rule 5.7).
        """
        if rtt_us < 0:
            raise ValueError("RTT sample must be non-negative")
        if self._srtt is None or self._rttvar is None:
            self._first_sample(rtt_us)
        else:
            self._next_sample(self._srtt, self._rttvar, rtt_us)
        self._base_rto = self._computed_rto()
        self.reset_backoff()

    def back_off(self) -> None:
        """Double RTO after a retransmission timeout, capped at ``max_us`` (RFC 6298 rule 5.5)."""
        self._rto = min(self._rto * 2, self.max_us)
        self.backoffs += 1

    def reset_backoff(self) -> None:
        """Drop any backoff and return to the computed RTO (RFC 6298 section 5, note on 5.7)."""
        self._rto = self._base_rto
        self.backoffs = 0

    def _first_sample(self, rtt_us: int) -> None:
        """RFC 6298 section 2.2: SRTT <- R, RTTVAR <- R/2."""
        self._srtt = rtt_us
        self._rttvar = rtt_us // 2

    def _next_sample(self, srtt: int, rttvar: int, rtt_us: int) -> None:
        """RFC 6298 section 2.3 with alpha = 1/8, beta = 1/4 (RTTVAR first, from old SRTT)."""
        self._rttvar = (3 * rttvar + abs(srtt - rtt_us)) // 4
        self._srtt = (7 * srtt + rtt_us) // 8

    def _computed_rto(self) -> int:
        """RTO <- SRTT + max(G, K*RTTVAR), clamped to [min_us, max_us] (RFC 6298 2.2-2.5)."""
        assert self._srtt is not None and self._rttvar is not None
        rto = self._srtt + max(self.granularity_us, K * self._rttvar)
        return max(self.min_us, min(rto, self.max_us))
