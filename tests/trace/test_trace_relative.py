"""Relative sequence numbers and labels, as Wireshark shows them."""

from __future__ import annotations

from tracefixtures import ISS_A, ISS_B, SYN_OPTIONS, A, B, lifecycle, packet

from synfin.trace.records import LinkEvent
from synfin.trace.relative import (
    RelativeNumbers,
    arrow_label,
    flags_text,
    info_line,
    label_packets,
    wireshark_label,
)
from synfin.wire.flags import Flags


def link_packets() -> list[tuple[str, str]]:
    """(short, Wireshark) labels of every packet the lifecycle put on the link."""
    numbers = RelativeNumbers()
    out = []
    for r in lifecycle():
        if isinstance(r, LinkEvent):
            rel = numbers.observe(r.packet)
            out.append((arrow_label(r.packet, rel), wireshark_label(r.packet, rel)))
    return out


def test_handshake_reads_zero_then_one() -> None:
    short = [s for s, _ in link_packets()]
    assert short[:3] == ["SYN seq=0", "SYN,ACK seq=0 ack=1", "ACK seq=1 ack=1"]


def test_whole_lifecycle_short_labels_wrap_the_servers_isn() -> None:
    # The server's ISN is 4294967000: its relative numbers must wrap modulo 2**32.
    assert [s for s, _ in link_packets()] == [
        "SYN seq=0",
        "SYN,ACK seq=0 ack=1",
        "ACK seq=1 ack=1",
        "PSH,ACK seq=1 ack=1 len=100",
        "PSH,ACK seq=1 ack=1 len=100",
        "ACK seq=1 ack=101",
        "FIN,ACK seq=101 ack=1",
        "ACK seq=1 ack=102",
        "FIN,ACK seq=1 ack=102",
        "ACK seq=102 ack=2",
    ]


def test_wireshark_labels_of_the_close() -> None:
    long = [w for _, w in link_packets()]
    assert long[6] == "[FIN, ACK] Seq=101 Ack=1 Len=0"
    assert long[9] == "[ACK] Seq=102 Ack=2 Len=0"
    assert long[0] == "[SYN] Seq=0 Len=0 MSS=1460 SACK_PERM WS=128"


def test_seed_example_numbers() -> None:
    # SEEDS.md: a capture shows "FIN,ACK Seq=2445 Ack=558" then "ACK Seq=558 Ack=2446".
    numbers = RelativeNumbers()
    numbers.observe(packet(A, 7_000, 0, Flags.SYN))
    numbers.observe(packet(B, 9_000, 7_001, Flags.SYN | Flags.ACK))
    fin = packet(A, 7_000 + 2445, 9_000 + 558, Flags.FIN | Flags.ACK)
    ack = packet(B, 9_000 + 558, 7_000 + 2446, Flags.ACK)
    assert wireshark_label(fin, numbers.observe(fin)) == "[FIN, ACK] Seq=2445 Ack=558 Len=0"
    assert arrow_label(fin, numbers.observe(fin)) == "FIN,ACK seq=2445 ack=558"
    assert wireshark_label(ack, numbers.observe(ack)) == "[ACK] Seq=558 Ack=2446 Len=0"


def test_mid_stream_capture_starts_at_one_like_wireshark() -> None:
    labels = label_packets(
        [
            packet(A, 5_000, 9_000, Flags.ACK),
            packet(B, 9_000, 5_000, Flags.PSH | Flags.ACK, b"hello"),
            packet(A, 5_000, 9_005, Flags.FIN | Flags.ACK),
        ]
    )
    assert labels == [
        "[ACK] Seq=1 Ack=1 Len=0",
        "[PSH, ACK] Seq=1 Ack=1 Len=5",
        "[FIN, ACK] Seq=1 Ack=6 Len=0",
    ]


def test_new_syn_after_fin_starts_a_new_incarnation() -> None:
    numbers = RelativeNumbers()
    numbers.observe(packet(A, 100, 0, Flags.SYN))
    numbers.observe(packet(B, 500, 101, Flags.SYN | Flags.ACK))
    numbers.observe(packet(A, 101, 501, Flags.FIN | Flags.ACK))
    again = packet(A, 90_000, 0, Flags.SYN)
    reply = packet(B, 70_000, 90_001, Flags.SYN | Flags.ACK)
    assert arrow_label(again, numbers.observe(again)) == "SYN seq=0"
    assert arrow_label(reply, numbers.observe(reply)) == "SYN,ACK seq=0 ack=1"


def test_retransmitted_syn_keeps_its_base() -> None:
    numbers = RelativeNumbers()
    syn = packet(A, 100, 0, Flags.SYN)
    numbers.observe(syn)
    assert numbers.observe(syn).seq == 0
    data = packet(A, 101, 0, Flags.PSH)
    assert numbers.observe(data).seq == 1


def test_window_is_scaled_once_both_syns_offered_scaling() -> None:
    numbers = RelativeNumbers()
    numbers.observe(packet(A, 1, 0, Flags.SYN, window=64240, options=SYN_OPTIONS))
    numbers.observe(packet(B, 1, 2, Flags.SYN | Flags.ACK, window=65160, options=SYN_OPTIONS))
    ack = packet(A, 2, 2, Flags.ACK, window=502)
    rel = numbers.observe(ack)
    assert rel.win == 502 << 7
    assert wireshark_label(ack, rel, win=True) == "[ACK] Seq=1 Ack=1 Win=64256 Len=0"


def test_zero_window_is_shown_by_default() -> None:
    numbers = RelativeNumbers()
    numbers.observe(packet(A, ISS_A, 0, Flags.SYN))
    numbers.observe(packet(B, ISS_B, ISS_A + 1, Flags.SYN | Flags.ACK))
    full = packet(A, ISS_A + 1, ISS_B + 1, Flags.ACK, window=0)
    rel = numbers.observe(full)
    assert wireshark_label(full, rel) == "[ACK] Seq=1 Ack=1 Win=0 Len=0"
    assert arrow_label(full, rel) == "ACK seq=1 ack=1 win=0"


def test_info_line_has_ports_and_window() -> None:
    numbers = RelativeNumbers()
    syn = packet(A, ISS_A, 0, Flags.SYN, window=64240, options=SYN_OPTIONS)
    assert info_line(syn, numbers.observe(syn)) == (
        "49152 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 SACK_PERM WS=128"
    )


def test_flags_text() -> None:
    assert flags_text(Flags.SYN | Flags.ACK) == "SYN,ACK"
    assert flags_text(Flags.FIN | Flags.PSH | Flags.ACK) == "FIN,PSH,ACK"
    assert flags_text(Flags(0)) == ""
