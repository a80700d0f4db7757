"""TCP header codec (RFC 9293 section 3.1): fields, checksum, malformed segments."""

from __future__ import annotations

import pytest

from synfin.wire import (
    Flags,
    MalformedSegment,
    MssOption,
    NopOption,
    TcpSegment,
    TimestampsOption,
    emit_tcp,
    internet_checksum,
    pack_ip,
    parse_tcp,
    pseudo_header_sum,
)

SRC, DST = "192.0.2.1", "198.51.100.7"

DATA_SEGMENT = TcpSegment(
    src_port=49152,
    dst_port=80,
    seq=0xDEADBEEF,
    ack=0x01020304,
    flags=Flags.ACK | Flags.PSH,
    window=65535,
    options=(NopOption(), NopOption(), TimestampsOption(7, 9)),
    payload=b"GET / HTTP/1.0\r\n\r\n",
)


def test_fixed_header_layout() -> None:
    seg = TcpSegment(0x1234, 0x5678, 1, 2, Flags.SYN | Flags.ECE | Flags.CWR, 0x0A0B, urgent=0x0C0D)
    wire = emit_tcp(seg, SRC, DST)
    assert wire[:16] == bytes.fromhex("12345678" "00000001" "00000002" "50c2" "0a0b")
    assert wire[18:] == bytes.fromhex("0c0d")


def test_data_offset_counts_options() -> None:
    wire = emit_tcp(DATA_SEGMENT, SRC, DST)
    assert wire[12] >> 4 == 8  # 20 fixed octets + 12 of options = 8 words
    assert wire[32:] == DATA_SEGMENT.payload


def test_checksum_covers_pseudo_header_header_and_data() -> None:
    wire = emit_tcp(DATA_SEGMENT, SRC, DST)
    initial = pseudo_header_sum(pack_ip(SRC), pack_ip(DST), 6, len(wire))
    assert internet_checksum(wire, initial) == 0
    zeroed = wire[:16] + b"\x00\x00" + wire[18:]
    assert int.from_bytes(wire[16:18], "big") == internet_checksum(zeroed, initial)


def test_round_trip() -> None:
    assert parse_tcp(emit_tcp(DATA_SEGMENT, SRC, DST), SRC, DST) == DATA_SEGMENT


def test_odd_payload_round_trip() -> None:
    seg = TcpSegment(1, 2, 3, 4, Flags.ACK | Flags.FIN, 5, payload=b"odd")
    assert parse_tcp(emit_tcp(seg, SRC, DST), SRC, DST) == seg


@pytest.mark.parametrize("bits", range(256))
def test_every_combination_of_control_bits(bits: int) -> None:
    seg = TcpSegment(1, 2, 3, 4, Flags(bits), 5)
    wire = emit_tcp(seg, SRC, DST)
    assert wire[13] == bits
    parsed = parse_tcp(wire, SRC, DST)
    assert parsed.flags == Flags(bits)
    assert isinstance(parsed.flags, Flags)


def test_reserved_bits_are_ignored() -> None:
    wire = bytearray(emit_tcp(DATA_SEGMENT, SRC, DST))
    wire[12] |= 0x0F
    assert parse_tcp(bytes(wire), SRC, DST, verify_checksum=False) == DATA_SEGMENT


def test_checksum_depends_on_addresses() -> None:
    wire = emit_tcp(DATA_SEGMENT, SRC, DST)
    with pytest.raises(MalformedSegment) as info:
        parse_tcp(wire, SRC, "198.51.100.8")
    assert info.value.reason == "bad-checksum"
    assert parse_tcp(wire, SRC, "198.51.100.8", verify_checksum=False) == DATA_SEGMENT


def test_checksum_zero_is_sent_as_zero_and_ffff_is_accepted_too() -> None:
    # The checksum is -(sum) in one's complement; an urgent pointer equal to the checksum of
    # the segment with urgent 0 makes the sum minus zero, so the checksum field is 0x0000.
    base = TcpSegment(1000, 2000, 3, 4, Flags.ACK | Flags.URG, 100)
    first = emit_tcp(base, SRC, DST)
    urgent = int.from_bytes(first[16:18], "big")
    tuned = TcpSegment(1000, 2000, 3, 4, Flags.ACK | Flags.URG, 100, urgent=urgent)
    wire = emit_tcp(tuned, SRC, DST)
    assert wire[16:18] == b"\x00\x00"
    assert parse_tcp(wire, SRC, DST) == tuned
    # 0xFFFF is the other one's complement zero; RFC 1071 arithmetic accepts it as well.
    assert parse_tcp(wire[:16] + b"\xff\xff" + wire[18:], SRC, DST) == tuned


def reason_of(data: bytes, verify: bool = True) -> str:
    with pytest.raises(MalformedSegment) as info:
        parse_tcp(data, SRC, DST, verify_checksum=verify)
    return info.value.reason


@pytest.mark.parametrize("length", range(20))
def test_truncated_header(length: int) -> None:
    assert reason_of(emit_tcp(DATA_SEGMENT, SRC, DST)[:length]) == "truncated-header"


@pytest.mark.parametrize("words", [0, 1, 4])
def test_data_offset_below_five_words(words: int) -> None:
    wire = bytearray(emit_tcp(DATA_SEGMENT, SRC, DST))
    wire[12] = words << 4
    assert reason_of(bytes(wire), verify=False) == "bad-data-offset"


def test_data_offset_past_the_end() -> None:
    wire = bytearray(emit_tcp(TcpSegment(1, 2, 3, 4, Flags.ACK, 5), SRC, DST))
    wire[12] = 6 << 4
    assert reason_of(bytes(wire), verify=False) == "bad-data-offset"


def test_options_cut_by_truncation_are_a_bad_data_offset() -> None:
    wire = emit_tcp(TcpSegment(1, 2, 3, 4, Flags.SYN, 5, options=(MssOption(1460),)), SRC, DST)
    assert reason_of(wire[:22], verify=False) == "bad-data-offset"


@pytest.mark.parametrize("position", [0, 13, 16, 17, 25, 40, 49])
def test_any_flipped_bit_is_a_bad_checksum(position: int) -> None:
    wire = bytearray(emit_tcp(DATA_SEGMENT, SRC, DST))
    wire[position] ^= 0x10
    assert reason_of(bytes(wire)) == "bad-checksum"


def test_bad_option_length_behind_a_valid_checksum() -> None:
    # Build the header by hand: an MSS option claiming length 3, then fix up the checksum.
    header = bytearray.fromhex("00010002" "00000003" "00000004" "6002" "0400" "0000" "0000")
    header += bytes.fromhex("02030000")
    initial = pseudo_header_sum(pack_ip(SRC), pack_ip(DST), 6, len(header))
    header[16:18] = internet_checksum(bytes(header), initial).to_bytes(2, "big")
    assert reason_of(bytes(header)) == "bad-option-length"


@pytest.mark.parametrize(
    "segment",
    [
        TcpSegment(65536, 2, 3, 4, Flags.ACK, 5),
        TcpSegment(1, -1, 3, 4, Flags.ACK, 5),
        TcpSegment(1, 2, 1 << 32, 4, Flags.ACK, 5),
        TcpSegment(1, 2, 3, 4, Flags.ACK, 1 << 16),
        TcpSegment(1, 2, 3, 4, Flags.ACK, 5, urgent=1 << 16),
        TcpSegment(1, 2, 3, 4, Flags.ACK, 5, payload=bytes(65536 - 20)),
    ],
)
def test_unencodable_segments_raise_value_error(segment: TcpSegment) -> None:
    with pytest.raises(ValueError) as info:
        emit_tcp(segment, SRC, DST)
    assert not isinstance(info.value, MalformedSegment)


def test_largest_segment_fits() -> None:
    seg = TcpSegment(1, 2, 3, 4, Flags.ACK, 5, payload=bytes(range(256)) * 255 + bytes(range(235)))
    wire = emit_tcp(seg, SRC, DST)
    assert len(wire) == 0xFFFF
    assert parse_tcp(wire, SRC, DST) == seg
