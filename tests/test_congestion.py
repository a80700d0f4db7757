"""Tests for RFC 5681 / RFC 6582 NewReno congestion control."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synfin.congestion import (
    ALGORITHMS,
    INFINITE_SSTHRESH,
    CongestionControl,
    NewReno,
    default_initial_window,
)
from synfin.seq import seq_add

MSS = 1000
ISS = 2**32 - 5000  # so recovery tests cross the sequence wrap


def in_recovery(flight_segments: int = 20) -> tuple[NewReno, int, int]:
    """A NewReno sender that took three dupacks at ISS with ``flight_segments`` outstanding."""
    cc = NewReno(MSS)
    snd_una = ISS
    snd_nxt = seq_add(ISS, flight_segments * MSS)
    flight = flight_segments * MSS
    assert not cc.on_duplicate_ack(snd_una, snd_nxt, flight)
    assert not cc.on_duplicate_ack(snd_una, snd_nxt, flight)
    assert cc.on_duplicate_ack(snd_una, snd_nxt, flight)
    return cc, snd_una, snd_nxt


def ack_rounds(cc: NewReno, rounds: int, snd_una: int = ISS) -> list[int]:
    """Send one cwnd of MSS segments per round, ack each one, return cwnd after each round."""
    seen = []
    for _ in range(rounds):
        segments = cc.cwnd // MSS
        flight = segments * MSS
        for _ in range(segments):
            snd_una = seq_add(snd_una, MSS)
            cc.on_ack(MSS, snd_una, flight)
            flight -= MSS
        seen.append(cc.cwnd)
    return seen


@pytest.mark.parametrize(
    ("smss", "iw"),
    [
        (536, 4 * 536),
        (1095, 4 * 1095),
        (1460, 3 * 1460),
        (2190, 3 * 2190),
        (2191, 2 * 2191),
        (9000, 18000),
    ],
)
def test_initial_window_formula(smss: int, iw: int) -> None:
    assert default_initial_window(smss) == iw
    assert NewReno(smss).cwnd == iw


def test_explicit_initial_window() -> None:
    assert NewReno(1460, initial_window=10 * 1460).cwnd == 14600


def test_initial_state() -> None:
    cc = NewReno(MSS)
    assert cc.ssthresh == INFINITE_SSTHRESH
    assert not cc.in_recovery
    assert cc.name == "newreno"


def test_registry_builds_newreno() -> None:
    cc: CongestionControl = ALGORITHMS["newreno"](1460)
    assert isinstance(cc, NewReno)
    assert cc.cwnd == 4380


def test_slow_start_adds_at_most_smss_per_ack() -> None:
    cc = NewReno(MSS)
    cc.on_ack(MSS, seq_add(ISS, MSS), 4 * MSS)
    assert cc.cwnd == 5 * MSS
    cc.on_ack(3 * MSS, seq_add(ISS, 4 * MSS), 4 * MSS)  # stretch ACK still adds one SMSS
    assert cc.cwnd == 6 * MSS
    cc.on_ack(100, seq_add(ISS, 4 * MSS + 100), 2 * MSS)
    assert cc.cwnd == 6 * MSS + 100


def test_slow_start_doubles_per_round() -> None:
    cc = NewReno(MSS)
    assert ack_rounds(cc, 4) == [8 * MSS, 16 * MSS, 32 * MSS, 64 * MSS]


def test_congestion_avoidance_one_mss_per_round() -> None:
    cc, _una, snd_nxt = in_recovery(20)
    cc.on_ack(20 * MSS, snd_nxt, 35 * MSS)  # full ACK with 15 segments still out
    assert cc.cwnd == cc.ssthresh == 10 * MSS
    rounds = ack_rounds(cc, 5, snd_una=snd_nxt)
    assert rounds == [11 * MSS, 12 * MSS, 13 * MSS, 14 * MSS, 15 * MSS]


def test_slow_start_hands_over_to_avoidance_at_ssthresh() -> None:
    cc = NewReno(MSS)
    cc.on_retransmission_timeout(16 * MSS, seq_add(ISS, 16 * MSS))
    assert (cc.cwnd, cc.ssthresh) == (MSS, 8 * MSS)
    assert ack_rounds(cc, 5) == [2 * MSS, 4 * MSS, 8 * MSS, 9 * MSS, 10 * MSS]


def test_two_dupacks_do_nothing() -> None:
    cc = NewReno(MSS)
    before = cc.cwnd
    assert not cc.on_duplicate_ack(ISS, seq_add(ISS, 4 * MSS), 4 * MSS)
    assert not cc.on_duplicate_ack(ISS, seq_add(ISS, 4 * MSS), 4 * MSS)
    assert cc.cwnd == before
    assert cc.dupacks == 2
    assert not cc.in_recovery


def test_third_dupack_enters_fast_recovery() -> None:
    cc, _una, snd_nxt = in_recovery(20)
    assert cc.in_recovery
    assert cc.ssthresh == 10 * MSS
    assert cc.cwnd == 13 * MSS
    assert cc.recover == snd_nxt


def test_ssthresh_floor_of_two_segments() -> None:
    cc, _una, _nxt = in_recovery(3)
    assert cc.ssthresh == 2 * MSS
    assert cc.cwnd == 5 * MSS


def test_fast_retransmit_triggers_exactly_once() -> None:
    cc, snd_una, snd_nxt = in_recovery(20)
    for _ in range(10):
        assert not cc.on_duplicate_ack(snd_una, snd_nxt, 20 * MSS)


def test_further_dupacks_inflate_cwnd() -> None:
    cc, snd_una, snd_nxt = in_recovery(20)
    for _ in range(4):
        cc.on_duplicate_ack(snd_una, snd_nxt, 20 * MSS)
    assert cc.cwnd == 17 * MSS
    assert cc.ssthresh == 10 * MSS


def test_new_ack_resets_dupack_count() -> None:
    cc = NewReno(MSS)
    snd_nxt = seq_add(ISS, 8 * MSS)
    cc.on_duplicate_ack(ISS, snd_nxt, 8 * MSS)
    cc.on_duplicate_ack(ISS, snd_nxt, 8 * MSS)
    cc.on_ack(MSS, seq_add(ISS, MSS), 8 * MSS)
    assert cc.dupacks == 0
    una = seq_add(ISS, MSS)
    assert not cc.on_duplicate_ack(una, snd_nxt, 7 * MSS)
    assert not cc.on_duplicate_ack(una, snd_nxt, 7 * MSS)
    assert cc.on_duplicate_ack(una, snd_nxt, 7 * MSS)


def test_partial_ack_asks_for_retransmission_and_deflates() -> None:
    cc, snd_una, _nxt = in_recovery(20)
    cwnd = cc.cwnd
    assert cc.on_ack(3 * MSS, seq_add(snd_una, 3 * MSS), 20 * MSS)
    assert cc.in_recovery
    assert cc.cwnd == cwnd - 3 * MSS + MSS


def test_small_partial_ack_does_not_add_back_smss() -> None:
    cc, snd_una, _nxt = in_recovery(20)
    cwnd = cc.cwnd
    assert cc.on_ack(500, seq_add(snd_una, 500), 20 * MSS)
    assert cc.cwnd == cwnd - 500


def test_full_ack_exits_recovery() -> None:
    cc, _una, snd_nxt = in_recovery(20)
    assert not cc.on_ack(20 * MSS, snd_nxt, 20 * MSS)
    assert not cc.in_recovery
    # nothing left in flight: min(ssthresh, max(0, SMSS) + SMSS)
    assert cc.cwnd == 2 * MSS


def test_full_ack_with_data_in_flight_deflates_to_ssthresh() -> None:
    cc, _una, snd_nxt = in_recovery(20)
    # new data was sent during recovery, so 15 segments remain beyond recover
    assert not cc.on_ack(20 * MSS, snd_nxt, 35 * MSS)
    assert cc.cwnd == cc.ssthresh == 10 * MSS


def test_partial_then_full_ack() -> None:
    cc, snd_una, snd_nxt = in_recovery(20)
    assert cc.on_ack(5 * MSS, seq_add(snd_una, 5 * MSS), 20 * MSS)
    assert cc.on_ack(5 * MSS, seq_add(snd_una, 10 * MSS), 15 * MSS)
    assert not cc.on_ack(10 * MSS, snd_nxt, 10 * MSS)
    assert not cc.in_recovery


def test_dupacks_below_recover_after_timeout_do_not_fast_retransmit() -> None:
    """RFC 6582 3.2 step 2: the ACK must cover more than recover."""
    cc = NewReno(MSS)
    snd_nxt = seq_add(ISS, 20 * MSS)
    cc.on_retransmission_timeout(20 * MSS, snd_nxt)
    una = seq_add(ISS, 2 * MSS)
    cc.on_ack(2 * MSS, una, 20 * MSS)
    ssthresh = cc.ssthresh
    results = [cc.on_duplicate_ack(una, snd_nxt, 18 * MSS) for _ in range(3)]
    assert results == [False, False, False]
    assert not cc.in_recovery
    assert cc.ssthresh == ssthresh


def test_fast_retransmit_allowed_again_after_recover_passed() -> None:
    cc, _una, snd_nxt = in_recovery(20)
    cc.on_ack(20 * MSS, snd_nxt, 20 * MSS)
    later_nxt = seq_add(snd_nxt, 10 * MSS)
    assert not cc.on_duplicate_ack(snd_nxt, later_nxt, 10 * MSS)
    assert not cc.on_duplicate_ack(snd_nxt, later_nxt, 10 * MSS)
    assert cc.on_duplicate_ack(snd_nxt, later_nxt, 10 * MSS)


def test_timeout_collapses_cwnd() -> None:
    cc = NewReno(MSS)
    ack_rounds(cc, 3)
    cc.on_retransmission_timeout(32 * MSS, seq_add(ISS, 32 * MSS))
    assert cc.cwnd == MSS
    assert cc.ssthresh == 16 * MSS


def test_timeout_leaves_recovery() -> None:
    cc, _una, snd_nxt = in_recovery(20)
    cc.on_retransmission_timeout(20 * MSS, snd_nxt)
    assert not cc.in_recovery
    assert cc.cwnd == MSS
    assert cc.recover == snd_nxt


def test_repeated_timeout_holds_ssthresh() -> None:
    cc = NewReno(MSS)
    snd_nxt = seq_add(ISS, 40 * MSS)
    cc.on_retransmission_timeout(40 * MSS, snd_nxt)
    cc.on_retransmission_timeout(MSS, snd_nxt)
    assert cc.ssthresh == 20 * MSS
    assert cc.cwnd == MSS


def test_slow_start_after_timeout_up_to_ssthresh() -> None:
    cc = NewReno(MSS)
    cc.on_retransmission_timeout(8 * MSS, seq_add(ISS, 8 * MSS))
    assert cc.ssthresh == 4 * MSS
    una = ISS
    for _ in range(3):
        una = seq_add(una, MSS)
        cc.on_ack(MSS, una, 8 * MSS)
    assert cc.cwnd == 4 * MSS


def test_set_mss_before_start_recomputes_initial_window() -> None:
    cc = NewReno(536)
    cc.set_mss(1460)
    assert cc.smss == 1460
    assert cc.cwnd == 3 * 1460


def test_set_mss_keeps_explicit_initial_window() -> None:
    cc = NewReno(536, initial_window=10_000)
    cc.set_mss(1460)
    assert cc.cwnd == 10_000


def test_set_mss_after_start_keeps_cwnd() -> None:
    cc = NewReno(MSS)
    cc.on_ack(MSS, seq_add(ISS, MSS), 4 * MSS)
    cc.set_mss(500)
    assert cc.cwnd == 5 * MSS


def test_bad_mss_rejected() -> None:
    with pytest.raises(ValueError):
        NewReno(0)


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("ack"), st.integers(1, 5 * MSS)),
            st.tuples(st.just("dup"), st.just(0)),
            st.tuples(st.just("rto"), st.just(0)),
        ),
        max_size=80,
    )
)
def test_windows_stay_sane_under_any_event_sequence(events: list[tuple[str, int]]) -> None:
    cc = NewReno(MSS)
    snd_una = ISS
    outstanding = 30 * MSS
    for kind, n in events:
        snd_nxt = seq_add(snd_una, outstanding)
        if kind == "ack":
            n = min(n, outstanding)
            snd_una = seq_add(snd_una, n)
            cc.on_ack(n, snd_una, outstanding)
            outstanding = outstanding - n + 2 * MSS
        elif kind == "dup":
            cc.on_duplicate_ack(snd_una, snd_nxt, outstanding)
        else:
            cc.on_retransmission_timeout(outstanding, snd_nxt)
        assert cc.cwnd >= MSS
        assert cc.ssthresh >= 2 * MSS
