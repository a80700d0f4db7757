"""Plain trace records: what happened, when, on which host and connection.

The core emits these through a :class:`TraceSink`; exporters (ladder, Mermaid, SVG, pcap,
JSON lines, ``ss`` table) render them later. Records hold values only (no references to live
objects), so a list of records is a complete, replayable account of a run.

Times are integer microseconds of the driver's clock (virtual in the simulator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from synfin.states import State
from synfin.wire.segment import Packet


class ConnId(NamedTuple):
    """A connection's identity: its 4-tuple, from the local host's point of view."""

    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int

    def __str__(self) -> str:
        return f"{self.local_ip}:{self.local_port}-{self.remote_ip}:{self.remote_port}"


@dataclass(frozen=True, slots=True)
class StateChange:
    """A connection moved from ``old`` to ``new``; ``cause`` says why (RFC wording)."""

    t: int
    host: str
    conn: ConnId
    old: State
    new: State
    cause: str


@dataclass(frozen=True, slots=True)
class SegmentSent:
    """A host handed a packet to its driver; ``reason`` says why it was sent."""

    t: int
    host: str
    conn: ConnId | None
    packet: Packet
    reason: str


@dataclass(frozen=True, slots=True)
class SegmentReceived:
    """A host's stack accepted a packet for processing (it parsed and passed its checksum)."""

    t: int
    host: str
    conn: ConnId | None
    packet: Packet


@dataclass(frozen=True, slots=True)
class SegmentDropped:
    """A segment was discarded; ``reason`` is a stable name (see ``synfin.drops``)."""

    t: int
    host: str
    conn: ConnId | None
    packet: Packet | None
    reason: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TimerStarted:
    """A timer was (re)armed to fire at ``deadline``."""

    t: int
    host: str
    conn: ConnId
    timer: str
    deadline: int


@dataclass(frozen=True, slots=True)
class TimerStopped:
    """A timer was cancelled before it fired."""

    t: int
    host: str
    conn: ConnId
    timer: str


@dataclass(frozen=True, slots=True)
class TimerFired:
    """A timer expired and its action ran."""

    t: int
    host: str
    conn: ConnId
    timer: str


@dataclass(frozen=True, slots=True)
class UserCall:
    """The application made a user call of RFC 9293 section 3.10 (OPEN, SEND, CLOSE, ...)."""

    t: int
    host: str
    conn: ConnId
    call: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """What a simulated link did with a packet: ``deliver``, ``lose``, ``duplicate``, ``inject``.

    ``t`` is when the packet entered the link and ``t_arrive`` when it reaches ``dst_host``
    (``None`` when it was lost). ``fault`` names the staged or random fault, if any.
    """

    t: int
    src_host: str
    dst_host: str
    packet: Packet
    kind: str
    t_arrive: int | None
    fault: str = ""


@dataclass(frozen=True, slots=True)
class Note:
    """A free-text annotation (scenario steps, explanations)."""

    t: int
    host: str
    text: str


Record = (
    StateChange
    | SegmentSent
    | SegmentReceived
    | SegmentDropped
    | TimerStarted
    | TimerStopped
    | TimerFired
    | UserCall
    | LinkEvent
    | Note
)


class TraceSink(Protocol):
    """Where records go. ``enabled`` lets emitters skip building records nobody reads."""

    enabled: bool

    def emit(self, record: Record) -> None: ...


class NullSink:
    """Discards everything; with ``enabled`` false, emitters do not even build records."""

    enabled = False

    def emit(self, record: Record) -> None:
        return None


class ListSink:
    """Keeps every record in order, in memory."""

    enabled = True

    def __init__(self) -> None:
        self.records: list[Record] = []

    def emit(self, record: Record) -> None:
        self.records.append(record)


class TeeSink:
    """Sends each record to several sinks."""

    enabled = True

    def __init__(self, *sinks: TraceSink) -> None:
        self.sinks = sinks

    def emit(self, record: Record) -> None:
        for sink in self.sinks:
            if sink.enabled:
                sink.emit(record)


NULL_SINK = NullSink()
