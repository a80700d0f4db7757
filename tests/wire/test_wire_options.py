"""TCP option lists (RFC 9293 section 3.1; RFC 7323; RFC 2018): encoding, decoding, errors."""

from __future__ import annotations

import pytest

from synfin.wire import (
    EolOption,
    MalformedSegment,
    MssOption,
    NopOption,
    SackOption,
    SackPermittedOption,
    TcpOption,
    TimestampsOption,
    UnknownOption,
    WindowScaleOption,
    emit_options,
    parse_options,
)

# Each option with its wire octets, written out by hand from the RFC layouts.
SINGLE_OPTIONS: list[tuple[TcpOption, bytes]] = [
    (MssOption(1460), bytes.fromhex("020405b4")),
    (WindowScaleOption(7), bytes.fromhex("030307")),
    (SackPermittedOption(), bytes.fromhex("0402")),
    (SackOption(((1, 2),)), bytes.fromhex("050a" "00000001" "00000002")),
    (
        SackOption(((0xFFFFFFF0, 0x10), (5, 6), (7, 8), (9, 10))),
        bytes.fromhex("0522" "fffffff0" "00000010" "00000005" "00000006")
        + bytes.fromhex("00000007" "00000008" "00000009" "0000000a"),
    ),
    (TimestampsOption(0x01020304, 0xA0B0C0D0), bytes.fromhex("080a01020304a0b0c0d0")),
    (NopOption(), b"\x01"),
    (UnknownOption(99, b"hello"), b"\x63\x07hello"),
    (UnknownOption(254, b""), b"\xfe\x02"),
]


@pytest.mark.parametrize(("option", "octets"), SINGLE_OPTIONS)
def test_each_option_emits_its_rfc_layout_zero_padded(option: TcpOption, octets: bytes) -> None:
    emitted = emit_options((option,))
    assert emitted == octets + bytes(-len(octets) % 4)
    assert len(emitted) % 4 == 0


@pytest.mark.parametrize(("option", "octets"), SINGLE_OPTIONS)
def test_each_option_parses_back(option: TcpOption, octets: bytes) -> None:
    assert parse_options(octets + bytes(-len(octets) % 4)) == (option,)


def test_empty_list() -> None:
    assert emit_options(()) == b""
    assert parse_options(b"") == ()


def test_linux_syn_options() -> None:
    # What Linux puts in a SYN: MSS, SACK-permitted, timestamps, NOP, window scale: 20 octets.
    opts: tuple[TcpOption, ...] = (
        MssOption(1460),
        SackPermittedOption(),
        TimestampsOption(1, 0),
        NopOption(),
        WindowScaleOption(7),
    )
    octets = bytes.fromhex("020405b4" "0402" "080a0000000100000000" "01" "030307")
    assert emit_options(opts) == octets
    assert parse_options(octets) == opts


def test_nop_nop_timestamps_common_case() -> None:
    octets = bytes.fromhex("0101080a" "00000064" "000000c8")
    opts = parse_options(octets)
    assert opts == (NopOption(), NopOption(), TimestampsOption(100, 200))
    assert emit_options(opts) == octets


def test_nop_nop_timestamps_inside_a_longer_list() -> None:
    octets = bytes.fromhex("0101080a" "00000064" "000000c8" "01010402")
    assert parse_options(octets) == (
        NopOption(),
        NopOption(),
        TimestampsOption(100, 200),
        NopOption(),
        NopOption(),
        SackPermittedOption(),
    )


def test_padding_after_the_last_option_is_not_reported_as_eol() -> None:
    assert parse_options(bytes.fromhex("03030700")) == (WindowScaleOption(7),)
    assert parse_options(bytes.fromhex("0402" "0000")) == (SackPermittedOption(),)


def test_eol_at_a_word_boundary_is_reported() -> None:
    octets = bytes.fromhex("020405b4" "00000000")
    assert parse_options(octets) == (MssOption(1460), EolOption())
    assert emit_options((MssOption(1460), EolOption())) == octets


def test_eol_alone_fills_a_word() -> None:
    assert emit_options((EolOption(),)) == bytes(4)
    assert parse_options(bytes(4)) == (EolOption(),)


def test_parsing_stops_at_eol_and_ignores_what_follows() -> None:
    # Non-zero octets after an EOL are padding that should have been zero; they are not options.
    octets = bytes.fromhex("01" "00" "0204")
    assert parse_options(octets) == (NopOption(), EolOption())


def test_unaligned_eol_at_the_end_is_indistinguishable_from_padding() -> None:
    with_eol = emit_options((WindowScaleOption(7), EolOption()))
    assert with_eol == emit_options((WindowScaleOption(7),))
    assert parse_options(with_eol) == (WindowScaleOption(7),)


def test_unknown_options_survive_a_round_trip_in_place() -> None:
    opts: tuple[TcpOption, ...] = (
        UnknownOption(30, b"\x00\x81"),
        MssOption(536),
        UnknownOption(99, bytes(range(10))),
    )
    octets = emit_options(opts)
    assert parse_options(octets) == opts
    assert emit_options(parse_options(octets)) == octets


MALFORMED = {
    "kind without length octet": bytes.fromhex("010101" "02"),
    "length 0": bytes.fromhex("6300"),
    "length 1": bytes.fromhex("6301" "0000"),
    "length past the end": bytes.fromhex("6308" "000000"),
    "MSS length 3": bytes.fromhex("020305"),
    "MSS length 5": bytes.fromhex("020505b4" "00"),
    "window scale length 2": bytes.fromhex("0302"),
    "window scale length 4": bytes.fromhex("03040700"),
    "SACK-permitted length 3": bytes.fromhex("040300"),
    "SACK length 2": bytes.fromhex("0502"),
    "SACK length 9": bytes.fromhex("0509" + "00" * 7),
    "SACK length 11": bytes.fromhex("050b" + "00" * 9),
    "SACK five blocks": bytes.fromhex("052a" + "00" * 40),
    "timestamps length 9": bytes.fromhex("0809" + "00" * 7),
    "timestamps length 11": bytes.fromhex("080b" + "00" * 9),
    "timestamps cut short": bytes.fromhex("080a" + "00" * 6),
}


@pytest.mark.parametrize("octets", MALFORMED.values(), ids=MALFORMED.keys())
def test_bad_lengths_raise_bad_option_length(octets: bytes) -> None:
    with pytest.raises(MalformedSegment) as info:
        parse_options(octets)
    assert info.value.reason == "bad-option-length"


UNENCODABLE: dict[str, tuple[TcpOption, ...]] = {
    "more than 40 octets": (SackOption(((1, 2), (3, 4), (5, 6), (7, 8))), TimestampsOption(1, 2)),
    "option after EOL": (EolOption(), NopOption()),
    "unknown kind 0": (UnknownOption(0, b""),),
    "unknown kind 1": (UnknownOption(1, b""),),
    "unknown kind 256": (UnknownOption(256, b""),),
    "unknown data too long": (UnknownOption(99, bytes(39)),),
    "MSS out of range": (MssOption(65536),),
    "negative window scale": (WindowScaleOption(-1),),
    "timestamp out of range": (TimestampsOption(1 << 32, 0),),
    "SACK without blocks": (SackOption(()),),
    "SACK with five blocks": (SackOption(((1, 2),) * 5),),
    "SACK edge out of range": (SackOption(((1, 1 << 32),)),),
}


@pytest.mark.parametrize("options", UNENCODABLE.values(), ids=UNENCODABLE.keys())
def test_unencodable_options_raise_value_error(options: tuple[TcpOption, ...]) -> None:
    with pytest.raises(ValueError):
        emit_options(options)


def test_unencodable_errors_are_not_malformed_segment() -> None:
    # MalformedSegment is a ValueError too; emitting must not claim the bytes were malformed.
    with pytest.raises(ValueError) as info:
        emit_options((MssOption(-1),))
    assert not isinstance(info.value, MalformedSegment)


def test_forty_octets_fit() -> None:
    opts = (
        SackOption(((1, 2), (3, 4), (5, 6), (7, 8))),
        NopOption(),
        NopOption(),
        SackPermittedOption(),
        NopOption(),
        NopOption(),
    )
    assert len(emit_options(opts)) == 40
    assert parse_options(emit_options(opts)) == opts
