"""JSON lines: one JSON object per trace record, in a stable format (docs/trace-format.md).

Every object starts with ``t`` (integer microseconds), ``host``, ``conn`` (the 4-tuple as
``"lip:lport-rip:rport"`` from the host's side, or ``null``) and ``event``. A state change is
exactly::

    {"t": 1000, "host": "10.0.0.1", "conn": "10.0.0.1:49152-10.0.0.2:80", "event": "state",
     "from": "SYN-SENT", "to": "ESTABLISHED", "cause": "rcv SYN,ACK / snd ACK"}

Packet-carrying events (``send``, ``recv``, ``drop``, ``link``) add ``src``, ``dst``,
``flags``, ``seq``, ``ack``, ``len``, ``win``, ``options`` and, when written with relative
numbering (the default of the writers), ``rel_seq`` and ``rel_ack``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import IO, Any

from synfin.trace.records import (
    ConnId,
    LinkEvent,
    Note,
    Record,
    SegmentDropped,
    SegmentReceived,
    SegmentSent,
    StateChange,
    TimerFired,
    TimerStarted,
    TimerStopped,
    UserCall,
)
from synfin.trace.relative import RelativeNumbers, flags_text
from synfin.wire.segment import (
    MssOption,
    Packet,
    SackOption,
    SackPermittedOption,
    TimestampsOption,
    UnknownOption,
    WindowScaleOption,
)

FORMAT_VERSION = 1
"""Bumped only if a field changes meaning or disappears; new fields may be added in place."""

EVENT_NAMES: dict[type, str] = {
    StateChange: "state",
    SegmentSent: "send",
    SegmentReceived: "recv",
    SegmentDropped: "drop",
    TimerStarted: "timer-start",
    TimerStopped: "timer-stop",
    TimerFired: "timer-fire",
    UserCall: "call",
    LinkEvent: "link",
    Note: "note",
}
"""The ``event`` value of each record type."""

PathOrText = str | os.PathLike[str] | IO[str]


def record_to_json(record: Record, numbers: RelativeNumbers | None = None) -> dict[str, Any]:
    """The JSON object of one record; with ``numbers``, packets also get ``rel_seq``/``rel_ack``.

    ``numbers`` must see the records in order (it learns each connection's ISNs as it goes).
    """
    obj: dict[str, Any] = {
        "t": record.t,
        "host": _host_of(record),
        "conn": _conn_of(record),
        "event": EVENT_NAMES[type(record)],
    }
    obj.update(_fields_of(record, numbers))
    return obj


def _host_of(record: Record) -> str:
    """The host a record happened on (the sender's side for link events)."""
    return record.src_host if isinstance(record, LinkEvent) else record.host


def _conn_of(record: Record) -> str | None:
    """The connection text of a record, ``None`` when it belongs to no connection."""
    if isinstance(record, Note):
        return None
    if isinstance(record, LinkEvent):
        seg = record.packet.segment
        return str(ConnId(record.packet.src, seg.src_port, record.packet.dst, seg.dst_port))
    return None if record.conn is None else str(record.conn)


def _fields_of(record: Record, numbers: RelativeNumbers | None) -> dict[str, Any]:
    """The fields that follow ``event``, specific to each record type."""
    if isinstance(record, StateChange):
        return {"from": record.old.value, "to": record.new.value, "cause": record.cause}
    if isinstance(record, SegmentSent):
        return {**packet_fields(record.packet, numbers), "reason": record.reason}
    if isinstance(record, SegmentReceived):
        return packet_fields(record.packet, numbers)
    if isinstance(record, SegmentDropped):
        fields = {} if record.packet is None else packet_fields(record.packet, numbers)
        return {**fields, "reason": record.reason, "detail": record.detail}
    if isinstance(record, TimerStarted):
        return {"timer": record.timer, "deadline": record.deadline}
    if isinstance(record, TimerStopped | TimerFired):
        return {"timer": record.timer}
    if isinstance(record, UserCall):
        return {"call": record.call, "detail": record.detail}
    if isinstance(record, LinkEvent):
        return _link_fields(record, numbers)
    return {"text": record.text}


def _link_fields(record: LinkEvent, numbers: RelativeNumbers | None) -> dict[str, Any]:
    """Fields of a link event: where the packet went, when it arrived, which fault hit it."""
    return {
        **packet_fields(record.packet, numbers),
        "kind": record.kind,
        "src_host": record.src_host,
        "dst_host": record.dst_host,
        "t_arrive": record.t_arrive,
        "fault": record.fault,
    }


def packet_fields(packet: Packet, numbers: RelativeNumbers | None = None) -> dict[str, Any]:
    """The packet's fields: addresses, flags, numbers, length, window, options [, ``rel_*``]."""
    seg = packet.segment
    fields: dict[str, Any] = {
        "src": f"{packet.src}:{seg.src_port}",
        "dst": f"{packet.dst}:{seg.dst_port}",
        "flags": flags_text(seg.flags),
        "seq": seg.seq,
        "ack": seg.ack,
        "len": len(seg.payload),
        "win": seg.window,
        "options": options_json(packet),
    }
    if numbers is not None:
        rel = numbers.observe(packet)
        fields["rel_seq"] = rel.seq
        fields["rel_ack"] = rel.ack
    return fields


def options_json(packet: Packet) -> dict[str, Any]:
    """TCP options as an object with keys ``mss wscale sack_perm ts sack unknown`` when present."""
    out: dict[str, Any] = {}
    for opt in packet.segment.options:
        if isinstance(opt, MssOption):
            out["mss"] = opt.mss
        elif isinstance(opt, WindowScaleOption):
            out["wscale"] = opt.shift
        elif isinstance(opt, SackPermittedOption):
            out["sack_perm"] = True
        elif isinstance(opt, TimestampsOption):
            out["ts"] = [opt.tsval, opt.tsecr]
        elif isinstance(opt, SackOption):
            out["sack"] = [list(block) for block in opt.blocks]
        elif isinstance(opt, UnknownOption):
            out.setdefault("unknown", []).append([opt.kind, opt.data.hex()])
    return out


def dumps(obj: dict[str, Any]) -> str:
    """One line of the file (no trailing newline); non-ASCII text stays readable."""
    return json.dumps(obj, ensure_ascii=False)


def write_jsonl(records: Iterable[Record], out: PathOrText, *, relative: bool = True) -> int:
    """Write one line per record to a path or an open text stream; returns the line count."""
    numbers = RelativeNumbers() if relative else None
    if isinstance(out, str | os.PathLike):
        with open(out, "w", encoding="utf-8") as stream:
            return _write_lines(records, stream, numbers)
    return _write_lines(records, out, numbers)


def _write_lines(
    records: Iterable[Record], stream: IO[str], numbers: RelativeNumbers | None
) -> int:
    """Write the records to ``stream`` and count them."""
    count = 0
    for record in records:
        stream.write(dumps(record_to_json(record, numbers)) + "\n")
        count += 1
    return count


def read_jsonl(source: PathOrText) -> list[dict[str, Any]]:
    """Read a JSON-lines trace back into a list of objects (blank lines are skipped)."""
    if isinstance(source, str | os.PathLike):
        with open(source, encoding="utf-8") as stream:
            return _read_lines(stream)
    return _read_lines(source)


def _read_lines(stream: IO[str]) -> list[dict[str, Any]]:
    """Parse every non-blank line of ``stream``."""
    out: list[dict[str, Any]] = []
    for line in stream:
        if line.strip():
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError(f"trace line is not a JSON object: {line[:60]!r}")
            out.append(obj)
    return out


class JsonlSink:
    """A :class:`~synfin.trace.records.TraceSink` that streams each record as one line.

    Each line is flushed at once, so ``tail -f`` (or a crash) sees every record emitted so far.
    """

    enabled = True

    def __init__(self, stream: IO[str], *, relative: bool = True) -> None:
        self.stream = stream
        self.numbers = RelativeNumbers() if relative else None
        self.count = 0

    def emit(self, record: Record) -> None:
        """Write ``record`` as one line and flush."""
        self.stream.write(dumps(record_to_json(record, self.numbers)) + "\n")
        self.stream.flush()
        self.count += 1
