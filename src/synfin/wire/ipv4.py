"""IPv4 header codec (RFC 791 section 3.1), just enough to carry TCP.

Addresses are dotted-quad strings at the API (``"10.0.0.1"``) and four octets on the wire;
:func:`pack_ip` and :func:`unpack_ip` convert and cache, since a stack sees the same few
addresses over and over. Fragment reassembly is out of scope: :func:`parse_ipv4` reports the
fragment fields and ``synfin.wire.parse_packet`` rejects fragments.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address
from struct import Struct
from struct import error as StructError

from synfin.wire.checksum import fold, internet_checksum
from synfin.wire.errors import MalformedSegment

PROTO_TCP = 6
"""The protocol number of TCP (RFC 9293 section 3.1, pseudo-header "PTCL")."""

IPV4_HEADER = Struct("!BBHHHBBH4s4s")
"""Version/IHL, TOS, total length, identification, flags/fragment offset, TTL, protocol,
header checksum, source, destination (RFC 791 section 3.1)."""

MIN_HEADER_LENGTH = 20
_DF = 0x4000
_MF = 0x2000
_OFFSET_MASK = 0x1FFF
_VERSION_IHL = 0x45

RawIpv4 = tuple[int, int, int, int, int, int, int, int, bytes, bytes]
"""The fields of :data:`IPV4_HEADER` as ``struct`` unpacks them."""


@dataclass(frozen=True, slots=True)
class Ipv4Header:
    """The fields of an IPv4 header (RFC 791 section 3.1).

    ``header_length`` and ``total_length`` are in octets; ``fragment_offset`` is the raw
    13-bit field, in units of eight octets. ``options`` holds the IP option octets verbatim.
    """

    src: str
    dst: str
    protocol: int
    ttl: int = 64
    ident: int = 0
    tos: int = 0
    dont_fragment: bool = True
    more_fragments: bool = False
    fragment_offset: int = 0
    header_length: int = MIN_HEADER_LENGTH
    total_length: int = MIN_HEADER_LENGTH
    options: bytes = b""

    @property
    def is_fragment(self) -> bool:
        """Whether this is part of a fragmented datagram (RFC 791 section 2.3)."""
        return self.more_fragments or self.fragment_offset != 0


@lru_cache(maxsize=4096)
def pack_ip(addr: str) -> bytes:
    """The four octets of a dotted-quad IPv4 address. Raises ``ValueError`` if invalid."""
    return IPv4Address(addr).packed


@lru_cache(maxsize=4096)
def unpack_ip(raw: bytes) -> str:
    """The dotted-quad form of four address octets. Raises ``ValueError`` for another length."""
    if len(raw) != 4:
        raise ValueError(f"an IPv4 address has 4 octets, not {len(raw)}")
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


@lru_cache(maxsize=4096)
def address_sum(src: str, dst: str) -> int:
    """The word sum of both addresses: the address part of the TCP pseudo-header
    (RFC 9293 section 3.1) and of the IPv4 header checksum."""
    return int.from_bytes(pack_ip(src) + pack_ip(dst), "big")


def unpack_ipv4(data: bytes, verify_checksum: bool = True) -> tuple[RawIpv4, int, int]:
    """Check an IPv4 header and return its raw fields, header length and total length.

    Raises ``MalformedSegment`` with reason ``truncated-header``, ``bad-ip-version``,
    ``bad-ihl``, ``bad-total-length`` or ``bad-ip-checksum`` (RFC 791 section 3.1; RFC 1122
    section 3.2.1.2: a datagram whose header checksum fails MUST be silently discarded).
    """
    if len(data) < MIN_HEADER_LENGTH:
        raise MalformedSegment("truncated-header", f"{len(data)} octets, an IPv4 header has 20")
    fields: RawIpv4 = IPV4_HEADER.unpack_from(data)
    version_ihl = fields[0]
    if version_ihl >> 4 != 4:
        raise MalformedSegment("bad-ip-version", f"version {version_ihl >> 4}")
    header_length = (version_ihl & 0x0F) << 2
    if header_length < MIN_HEADER_LENGTH:
        raise MalformedSegment("bad-ihl", f"IHL {header_length >> 2} words")
    if header_length > len(data):
        raise MalformedSegment("truncated-header", f"IHL says {header_length}, got {len(data)}")
    total_length = fields[2]
    if not header_length <= total_length <= len(data):
        raise MalformedSegment(
            "bad-total-length", f"total length {total_length}, header {header_length}, "
            f"{len(data)} octets received"
        )
    if verify_checksum and internet_checksum(data[:header_length]) != 0:
        raise MalformedSegment("bad-ip-checksum", f"header checksum {fields[7]:#06x}")
    return fields, header_length, total_length


def parse_ipv4(data: bytes, verify_checksum: bool = True) -> tuple[Ipv4Header, bytes]:
    """Parse an IPv4 header; return it and the payload, trimmed to the total length (link
    layers may pad short frames). Errors as for :func:`unpack_ipv4`."""
    fields, header_length, total_length = unpack_ipv4(data, verify_checksum)
    _, tos, _, ident, flags_offset, ttl, protocol, _, src, dst = fields
    header = Ipv4Header(
        src=unpack_ip(src),
        dst=unpack_ip(dst),
        protocol=protocol,
        ttl=ttl,
        ident=ident,
        tos=tos,
        dont_fragment=bool(flags_offset & _DF),
        more_fragments=bool(flags_offset & _MF),
        fragment_offset=flags_offset & _OFFSET_MASK,
        header_length=header_length,
        total_length=total_length,
        options=data[MIN_HEADER_LENGTH:header_length],
    )
    return header, data[header_length:total_length]


def emit_ipv4_header(
    src: str,
    dst: str,
    protocol: int,
    payload_length: int,
    *,
    ttl: int = 64,
    ident: int = 0,
    tos: int = 0,
    dont_fragment: bool = True,
) -> bytes:
    """A 20-octet IPv4 header (no options, not a fragment) with its checksum (RFC 791
    section 3.1). Raises ``ValueError`` for invalid addresses or out-of-range fields.

    The checksum is summed from the field values, so the header is packed only once.
    """
    total_length = MIN_HEADER_LENGTH + payload_length
    flags_offset = _DF if dont_fragment else 0
    words = (
        (_VERSION_IHL << 8) + tos + total_length + ident + flags_offset + (ttl << 8) + protocol
        + address_sum(src, dst)
    )
    try:
        return IPV4_HEADER.pack(
            _VERSION_IHL, tos, total_length, ident, flags_offset, ttl, protocol,
            0xFFFF ^ fold(words), pack_ip(src), pack_ip(dst),
        )
    except (StructError, TypeError) as exc:
        raise ValueError(f"IPv4 header field out of range: {exc}") from exc
