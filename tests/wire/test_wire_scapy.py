"""The codec against an independent implementation: scapy builds and dissects the same packets.

Two directions are checked: ``emit_packet`` must produce exactly the octets scapy builds for the
same fields (header layout, padding, both checksums), and ``parse_packet`` must read scapy-built
octets into the fields scapy reports.

Padding convention: both pad the option list with zero octets, so the octets agree. Dissecting,
scapy reports that padding as a trailing ``("EOL", None)``; synfin reports an EOL only where it is
more than padding (see ``synfin.wire.options``). :func:`as_dissected_by_scapy` adds the EOL scapy
will show, so the comparison stays exact rather than ignoring EOLs.

Unknown options use kinds scapy has no name for (6, 99, 253); for a kind it knows (e.g. 28, UTO)
scapy would decode the data into its own representation.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP
from scapy.packet import Packet as ScapyPacket
from scapy.packet import Raw

from synfin.wire import (
    EolOption,
    Flags,
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
    emit_packet,
    parse_packet,
)
from synfin.wire.options import encode_option

ScapyOption = tuple[Any, Any]


def scapy_option(opt: TcpOption) -> ScapyOption:
    """Our option as scapy's ``(name, value)`` pair."""
    match opt:
        case MssOption(mss):
            return ("MSS", mss)
        case WindowScaleOption(shift):
            return ("WScale", shift)
        case SackPermittedOption():
            return ("SAckOK", b"")
        case SackOption(blocks):
            return ("SAck", tuple(edge for block in blocks for edge in block))
        case TimestampsOption(tsval, tsecr):
            return ("Timestamp", (tsval, tsecr))
        case NopOption():
            return ("NOP", None)
        case EolOption():
            return ("EOL", None)
        case UnknownOption(kind, data):
            return (kind, data)
    raise AssertionError(opt)


def as_dissected_by_scapy(options: tuple[TcpOption, ...]) -> list[ScapyOption]:
    """What scapy's dissector reports for our options: the same, plus an EOL for padding."""
    converted = [scapy_option(opt) for opt in options]
    unpadded = sum(len(encode_option(opt)) for opt in options)
    if unpadded % 4 and not (options and isinstance(options[-1], EolOption)):
        converted.append(("EOL", None))
    return converted


def scapy_packet(packet: Packet) -> ScapyPacket:
    """The same packet, built field by field with scapy."""
    seg = packet.segment
    built = IP(
        src=packet.src,
        dst=packet.dst,
        ttl=packet.ttl,
        id=packet.ident,
        tos=packet.tos,
        flags="DF" if packet.dont_fragment else 0,
    ) / TCP(
        sport=seg.src_port,
        dport=seg.dst_port,
        seq=seg.seq,
        ack=seg.ack,
        flags=int(seg.flags),
        window=seg.window,
        urgptr=seg.urgent,
        options=[scapy_option(opt) for opt in seg.options],
    )
    return built / Raw(load=seg.payload) if seg.payload else built


def make(
    flags: Flags, options: tuple[TcpOption, ...] = (), payload: bytes = b"", **ip: Any
) -> Packet:
    """A packet with plausible defaults; ``ip`` overrides TCP and IP fields by name."""
    seg = TcpSegment(
        src_port=ip.pop("sport", 51000),
        dst_port=ip.pop("dport", 80),
        seq=ip.pop("seq", 0x11223344),
        ack=ip.pop("ack", 0xAABBCCDD if flags & Flags.ACK else 0),
        flags=flags,
        window=ip.pop("window", 64240),
        urgent=ip.pop("urgent", 0),
        options=options,
        payload=payload,
    )
    return Packet(ip.pop("src", "192.168.1.10"), ip.pop("dst", "93.184.216.34"), seg, **ip)


A, S, F, R, P, U = Flags.ACK, Flags.SYN, Flags.FIN, Flags.RST, Flags.PSH, Flags.URG

CASES: dict[str, Packet] = {
    "bare SYN": make(S),
    "Linux SYN": make(
        S,
        (MssOption(1460), SackPermittedOption(), TimestampsOption(123456, 0), NopOption(),
         WindowScaleOption(7)),
    ),
    "SYN-ACK with padding": make(S | A, (MssOption(1400), WindowScaleOption(14))),
    "SYN with ECN": make(S | Flags.ECE | Flags.CWR, (MssOption(536),)),
    "pure ACK with timestamps": make(A, (NopOption(), NopOption(), TimestampsOption(7, 8))),
    "ACK with one SACK block": make(
        A, (NopOption(), NopOption(), SackOption(((1000, 2000),)))
    ),
    "ACK with timestamps and three SACK blocks": make(
        A,
        (NopOption(), NopOption(), TimestampsOption(0xFFFFFFFF, 1), NopOption(), NopOption(),
         SackOption(((10, 20), (30, 40), (0xFFFFFF00, 0x100)))),
    ),
    "four SACK blocks fill 40 octets": make(
        A, (NopOption(), NopOption(), SackOption(((1, 2), (3, 4), (5, 6), (7, 8))),
            NopOption(), NopOption(), NopOption(), NopOption()),
    ),
    "data with PSH, even length": make(A | P, payload=b"hello, world"),
    "data with PSH, odd length": make(A | P, payload=b"odd!!", tos=0x48),
    "large payload": make(A, payload=bytes(range(256)) * 5 + b"x", ttl=1, ident=65535),
    "FIN-ACK": make(F | A, (NopOption(), NopOption(), TimestampsOption(5, 6))),
    "RST": make(R, seq=0, window=0),
    "RST-ACK no DF": make(R | A, dont_fragment=False, ident=4321),
    "urgent data": make(U | A | P, payload=b"!", urgent=1),
    "unknown options": make(
        A, (UnknownOption(99, b"ab"), NopOption(), UnknownOption(253, b"\x12\x34\xff"),
            UnknownOption(6, b"\x00\x00\x00\x01")),
    ),
    "explicit EOL on a word boundary": make(S, (MssOption(1460), EolOption())),
    "all control bits": make(Flags(0xFF), payload=b"x", urgent=0xFFFF),
    "extreme fields": make(
        A, sport=0, dport=65535, seq=0xFFFFFFFF, ack=0xFFFFFFFF, window=65535,
        src="0.0.0.0", dst="255.255.255.255", ttl=255, tos=0xFF,
    ),
}


@pytest.mark.parametrize("packet", CASES.values(), ids=CASES.keys())
def test_emit_matches_scapy_byte_for_byte(packet: Packet) -> None:
    assert emit_packet(packet) == bytes(scapy_packet(packet))


@pytest.mark.parametrize("packet", CASES.values(), ids=CASES.keys())
def test_parse_reads_scapy_octets_as_scapy_does(packet: Packet) -> None:
    octets = bytes(scapy_packet(packet))
    theirs = IP(octets)
    ours = parse_packet(octets)
    assert (ours.src, ours.dst, ours.ttl, ours.ident, ours.tos) == (
        theirs.src, theirs.dst, theirs.ttl, theirs.id, theirs.tos
    )
    assert ours.dont_fragment == bool(theirs.flags.DF)
    tcp = theirs[TCP]
    seg = ours.segment
    assert (seg.src_port, seg.dst_port, seg.seq, seg.ack, seg.window, seg.urgent) == (
        tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.window, tcp.urgptr
    )
    assert int(seg.flags) == int(tcp.flags)
    assert seg.payload == bytes(tcp.payload)
    assert as_dissected_by_scapy(seg.options) == [tuple(o) for o in tcp.options]
    assert ours == packet


def test_scapy_agrees_our_checksums_are_right() -> None:
    octets = emit_packet(CASES["ACK with timestamps and three SACK blocks"])
    dissected = IP(octets)
    ip_checksum, tcp_checksum = dissected.chksum, dissected[TCP].chksum
    del dissected.chksum
    del dissected[TCP].chksum
    rebuilt = IP(bytes(dissected))
    assert (rebuilt.chksum, rebuilt[TCP].chksum) == (ip_checksum, tcp_checksum)


# Options scapy represents the way we do (no unknown kinds it would decode its own way).
scapy_known_option = st.one_of(
    st.builds(MssOption, st.integers(0, 0xFFFF)),
    st.builds(WindowScaleOption, st.integers(0, 255)),
    st.just(SackPermittedOption()),
    st.just(NopOption()),
    st.builds(TimestampsOption, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.builds(
        SackOption,
        st.lists(
            st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=3
        ).map(tuple),
    ),
    st.builds(UnknownOption, st.sampled_from([6, 99, 253]), st.binary(max_size=6)),
)


def fits(options: list[TcpOption]) -> bool:
    return sum(len(encode_option(opt)) for opt in options) <= 40


@settings(max_examples=150, deadline=None)
@given(
    options=st.lists(scapy_known_option, max_size=6).filter(fits).map(tuple),
    flags=st.integers(0, 255).map(Flags),
    payload=st.binary(max_size=64),
    seq=st.integers(0, 2**32 - 1),
    window=st.integers(0, 0xFFFF),
    ident=st.integers(0, 0xFFFF),
    dont_fragment=st.booleans(),
)
def test_generated_packets_match_scapy(
    options: tuple[TcpOption, ...],
    flags: Flags,
    payload: bytes,
    seq: int,
    window: int,
    ident: int,
    dont_fragment: bool,
) -> None:
    packet = make(
        flags, options, payload, seq=seq, window=window, ident=ident, dont_fragment=dont_fragment
    )
    octets = bytes(scapy_packet(packet))
    assert emit_packet(packet) == octets
    assert parse_packet(octets) == packet
