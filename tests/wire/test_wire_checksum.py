"""The Internet checksum (RFC 1071) and the TCP pseudo-header sum (RFC 9293 section 3.1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synfin.wire.checksum import fold, internet_checksum, pseudo_header_sum, word_sum


def reference_checksum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 section 4.1, word by word with end-around carry: the slow, obvious way."""
    if len(data) % 2:
        data += b"\x00"
    total = initial
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
        while total > 0xFFFF:
            total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def test_rfc1071_numerical_example() -> None:
    # RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2 (with carries).
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert fold(word_sum(data)) == 0xDDF2
    assert internet_checksum(data) == 0x220D


def test_data_carrying_its_checksum_sums_to_zero() -> None:
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert internet_checksum(data + (0x220D).to_bytes(2, "big")) == 0


def test_all_zero_data_has_checksum_ffff() -> None:
    assert internet_checksum(b"") == 0xFFFF
    assert internet_checksum(bytes(64)) == 0xFFFF


def test_negative_zero_sum_gives_zero_checksum() -> None:
    # 0xFFFF + 0xFFFF folds to 0xFFFF (minus zero), never to 0x0000.
    assert fold(0xFFFF * 2) == 0xFFFF
    assert internet_checksum(b"\xff\xff\xff\xff") == 0x0000


def test_odd_length_is_padded_with_a_zero_octet() -> None:
    assert internet_checksum(b"\x12\x34\x56") == internet_checksum(b"\x12\x34\x56\x00")
    assert internet_checksum(b"\x12\x34\x56") != internet_checksum(b"\x00\x12\x34\x56")


def test_initial_sum_is_included() -> None:
    assert internet_checksum(b"\x00\x01", initial=0x0002) == 0xFFFF ^ 0x0003


def test_pseudo_header_sum_matches_explicit_pseudo_header() -> None:
    src, dst = bytes([10, 0, 0, 1]), bytes([192, 168, 7, 200])
    segment = bytes(range(37))
    explicit = src + dst + bytes([0, 6]) + len(segment).to_bytes(2, "big") + segment
    initial = pseudo_header_sum(src, dst, 6, len(segment))
    assert internet_checksum(segment, initial) == reference_checksum(explicit)


@given(st.binary(max_size=3000), st.integers(min_value=0, max_value=0xFFFF))
def test_matches_rfc1071_reference(data: bytes, initial: int) -> None:
    assert internet_checksum(data, initial) == reference_checksum(data, initial)


@given(st.binary(max_size=200).filter(lambda b: len(b) % 2 == 0))
def test_appending_the_checksum_verifies(data: bytes) -> None:
    # Even for all-zero data: its checksum 0xFFFF makes the sum non-zero (minus zero).
    csum = internet_checksum(data)
    assert internet_checksum(data + csum.to_bytes(2, "big")) == 0
