"""Tests for the RFC 6298 retransmission timeout estimator."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synfin.rto import RtoEstimator


def small() -> RtoEstimator:
    """An estimator with a low floor so the computed value is visible."""
    return RtoEstimator(min_us=1_000, max_us=60_000_000, granularity_us=1_000)


def test_initial_state() -> None:
    est = RtoEstimator()
    assert est.srtt is None
    assert est.rttvar is None
    assert est.rto == 1_000_000
    assert est.backoffs == 0


def test_first_sample_sets_srtt_and_half_rttvar() -> None:
    est = small()
    est.on_rtt_sample(100_000)
    assert est.srtt == 100_000
    assert est.rttvar == 50_000
    assert est.rto == 100_000 + 4 * 50_000


def test_second_sample_smoothing_exact() -> None:
    est = small()
    est.on_rtt_sample(100_000)
    est.on_rtt_sample(180_000)
    # RTTVAR uses the old SRTT: (3*50000 + |100000-180000|) // 4 = 57500
    assert est.rttvar == 57_500
    # SRTT = (7*100000 + 180000) // 8 = 110000
    assert est.srtt == 110_000
    assert est.rto == 110_000 + 4 * 57_500


def test_steady_samples_converge() -> None:
    est = small()
    for _ in range(200):
        est.on_rtt_sample(40_000)
    assert est.srtt == 40_000
    assert est.rttvar == 0
    # K*RTTVAR is 0, so the clock granularity G is the variance term
    assert est.rto == 41_000


def test_rto_floor_of_one_second_by_default() -> None:
    est = RtoEstimator()
    est.on_rtt_sample(10_000)
    assert est.rto == 1_000_000


def test_rto_capped_at_max() -> None:
    est = RtoEstimator(max_us=60_000_000)
    est.on_rtt_sample(50_000_000)
    assert est.rto == 60_000_000


def test_initial_capped_at_max() -> None:
    assert RtoEstimator(initial_us=5_000_000, max_us=2_000_000).rto == 2_000_000


def test_back_off_doubles_and_counts() -> None:
    est = RtoEstimator()
    est.back_off()
    assert est.rto == 2_000_000
    est.back_off()
    assert est.rto == 4_000_000
    assert est.backoffs == 2


def test_back_off_caps_at_max() -> None:
    est = RtoEstimator(max_us=5_000_000)
    for _ in range(10):
        est.back_off()
    assert est.rto == 5_000_000
    assert est.backoffs == 10


def test_new_sample_after_backoff_collapses_rto() -> None:
    est = small()
    est.on_rtt_sample(100_000)
    before = est.rto
    est.back_off()
    est.back_off()
    assert est.rto == 4 * before
    est.on_rtt_sample(100_000)
    assert est.backoffs == 0
    # recomputed from the kept SRTT/RTTVAR: rttvar = (3*50000 + 0)//4 = 37500
    assert est.rto == 100_000 + 4 * 37_500


def test_reset_backoff_returns_to_computed() -> None:
    est = small()
    est.on_rtt_sample(200_000)
    computed = est.rto
    est.back_off()
    est.reset_backoff()
    assert est.rto == computed
    assert est.backoffs == 0


def test_reset_backoff_before_any_sample_returns_to_initial() -> None:
    est = RtoEstimator(initial_us=3_000_000)
    est.back_off()
    est.reset_backoff()
    assert est.rto == 3_000_000


def test_negative_sample_rejected() -> None:
    with pytest.raises(ValueError):
        RtoEstimator().on_rtt_sample(-1)


def test_bad_bounds_rejected() -> None:
    with pytest.raises(ValueError):
        RtoEstimator(min_us=10, max_us=5)


@given(st.lists(st.integers(min_value=0, max_value=120_000_000), min_size=1, max_size=50))
def test_rto_always_within_bounds(samples: list[int]) -> None:
    est = RtoEstimator(min_us=200_000, max_us=60_000_000)
    for rtt in samples:
        est.on_rtt_sample(rtt)
        assert 200_000 <= est.rto <= 60_000_000
        assert est.srtt is not None and est.rttvar is not None
        assert est.srtt >= 0 and est.rttvar >= 0
