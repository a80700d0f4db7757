"""An SVG ladder diagram: two lifelines, sloped arrows from send time to arrival time.

Pure string building, no dependencies, well-formed XML. Rows come from the same
:func:`~synfin.trace.ladder.layout_rows` as the terminal ladder. Vertical distance follows time
(scaled so a typical one-way trip is clearly sloped), but a quiet stretch is compressed to a
fixed height and labelled with its real length (``~ 59.995s later ~``). State changes are boxes
beside the lifeline of their host; timers, user calls and drops are coloured text; a lost
segment is a red dashed arrow that stops half way with an X.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import median
from xml.sax.saxutils import escape, quoteattr

from synfin.trace.ladder import (
    LEFT,
    Arrow,
    Mark,
    Row,
    Timeline,
    TimerMode,
    build_timeline,
    format_duration,
    format_ms,
    layout_rows,
)
from synfin.trace.records import ConnId, Record

CHAR_W = 7.2
"""Approximate advance of one 12px monospace character."""
ROW_H = 22.0
"""Smallest vertical step between two rows."""
ARROW_ROW_H = 30.0
"""Smallest vertical step between two rows that both carry an arrow (room for a label)."""
TRIP_PX = 40.0
"""Vertical pixels a typical one-way trip spans."""
MAX_STEP = 110.0
"""Largest vertical step; longer quiet stretches are compressed to this and labelled."""
TOP = 96.0
"""Y of the first row (host boxes and initial states are above)."""
TIME_COL = 76.0
"""Right edge of the time column."""

COLORS = {
    "state": "#1b5e20",
    "state-fill": "#e8f5e9",
    "timer": "#a15c00",
    "call": "#1f5f99",
    "drop": "#b71c1c",
    "lost": "#c62828",
    "arrow": "#222222",
    "caption": "#666666",
    "lifeline": "#9e9e9e",
}

STYLE = """
text {{ font-family: monospace; font-size: 12px; }}
.host {{ font-weight: bold; }}
.time {{ fill: #757575; text-anchor: end; }}
.state {{ fill: {state}; }}
.timer {{ fill: {timer}; font-style: italic; }}
.call {{ fill: {call}; }}
.drop {{ fill: {drop}; }}
.caption {{ fill: {caption}; font-style: italic; text-anchor: middle; }}
.label {{ text-anchor: middle; }}
.lost {{ fill: {lost}; }}
""".format(**COLORS)


@dataclass(frozen=True, slots=True)
class _Geometry:
    """Where things go: the lifelines' x, each row's y and the time-to-y mapping."""

    x_left: float
    x_right: float
    width: float
    height: float
    row_y: tuple[float, ...]
    rows: tuple[Row, ...]
    scale: float
    """Pixels per microsecond (before compression)."""
    latency: int
    """Typical one-way trip, for drawing where a lost segment was headed."""

    def y_at(self, t: int) -> float:
        """The y of instant ``t``: a row's y, or between the rows around it."""
        before: tuple[int, float] | None = None
        for row, y in zip(self.rows, self.row_y, strict=True):
            if row.t == t:
                return y
            if row.t > t:
                return y if before is None else self._between(t, before, (row.t, y))
            before = (row.t, y)
        if before is None:
            return TOP
        return before[1] + min((t - before[0]) * self.scale, MAX_STEP)

    def first_arrow_y(self, t: int, default: float) -> float:
        """The y of the first row of instant ``t`` that carries an arrow."""
        for row, y in zip(self.rows, self.row_y, strict=True):
            if row.t == t and row.arrow is not None and not row.arrow.arrival:
                return y
        return default

    def arrival_row_y(self, arrow: Arrow) -> float | None:
        """The y of the row where a late ``arrow`` is drawn again on arrival, if it is late."""
        for row, y in zip(self.rows, self.row_y, strict=True):
            again = row.arrow
            if again is not None and again.arrival and _same_trip(again, arrow):
                return y
        return None

    def _between(self, t: int, start: tuple[int, float], end: tuple[int, float]) -> float:
        """Interpolate inside a gap; a compressed gap keeps the true scale near both of its
        ends (so a segment sent just before it still slopes right) and squeezes the middle."""
        (t0, y0), (t1, y1) = start, end
        if (t1 - t0) * self.scale <= (y1 - y0) + 0.5:
            return y0 + (y1 - y0) * (t - t0) / (t1 - t0)
        edge = 0.4 * (y1 - y0)
        if (t - t0) * self.scale <= edge:
            return y0 + (t - t0) * self.scale
        if (t1 - t) * self.scale <= edge:
            return y1 - (t1 - t) * self.scale
        edge_us = edge / self.scale
        frac = (t - t0 - edge_us) / (t1 - t0 - 2 * edge_us)
        return y0 + edge + (y1 - y0 - 2 * edge) * frac


def _same_trip(again: Arrow, arrow: Arrow) -> bool:
    """Whether ``again`` is the arrival drawing of ``arrow``."""
    return (
        again.t == arrow.t_arrive
        and again.packet is arrow.packet
        and again.rightward == arrow.rightward
    )


def render_svg(
    records: Iterable[Record],
    *,
    hosts: tuple[str, str] | None = None,
    conn: ConnId | None = None,
    timers: TimerMode = "auto",
    calls: bool = True,
    drops: bool = True,
    title: str | None = None,
) -> str:
    """An SVG document of the two-host ladder (hosts and connection chosen as for the ladder)."""
    timeline = build_timeline(
        records, hosts=hosts, conn=conn, timers=timers, calls=calls, drops=drops
    )
    return timeline_to_svg(timeline, title=title)


def timeline_to_svg(timeline: Timeline, *, title: str | None = None) -> str:
    """The SVG document of an already built :class:`Timeline`."""
    rows = layout_rows(timeline)
    geo = _geometry(timeline, rows)
    parts = [_open_svg(geo, title)]
    parts.extend(_lifelines(timeline, geo))
    parts.extend(_gap_labels(geo))
    previous: int | None = None
    for row, y in zip(rows, geo.row_y, strict=True):
        if row.t != previous:
            parts.append(_text(TIME_COL, y + 4, format_ms(row.t), "time"))
        previous = row.t
        parts.extend(_row_elements(row, y, geo))
    parts.append("</svg>\n")
    return "\n".join(parts)


# -- geometry ----------------------------------------------------------------------------------


def _geometry(timeline: Timeline, rows: list[Row]) -> _Geometry:
    """Lay the diagram out: column widths from the texts, row heights from the times."""
    left_w = _text_width([timeline.initial[LEFT], *(r.left.text for r in rows if r.left)])
    right_w = _text_width([timeline.initial[1], *(r.right.text for r in rows if r.right)])
    labels = [_arrow_text(r.arrow) for r in rows if r.arrow and not r.arrow.arrival] + [
        r.caption for r in rows if r.caption is not None
    ]
    lane = max(360.0, _text_width(labels) + 80.0)
    x_left = TIME_COL + 24.0 + max(left_w, len(timeline.left) * CHAR_W / 2)
    x_right = x_left + lane
    latency = _typical_latency(rows)
    scale = TRIP_PX / latency if latency else TRIP_PX / 1000.0
    row_y = _row_positions(rows, scale)
    height = (row_y[-1] if row_y else TOP) + 60.0
    width = x_right + 24.0 + max(right_w, len(timeline.right) * CHAR_W / 2)
    return _Geometry(x_left, x_right, width, height, row_y, tuple(rows), scale, latency)


def _text_width(texts: list[str]) -> float:
    """Pixels the longest of ``texts`` needs, with a little padding."""
    longest = max((len(t) for t in texts), default=0)
    return longest * CHAR_W + 16.0


def _typical_latency(rows: list[Row]) -> int:
    """The median one-way trip of the delivered segments (0 when none has an arrival time)."""
    trips = [
        r.arrow.t_arrive - r.arrow.t
        for r in rows
        if r.arrow and r.arrow.t_arrive is not None and r.arrow.t_arrive > r.arrow.t
    ]
    return int(median(trips)) if trips else 0


def _row_positions(rows: list[Row], scale: float) -> tuple[float, ...]:
    """Each row's y: at least :data:`ROW_H` apart, proportional to time, capped at MAX_STEP."""
    ys: list[float] = []
    for i, row in enumerate(rows):
        if i == 0:
            ys.append(TOP)
            continue
        dt = row.t - rows[i - 1].t
        least = ARROW_ROW_H if row.arrow and rows[i - 1].arrow else ROW_H
        step = least if dt == 0 else min(max(least, dt * scale), MAX_STEP)
        ys.append(ys[-1] + step)
    return tuple(ys)


def _arrow_text(arrow: Arrow) -> str:
    """The label an arrow carries (lost ones say so)."""
    return f"{arrow.label} ({arrow.note})" if arrow.lost else arrow.text


# -- elements ----------------------------------------------------------------------------------


def _open_svg(geo: _Geometry, title: str | None) -> str:
    """The root element, styles, arrowhead markers and background."""
    w, h = f"{geo.width:.0f}", f"{geo.height:.0f}"
    head = (
        '<marker id="{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="{fill}"/></marker>'
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">',
    ]
    if title:
        lines.append(f"<title>{escape(title)}</title>")
    lines.append(f"<style>{STYLE}</style>")
    lines.append("<defs>" + head.format(id="head", fill=COLORS["arrow"]) + "</defs>")
    lines.append(f'<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>')
    return "\n".join(lines)


def _lifelines(timeline: Timeline, geo: _Geometry) -> list[str]:
    """Host boxes on top, the two vertical lifelines, the initial states and the time header."""
    out = [_text(TIME_COL, TOP - 40.0, "ms", "time")]
    bottom = geo.height - 30.0
    for x, host in ((geo.x_left, timeline.left), (geo.x_right, timeline.right)):
        box_w = len(host) * CHAR_W + 16.0
        out.append(
            f'<line x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{bottom:.1f}" '
            f'stroke="{COLORS["lifeline"]}" stroke-width="1.5"/>'
        )
        out.append(
            f'<rect x="{x - box_w / 2:.1f}" y="14" width="{box_w:.1f}" height="22" rx="4" '
            'fill="#eceff1" stroke="#607d8b"/>'
        )
        out.append(_text(x, 29.0, host, "host", anchor="middle"))
    for side, state in enumerate(timeline.initial):
        if state:
            out.append(_state_box(side, state, TOP - 40.0, geo))
    return out


def _gap_labels(geo: _Geometry) -> list[str]:
    """A label in the middle of every compressed quiet stretch."""
    out: list[str] = []
    for i in range(1, len(geo.rows)):
        dt = geo.rows[i].t - geo.rows[i - 1].t
        if dt and dt * geo.scale > MAX_STEP:
            y = (geo.row_y[i - 1] + geo.row_y[i]) / 2 + 4
            x = (geo.x_left + geo.x_right) / 2
            out.append(_text(x, y, f"~ {format_duration(dt)} later ~", "caption"))
    return out


def _row_elements(row: Row, y: float, geo: _Geometry) -> list[str]:
    """The marks, arrow or caption of one row."""
    out: list[str] = []
    if row.caption is not None:
        out.append(_caption(row.caption, y, geo))
    if row.arrow is not None and not row.arrow.arrival:
        out.extend(_arrow(row.arrow, y, geo))
    for mark in (row.left, row.right):
        if mark is not None:
            out.append(_mark(mark, y, geo))
    return out


def _caption(text: str, y: float, geo: _Geometry) -> str:
    """Narration centred between the lifelines on a light band."""
    x = (geo.x_left + geo.x_right) / 2
    w = len(text) * CHAR_W + 12.0
    band = (
        f'<rect x="{x - w / 2:.1f}" y="{y - 11:.1f}" width="{w:.1f}" height="18" '
        'fill="#fafafa" stroke="#e0e0e0"/>'
    )
    return band + _text(x, y + 4, text, "caption")


def _mark(mark: Mark, y: float, geo: _Geometry) -> str:
    """A state box, or coloured text for timers, calls and drops, beside its lifeline."""
    if mark.kind == "state":
        return _state_box(mark.side, mark.text, y, geo)
    if mark.side == LEFT:
        return _text(geo.x_left - 8.0, y + 4, mark.text, mark.kind, anchor="end")
    return _text(geo.x_right + 8.0, y + 4, mark.text, mark.kind)


def _state_box(side: int, text: str, y: float, geo: _Geometry) -> str:
    """A rounded box with a state name, just outside the lifeline of ``side``."""
    w = len(text) * CHAR_W + 12.0
    x = geo.x_left - 6.0 - w if side == LEFT else geo.x_right + 6.0
    rect = (
        f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="{w:.1f}" height="18" rx="5" '
        f'fill="{COLORS["state-fill"]}" stroke="{COLORS["state"]}"/>'
    )
    return rect + _text(x + w / 2, y + 4, text, "state", anchor="middle")


def _arrow(arrow: Arrow, y: float, geo: _Geometry) -> list[str]:
    """A sloped arrow from send to arrival; a lost one is red, dashed, and ends in an X.

    The second arrow of an instant is drawn a row lower and ends as much lower, so arrows
    sent together stay parallel; a late arrow ends on the row of its arrival."""
    x1, x2 = (geo.x_left, geo.x_right) if arrow.rightward else (geo.x_right, geo.x_left)
    shift = y - geo.first_arrow_y(arrow.t, y)
    if arrow.lost:
        y_end = geo.y_at(arrow.t + geo.latency) + shift
        x2, y2 = x1 + (x2 - x1) * 0.6, y + (max(y_end, y) - y) * 0.6
    elif arrow.t_arrive is not None:
        landing = geo.arrival_row_y(arrow)
        y2 = max(geo.y_at(arrow.t_arrive) + shift if landing is None else landing, y)
    else:
        y2 = y
    steep = y2 - y > 2.5 * TRIP_PX
    out = [
        _line(x1, y, x2, y2, arrow.lost),
        _label(arrow, (x1, y), (x2, y2), 0.2 if steep else 0.5),
    ]
    if arrow.lost:
        out.append(_cross(x2, y2))
    return out


def _line(x1: float, y1: float, x2: float, y2: float, lost: bool) -> str:
    """The shaft of an arrow (with a head unless lost)."""
    if lost:
        style = f'stroke="{COLORS["lost"]}" stroke-width="1.5" stroke-dasharray="6,4"'
    else:
        style = f'stroke="{COLORS["arrow"]}" stroke-width="1.5" marker-end="url(#head)"'
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" {style}/>'


def _label(arrow: Arrow, start: tuple[float, float], end: tuple[float, float], at: float) -> str:
    """The arrow's label at fraction ``at`` of its length (the middle, or near the sender for
    a steep, late arrow), along its slope and readable left to right; below the line for a
    lost segment, whose short dashed line often crosses the next arrow."""
    (x1, y1), (x2, y2) = start, end
    mx, my = x1 + (x2 - x1) * at, y1 + (y2 - y1) * at
    angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
    if x2 < x1:
        angle = math.degrees(math.atan2(y1 - y2, x1 - x2))
    css = "label lost" if arrow.lost else "label"
    transform = f"rotate({angle:.2f} {mx:.1f} {my:.1f})"
    dy = 14.0 if arrow.lost else -5.0
    return (
        f'<text x="{mx:.1f}" y="{my + dy:.1f}" class="{css}" transform="{transform}">'
        f"{escape(_arrow_text(arrow))}</text>"
    )


def _cross(x: float, y: float) -> str:
    """An X where a lost segment vanished."""
    d = 5.0
    stroke = f'stroke="{COLORS["lost"]}" stroke-width="2.5"'
    return (
        f'<line x1="{x - d:.1f}" y1="{y - d:.1f}" x2="{x + d:.1f}" y2="{y + d:.1f}" {stroke}/>'
        f'<line x1="{x - d:.1f}" y1="{y + d:.1f}" x2="{x + d:.1f}" y2="{y - d:.1f}" {stroke}/>'
    )


def _text(x: float, y: float, text: str, css: str, anchor: str = "start") -> str:
    """A text element with an escaped body."""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" class={quoteattr(css)} text-anchor="{anchor}">'
        f"{escape(text)}</text>"
    )
