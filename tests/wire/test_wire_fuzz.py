"""Property tests: arbitrary octets parse or raise MalformedSegment; emit/parse round trips."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from synfin.wire import (
    EolOption,
    Flags,
    MalformedSegment,
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
    emit_ipv4_header,
    emit_options,
    emit_packet,
    parse_options,
    parse_packet,
    parse_tcp,
)
from synfin.wire.options import encode_option

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 2**32 - 1)
KNOWN_KINDS = {0, 1, 2, 3, 4, 5, 8}

option = st.one_of(
    st.builds(MssOption, u16),
    st.builds(WindowScaleOption, st.integers(0, 255)),
    st.just(SackPermittedOption()),
    st.builds(SackOption, st.lists(st.tuples(u32, u32), min_size=1, max_size=4).map(tuple)),
    st.builds(TimestampsOption, u32, u32),
    st.just(NopOption()),
    st.builds(
        UnknownOption,
        st.integers(2, 255).filter(lambda kind: kind not in KNOWN_KINDS),
        st.binary(max_size=12),
    ),
)


def option_length(options: tuple[TcpOption, ...]) -> int:
    return sum(len(encode_option(opt)) for opt in options)


@st.composite
def option_lists(draw: st.DrawFn) -> tuple[TcpOption, ...]:
    """Lists that fit in 40 octets; an EOL is added only where parsing can see it (on a word
    boundary), since an EOL inside the last word is indistinguishable from padding."""
    options = tuple(draw(st.lists(option, max_size=8)))
    while option_length(options) > 40:
        options = options[:-1]
    length = option_length(options)
    if length % 4 == 0 and length < 40 and draw(st.booleans()):
        options += (EolOption(),)
    return options




def dotted(n: int) -> str:
    return ".".join(str(n >> shift & 0xFF) for shift in (24, 16, 8, 0))


address = u32.map(dotted)

segments = st.builds(
    TcpSegment,
    src_port=u16,
    dst_port=u16,
    seq=u32,
    ack=u32,
    flags=st.integers(0, 255).map(Flags),
    window=u16,
    urgent=u16,
    options=option_lists(),
    payload=st.binary(max_size=200),
)

packets = st.builds(
    Packet,
    src=address,
    dst=address,
    segment=segments,
    ttl=st.integers(0, 255),
    ident=u16,
    tos=st.integers(0, 255),
    dont_fragment=st.booleans(),
)


def parses_or_malformed(data: bytes, verify: bool) -> Packet | None:
    """Parse; a MalformedSegment is fine, any other exception fails the test."""
    try:
        return parse_packet(data, verify_checksums=verify)
    except MalformedSegment as exc:
        assert exc.reason
        return None


@settings(max_examples=500)
@given(st.binary(max_size=120), st.booleans())
@example(b"", True)
@example(bytes.fromhex("4500001400000000400600000a0000010a000002"), False)
def test_arbitrary_octets_parse_or_raise_malformed(data: bytes, verify: bool) -> None:
    result = parses_or_malformed(data, verify)
    assert result is None or isinstance(result, Packet)


@settings(max_examples=500)
@given(
    st.binary(min_size=20, max_size=20),
    st.lists(st.sampled_from([0, 1, 2, 3, 4, 5, 8, 10, 99]) | st.integers(0, 255), max_size=40),
    st.binary(max_size=16),
)
def test_arbitrary_tcp_behind_a_valid_ip_header(
    header: bytes, options: list[int], payload: bytes
) -> None:
    # A valid IPv4 header and a data offset that covers the option octets, so that parsing
    # reaches the options and payload; option octets lean towards known kinds and lengths.
    option_octets = bytes(options[: len(options) // 4 * 4])
    words = 5 + len(option_octets) // 4
    tcp = header[:12] + bytes([words << 4]) + header[13:] + option_octets + payload
    data = emit_ipv4_header("10.0.0.1", "10.0.0.2", 6, len(tcp)) + tcp
    result = parses_or_malformed(data, verify=False)
    if result is not None:
        assert result.segment.payload == payload
        assert len(emit_options(result.segment.options)) <= len(option_octets)


@settings(max_examples=300)
@given(packets, st.data())
def test_mutated_packets_parse_or_raise_malformed(packet: Packet, data: st.DataObject) -> None:
    wire = bytearray(emit_packet(packet))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(wire) - 1))
        wire[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    for verify in (True, False):
        result = parses_or_malformed(bytes(wire[:cut]), verify)
        assert result is None or isinstance(result, Packet)


@settings(max_examples=500)
@given(st.binary(max_size=60), address, address)
def test_parse_tcp_raises_only_malformed(data: bytes, src: str, dst: str) -> None:
    try:
        segment = parse_tcp(data, src, dst, verify_checksum=False)
    except MalformedSegment:
        return
    assert len(segment.payload) <= len(data) - 20


@settings(max_examples=500)
@given(st.binary(max_size=40))
def test_arbitrary_options_parse_or_raise_and_reemit_stably(data: bytes) -> None:
    try:
        options = parse_options(data)
    except MalformedSegment as exc:
        assert exc.reason == "bad-option-length"
        return
    octets = emit_options(options)
    assert len(octets) <= 40
    assert emit_options(parse_options(octets)) == octets


@settings(max_examples=300)
@given(packets)
def test_emit_then_parse_returns_an_equal_packet(packet: Packet) -> None:
    assert parse_packet(emit_packet(packet)) == packet


@settings(max_examples=300)
@given(option_lists())
def test_options_round_trip(options: tuple[TcpOption, ...]) -> None:
    octets = emit_options(options)
    assert len(octets) % 4 == 0
    assert parse_options(octets) == options
