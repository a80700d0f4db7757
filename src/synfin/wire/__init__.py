"""The wire codec: IPv4 + TCP segments as immutable values, and back to bytes.

Sans-IO and stdlib-only. Parsing raises only :class:`MalformedSegment`, whose ``reason`` is a
stable name: ``truncated-header``, ``bad-ip-version``, ``bad-ihl``, ``bad-total-length``,
``bad-ip-checksum``, ``not-tcp``, ``fragmented``, ``bad-data-offset``, ``bad-option-length``,
``bad-checksum``. Emitting raises ``ValueError`` for values that do not fit their fields.
"""

from __future__ import annotations

from struct import Struct
from struct import error as StructError

from synfin.wire.checksum import fold, internet_checksum, pseudo_header_sum, word_sum
from synfin.wire.errors import MalformedSegment
from synfin.wire.flags import Flags
from synfin.wire.ipv4 import (
    PROTO_TCP,
    Ipv4Header,
    address_sum,
    emit_ipv4_header,
    pack_ip,
    parse_ipv4,
    unpack_ip,
    unpack_ipv4,
)
from synfin.wire.options import emit_options, parse_options
from synfin.wire.segment import (
    EolOption,
    MssOption,
    NopOption,
    Packet,
    SackOption,
    SackPermittedOption,
    TcpOption,
    TcpSegment,
    TimestampsOption,
    UnknownOption,
    WindowScaleOption,
)
from synfin.wire.tcp import (
    MAX_SEGMENT_LENGTH,
    emit_tcp,
    emit_tcp_header,
    parse_tcp,
    parse_tcp_with_sum,
)

__all__ = [
    "PROTO_TCP",
    "EolOption",
    "Flags",
    "Ipv4Header",
    "MalformedSegment",
    "MssOption",
    "NopOption",
    "Packet",
    "SackOption",
    "SackPermittedOption",
    "TcpOption",
    "TcpSegment",
    "TimestampsOption",
    "UnknownOption",
    "WindowScaleOption",
    "address_sum",
    "emit_ipv4_header",
    "emit_options",
    "emit_packet",
    "emit_tcp",
    "emit_tcp_header",
    "internet_checksum",
    "pack_ip",
    "parse_ipv4",
    "parse_options",
    "parse_packet",
    "parse_tcp",
    "parse_tcp_with_sum",
    "pseudo_header_sum",
    "unpack_ip",
]

_DF = 0x4000
_FRAGMENT_BITS = 0x3FFF
"""More-fragments flag and fragment offset (RFC 791 section 3.1)."""
_VERSION_IHL_5 = 0x45
_BOTH_HEADERS = 40
_IPV4_TCP = Struct("!BBHHHBBHIIHHIIBBHHH")
"""An IPv4 header without options (addresses as integers) followed by the fixed TCP header."""
_IPV4_TCP_ADDR_BYTES = Struct("!BBHHHBBH4s4sHHIIBBHHH")
_ADDRESSES: dict[int, str] = {}
_ADDRESS_CACHE = 4096
_FLAGS = tuple(Flags(bits) for bits in range(256))


def parse_packet(data: bytes, verify_checksums: bool = True) -> Packet:
    """Parse an IPv4 datagram carrying one TCP segment.

    IP options are skipped and not kept (a :class:`Packet` has no place for them). Besides the
    reasons of :func:`parse_ipv4` and :func:`parse_tcp`, raises ``MalformedSegment("not-tcp")``
    for another protocol and ``MalformedSegment("fragmented")`` for a fragment: synfin does not
    reassemble (RFC 791 section 3.2); it sends with DF set and sizes segments to the MSS.

    The common packet (no IP options, not a fragment, exactly as long as its total length,
    valid checksums) is parsed with one ``struct`` call over both headers; anything else,
    including every malformed packet, takes the general path, which names the error.
    """
    if len(data) >= _BOTH_HEADERS and data[0] == _VERSION_IHL_5:
        packet = _parse_common(data, verify_checksums)
        if packet is not None:
            return packet
    return _parse_general(data, verify_checksums)


def _parse_common(data: bytes, verify: bool) -> Packet | None:
    """The fast path of :func:`parse_packet`, or ``None`` when it does not apply."""
    (_, tos, total, ident, flags_offset, ttl, protocol, ip_checksum, src, dst, src_port,
     dst_port, seq, ack, offset, bits, window, _, urgent) = _IPV4_TCP.unpack_from(data)
    length = len(data)
    header_length = (offset >> 4) << 2
    if (total != length or protocol != PROTO_TCP or flags_offset & _FRAGMENT_BITS
            or header_length < 20 or header_length > length - 20):
        return None
    addresses = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)
    if verify:
        # RFC 1071: the header words, checksum included, sum to 0xFFFF (mod 0xFFFF).
        if ((_VERSION_IHL_5 << 8) + tos + total + ident + flags_offset + (ttl << 8) + protocol
                + ip_checksum + addresses) % 0xFFFF:
            return None
        # The IPv4 header (20 octets, an even count) sums to 0 mod 0xFFFF, so the words of
        # the whole packet sum like those of the TCP segment alone: no slice is copied.
        if (word_sum(data) % 0xFFFF + addresses + PROTO_TCP + length - 20) % 0xFFFF:
            return None
    options = () if header_length == 20 else parse_options(data[40 : 20 + header_length])
    segment = TcpSegment(src_port, dst_port, seq, ack, _FLAGS[bits], window, urgent, options,
                         data[20 + header_length :])
    return Packet(_address(src), _address(dst), segment, ttl, ident, tos,
                  bool(flags_offset & _DF))


def _address(value: int) -> str:
    """The dotted quad of an address given as an integer (cached: a stack sees few)."""
    text = _ADDRESSES.get(value)
    if text is None:
        if len(_ADDRESSES) >= _ADDRESS_CACHE:
            _ADDRESSES.clear()
        text = _ADDRESSES[value] = (
            f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}")
    return text


def _parse_general(data: bytes, verify_checksums: bool) -> Packet:
    fields, header_length, total_length = unpack_ipv4(data, verify_checksums)
    _, tos, _, ident, flags_offset, ttl, protocol, _, src, dst = fields
    if protocol != PROTO_TCP:
        raise MalformedSegment("not-tcp", f"IP protocol {protocol}")
    if flags_offset & _FRAGMENT_BITS:
        raise MalformedSegment("fragmented", f"fragment offset/MF field {flags_offset:#06x}")
    segment = parse_tcp_with_sum(
        data[header_length:total_length], int.from_bytes(src + dst, "big"), verify_checksums
    )
    return Packet(
        unpack_ip(src), unpack_ip(dst), segment, ttl, ident, tos, bool(flags_offset & _DF)
    )


def emit_packet(packet: Packet) -> bytes:
    """The IPv4 datagram for ``packet``: a 20-octet header with total length, DF, ident, TTL,
    TOS and header checksum, then the TCP segment with its checksum (RFC 791 section 3.1,
    RFC 9293 section 3.1). Raises ``ValueError`` for fields that do not fit.

    Both checksums are summed from the field values (a header's 16-bit words are its fields
    and their halves), so both headers are packed once, by one ``struct`` call.
    """
    seg = packet.segment
    options = emit_options(seg.options) if seg.options else b""
    payload = seg.payload
    tcp_header_length = 20 + len(options)
    tcp_length = tcp_header_length + len(payload)
    if tcp_length > MAX_SEGMENT_LENGTH:
        raise ValueError(f"a {tcp_length}-octet segment does not fit the pseudo-header length")
    addresses = address_sum(packet.src, packet.dst)
    seq, ack, flags = seg.seq, seg.ack, seg.flags
    words = (addresses + PROTO_TCP + tcp_length + seg.src_port + seg.dst_port + (seq >> 16)
             + (seq & 0xFFFF) + (ack >> 16) + (ack & 0xFFFF) + (tcp_header_length << 10)
             + flags + seg.window + seg.urgent)
    if options:
        words += int.from_bytes(options, "big")  # a multiple of four octets
    if payload:
        words += word_sum(payload) % 0xFFFF
    total = 20 + tcp_length
    ttl, ident, tos = packet.ttl, packet.ident, packet.tos
    flags_offset = _DF if packet.dont_fragment else 0
    ip_words = ((_VERSION_IHL_5 << 8) + tos + total + ident + flags_offset + (ttl << 8)
                + PROTO_TCP + addresses)
    try:
        headers = _IPV4_TCP_ADDR_BYTES.pack(
            _VERSION_IHL_5, tos, total, ident, flags_offset, ttl, PROTO_TCP,
            0xFFFF ^ fold(ip_words), pack_ip(packet.src), pack_ip(packet.dst), seg.src_port,
            seg.dst_port, seq, ack, tcp_header_length << 2, flags, seg.window,
            0xFFFF ^ fold(words), seg.urgent)
    except (StructError, TypeError) as exc:
        raise ValueError(f"header field out of range: {exc}") from exc
    if options or payload:
        return b"".join((headers, options, payload))
    return headers
