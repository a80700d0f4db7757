"""Mermaid sequence diagrams: exact statements, and only syntax Mermaid accepts."""

from __future__ import annotations

import re

from tracefixtures import A, B, lifecycle, with_late_segment

from synfin.trace.mermaid import escape, render_mermaid
from synfin.trace.records import Note

TEXT = r"(?:[^;#<>\n]|#\w+;)+"
"""Message text: no raw ';', '#', '<', '>' (statement separator, entity start, HTML), only
entity codes such as '#59;'."""
STATEMENT = re.compile(
    r"(sequenceDiagram"
    r"|    autonumber"
    rf"|    participant [AB] as {TEXT}"
    rf"|    [AB](->>|--x)[AB]: {TEXT}"
    rf"|    Note (over [AB]|over A,B|left of A|right of B): {TEXT})"
)


def body(text: str) -> list[str]:
    return text.splitlines()


def test_header_and_participants() -> None:
    lines = body(render_mermaid(lifecycle()))
    assert lines[:3] == [
        "sequenceDiagram",
        "    participant A as 10.0.0.1",
        "    participant B as 10.0.0.2",
    ]


def test_handshake_statements_in_order() -> None:
    lines = body(render_mermaid(lifecycle(), calls=False))
    start = lines.index("    Note over A: SYN-SENT")
    assert lines[start : start + 6] == [
        "    Note over A: SYN-SENT",
        "    A->>B: SYN seq=0",
        "    Note over B: SYN-RECEIVED",
        "    B->>A: SYN,ACK seq=0 ack=1",
        "    Note over A: ESTABLISHED",
        "    A->>B: ACK seq=1 ack=1",
    ]


def test_loss_timers_and_close() -> None:
    lines = body(render_mermaid(lifecycle()))
    assert "    A--xB: PSH,ACK seq=1 ack=1 len=100 (lost: drop-data)" in lines
    assert "    Note left of A: [RTO fired]" in lines
    assert "    Note left of A: [2MSL timer 60.000s]" in lines
    assert "    Note over A,B: client closes first" in lines
    tail = lines[lines.index("    Note over A: FIN-WAIT-1") :]
    messages = [line.strip() for line in tail if "->>" in line]
    assert messages == [
        "A->>B: FIN,ACK seq=101 ack=1",
        "B->>A: ACK seq=1 ack=102",
        "B->>A: FIN,ACK seq=1 ack=102",
        "A->>B: ACK seq=102 ack=2",
    ]
    assert lines[-1] == "    Note over A: CLOSED"


def test_every_line_is_valid_mermaid() -> None:
    text = render_mermaid([*lifecycle(), Note(500_000, A, "step #2; <b>bold</b>")], autonumber=True)
    for line in body(text):
        assert STATEMENT.fullmatch(line), line
    assert "    Note over A,B: step #35;2#59; #lt;b#gt;bold#lt;/b#gt;" in body(text)


def test_escape() -> None:
    assert escape("a;b#c<d>e\nf") == "a#59;b#35;c#lt;d#gt;e f"
    assert escape("SYN,ACK seq=0 ack=1") == "SYN,ACK seq=0 ack=1"


def test_names_replace_addresses_and_hosts_can_swap() -> None:
    text = render_mermaid(lifecycle(), names=("Client", "Server"))
    assert "    participant A as Client" in body(text)
    swapped = body(render_mermaid(lifecycle(), hosts=(B, A)))
    assert "    participant A as 10.0.0.2" in swapped
    assert "    B->>A: SYN seq=0" in swapped


def test_late_segment_is_noted_where_it_lands() -> None:
    lines = body(render_mermaid(with_late_segment()))
    assert "    A->>B: PSH,ACK seq=1 ack=1 len=100 (duplicate)" in lines
    assert "    Note over B: arrives: PSH,ACK seq=1 ack=1 len=100 (late, sent 212.000)" in lines
