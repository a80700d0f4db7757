"""Mermaid ``sequenceDiagram`` text of a run, like the diagrams in the seed articles.

Each host is a ``participant`` (ids ``A`` and ``B``, shown by address or the given names);
each segment is a message ``A->>B: SYN seq=0`` in the order it was sent; a lost segment is
``A--xB: FIN,ACK seq=101 ack=1 (lost: drop-fin)``; a segment that arrives late is also noted
where it lands (``Note over B: arrives: ACK seq=1 ack=1 (late, sent 30.000)``); state changes
are ``Note over A: SYN-SENT``; timers, user calls and drops are notes beside their host's
lifeline; narration spans both.

Text is escaped with Mermaid's entity codes (``#59;`` for ``;``, ``#35;`` for ``#``, ``#lt;``
and ``#gt;`` for angle brackets) so that no label can break the diagram.
"""

from __future__ import annotations

from collections.abc import Iterable

from synfin.trace.ladder import LEFT, Arrow, Caption, Mark, Timeline, TimerMode, build_timeline
from synfin.trace.records import ConnId, Record

ENTITIES = {";": "#59;", "#": "#35;", "<": "#lt;", ">": "#gt;", "\n": " ", "\r": " "}
"""Characters that would end or change a Mermaid statement, and what replaces them."""

IDS = ("A", "B")


def escape(text: str) -> str:
    """``text`` made safe for a Mermaid message or note."""
    return "".join(ENTITIES.get(ch, ch) for ch in text)


def render_mermaid(
    records: Iterable[Record],
    *,
    hosts: tuple[str, str] | None = None,
    conn: ConnId | None = None,
    names: tuple[str, str] | None = None,
    timers: TimerMode = "auto",
    calls: bool = True,
    drops: bool = True,
    autonumber: bool = False,
) -> str:
    """The Mermaid source of a two-host diagram (hosts and connection chosen as for the ladder).

    ``names`` replaces the addresses shown on the participants (e.g. ``("Client", "Server")``);
    ``autonumber`` numbers the messages.
    """
    timeline = build_timeline(
        records, hosts=hosts, conn=conn, timers=timers, calls=calls, drops=drops
    )
    return timeline_to_mermaid(timeline, names=names, autonumber=autonumber)


def timeline_to_mermaid(
    timeline: Timeline, *, names: tuple[str, str] | None = None, autonumber: bool = False
) -> str:
    """The Mermaid source of an already built :class:`Timeline`."""
    shown = names or (timeline.left, timeline.right)
    lines = ["sequenceDiagram"]
    if autonumber:
        lines.append("    autonumber")
    lines.extend(
        f"    participant {pid} as {escape(name)}" for pid, name in zip(IDS, shown, strict=True)
    )
    for event in timeline.events:
        lines.append("    " + _statement(event))
    return "\n".join(lines) + "\n"


def _statement(event: Arrow | Mark | Caption) -> str:
    """One Mermaid statement for one timeline event."""
    if isinstance(event, Arrow):
        return _message(event)
    if isinstance(event, Caption):
        return f"Note over A,B: {escape(event.text)}"
    pid = IDS[event.side]
    if event.kind == "state":
        return f"Note over {pid}: {escape(event.text)}"
    where = "left of" if event.side == LEFT else "right of"
    return f"Note {where} {pid}: {escape(event.text)}"


def _message(arrow: Arrow) -> str:
    """``A->>B: label`` for a delivered segment, ``A--xB: label (lost: fault)`` for a lost one."""
    src, dst = IDS if arrow.rightward else IDS[::-1]
    if arrow.arrival:
        return f"Note over {dst}: {escape(f'arrives: {arrow.text}')}"
    if arrow.lost:
        return f"{src}--x{dst}: {escape(f'{arrow.label} ({arrow.note})')}"
    return f"{src}->>{dst}: {escape(arrow.text)}"
