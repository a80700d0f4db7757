"""TCP header codec (RFC 9293 section 3.1): bytes to :class:`TcpSegment` and back.

The header is 20 fixed octets (ports, sequence and acknowledgment numbers, data offset,
control bits, window, checksum, urgent pointer), then options up to the data offset, then data.
The checksum covers the IPv4 pseudo-header (source, destination, zero, protocol 6, TCP
length), the header and the data.

The four reserved bits between the data offset and the control bits are sent as zero and
ignored on receipt (RFC 9293 section 3.1, "Rsrvd"), so they do not survive a round trip.

``parse_tcp`` and ``emit_tcp`` take dotted-quad addresses; ``parse_tcp_with_sum`` and
``emit_tcp_header`` take the precomputed address sum (:func:`synfin.wire.ipv4.address_sum`) and
let ``parse_packet``/``emit_packet`` avoid converting addresses and copying payloads twice.
"""

from __future__ import annotations

from struct import Struct
from struct import error as StructError

from synfin.wire.checksum import fold, word_sum
from synfin.wire.errors import MalformedSegment
from synfin.wire.flags import Flags
from synfin.wire.ipv4 import PROTO_TCP, address_sum
from synfin.wire.options import emit_options, parse_options
from synfin.wire.segment import TcpSegment

TCP_HEADER = Struct("!HHIIBBHHH")
"""Source port, destination port, sequence number, acknowledgment number, data offset (high
nibble; the low nibble is reserved), control bits, window, checksum, urgent pointer."""

MIN_HEADER_LENGTH = 20
MAX_SEGMENT_LENGTH = 0xFFFF
"""The pseudo-header's TCP length field has 16 bits (RFC 9293 section 3.1)."""

_FLAGS = tuple(Flags(bits) for bits in range(256))
"""Every control-bit octet as a ``Flags`` value, built once (``Flags(n)`` is slow)."""


def parse_tcp(data: bytes, src: str, dst: str, verify_checksum: bool = True) -> TcpSegment:
    """Parse a TCP segment sent from ``src`` to ``dst`` (RFC 9293 section 3.1).

    Raises ``MalformedSegment`` with reason ``truncated-header`` (fewer than 20 octets),
    ``bad-data-offset`` (below 5 words or past the end), ``bad-checksum`` (RFC 9293 section
    3.10.7.1 says such segments are discarded) or ``bad-option-length``.
    """
    return parse_tcp_with_sum(data, address_sum(src, dst), verify_checksum)


def parse_tcp_with_sum(data: bytes, addr_sum: int, verify_checksum: bool = True) -> TcpSegment:
    """:func:`parse_tcp` with the pseudo-header addresses given as their word sum."""
    length = len(data)
    if length < MIN_HEADER_LENGTH:
        raise MalformedSegment("truncated-header", f"{length} octets, a TCP header has 20")
    src_port, dst_port, seq, ack, offset, bits, window, checksum, urgent = (
        TCP_HEADER.unpack_from(data)
    )
    header_length = (offset >> 4) << 2
    if not MIN_HEADER_LENGTH <= header_length <= length:
        raise MalformedSegment(
            "bad-data-offset", f"data offset {offset >> 4} words in a {length}-octet segment"
        )
    if verify_checksum and (addr_sum + PROTO_TCP + length + word_sum(data)) % 0xFFFF:
        raise MalformedSegment("bad-checksum", f"checksum field {checksum:#06x}")
    options = parse_options(data[MIN_HEADER_LENGTH:header_length]) if header_length > 20 else ()
    return TcpSegment(
        src_port, dst_port, seq, ack, _FLAGS[bits], window, urgent, options, data[header_length:]
    )


def emit_tcp(seg: TcpSegment, src: str, dst: str) -> bytes:
    """The wire form of ``seg`` sent from ``src`` to ``dst``, checksum included (RFC 9293
    section 3.1). Raises ``ValueError`` for out-of-range fields or options that do not fit."""
    return emit_tcp_header(seg, address_sum(src, dst)) + seg.payload


def emit_tcp_header(seg: TcpSegment, addr_sum: int) -> bytes:
    """The header and options of ``seg``, with the checksum over header, payload and the
    pseudo-header whose addresses sum to ``addr_sum``. The payload itself is not copied."""
    options = emit_options(seg.options)
    header_length = MIN_HEADER_LENGTH + len(options)
    length = header_length + len(seg.payload)
    if length > MAX_SEGMENT_LENGTH:
        raise ValueError(f"a {length}-octet segment does not fit the pseudo-header length")
    fields = [seg.src_port, seg.dst_port, seg.seq, seg.ack, header_length << 2, seg.flags,
              seg.window, 0, seg.urgent]
    unsummed = _pack_header(fields) + options
    total = addr_sum + PROTO_TCP + length + int.from_bytes(unsummed, "big") + word_sum(seg.payload)
    fields[7] = 0xFFFF ^ fold(total)
    return _pack_header(fields) + options


def _pack_header(fields: list[int]) -> bytes:
    """Pack the fixed header, reporting out-of-range fields as ``ValueError``."""
    try:
        return TCP_HEADER.pack(*fields)
    except (StructError, TypeError) as exc:
        raise ValueError(f"TCP header field out of range: {exc}") from exc
