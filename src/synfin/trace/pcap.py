"""Classic libpcap capture files from trace records, for Wireshark, tshark and tcpdump.

The file is the original pcap format: global header with magic ``0xa1b2c3d4`` (written
little-endian), version 2.4, microsecond timestamps, snaplen 65535 and link type
``LINKTYPE_RAW`` (101), so each record holds one IPv4 packet with no link-layer header.
Timestamps are the trace's microseconds (a simulator run starts at the epoch, 1970-01-01).

Where the capture point is:

* Simulator runs (the records contain :class:`LinkEvent`): one packet per link event,
  captured **at the sender** by default, stamped with the time it entered the link. Lost
  segments therefore appear (as they would in a capture on the sending host), duplicated
  segments appear once per copy, injected packets appear at their injection time.
  ``capture="receiver"`` instead captures at the receiving end, at arrival time: lost segments
  are absent and reordering shows.
* Single-host runs (no link events, e.g. a real TUN interface): one packet per
  :class:`SegmentSent` and :class:`SegmentReceived`. When several hosts are traced without link
  events, only what they sent is written, so no packet appears twice.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from typing import IO, Literal

from synfin.trace.records import LinkEvent, Record, SegmentReceived, SegmentSent
from synfin.wire import emit_packet
from synfin.wire.segment import Packet

MAGIC = 0xA1B2C3D4
"""Microsecond-resolution pcap magic number."""
VERSION = (2, 4)
SNAPLEN = 65535
LINKTYPE_RAW = 101
"""Raw IP: the packet starts with its IPv4 header."""

GLOBAL_HEADER = struct.Struct("<IHHiIII")
"""magic, version major, minor, thiszone, sigfigs, snaplen, network."""
RECORD_HEADER = struct.Struct("<IIII")
"""ts_sec, ts_usec, incl_len, orig_len."""

Capture = Literal["sender", "receiver"]
PathOrBinary = str | os.PathLike[str] | IO[bytes]


def global_header() -> bytes:
    """The 24-octet header that starts every file."""
    return GLOBAL_HEADER.pack(MAGIC, VERSION[0], VERSION[1], 0, 0, SNAPLEN, LINKTYPE_RAW)


def packet_record(t_us: int, data: bytes) -> bytes:
    """One packet record: its 16-octet header (time, lengths), then the bytes (cut at snaplen)."""
    seconds, micros = divmod(max(t_us, 0), 1_000_000)
    kept = data[:SNAPLEN]
    return RECORD_HEADER.pack(seconds, micros, len(kept), len(data)) + kept


def captured_packets(
    records: Iterable[Record], *, capture: Capture = "sender"
) -> list[tuple[int, Packet]]:
    """``(time, packet)`` for every packet the capture sees, in time order (see module doc)."""
    recs = list(records)
    links = [r for r in recs if isinstance(r, LinkEvent)]
    found = _link_packets(links, capture) if links else _host_packets(recs)
    return sorted(found, key=lambda item: item[0])


def _link_packets(links: list[LinkEvent], capture: Capture) -> list[tuple[int, Packet]]:
    """Sender side: every link event at its send time; receiver side: arrivals only."""
    if capture == "sender":
        return [(r.t, r.packet) for r in links]
    return [(r.t_arrive, r.packet) for r in links if r.t_arrive is not None]


def _host_packets(recs: list[Record]) -> list[tuple[int, Packet]]:
    """Segments sent, plus segments received from hosts that are not themselves traced."""
    senders = {r.host for r in recs if isinstance(r, SegmentSent)}
    out: list[tuple[int, Packet]] = []
    for r in recs:
        if isinstance(r, SegmentSent) or (
            isinstance(r, SegmentReceived) and r.packet.src not in senders
        ):
            out.append((r.t, r.packet))
    return out


def pcap_bytes(records: Iterable[Record], *, capture: Capture = "sender") -> bytes:
    """The whole capture file as bytes."""
    return _file_bytes(captured_packets(records, capture=capture))


def _file_bytes(packets: list[tuple[int, Packet]]) -> bytes:
    """Global header followed by one record per ``(time, packet)``."""
    return global_header() + b"".join(packet_record(t, emit_packet(p)) for t, p in packets)


def write_pcap(records: Iterable[Record], out: PathOrBinary, *, capture: Capture = "sender") -> int:
    """Write a capture file to a path or an open binary stream; returns the packet count."""
    packets = captured_packets(records, capture=capture)
    data = _file_bytes(packets)
    if isinstance(out, str | os.PathLike):
        with open(out, "wb") as stream:
            stream.write(data)
    else:
        out.write(data)
    return len(packets)


class PcapSink:
    """A :class:`~synfin.trace.records.TraceSink` that writes packets as they are traced.

    ``source="link"`` (simulator) writes one packet per :class:`LinkEvent`, at the sender;
    ``source="host"`` (single host, e.g. TUN) writes every :class:`SegmentSent` and
    :class:`SegmentReceived`. Packets are written in emission order and flushed at once.
    """

    enabled = True

    def __init__(self, stream: IO[bytes], *, source: Literal["link", "host"] = "link") -> None:
        self.stream = stream
        self.source = source
        self.count = 0
        stream.write(global_header())
        stream.flush()

    def emit(self, record: Record) -> None:
        """Write the record's packet if this capture point sees it."""
        wanted = (
            isinstance(record, LinkEvent)
            if self.source == "link"
            else isinstance(record, SegmentSent | SegmentReceived)
        )
        if wanted and isinstance(record, LinkEvent | SegmentSent | SegmentReceived):
            self.stream.write(packet_record(record.t, emit_packet(record.packet)))
            self.stream.flush()
            self.count += 1
