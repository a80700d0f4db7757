"""pcap files: header bytes, record headers, capture points, and tshark reading them back."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from tracefixtures import B, host_only, lifecycle

from synfin.trace.pcap import (
    LINKTYPE_RAW,
    PcapSink,
    captured_packets,
    global_header,
    pcap_bytes,
    write_pcap,
)
from synfin.trace.records import LinkEvent, Record
from synfin.trace.relative import RelativeNumbers, info_line
from synfin.wire import emit_packet, parse_packet

TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")


def read_records(data: bytes) -> list[tuple[int, int, bytes]]:
    """(seconds, microseconds, packet bytes) of every record after the global header."""
    out = []
    offset = 24
    while offset < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, offset)
        assert incl == orig
        offset += 16
        out.append((sec, usec, data[offset : offset + incl]))
        offset += incl
    assert offset == len(data)
    return out


def test_global_header_bytes() -> None:
    header = global_header()
    assert header == bytes.fromhex("d4c3b2a1020004000000000000000000ffff000065000000")
    assert LINKTYPE_RAW == 101


def test_one_record_per_link_event_at_send_time() -> None:
    records = lifecycle()
    data = pcap_bytes(records)
    assert data[:24] == global_header()
    got = read_records(data)
    links = [r for r in records if isinstance(r, LinkEvent)]
    assert len(got) == len(links) == 10
    assert [(s * 1_000_000 + u) for s, u, _ in got] == [r.t for r in links]
    assert [raw for _, _, raw in got] == [emit_packet(r.packet) for r in links]
    lost = got[3]
    assert parse_packet(lost[2]).segment.payload == b"x" * 100


def test_receiver_capture_leaves_lost_segments_out() -> None:
    times = [t for t, _ in captured_packets(lifecycle(), capture="receiver")]
    assert len(times) == 9
    assert times[0] == 6_000
    assert times == sorted(times)


def test_single_host_trace_uses_sent_and_received_segments() -> None:
    packets = captured_packets(host_only(lifecycle(), B))
    assert len(packets) == 9
    assert [p.src for _, p in packets][:3] == ["10.0.0.1", "10.0.0.2", "10.0.0.1"]
    assert packets[0][0] == 6_000


def test_two_traced_hosts_without_links_write_each_packet_once() -> None:
    records: list[Record] = [r for r in lifecycle() if not isinstance(r, LinkEvent)]
    assert len(captured_packets(records)) == 10


def test_write_to_path_and_stream_agree(tmp_path: Path) -> None:
    path = tmp_path / "run.pcap"
    assert write_pcap(lifecycle(), path) == 10
    stream = io.BytesIO()
    write_pcap(lifecycle(), stream)
    assert path.read_bytes() == stream.getvalue() == pcap_bytes(lifecycle())


def test_streaming_sink_matches_the_batch_writer() -> None:
    stream = io.BytesIO()
    sink = PcapSink(stream)
    for r in lifecycle():
        sink.emit(r)
    assert sink.count == 10
    assert stream.getvalue() == pcap_bytes(lifecycle())


def test_streaming_sink_for_one_host() -> None:
    stream = io.BytesIO()
    sink = PcapSink(stream, source="host")
    for r in host_only(lifecycle(), B):
        sink.emit(r)
    assert len(read_records(stream.getvalue())) == 9


def tshark(path: Path, *args: str) -> str:
    assert TSHARK is not None
    result = subprocess.run(
        [TSHARK, "-r", str(path), *args], capture_output=True, text=True, check=True
    )
    return result.stdout


@needs_tshark
def test_tshark_finds_no_malformed_packet_and_no_checksum_error(tmp_path: Path) -> None:
    path = tmp_path / "run.pcap"
    write_pcap(lifecycle(), path)
    bad = tshark(
        path,
        "-o",
        "tcp.check_checksum:TRUE",
        "-o",
        "ip.check_checksum:TRUE",
        "-Y",
        "_ws.malformed || _ws.expert.severity >= error",
    )
    assert bad == ""
    flags = tshark(path, "-T", "fields", "-e", "tcp.flags.str").split()
    assert len(flags) == 10
    assert sum("F" in f for f in flags) == 2
    assert sum("S" in f for f in flags) == 2


@needs_tshark
def test_our_info_lines_match_wiresharks(tmp_path: Path) -> None:
    path = tmp_path / "run.pcap"
    write_pcap(lifecycle(), path)
    # A one-column layout prints just the Info column (its field name differs across versions).
    theirs = tshark(path, "-o", 'gui.column.format:"Info","%i"').splitlines()
    # Wireshark adds its analysis ("[TCP Retransmission]", reassembly notes); ours has none.
    theirs = [re.sub(r"\s*\[TCP [^\]]*\]\s*", " ", line).strip() for line in theirs]
    numbers = RelativeNumbers()
    ours = [info_line(p, numbers.observe(p)) for _, p in captured_packets(lifecycle())]
    assert ours == theirs


@needs_tshark
def test_tshark_reads_a_single_host_capture(tmp_path: Path) -> None:
    path = tmp_path / "host.pcap"
    write_pcap(host_only(lifecycle(), B), path)
    seqs = tshark(path, "-T", "fields", "-e", "tcp.seq", "-e", "tcp.ack").splitlines()
    assert seqs[:3] == ["0\t0", "0\t1", "1\t1"]
