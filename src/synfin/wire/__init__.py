"""The wire codec: IPv4 + TCP segments as immutable values, and back to bytes.

Sans-IO and stdlib-only. Parsing raises only :class:`MalformedSegment`, whose ``reason`` is a
stable name: ``truncated-header``, ``bad-ip-version``, ``bad-ihl``, ``bad-total-length``,
``bad-ip-checksum``, ``not-tcp``, ``fragmented``, ``bad-data-offset``, ``bad-option-length``,
``bad-checksum``. Emitting raises ``ValueError`` for values that do not fit their fields.
"""

from __future__ import annotations

from synfin.wire.checksum import internet_checksum, pseudo_header_sum
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
from synfin.wire.tcp import emit_tcp, emit_tcp_header, parse_tcp, parse_tcp_with_sum

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


def parse_packet(data: bytes, verify_checksums: bool = True) -> Packet:
    """Parse an IPv4 datagram carrying one TCP segment.

    IP options are skipped and not kept (a :class:`Packet` has no place for them). Besides the
    reasons of :func:`parse_ipv4` and :func:`parse_tcp`, raises ``MalformedSegment("not-tcp")``
    for another protocol and ``MalformedSegment("fragmented")`` for a fragment: synfin does not
    reassemble (RFC 791 section 3.2); it sends with DF set and sizes segments to the MSS.
    """
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
    RFC 9293 section 3.1). Raises ``ValueError`` for fields that do not fit."""
    seg = packet.segment
    tcp_header = emit_tcp_header(seg, address_sum(packet.src, packet.dst))
    ip_header = emit_ipv4_header(
        packet.src,
        packet.dst,
        PROTO_TCP,
        len(tcp_header) + len(seg.payload),
        ttl=packet.ttl,
        ident=packet.ident,
        tos=packet.tos,
        dont_fragment=packet.dont_fragment,
    )
    return b"".join((ip_header, tcp_header, seg.payload))
