"""IPv4 header codec (RFC 791 section 3.1) and whole packets (IPv4 + TCP)."""

from __future__ import annotations

import pytest

from synfin.wire import (
    Flags,
    Ipv4Header,
    MalformedSegment,
    Packet,
    TcpSegment,
    emit_ipv4_header,
    emit_packet,
    internet_checksum,
    pack_ip,
    parse_ipv4,
    parse_packet,
    unpack_ip,
)

SEGMENT = TcpSegment(40000, 443, 1, 2, Flags.ACK, 1000, payload=b"payload!")
PACKET = Packet("10.1.2.3", "172.16.254.1", SEGMENT, ttl=61, ident=0xBEEF, tos=0x10)


def test_pack_and_unpack_addresses() -> None:
    assert pack_ip("10.1.2.3") == b"\x0a\x01\x02\x03"
    assert pack_ip("255.255.255.255") == b"\xff" * 4
    assert unpack_ip(b"\xc0\x00\x02\x01") == "192.0.2.1"
    assert unpack_ip(pack_ip("0.0.0.0")) == "0.0.0.0"


@pytest.mark.parametrize("addr", ["10.0.0", "10.0.0.256", "1.2.3.4.5", "a.b.c.d", "", "::1"])
def test_pack_ip_rejects_invalid_addresses(addr: str) -> None:
    with pytest.raises(ValueError):
        pack_ip(addr)


@pytest.mark.parametrize("raw", [b"", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05"])
def test_unpack_ip_rejects_other_lengths(raw: bytes) -> None:
    with pytest.raises(ValueError):
        unpack_ip(raw)


def test_emitted_header_layout_and_checksum() -> None:
    header = emit_ipv4_header("10.0.0.1", "10.0.0.2", 6, 100, ttl=64, ident=0x1234, tos=0x28)
    assert header[:10] == bytes.fromhex("4528" "0078" "1234" "4000" "40" "06")
    assert header[12:] == bytes.fromhex("0a000001" "0a000002")
    assert internet_checksum(header) == 0


def test_dont_fragment_off() -> None:
    header = emit_ipv4_header("10.0.0.1", "10.0.0.2", 6, 0, dont_fragment=False)
    assert header[6:8] == b"\x00\x00"
    assert internet_checksum(header) == 0


def test_parse_emitted_header() -> None:
    header = emit_ipv4_header("10.0.0.1", "10.0.0.2", 17, 4, ttl=3, ident=9, tos=1)
    parsed, payload = parse_ipv4(header + b"abcd")
    assert parsed == Ipv4Header(
        src="10.0.0.1",
        dst="10.0.0.2",
        protocol=17,
        ttl=3,
        ident=9,
        tos=1,
        dont_fragment=True,
        header_length=20,
        total_length=24,
    )
    assert payload == b"abcd"
    assert not parsed.is_fragment


def test_payload_is_trimmed_to_total_length() -> None:
    # An Ethernet frame pads short packets; the padding is not TCP data.
    wire = emit_packet(PACKET)
    _, payload = parse_ipv4(wire + bytes(6))
    assert len(payload) == len(wire) - 20
    assert parse_packet(wire + bytes(6)) == PACKET


def with_fixed_checksum(header: bytearray) -> bytes:
    header[10:12] = b"\x00\x00"
    ihl = (header[0] & 0x0F) * 4
    header[10:12] = internet_checksum(bytes(header[:ihl])).to_bytes(2, "big")
    return bytes(header)


def test_ip_options_are_skipped() -> None:
    wire = emit_packet(PACKET)
    # IHL 6 with one 4-octet option word (NOP, NOP, NOP, EOL) inserted after the fixed header.
    with_options = bytearray(wire[:20] + bytes.fromhex("01010100") + wire[20:])
    with_options[0] = 0x46
    with_options[2:4] = (len(with_options)).to_bytes(2, "big")
    data = with_fixed_checksum(with_options)
    header, _ = parse_ipv4(data)
    assert header.header_length == 24
    assert header.options == bytes.fromhex("01010100")
    assert parse_packet(data) == PACKET


def test_fragment_fields_are_reported() -> None:
    header = bytearray(emit_ipv4_header("10.0.0.1", "10.0.0.2", 6, 8))
    header[6:8] = (0x2000 | 185).to_bytes(2, "big")  # MF, offset 185 * 8 octets
    parsed, _ = parse_ipv4(with_fixed_checksum(header) + bytes(8))
    assert parsed.more_fragments
    assert not parsed.dont_fragment
    assert parsed.fragment_offset == 185
    assert parsed.is_fragment


def reason_of(data: bytes, verify: bool = True) -> str:
    with pytest.raises(MalformedSegment) as info:
        parse_packet(data, verify_checksums=verify)
    return info.value.reason


def test_ipv4_header_errors_via_parse_ipv4() -> None:
    with pytest.raises(MalformedSegment) as info:
        parse_ipv4(bytes.fromhex("45"))
    assert info.value.reason == "truncated-header"


@pytest.mark.parametrize("length", [0, 1, 19])
def test_truncated_ip_header(length: int) -> None:
    assert reason_of(emit_packet(PACKET)[:length]) == "truncated-header"


def test_ihl_past_the_end() -> None:
    header = bytearray(emit_ipv4_header("10.0.0.1", "10.0.0.2", 6, 0))
    header[0] = 0x46
    assert reason_of(bytes(header), verify=False) == "truncated-header"


@pytest.mark.parametrize("version", [0, 6, 15])
def test_bad_ip_version(version: int) -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[0] = version << 4 | 5
    assert reason_of(bytes(wire)) == "bad-ip-version"


@pytest.mark.parametrize("ihl", [0, 4])
def test_bad_ihl(ihl: int) -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[0] = 0x40 | ihl
    assert reason_of(bytes(wire)) == "bad-ihl"


@pytest.mark.parametrize("total", [0, 19, 10_000])
def test_bad_total_length(total: int) -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[2:4] = total.to_bytes(2, "big")
    assert reason_of(with_fixed_checksum(wire)) == "bad-total-length"


def test_truncated_datagram_is_a_bad_total_length() -> None:
    assert reason_of(emit_packet(PACKET)[:-1]) == "bad-total-length"


def test_bad_ip_checksum() -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[8] ^= 0x01  # TTL
    assert reason_of(bytes(wire)) == "bad-ip-checksum"
    assert parse_packet(bytes(wire), verify_checksums=False).ttl == PACKET.ttl ^ 0x01


def test_not_tcp() -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[9] = 17
    assert reason_of(with_fixed_checksum(wire)) == "not-tcp"


@pytest.mark.parametrize("field", [0x2000, 0x0001, 0x4001, 0x1FFF])
def test_fragments_are_rejected(field: int) -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[6:8] = field.to_bytes(2, "big")
    assert reason_of(with_fixed_checksum(wire)) == "fragmented"


def test_reserved_ip_flag_is_ignored() -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[6] |= 0x80
    assert parse_packet(with_fixed_checksum(wire)) == PACKET


def test_tcp_errors_pass_through() -> None:
    wire = bytearray(emit_packet(PACKET))
    wire[-1] ^= 0xFF
    assert reason_of(bytes(wire)) == "bad-checksum"


def test_packet_round_trip() -> None:
    assert parse_packet(emit_packet(PACKET)) == PACKET
    no_df = Packet("1.2.3.4", "5.6.7.8", SEGMENT, dont_fragment=False)
    assert parse_packet(emit_packet(no_df)) == no_df


def test_tcp_truncated_inside_a_valid_datagram() -> None:
    wire = bytearray(emit_packet(PACKET)[:30])
    wire[2:4] = (30).to_bytes(2, "big")
    assert reason_of(with_fixed_checksum(wire)) == "truncated-header"


@pytest.mark.parametrize(
    "packet",
    [
        Packet("10.0.0.1", "10.0.0.2", SEGMENT, ttl=256),
        Packet("10.0.0.1", "10.0.0.2", SEGMENT, ident=-1),
        Packet("10.0.0.1", "10.0.0.2", SEGMENT, tos=300),
        Packet("10.0.0.1", "10.0.0.999", SEGMENT),
        Packet("10.0.0.1", "10.0.0.2", TcpSegment(1, 2, 3, 4, Flags.ACK, 5, payload=bytes(65500))),
    ],
)
def test_unencodable_packets_raise_value_error(packet: Packet) -> None:
    with pytest.raises(ValueError) as info:
        emit_packet(packet)
    assert not isinstance(info.value, MalformedSegment)
