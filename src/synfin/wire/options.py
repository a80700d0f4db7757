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
from typing import Any

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
_SACK_WITH_HEADER = {n: Struct(f"!BB{2 * n}I") for n in range(1, 5)}

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
    at = 0
    end = len(data)
    while at < end:
        kind = data[at]
        if kind == KIND_NOP:
            found.append(_NOP)
            at += 1
            continue
        if kind == KIND_EOL:
            if not _is_padding(data, at):
                found.append(_EOL)
            break
        length = data[at + 1] if at + 1 < end else 0
        if length < 2 or at + length > end:
            raise _bad_length_octet(data, at)
        decoder = _DECODERS.get(kind)
        if decoder is None:
            found.append(UnknownOption(kind, data[at + 2 : at + length]))
        else:
            found.append(decoder(data, at, length))
        at += length
    return found


def _is_padding(data: bytes, at: int) -> bool:
    """Whether ``data[at:]`` is exactly the zero padding :func:`emit_options` adds after an
    option list of ``at`` octets."""
    rest = len(data) - at
    return rest == -at % 4 and data.count(0, at) == rest


def _bad_length_octet(data: bytes, at: int) -> MalformedSegment:
    """The error for a length octet that is missing, below 2, or runs past the end."""
    kind = data[at]
    if at + 1 >= len(data):
        return MalformedSegment("bad-option-length", f"kind {kind} at offset {at}: no length")
    return MalformedSegment(
        "bad-option-length",
        f"kind {kind} at offset {at}: length {data[at + 1]} in {len(data)} option octets",
    )


def _wrong_length(name: str, length: int) -> MalformedSegment:
    return MalformedSegment("bad-option-length", f"{name} option with length {length}")


# Decoders take the option list, the offset of the option's kind octet and its length.


def _decode_mss(data: bytes, at: int, length: int) -> TcpOption:
    """MSS, RFC 9293 section 3.7.1: a 16-bit value, length 4."""
    if length != 4:
        raise _wrong_length("MSS", length)
    return MssOption(_U16.unpack_from(data, at + 2)[0])


def _decode_wscale(data: bytes, at: int, length: int) -> TcpOption:
    """Window scale, RFC 7323 section 2.2: a shift count octet, length 3. Shifts above 14 are
    kept as sent; clamping them is the receiver's business (RFC 7323 section 2.3)."""
    if length != 3:
        raise _wrong_length("window scale", length)
    return WindowScaleOption(data[at + 2])


def _decode_sack_permitted(data: bytes, at: int, length: int) -> TcpOption:
    """SACK-permitted, RFC 2018 section 2: no data, length 2."""
    if length != 2:
        raise _wrong_length("SACK-permitted", length)
    return _SACK_PERMITTED


def _decode_sack(data: bytes, at: int, length: int) -> TcpOption:
    """SACK, RFC 2018 section 3: one to four pairs of 32-bit edges, length 2 + 8n."""
    blocks = _SACK_BLOCKS.get(length - 2)
    if blocks is None:
        raise _wrong_length("SACK", length)
    edges = blocks.unpack_from(data, at + 2)
    return SackOption(tuple(zip(edges[::2], edges[1::2], strict=True)))


def _decode_timestamps(data: bytes, at: int, length: int) -> TcpOption:
    """Timestamps, RFC 7323 section 3.2: TSval and TSecr, length 10."""
    if length != 10:
        raise _wrong_length("timestamps", length)
    tsval, tsecr = _TWO_U32.unpack_from(data, at + 2)
    return TimestampsOption(tsval, tsecr)


_DECODERS: dict[int, Callable[[bytes, int, int], TcpOption]] = {
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
    try:
        if len(options) == 3 and type(options[0]) is NopOption is type(options[1]):
            third = options[2]
            if type(third) is TimestampsOption:  # the common case, see parse_options
                return _NOP_NOP_TIMESTAMPS.pack(1, 1, KIND_TIMESTAMPS, 10, third.tsval, third.tsecr)
        raw = b"".join([_ENCODERS.get(type(opt), _not_an_option)(opt) for opt in options])
    except (StructError, TypeError) as exc:  # TypeError: a field that is not an int
        raise ValueError(f"option field out of range in {options}: {exc}") from exc
    if len(raw) > MAX_OPTIONS_LENGTH:
        raise ValueError(f"options take {len(raw)} octets, more than {MAX_OPTIONS_LENGTH}")
    if EolOption in map(type, options[:-1]):
        raise ValueError("options after an EOL option would be read as padding")
    return raw + bytes(-len(raw) % 4)


def encode_option(opt: TcpOption) -> bytes:
    """The wire octets of one option, without padding. Raises like :func:`emit_options`."""
    try:
        return _ENCODERS.get(type(opt), _not_an_option)(opt)
    except (StructError, TypeError) as exc:
        raise ValueError(f"option field out of range in {opt}: {exc}") from exc


def _encode_mss(opt: MssOption) -> bytes:
    return _MSS.pack(KIND_MSS, 4, opt.mss)


def _encode_wscale(opt: WindowScaleOption) -> bytes:
    return _WSCALE.pack(KIND_WSCALE, 3, opt.shift)


def _encode_timestamps(opt: TimestampsOption) -> bytes:
    return _TIMESTAMPS.pack(KIND_TIMESTAMPS, 10, opt.tsval, opt.tsecr)


def _encode_sack(opt: SackOption) -> bytes:
    """SACK, RFC 2018 section 3: kind 5, length 2 + 8n, then the n pairs of edges."""
    packer = _SACK_WITH_HEADER.get(len(opt.blocks))
    if packer is None:
        raise ValueError(f"a SACK option holds 1 to 4 blocks, not {len(opt.blocks)}")
    return packer.pack(KIND_SACK, packer.size, *[edge for block in opt.blocks for edge in block])


def _encode_unknown(opt: UnknownOption) -> bytes:
    """Any other kind, written back as kind, length, data."""
    if not 2 <= opt.kind <= 255:
        raise ValueError(f"option kind {opt.kind} cannot carry a length and data")
    if len(opt.data) > MAX_OPTIONS_LENGTH - 2:
        raise ValueError(f"option kind {opt.kind} with {len(opt.data)} octets does not fit")
    return bytes((opt.kind, len(opt.data) + 2)) + opt.data


def _not_an_option(opt: object) -> bytes:
    raise ValueError(f"not a TCP option: {opt!r}")


# Values are typed Any because each encoder takes its own option class.
_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    NopOption: lambda _: b"\x01",
    TimestampsOption: _encode_timestamps,
    SackOption: _encode_sack,
    MssOption: _encode_mss,
    WindowScaleOption: _encode_wscale,
    SackPermittedOption: lambda _: b"\x04\x02",
    EolOption: lambda _: b"\x00",
    UnknownOption: _encode_unknown,
}
