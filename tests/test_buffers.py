"""Tests for the send and receive buffers."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from synfin.buffers import ReceiveBuffer, SendBuffer

# ---------------------------------------------------------------- SendBuffer


def test_send_write_within_capacity() -> None:
    buf = SendBuffer(10)
    assert buf.write(b"hello") == 5
    assert len(buf) == 5
    assert buf.free() == 5


def test_send_write_truncates_at_capacity() -> None:
    buf = SendBuffer(10)
    assert buf.write(b"0123456789abc") == 10
    assert buf.write(b"x") == 0
    assert buf.peek(0, 100) == b"0123456789"


def test_send_peek_offsets() -> None:
    buf = SendBuffer(100)
    buf.write(b"abcdefgh")
    assert buf.peek(0, 3) == b"abc"
    assert buf.peek(2, 3) == b"cde"
    assert buf.peek(6, 10) == b"gh"
    assert buf.peek(8, 10) == b""
    assert buf.peek(50, 10) == b""


def test_send_discard_moves_front() -> None:
    buf = SendBuffer(100)
    buf.write(b"abcdefgh")
    buf.discard(3)
    assert len(buf) == 5
    assert buf.peek(0, 2) == b"de"
    assert buf.free() == 95


def test_send_discard_too_much_rejected() -> None:
    buf = SendBuffer(100)
    buf.write(b"abc")
    with pytest.raises(ValueError):
        buf.discard(4)


def test_send_peek_negative_rejected() -> None:
    with pytest.raises(ValueError):
        SendBuffer(10).peek(-1, 3)


def test_send_write_accepts_bytearray_and_memoryview() -> None:
    buf = SendBuffer(100)
    buf.write(bytearray(b"ab"))
    buf.write(memoryview(b"cd"))
    assert buf.peek(0, 10) == b"abcd"


def test_send_megabyte_stream_through_small_buffer() -> None:
    """Stream 4 MB through a 256 KB buffer, crossing the compaction threshold many times."""
    source = bytes(range(256)) * (4 * 4096)
    buf = SendBuffer(256 * 1024)
    written = acked = 0
    out = bytearray()
    while acked < len(source):
        written += buf.write(source[written : written + 100_000])
        chunk = buf.peek(0, 1460 * 7)
        out += chunk
        buf.discard(len(chunk))
        acked += len(chunk)
    assert bytes(out) == source
    assert len(buf) == 0


@given(st.lists(st.tuples(st.binary(max_size=50), st.integers(0, 60)), max_size=60))
def test_send_buffer_matches_model(ops: list[tuple[bytes, int]]) -> None:
    buf = SendBuffer(128)
    model = bytearray()
    for data, drop in ops:
        taken = buf.write(data)
        assert taken == min(len(data), 128 - len(model))
        model += data[:taken]
        drop = min(drop, len(model))
        buf.discard(drop)
        del model[:drop]
        assert len(buf) == len(model)
        assert buf.peek(0, 1000) == bytes(model)


# ------------------------------------------------------------- ReceiveBuffer


def test_recv_in_order() -> None:
    buf = ReceiveBuffer(100)
    assert buf.write(0, b"abc") == 3
    assert buf.write(0, b"def") == 3
    assert buf.readable() == 6
    assert buf.window() == 94
    assert buf.read() == b"abcdef"
    assert buf.window() == 100


def test_recv_partial_read() -> None:
    buf = ReceiveBuffer(100)
    buf.write(0, b"abcdef")
    assert buf.read(2) == b"ab"
    assert buf.read(0) == b""
    assert buf.read() == b"cdef"
    assert buf.read() == b""


def test_recv_reorder_fills_hole() -> None:
    buf = ReceiveBuffer(100)
    assert buf.write(3, b"def") == 0
    assert buf.has_out_of_order()
    assert buf.readable() == 0
    assert buf.out_of_order_ranges() == [(3, 6)]
    assert buf.write(0, b"abc") == 6
    assert not buf.has_out_of_order()
    assert buf.read() == b"abcdef"


def test_recv_out_of_order_does_not_shrink_window() -> None:
    buf = ReceiveBuffer(100)
    buf.write(10, b"x" * 20)
    assert buf.window() == 100


def test_recv_ranges_relative_to_next_expected() -> None:
    buf = ReceiveBuffer(100)
    buf.write(0, b"ab")
    buf.write(5, b"fg")
    buf.write(10, b"k")
    # offsets are from the new RCV.NXT (after "ab")
    assert buf.out_of_order_ranges() == [(5, 7), (10, 11)]
    assert buf.write(0, b"cd") == 2
    assert buf.out_of_order_ranges() == [(3, 5), (8, 9)]


def test_recv_adjacent_pieces_merge() -> None:
    buf = ReceiveBuffer(100)
    buf.write(2, b"cd")
    buf.write(4, b"ef")
    buf.write(6, b"gh")
    assert buf.out_of_order_ranges() == [(2, 8)]
    assert buf.write(0, b"ab") == 8
    assert buf.read() == b"abcdefgh"


def test_recv_overlap_spanning_several_pieces() -> None:
    buf = ReceiveBuffer(100)
    buf.write(2, b"C")
    buf.write(5, b"FG")
    buf.write(9, b"J")
    assert buf.write(1, b"BCDEFGHIJKL") == 0
    assert buf.out_of_order_ranges() == [(1, 12)]
    assert buf.write(0, b"A") == 12
    assert buf.read() == b"ABCDEFGHIJKL"


def test_recv_overlap_keeps_first_received_bytes() -> None:
    buf = ReceiveBuffer(100)
    buf.write(2, b"cd")
    buf.write(1, b"XYZW")
    buf.write(0, b"a")
    assert buf.read() == b"aXcdW"


def test_recv_in_order_overlapping_held_piece() -> None:
    buf = ReceiveBuffer(100)
    buf.write(3, b"defgh")
    assert buf.write(0, b"abcde") == 8
    assert buf.read() == b"abcdefgh"


def test_recv_duplicate_out_of_order_ignored() -> None:
    buf = ReceiveBuffer(100)
    buf.write(4, b"efg")
    buf.write(4, b"efg")
    buf.write(5, b"f")
    assert buf.out_of_order_ranges() == [(4, 7)]
    assert buf.write(0, b"abcd") == 7


def test_recv_in_order_trimmed_at_window() -> None:
    buf = ReceiveBuffer(5)
    assert buf.write(0, b"abcdefgh") == 5
    assert buf.window() == 0
    assert buf.write(0, b"x") == 0
    assert buf.read() == b"abcde"


def test_recv_out_of_order_trimmed_at_window() -> None:
    buf = ReceiveBuffer(10)
    buf.write(0, b"01234")
    # window is 5 now: offsets 0..4 are acceptable
    assert buf.write(3, b"789abc") == 0
    assert buf.out_of_order_ranges() == [(3, 5)]
    assert buf.write(5, b"z") == 0
    assert buf.out_of_order_ranges() == [(3, 5)]


def test_recv_empty_write() -> None:
    buf = ReceiveBuffer(10)
    assert buf.write(0, b"") == 0
    assert buf.write(3, b"") == 0
    assert not buf.has_out_of_order()


def test_recv_negative_offset_rejected() -> None:
    with pytest.raises(ValueError):
        ReceiveBuffer(10).write(-1, b"a")


def test_recv_many_small_pieces_in_reverse() -> None:
    data = bytes(range(256)) * 8
    buf = ReceiveBuffer(4096)
    for i in range(len(data) - 1, 0, -1):
        assert buf.write(i, data[i : i + 1]) == 0
    assert buf.out_of_order_ranges() == [(1, len(data))]
    assert buf.write(0, data[:1]) == len(data)
    assert buf.read() == data


def test_recv_hole_then_long_in_order_run() -> None:
    """One lost segment followed by many: held data grows at its end, then joins."""
    mss = 1460
    data = bytes(i % 251 for i in range(mss * 200))
    buf = ReceiveBuffer(len(data))
    for off in range(mss, len(data), mss):
        assert buf.write(off, data[off : off + mss]) == 0
    assert buf.out_of_order_ranges() == [(mss, len(data))]
    assert buf.write(0, data[:mss]) == len(data)
    assert buf.read() == data


@st.composite
def segmented(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]]]:
    """A payload and a shuffled list of (start, end) pieces that cover it, possibly overlapping."""
    payload = draw(st.binary(min_size=1, max_size=400))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(payload) - 1 or 1), max_size=30))))
    bounds = [0, *[c for c in cuts if 0 < c < len(payload)], len(payload)]
    pieces = list(pairwise(bounds))
    extras = draw(
        st.lists(st.tuples(st.integers(0, len(payload) - 1), st.integers(1, 50)), max_size=10)
    )
    pieces += [(s, min(s + n, len(payload))) for s, n in extras]
    return payload, draw(st.permutations(pieces))


@given(segmented(), st.integers(min_value=1, max_value=500))
def test_recv_any_delivery_order_reassembles(
    case: tuple[bytes, list[tuple[int, int]]], capacity: int
) -> None:
    payload, pieces = case
    buf = ReceiveBuffer(capacity)
    out = bytearray()
    while len(out) < len(payload):
        progress = False
        for start, end in pieces:
            nxt = len(out) + buf.readable()
            if end <= nxt:
                continue
            skip = max(0, nxt - start)
            advanced = buf.write(start + skip - nxt, payload[start + skip : end])
            progress = progress or advanced > 0
            assert buf.readable() <= capacity
        assert progress  # some piece covers RCV.NXT and the window reopened after read()
        out += buf.read()
    assert bytes(out) == payload
    assert not buf.has_out_of_order()


@given(segmented())
def test_recv_ranges_are_sorted_disjoint_and_beyond_hole(
    case: tuple[bytes, list[tuple[int, int]]],
) -> None:
    payload, pieces = case
    buf = ReceiveBuffer(len(payload))
    for start, end in pieces:
        nxt = buf.readable()
        if end <= nxt:
            continue
        skip = max(0, nxt - start)
        buf.write(start + skip - nxt, payload[start + skip : end])
        ranges = buf.out_of_order_ranges()
        for (s1, e1), (s2, _e2) in pairwise(ranges):
            assert s1 < e1 < s2
        assert all(s > 0 for s, _ in ranges)
    assert buf.read() == payload
