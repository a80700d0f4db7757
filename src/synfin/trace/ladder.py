"""Terminal ladder diagrams, and the timeline model the Mermaid and SVG views share.

A ladder has two vertical timelines (host A left, host B right) with time flowing down. Each
segment is an arrow labelled with its flags and relative numbers (``SYN,ACK seq=0 ack=1``),
drawn on the row of the time it was sent; state changes, timers, user calls and drops are
written beside the timeline of the host they happened on, at the time they happened::

          ms         10.0.0.1                                        10.0.0.2
                       CLOSED |                                      | CLOSED
       0.000                  |                                      | LISTEN
                     SYN-SENT |------------ SYN seq=0 -------------->|
       5.000                  |<------- SYN,ACK seq=0 ack=1 ---------| SYN-RECEIVED

Arrows come from :class:`LinkEvent` records (simulator runs) when there are any; otherwise
from :class:`SegmentSent` / :class:`SegmentReceived` of a single host (a TUN run), whose peer
is the other address. A lost segment stops short with ``X`` and the fault's name.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from statistics import median
from typing import Literal

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
from synfin.trace.relative import RelativeNumbers, arrow_label
from synfin.wire.segment import Packet

LEFT = 0
RIGHT = 1
WILDCARD_IPS = frozenset({"0.0.0.0", "", "*"})
"""Remote addresses of a listening TCB (not yet bound to a peer)."""

TimerMode = Literal["none", "fired", "auto", "all"]
"""Which timer records become marks: ``auto`` shows fires and the starts of the quiet timers
(2MSL, persist, ...) but not the starts of RTO and delayed-ACK, which re-arm constantly."""

TIMER_NAMES: dict[str, str] = {
    "retransmit": "RTO",
    "retransmission": "RTO",
    "rto": "RTO",
    "time-wait": "2MSL",
    "timewait": "2MSL",
    "2msl": "2MSL",
    "delayed-ack": "delayed-ACK",
    "delack": "delayed-ACK",
    "persist": "persist",
    "keepalive": "keepalive",
    "fin-wait-2": "FIN-WAIT-2",
}
"""Display names of the connection's timers (others are shown as named)."""

CHATTY_TIMERS = frozenset({"RTO", "delayed-ACK"})

LATE_US = 1_000
"""A segment is late when its trip exceeds twice the typical one by at least this much."""

Pair = tuple[int, int]
"""A connection between the two hosts as ``(left port, right port)``; 0 is a listener's ``*``."""


@dataclass(frozen=True, slots=True)
class Arrow:
    """A segment between the two hosts."""

    t: int
    """When it was sent (for a single-host trace's received segments: when it arrived)."""
    t_arrive: int | None
    """When it arrived; ``None`` when lost or unknown (single-host traces)."""
    rightward: bool
    label: str
    """Flags and relative numbers, e.g. ``SYN,ACK seq=0 ack=1``."""
    packet: Packet
    lost: bool = False
    note: str = ""
    """What the link did: ``lost: <fault>``, ``duplicate``, ``injected`` or a fault's name."""
    arrival: bool = False
    """The second drawing of a late segment, at the time it arrived (``t``), dotted."""

    @property
    def text(self) -> str:
        """The label with the link's note for delivered segments (lost ones show it apart)."""
        return f"{self.label} ({self.note})" if self.note and not self.lost else self.label


@dataclass(frozen=True, slots=True)
class Mark:
    """Something written beside one host's timeline."""

    t: int
    side: int
    """:data:`LEFT` or :data:`RIGHT`."""
    kind: Literal["state", "timer", "call", "drop"]
    text: str


@dataclass(frozen=True, slots=True)
class Caption:
    """A free-text note (scenario narration), written across the diagram."""

    t: int
    text: str


Event = Arrow | Mark | Caption


@dataclass(frozen=True, slots=True)
class Timeline:
    """What a two-host diagram shows, in time order, independent of how it is drawn."""

    left: str
    right: str
    initial: tuple[str, str]
    """Each side's state before its first state change ("" if it never changes)."""
    events: tuple[Event, ...]


@dataclass(slots=True)
class Row:
    """One line of a ladder: an arrow or caption, and at most one mark on each side."""

    t: int
    left: Mark | None = None
    right: Mark | None = None
    arrow: Arrow | None = None
    caption: str | None = None


# -- building the timeline --------------------------------------------------------------------


def default_hosts(records: Iterable[Record]) -> tuple[str, str] | None:
    """The two hosts of the first connection: the first packet's source (left), destination."""
    first_state: StateChange | None = None
    for r in records:
        if isinstance(r, LinkEvent | SegmentSent | SegmentReceived):
            return (r.packet.src, r.packet.dst)
        listening = isinstance(r, StateChange) and r.conn.remote_ip in WILDCARD_IPS
        if isinstance(r, StateChange) and first_state is None and not listening:
            first_state = r
    if first_state is None:
        return None
    return (first_state.host, first_state.conn.remote_ip)


def timer_name(timer: str) -> str:
    """The display name of a timer (``retransmit`` -> ``RTO``, ``time-wait`` -> ``2MSL``)."""
    return TIMER_NAMES.get(timer.lower().replace("_", "-"), timer)


def format_duration(us: int) -> str:
    """``60000000`` -> ``"60.000s"``; below a second, ``"200.000ms"``."""
    if abs(us) >= 1_000_000:
        return f"{_fixed3(us, 1_000_000)}s"
    return f"{_fixed3(us, 1000)}ms"


def format_ms(t: int) -> str:
    """Microseconds as milliseconds with three decimals, without float rounding."""
    return _fixed3(t, 1000)


def _fixed3(value: int, unit: int) -> str:
    """``value / unit`` with exactly three decimals (``unit`` is 1000 or 1000000)."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), unit)
    return f"{sign}{whole}.{frac * 1000 // unit:03d}"


@dataclass(slots=True)
class _Builder:
    """Turns records into timeline events for two hosts (and optionally one connection)."""

    left: str
    right: str
    only: Pair | None
    timers: TimerMode
    calls: bool
    drops: bool
    numbers: RelativeNumbers = field(default_factory=RelativeNumbers)
    events: list[tuple[Event, Pair | None]] = field(default_factory=list)
    initial: list[str] = field(default_factory=lambda: ["", ""])

    def side_of(self, host: str) -> int | None:
        """Which timeline ``host`` is, or ``None`` if it is neither."""
        if host == self.left:
            return LEFT
        return RIGHT if host == self.right else None

    def pair_of_conn(self, side: int, conn: ConnId) -> Pair | None:
        """The connection as ``(left port, right port)`` if it links the two hosts."""
        other = self.right if side == LEFT else self.left
        if conn.remote_ip != other and conn.remote_ip not in WILDCARD_IPS:
            return None
        if side == LEFT:
            return (conn.local_port, conn.remote_port)
        return (conn.remote_port, conn.local_port)

    def pair_of_packet(self, packet: Packet) -> Pair | None:
        """The packet's connection as ``(left port, right port)`` if it links the two hosts."""
        seg = packet.segment
        if (packet.src, packet.dst) == (self.left, self.right):
            return (seg.src_port, seg.dst_port)
        if (packet.src, packet.dst) == (self.right, self.left):
            return (seg.dst_port, seg.src_port)
        return None

    def wanted(self, pair: Pair | None) -> bool:
        """Whether a connection passes the filter (a listener matches its own port)."""
        if pair is None:
            return False
        if self.only is None or pair == self.only:
            return True
        return any(pair[i] == 0 and pair[1 - i] == self.only[1 - i] for i in (LEFT, RIGHT))

    def add(self, record: Record, host_arrows: bool, senders: set[str]) -> None:
        """Add what ``record`` contributes to the diagram."""
        if isinstance(record, Note):
            self.events.append((Caption(record.t, record.text), None))
        elif isinstance(record, LinkEvent):
            self.add_link(record)
        elif isinstance(record, SegmentSent | SegmentReceived):
            if host_arrows and self._host_sees(record, senders):
                self.add_arrow(record.t, None, record.packet)
        else:
            self.add_mark(record)

    def _host_sees(self, record: SegmentSent | SegmentReceived, senders: set[str]) -> bool:
        """Whether a host record is an arrow: what a traced host sent, or received from an
        untraced peer (a traced peer's own send record already drew it)."""
        if self.side_of(record.host) is None:
            return False
        return isinstance(record, SegmentSent) or record.packet.src not in senders

    def add_link(self, record: LinkEvent) -> None:
        """An arrow from a link event: delivered, lost, duplicated or injected."""
        lost = record.kind == "lose"
        if lost:
            note = f"lost: {record.fault}" if record.fault else "lost"
        elif record.kind == "duplicate":
            note = "duplicate"
        elif record.kind == "inject":
            note = "injected"
        else:
            note = record.fault
        self.add_arrow(record.t, None if lost else record.t_arrive, record.packet, lost, note)

    def add_arrow(
        self, t: int, t_arrive: int | None, packet: Packet, lost: bool = False, note: str = ""
    ) -> None:
        """An arrow for ``packet`` if it travels between the two hosts on a wanted connection."""
        pair = self.pair_of_packet(packet)
        if not self.wanted(pair):
            return
        label = arrow_label(packet, self.numbers.observe(packet))
        rightward = packet.src == self.left
        self.events.append((Arrow(t, t_arrive, rightward, label, packet, lost, note), pair))

    def add_mark(self, record: Record) -> None:
        """A mark beside a timeline: state change, timer, user call or drop."""
        if isinstance(record, Note | LinkEvent | SegmentSent | SegmentReceived):
            return
        side = self.side_of(record.host)
        if side is None:
            return
        pair = self._pair_of_record(side, record)
        if not self.wanted(pair) and not (self.only is None and _unattributed(record)):
            return
        mark = self._mark_for(side, record)
        if mark is not None:
            self.events.append((mark, pair))

    def _pair_of_record(self, side: int, record: Record) -> Pair | None:
        """The connection a mark belongs to (via its packet when a drop has no connection)."""
        if isinstance(record, SegmentDropped) and record.packet is not None:
            return self.pair_of_packet(record.packet)
        conn = getattr(record, "conn", None)
        return self.pair_of_conn(side, conn) if isinstance(conn, ConnId) else None

    def _mark_for(self, side: int, record: Record) -> Mark | None:
        """The mark of one record, or ``None`` when the options leave it out."""
        if isinstance(record, StateChange):
            if not self.initial[side]:
                self.initial[side] = record.old.value
            return Mark(record.t, side, "state", record.new.value)
        if isinstance(record, TimerStarted | TimerStopped | TimerFired):
            return self._timer_mark(side, record)
        if isinstance(record, UserCall) and self.calls:
            detail = f" {record.detail}" if record.detail else ""
            return Mark(record.t, side, "call", f"({record.call}{detail})")
        if isinstance(record, SegmentDropped) and self.drops:
            return Mark(record.t, side, "drop", f"[drop: {record.reason}]")
        return None

    def _timer_mark(
        self, side: int, record: TimerStarted | TimerStopped | TimerFired
    ) -> Mark | None:
        """``[RTO fired]``, ``[2MSL timer 60.000s]`` or ``[RTO stopped]``, as ``timers`` says."""
        name = timer_name(record.timer)
        if isinstance(record, TimerFired):
            shown = self.timers != "none"
            text = f"[{name} fired]"
        elif isinstance(record, TimerStarted):
            quiet = name not in CHATTY_TIMERS
            shown = self.timers == "all" or (self.timers == "auto" and quiet)
            text = f"[{name} timer {format_duration(record.deadline - record.t)}]"
        else:
            shown = self.timers == "all"
            text = f"[{name} stopped]"
        return Mark(record.t, side, "timer", text) if shown else None

    def finish(self) -> Timeline:
        """The timeline, with late arrivals added; with several connections, every label
        starts with its ports."""
        pairs = {p for e, p in self.events if isinstance(e, Arrow) and p is not None}
        tag = len(pairs) > 1
        found = self.events + _late_arrivals(self.events)
        found.sort(key=lambda item: (item[0].t, not _is_arrival(item[0])))
        events = tuple(_tagged(e, p) if tag else e for e, p in found)
        return Timeline(self.left, self.right, (self.initial[0], self.initial[1]), events)


def _unattributed(record: Record) -> bool:
    """A drop of bytes that belong to no connection (unparsable, no 4-tuple to filter on)."""
    return isinstance(record, SegmentDropped) and record.packet is None and record.conn is None


def _is_arrival(event: Event) -> bool:
    """Whether ``event`` is the arrival row of a late segment."""
    return isinstance(event, Arrow) and event.arrival


def _late_arrivals(events: list[tuple[Event, Pair | None]]) -> list[tuple[Event, Pair | None]]:
    """An extra arrow at arrival time for each segment whose trip took more than twice the
    typical one (and at least :data:`LATE_US` longer), so a delayed segment shows where it
    lands and not only where it left."""
    sent = [
        (e, p) for e, p in events if isinstance(e, Arrow) and e.t_arrive is not None and not e.lost
    ]
    trips = [e.t_arrive - e.t for e, _ in sent if e.t_arrive is not None]
    if not trips:
        return []
    typical = median(trips)
    late: list[tuple[Event, Pair | None]] = []
    for e, p in sent:
        if e.t_arrive is not None and e.t_arrive - e.t > max(2 * typical, typical + LATE_US):
            note = f"late, sent {format_ms(e.t)}"
            late.append((replace(e, t=e.t_arrive, arrival=True, note=note), p))
    return late


def _tagged(event: Event, pair: Pair | None) -> Event:
    """``event`` with its connection's ports in front, e.g. ``49152:80 SYN seq=0``."""
    if pair is None or isinstance(event, Caption):
        return event
    tag = ":".join(str(p) if p else "*" for p in pair)
    if isinstance(event, Arrow):
        return replace(event, label=f"{tag} {event.label}")
    return replace(event, text=f"{tag} {event.text}")


def _pair_filter(conn: ConnId | None, left: str) -> Pair | None:
    """A connection given from either host's point of view, as ``(left port, right port)``."""
    if conn is None:
        return None
    if conn.local_ip == left:
        return (conn.local_port, conn.remote_port)
    return (conn.remote_port, conn.local_port)


def build_timeline(
    records: Iterable[Record],
    *,
    hosts: tuple[str, str] | None = None,
    conn: ConnId | None = None,
    timers: TimerMode = "auto",
    calls: bool = True,
    drops: bool = True,
) -> Timeline:
    """The events between two hosts (default: the first connection's), in time order.

    ``conn`` keeps one connection (given from either side); by default every connection
    between the two hosts is shown, and labels then start with the ports (``49152:80``).
    """
    recs = sorted(records, key=lambda r: r.t)
    chosen = hosts or default_hosts(recs) or ("A", "B")
    builder = _Builder(chosen[0], chosen[1], _pair_filter(conn, chosen[0]), timers, calls, drops)
    host_arrows = not any(isinstance(r, LinkEvent) for r in recs)
    senders = {r.host for r in recs if isinstance(r, SegmentSent)}
    for record in recs:
        builder.add(record, host_arrows, senders)
    return builder.finish()


# -- rows --------------------------------------------------------------------------------------


def layout_rows(timeline: Timeline) -> list[Row]:
    """Pack events into rows: a mark joins an arrow row of the same instant when its side is
    free, so a state change sits beside the segment that caused or followed it."""
    rows: list[Row] = []
    for event in timeline.events:
        if isinstance(event, Caption):
            rows.append(Row(event.t, caption=event.text))
        elif isinstance(event, Arrow):
            _place_arrow(rows, event)
        else:
            _place_mark(rows, event)
    return rows


def _place_arrow(rows: list[Row], arrow: Arrow) -> None:
    """Put an arrow on a row of the same instant that has none, after the last arrow: the row
    of a state change on the sending side if there is one, else any state change, else the
    last row."""
    free: list[Row] = []
    for row in reversed(rows):
        if row.t != arrow.t or row.caption is not None or row.arrow is not None:
            break
        free.insert(0, row)
    sender = "left" if arrow.rightward else "right"
    target = (
        _first_with_state(free, (sender,))
        or _first_with_state(free, ("left", "right"))
        or (free[-1] if free else None)
    )
    if target is None:
        rows.append(Row(arrow.t, arrow=arrow))
    else:
        target.arrow = arrow


def _first_with_state(rows: list[Row], slots: tuple[str, ...]) -> Row | None:
    """The first row with a state-change mark in one of ``slots``."""
    for row in rows:
        for slot in slots:
            mark = getattr(row, slot)
            if isinstance(mark, Mark) and mark.kind == "state":
                return row
    return None


def _place_mark(rows: list[Row], mark: Mark) -> None:
    """Put a mark on the earliest row of its instant whose side is free (after that side's
    last mark, so marks on one side keep their order)."""
    slot = "left" if mark.side == LEFT else "right"
    target: Row | None = None
    for row in reversed(rows):
        if row.t != mark.t or row.caption is not None or getattr(row, slot) is not None:
            break
        target = row
    if target is None:
        target = Row(mark.t)
        rows.append(target)
    setattr(target, slot, mark)


# -- drawing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Glyphs:
    """The characters a ladder is drawn with."""

    line: str
    dash: str
    right_head: str
    left_head: str
    lost: str
    late: str
    """The shaft of a late segment's arrival."""


ASCII = Glyphs("|", "-", ">", "<", "X", ".")
UNICODE = Glyphs("│", "─", "▶", "◀", "✕", "┈")

ANSI = {
    "state": "\x1b[1;32m",
    "timer": "\x1b[33m",
    "call": "\x1b[36m",
    "drop": "\x1b[31m",
    "lost": "\x1b[31m",
    "caption": "\x1b[2m",
    "host": "\x1b[1m",
}
RESET = "\x1b[0m"


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column widths of one ladder."""

    time_w: int
    left_w: int
    mid_w: int
    glyphs: Glyphs
    color: bool

    def paint(self, text: str, kind: str) -> str:
        """``text`` in the colour of ``kind`` when colour is on."""
        if not self.color or not text.strip():
            return text
        return f"{ANSI[kind]}{text}{RESET}"


def render_ladder(
    records: Iterable[Record],
    *,
    hosts: tuple[str, str] | None = None,
    conn: ConnId | None = None,
    width: int = 88,
    unicode: bool = False,
    color: bool = False,
    timers: TimerMode = "auto",
    calls: bool = True,
    drops: bool = True,
    elide_us: int = 1_000_000,
) -> str:
    """A plain-text ladder diagram of the records (see the module docstring).

    ``width`` is the line width aimed at; the space between the timelines grows beyond it when
    a label needs more room. ``unicode`` draws box characters, ``color`` adds ANSI colours.
    """
    timeline = build_timeline(
        records, hosts=hosts, conn=conn, timers=timers, calls=calls, drops=drops
    )
    return render_timeline(timeline, width=width, unicode=unicode, color=color, elide_us=elide_us)


def render_timeline(
    timeline: Timeline,
    *,
    width: int = 88,
    unicode: bool = False,
    color: bool = False,
    elide_us: int = 1_000_000,
) -> str:
    """Draw an already built :class:`Timeline` as a ladder; a quiet stretch of at least
    ``elide_us`` gets a line saying how long it lasted (``~ 59.995s later ~``)."""
    rows = layout_rows(timeline)
    layout = _measure(timeline, rows, width, UNICODE if unicode else ASCII, color)
    lines = _header(timeline, layout)
    previous: int | None = None
    for row in rows:
        if previous is not None and row.t - previous >= elide_us:
            lines.append(_gap_line(row.t - previous, layout))
        shown = format_ms(row.t) if row.t != previous else ""
        previous = row.t
        lines.extend(_draw_row(row, shown, layout))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _measure(
    timeline: Timeline, rows: list[Row], width: int, glyphs: Glyphs, color: bool
) -> _Layout:
    """Choose column widths so every mark and label fits."""
    time_w = max([2, *(len(format_ms(r.t)) for r in rows)])
    left_w = max([len(timeline.initial[LEFT]), *(len(r.left.text) for r in rows if r.left)])
    left_w = max(left_w, len(timeline.left) - 1, 6)
    right_w = max([len(timeline.initial[RIGHT]), *(len(r.right.text) for r in rows if r.right)])
    needed = max([24, *(_arrow_room(r.arrow) for r in rows if r.arrow)])
    mid_w = max(needed, width - (time_w + 2 + left_w + 1) - 1 - (right_w + 1))
    return _Layout(time_w, left_w, mid_w, glyphs, color)


def _arrow_room(arrow: Arrow) -> int:
    """Columns an arrow needs between the timelines."""
    extra = len(arrow.note) + 3 if arrow.lost else 0
    return len(arrow.text) + extra + 8


def _header(timeline: Timeline, layout: _Layout) -> list[str]:
    """Host names over the timelines, then each side's initial state."""
    lead = layout.time_w + 2 + layout.left_w + 1
    names = (
        f"{'ms':>{layout.time_w}}"
        + layout.paint(f"{timeline.left:>{lead - layout.time_w + 1}}", "host")
        + " " * layout.mid_w
        + layout.paint(timeline.right, "host")
    )
    initial = _line(
        layout,
        "",
        _side(layout, timeline.initial[LEFT], "state", LEFT),
        " " * layout.mid_w,
        layout.paint(timeline.initial[RIGHT], "state"),
    )
    return [names, initial]


def _line(layout: _Layout, time: str, left: str, mid: str, right: str) -> str:
    """Assemble one line: time, left mark, timeline, middle, timeline, right mark."""
    bar = layout.glyphs.line
    return f"{time:>{layout.time_w}}  {left} {bar}{mid}{bar} {right}"


def _side(layout: _Layout, text: str, kind: str, side: int) -> str:
    """A mark padded to its column (right-aligned on the left so it hugs the timeline)."""
    if side == LEFT:
        return " " * (layout.left_w - len(text)) + layout.paint(text, kind)
    return layout.paint(text, kind)


def _draw_row(row: Row, time: str, layout: _Layout) -> list[str]:
    """The line(s) of one row (a long caption wraps onto several)."""
    if row.caption is not None:
        return _caption_lines(row.caption, time, layout)
    left = _side(layout, row.left.text, row.left.kind, LEFT) if row.left else " " * layout.left_w
    right = _side(layout, row.right.text, row.right.kind, RIGHT) if row.right else ""
    mid = draw_arrow(row.arrow, layout.mid_w, layout.glyphs) if row.arrow else " " * layout.mid_w
    if row.arrow and row.arrow.lost:
        mid = layout.paint(mid, "lost")
    return [_line(layout, time, left, mid, right)]


def _gap_line(gap: int, layout: _Layout) -> str:
    """The line marking a long quiet stretch between two rows."""
    mid = layout.paint(f"{'~ ' + format_duration(gap) + ' later ~':^{layout.mid_w}}", "caption")
    return _line(layout, "", " " * layout.left_w, mid, "")


def _caption_lines(text: str, time: str, layout: _Layout) -> list[str]:
    """A note centred between the timelines, wrapped to fit."""
    chunks = textwrap.wrap(text, layout.mid_w - 4) or [""]
    lines = []
    for i, chunk in enumerate(chunks):
        mid = layout.paint(f"{chunk:^{layout.mid_w}}", "caption")
        lines.append(_line(layout, time if i == 0 else "", " " * layout.left_w, mid, ""))
    return lines


def draw_arrow(arrow: Arrow, width: int, glyphs: Glyphs = ASCII) -> str:
    """The ``width`` characters between the timelines for one arrow.

    ``------ SYN seq=0 ------>``, ``<--- ACK seq=1 ack=1 ----``, and for a lost segment
    ``---- FIN seq=5 ----X lost: drop-fin`` (mirrored when it travels right to left), and
    for the arrival of a late segment ``..... ACK seq=1 ack=1 (late, sent 30.000) ....>``.
    """
    body = f" {arrow.text} "
    if not arrow.lost:
        shaft = _shaft(body, width - 1, glyphs.late if arrow.arrival else glyphs.dash)
        return shaft + glyphs.right_head if arrow.rightward else glyphs.left_head + shaft
    tail = f" {arrow.note} "
    span = max(len(body) + 4, min(width - 4, width - len(tail)))
    shaft = _shaft(body, span - 1, glyphs.dash)
    gap = " " * max(width - span - len(tail), 0)
    if arrow.rightward:
        return shaft + glyphs.lost + tail + gap
    return gap + tail + glyphs.lost + shaft


def _shaft(body: str, length: int, dash: str) -> str:
    """``body`` centred on a line of dashes ``length`` long."""
    room = max(length - len(body), 2)
    before = room // 2
    return dash * before + body + dash * (room - before)
