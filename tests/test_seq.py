"""Tests for 32-bit sequence arithmetic (RFC 9293 section 3.4)."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from synfin.seq import (
    SEQ_MOD,
    ack_acceptable,
    segment_acceptable,
    seq_add,
    seq_diff,
    seq_ge,
    seq_gt,
    seq_in_window,
    seq_le,
    seq_lt,
    seq_max,
    seq_min,
)

seqs = st.integers(min_value=0, max_value=SEQ_MOD - 1)
offsets = st.integers(min_value=-(2**31), max_value=2**31 - 1)
TOP = SEQ_MOD - 1


def test_seq_add_wraps_past_top() -> None:
    assert seq_add(TOP, 1) == 0
    assert seq_add(TOP - 9, 20) == 10


def test_seq_add_negative_wraps_below_zero() -> None:
    assert seq_add(0, -1) == TOP
    assert seq_add(5, -10) == SEQ_MOD - 5


def test_seq_diff_across_wrap() -> None:
    assert seq_diff(5, TOP - 4) == 10
    assert seq_diff(TOP - 4, 5) == -10


def test_seq_diff_range_edges() -> None:
    assert seq_diff(2**31 - 1, 0) == 2**31 - 1
    assert seq_diff(2**31, 0) == -(2**31)


def test_comparisons_across_wrap() -> None:
    assert seq_lt(TOP, 0)
    assert seq_le(TOP, 0)
    assert seq_gt(0, TOP)
    assert seq_ge(0, TOP)
    assert not seq_lt(0, TOP)
    assert not seq_gt(TOP, 0)


def test_comparisons_on_equal_values() -> None:
    assert seq_le(7, 7) and seq_ge(7, 7)
    assert not seq_lt(7, 7) and not seq_gt(7, 7)


def test_max_min_across_wrap() -> None:
    assert seq_max(TOP, 3) == 3
    assert seq_min(TOP, 3) == TOP
    assert seq_max(100, 200) == 200
    assert seq_min(100, 200) == 100


def test_in_window_plain_and_wrapped() -> None:
    assert seq_in_window(10, 10, 5)
    assert seq_in_window(14, 10, 5)
    assert not seq_in_window(15, 10, 5)
    assert not seq_in_window(9, 10, 5)
    assert seq_in_window(2, TOP - 2, 10)
    assert not seq_in_window(7, TOP - 2, 10)


def test_in_window_empty_window_contains_nothing() -> None:
    assert not seq_in_window(10, 10, 0)


def test_segment_acceptable_zero_len_zero_window() -> None:
    assert segment_acceptable(1000, 0, 1000, 0)
    assert not segment_acceptable(1001, 0, 1000, 0)
    assert not segment_acceptable(999, 0, 1000, 0)


def test_segment_acceptable_zero_len_open_window() -> None:
    assert segment_acceptable(1000, 0, 1000, 100)
    assert segment_acceptable(1099, 0, 1000, 100)
    assert not segment_acceptable(1100, 0, 1000, 100)
    assert not segment_acceptable(999, 0, 1000, 100)


def test_segment_acceptable_data_into_zero_window_refused() -> None:
    assert not segment_acceptable(1000, 1, 1000, 0)
    assert not segment_acceptable(1000, 500, 1000, 0)


def test_segment_acceptable_data_open_window() -> None:
    # starts inside
    assert segment_acceptable(1050, 500, 1000, 100)
    # starts before, ends inside (old duplicate overlapping new data)
    assert segment_acceptable(900, 101, 1000, 100)
    # entirely before the window
    assert not segment_acceptable(900, 100, 1000, 100)
    # entirely after the window
    assert not segment_acceptable(1100, 10, 1000, 100)


def test_segment_acceptable_wraps() -> None:
    assert segment_acceptable(TOP - 10, 20, TOP - 5, 100)
    assert segment_acceptable(3, 10, TOP - 5, 100)
    assert not segment_acceptable(TOP - 30, 20, TOP - 5, 100)


def test_ack_acceptable_bounds() -> None:
    assert ack_acceptable(100, 101, 200)
    assert ack_acceptable(100, 200, 200)
    assert not ack_acceptable(100, 100, 200)
    assert not ack_acceptable(100, 201, 200)


def test_ack_acceptable_wraps() -> None:
    assert ack_acceptable(TOP - 5, 3, 10)
    assert not ack_acceptable(TOP - 5, 11, 10)


@given(seqs, offsets)
def test_add_then_diff_is_identity(a: int, n: int) -> None:
    assert seq_diff(seq_add(a, n), a) == n


@given(seqs, seqs)
def test_diff_then_add_is_identity(a: int, b: int) -> None:
    assert seq_add(b, seq_diff(a, b)) == a


@given(seqs, seqs)
def test_comparisons_antisymmetric(a: int, b: int) -> None:
    assume(seq_diff(a, b) != -(2**31))
    assert seq_lt(a, b) == seq_gt(b, a)
    assert seq_le(a, b) == seq_ge(b, a)
    assert not (seq_lt(a, b) and seq_lt(b, a))
    assert seq_lt(a, b) or seq_lt(b, a) or a == b


@given(seqs, seqs)
def test_max_min_pick_both(a: int, b: int) -> None:
    assume(seq_diff(a, b) != -(2**31))
    assert {seq_max(a, b), seq_min(a, b)} == {a, b}
    assert seq_ge(seq_max(a, b), seq_min(a, b))


@given(seqs, st.integers(min_value=0, max_value=2**30), st.integers(min_value=0, max_value=2**30))
def test_in_window_matches_offset(start: int, size: int, off: int) -> None:
    assert seq_in_window(seq_add(start, off), start, size) == (off < size)
