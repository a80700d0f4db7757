"""TCP options: parsing and emitting the option list (RFC 9293 section 3.1, "Options").

Two option formats exist: a single octet (EOL, kind 0; NOP, kind 1) and kind, length, data,
where the length counts the kind and length octets. Known kinds:

=====  ===============  ======================  ==========================
kind   option           length                  defined in
=====  ===============  ======================  ==========================
0      End of list      1                       RFC 9293 section 3.1
1      No-Operation     1                       RFC 9293 section 3.1
2      MSS              4                       RFC 9293 section 3.7.1
3      Window scale     3                       RFC 7323 section 2.2
4      SACK-permitted   2                       RFC 2018 section 2
5      SACK             2 + 8n, n >= 1          RFC 2018 section 3
8      Timestamps       10                      RFC 7323 section 3.2
=====  ===============  ======================  ==========================

Any other kind is kept verbatim as :class:`UnknownOption` (RFC 9293 section 3.1: "A TCP
implementation MUST be able to receive a TCP Option in any segment" and MUST ignore options
it does not implement, MUST-64/MUST-68). A known kind with the wrong length, a length below 2
or past the end of the list raises ``MalformedSegment("bad-option-length")``.

EOL and padding. The option list is padded with zero octets to a multiple of four; zero is
also the EOL kind, so padding and EOL look alike on the wire. :func:`parse_options` stops at
the first EOL (what follows is padding) and reports an :class:`EolOption` unless the octets
from the EOL on are exactly the zero padding :func:`emit_options` would have added. Hence
``parse_options(emit_options(opts)) == opts`` for every valid list except one ending in an
EOL that itself only fills the last four-octet word, whose bytes equal those of the list
without it; and ``emit_options(parse_options(b)) == b`` whenever ``b`` is zero padded.
Scapy, by contrast, always reports trailing padding as an EOL.
"""

from __future__ import annotations

from collections.abc import Callable
from struct import Struct
from struct import error as StructError

from synfin.wire.errors import MalformedSegment
from synfin.wire.segment import (
    EolOption,
    MssOption,
    NopOption,
    SackOption,
    SackPermittedOption,
    TcpOption,
    TimestampsOption,
    UnknownOption,
    WindowScaleOption,
)

MAX_OPTIONS_LENGTH = 40
"""The option space: a data offset of at most 15 words minus the 5-word fixed header."""

KIND_EOL = 0
KIND_NOP = 1
KIND_MSS = 2
KIND_WSCALE = 3
KIND_SACK_PERMITTED = 4
KIND_SACK = 5
KIND_TIMESTAMPS = 8

_U16 = Struct("!H")
_TWO_U32 = Struct("!II")
_MSS = Struct("!BBH")
_WSCALE = Struct("!BBB")
_TIMESTAMPS = Struct("!BBII")
_NOP_NOP_TIMESTAMPS = Struct("!BBBBII")
_NOP_NOP_TS_PREFIX = b"\x01\x01\x08\x0a"
_SACK_BLOCKS = {8 * n: Struct(f"!{2 * n}I") for n in range(1, 5)}

_EOL = EolOption()
_NOP = NopOption()
_SACK_PERMITTED = SackPermittedOption()


def parse_options(data: bytes) -> tuple[TcpOption, ...]:
    """Decode the option list of a TCP header (RFC 9293 section 3.1, "Options").

    Raises ``MalformedSegment("bad-option-length")`` for an option whose length octet is
    missing, below 2, past the end of ``data`` or wrong for its kind.
    """
    if not data:
        return ()
    if len(data) == 12 and data.startswith(_NOP_NOP_TS_PREFIX):
        # The common case on an established connection: NOP, NOP, Timestamps (RFC 7323
        # appendix A layout, as Linux and BSD send it).
        tsval, tsecr = _TWO_U32.unpack_from(data, 4)
        return (_NOP, _NOP, TimestampsOption(tsval, tsecr))
    return tuple(_iter_options(data))


def _iter_options(data: bytes) -> list[TcpOption]:
    """Decode options one at a time until the end of ``data`` or an EOL."""
    found: list[TcpOption] = []
    i = 0
    end = len(data)
    while i < end:
        kind = data[i]
        if kind == KIND_EOL:
            if not _is_padding(data, i):
                found.append(_EOL)
            break
        if kind == KIND_NOP:
            found.append(_NOP)
            i += 1
            continue
        length = _option_length(data, i)
        found.append(_decode_option(kind, data[i + 2 : i + length]))
        i += length
    return found


def _is_padding(data: bytes, i: int) -> bool:
    """Whether ``data[i:]`` is exactly the zero padding :func:`emit_options` adds after an
    option list of ``i`` octets."""
    rest = len(data) - i
    return rest == -i % 4 and data.count(0, i) == rest


def _option_length(data: bytes, i: int) -> int:
    """The length octet of the option starting at ``i``, checked against the space left."""
    kind = data[i]
    if i + 1 >= len(data):
        raise MalformedSegment("bad-option-length", f"kind {kind} at offset {i}: no length octet")
    length = data[i + 1]
    if length < 2:
        raise MalformedSegment("bad-option-length", f"kind {kind} at offset {i}: length {length}")
    if i + length > len(data):
        raise MalformedSegment(
            "bad-option-length",
            f"kind {kind} at offset {i}: length {length} runs past the {len(data)} option octets",
        )
    return length


def _decode_option(kind: int, body: bytes) -> TcpOption:
    """Turn one kind-length-data option (``body`` without kind and length) into a value."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        return UnknownOption(kind, body)
    return decoder(body)


def _wrong_length(name: str, body: bytes) -> MalformedSegment:
    return MalformedSegment("bad-option-length", f"{name} option with length {len(body) + 2}")


def _decode_mss(body: bytes) -> TcpOption:
    """MSS, RFC 9293 section 3.7.1: a 16-bit value, length 4."""
    if len(body) != 2:
        raise _wrong_length("MSS", body)
    return MssOption(_U16.unpack(body)[0])


def _decode_wscale(body: bytes) -> TcpOption:
    """Window scale, RFC 7323 section 2.2: a shift count octet, length 3. Shifts above 14 are
    kept as sent; clamping them is the receiver's business (RFC 7323 section 2.3)."""
    if len(body) != 1:
        raise _wrong_length("window scale", body)
    return WindowScaleOption(body[0])


def _decode_sack_permitted(body: bytes) -> TcpOption:
    """SACK-permitted, RFC 2018 section 2: no data, length 2."""
    if body:
        raise _wrong_length("SACK-permitted", body)
    return _SACK_PERMITTED


def _decode_sack(body: bytes) -> TcpOption:
    """SACK, RFC 2018 section 3: one to four pairs of 32-bit edges, length 2 + 8n."""
    blocks = _SACK_BLOCKS.get(len(body))
    if blocks is None:
        raise _wrong_length("SACK", body)
    edges = blocks.unpack(body)
    return SackOption(tuple(zip(edges[::2], edges[1::2], strict=True)))


def _decode_timestamps(body: bytes) -> TcpOption:
    """Timestamps, RFC 7323 section 3.2: TSval and TSecr, length 10."""
    if len(body) != 8:
        raise _wrong_length("timestamps", body)
    tsval, tsecr = _TWO_U32.unpack(body)
    return TimestampsOption(tsval, tsecr)


_DECODERS: dict[int, Callable[[bytes], TcpOption]] = {
    KIND_MSS: _decode_mss,
    KIND_WSCALE: _decode_wscale,
    KIND_SACK_PERMITTED: _decode_sack_permitted,
    KIND_SACK: _decode_sack,
    KIND_TIMESTAMPS: _decode_timestamps,
}


def emit_options(options: tuple[TcpOption, ...]) -> bytes:
    """Encode an option list, zero padded to a multiple of four octets (RFC 9293 section 3.1).

    Options are written in the given order. Raises ``ValueError`` for a list longer than the
    40 octets a header can hold, an option after an EOL, a field out of range, or an
    :class:`UnknownOption` of kind 0 or 1 or with more than 38 data octets.
    """
    if not options:
        return b""
    if len(options) == 3 and type(options[0]) is NopOption is type(options[1]):
        third = options[2]
        if type(third) is TimestampsOption:  # the common case, see parse_options
            return _pack(_NOP_NOP_TIMESTAMPS, 1, 1, KIND_TIMESTAMPS, 10, third.tsval, third.tsecr)
    raw = b"".join(_encode_all(options))
    if len(raw) > MAX_OPTIONS_LENGTH:
        raise ValueError(f"options take {len(raw)} octets, more than {MAX_OPTIONS_LENGTH}")
    return raw + bytes(-len(raw) % 4)


def _encode_all(options: tuple[TcpOption, ...]) -> list[bytes]:
    """Encode each option, refusing options after an EOL (which would be read as padding)."""
    last = len(options) - 1
    encoded = []
    for i, opt in enumerate(options):
        if type(opt) is EolOption and i != last:
            raise ValueError("options after an EOL option would be read as padding")
        encoded.append(encode_option(opt))
    return encoded


def encode_option(opt: TcpOption) -> bytes:
    """The wire octets of one option, without padding."""
    match opt:
        case NopOption():
            return b"\x01"
        case TimestampsOption(tsval, tsecr):
            return _pack(_TIMESTAMPS, KIND_TIMESTAMPS, 10, tsval, tsecr)
        case SackOption(blocks):
            return _encode_sack(blocks)
        case MssOption(mss):
            return _pack(_MSS, KIND_MSS, 4, mss)
        case WindowScaleOption(shift):
            return _pack(_WSCALE, KIND_WSCALE, 3, shift)
        case SackPermittedOption():
            return b"\x04\x02"
        case EolOption():
            return b"\x00"
        case UnknownOption(kind, data):
            return _encode_unknown(kind, data)
    raise TypeError(f"not a TCP option: {opt!r}")


def _encode_sack(blocks: tuple[tuple[int, int], ...]) -> bytes:
    """SACK, RFC 2018 section 3: kind 5, length 2 + 8n, then the edges."""
    packer = _SACK_BLOCKS.get(8 * len(blocks))
    if packer is None:
        raise ValueError(f"a SACK option holds 1 to 4 blocks, not {len(blocks)}")
    edges = [edge for block in blocks for edge in block]
    return bytes((KIND_SACK, 2 + packer.size)) + _pack(packer, *edges)


def _encode_unknown(kind: int, data: bytes) -> bytes:
    """Any other kind, written back as kind, length, data."""
    if not 2 <= kind <= 255:
        raise ValueError(f"option kind {kind} cannot carry a length and data")
    if len(data) > MAX_OPTIONS_LENGTH - 2:
        raise ValueError(f"option kind {kind} with {len(data)} data octets does not fit")
    return bytes((kind, len(data) + 2)) + data


def _pack(packer: Struct, *values: int) -> bytes:
    """``packer.pack`` with out-of-range fields reported as ``ValueError``."""
    try:
        return packer.pack(*values)
    except (StructError, TypeError) as exc:
        raise ValueError(f"option field out of range: {values}") from exc
