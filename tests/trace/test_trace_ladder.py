"""The terminal ladder: labels, sides, losses, timers, filters, glyphs."""

from __future__ import annotations

import re
from pathlib import Path

from tracefixtures import (
    A_PORT,
    B_PORT,
    CONN_A,
    ISS_A,
    ISS_B,
    A,
    B,
    Run,
    host_only,
    lifecycle,
    packet,
    with_late_segment,
)

from synfin.states import State
from synfin.trace.ladder import (
    Arrow,
    Caption,
    Mark,
    build_timeline,
    default_hosts,
    draw_arrow,
    format_duration,
    format_ms,
    layout_rows,
    render_ladder,
)
from synfin.trace.records import (
    ConnId,
    LinkEvent,
    Note,
    Record,
    SegmentDropped,
    StateChange,
)
from synfin.wire.flags import Flags

TIME = re.compile(r"-?\d+\.\d{3}")
GOLDEN = Path(__file__).parent / "golden" / "lifecycle-ladder.txt"


def columns(text: str) -> list[tuple[str, str, str]]:
    """(mark left of the left timeline, between the timelines, right mark) per line; the time
    column is left out."""
    out = []
    for line in text.splitlines()[1:]:
        left, mid, right = line.split("|")
        parts = re.split(r"\s{2,}", left.strip())
        mark = "" if TIME.fullmatch(parts[-1]) else parts[-1]
        out.append((mark, mid, right.strip()))
    return out


def line_with(text: str, needle: str) -> tuple[str, str, str]:
    matches = [c for c in columns(text) if any(needle in part for part in c)]
    assert len(matches) == 1, (needle, matches)
    return matches[0]


def test_whole_lifecycle_ladder() -> None:
    assert render_ladder(lifecycle()) == GOLDEN.read_text()


def test_states_are_written_beside_their_own_host() -> None:
    text = render_ladder(lifecycle())
    for state in ("SYN-SENT", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"):
        left, _, right = line_with(text, state)
        assert state in left and state not in right
    for state in ("SYN-RECEIVED", "CLOSE-WAIT", "LAST-ACK"):
        left, _, right = line_with(text, state)
        assert right.strip() == state and left.strip() == ""


def test_arrows_point_the_right_way_with_relative_labels() -> None:
    text = render_ladder(lifecycle())
    _, syn, _ = line_with(text, " SYN seq=0 ")
    assert syn.endswith(">") and syn.startswith("-")
    _, syn_ack, _ = line_with(text, "SYN,ACK seq=0 ack=1")
    assert syn_ack.startswith("<") and syn_ack.endswith("-")
    _, fin, _ = line_with(text, "FIN,ACK seq=101 ack=1")
    assert fin.endswith(">")
    left, last_ack, _ = line_with(text, "ACK seq=102 ack=2")
    assert last_ack.endswith(">") and left.strip() == "TIME-WAIT"


def test_lost_segment_stops_short_with_the_fault_name() -> None:
    text = render_ladder(lifecycle())
    _, mid, _ = line_with(text, "lost: drop-data")
    assert "PSH,ACK seq=1 ack=1 len=100 ---X lost: drop-data" in mid
    assert ">" not in mid


def test_time_column_in_milliseconds_and_long_gap_marked() -> None:
    text = render_ladder(lifecycle())
    assert text.splitlines()[0].split()[0] == "ms"
    times = [line[:9].strip() for line in text.splitlines()[2:] if line[:9].strip()]
    assert times[:4] == ["0.000", "1.000", "6.000", "11.000"]
    assert times[-1] == "60405.000"
    assert "~ 59.995s later ~" in text


def test_timer_modes() -> None:
    auto = render_ladder(lifecycle())
    assert "[RTO fired]" in auto and "[2MSL timer 60.000s]" in auto
    assert "[2MSL fired]" in auto and "[RTO timer" not in auto and "stopped" not in auto
    every = render_ladder(lifecycle(), timers="all")
    assert "[RTO timer 1.000s]" in every and "[RTO timer 200.000ms]" in every
    assert every.count("[RTO stopped]") == 2
    none = render_ladder(lifecycle(), timers="none")
    assert "[" not in "".join(left + right for left, _, right in columns(none))


def test_calls_can_be_left_out() -> None:
    assert "(CLOSE)" in render_ladder(lifecycle())
    assert "(CLOSE)" not in render_ladder(lifecycle(), calls=False)


def test_single_host_trace_draws_both_directions() -> None:
    text = render_ladder(host_only(lifecycle(), B))
    arrows = [mid.strip("-<> ") for _, mid, _ in columns(text) if "seq=" in mid]
    assert arrows == [
        "SYN seq=0",
        "SYN,ACK seq=0 ack=1",
        "ACK seq=1 ack=1",
        "PSH,ACK seq=1 ack=1 len=100",
        "ACK seq=1 ack=101",
        "FIN,ACK seq=101 ack=1",
        "ACK seq=1 ack=102",
        "FIN,ACK seq=1 ack=102",
        "ACK seq=102 ack=2",
    ]
    assert text.splitlines()[0].split()[1:] == [A, B]
    left, _, right = line_with(text, "SYN-RECEIVED")
    assert left.strip() == "" and right.strip() == "SYN-RECEIVED"


def test_hosts_can_be_swapped() -> None:
    text = render_ladder(lifecycle(), hosts=(B, A))
    _, syn, _ = line_with(text, " SYN seq=0 ")
    assert syn.startswith("<")
    left, _, _ = line_with(text, "SYN-RECEIVED")
    assert left.strip() == "SYN-RECEIVED"


def two_connections() -> list[Record]:
    """The lifecycle plus a second connection from port 49153 that the server resets."""
    run = Run(lifecycle())
    second = ConnId(A, A_PORT + 1, B, B_PORT)
    syn = packet(A, 77_000, 0, Flags.SYN)
    syn = type(syn)(
        syn.src, syn.dst, type(syn.segment)(A_PORT + 1, B_PORT, 77_000, 0, Flags.SYN, 1000)
    )
    rst_seg = type(syn.segment)(B_PORT, A_PORT + 1, 0, 77_001, Flags.RST | Flags.ACK, 0)
    rst = type(syn)(B, A, rst_seg)
    run.add(StateChange(500_000, A, second, State.CLOSED, State.SYN_SENT, "active OPEN"))
    run.add(LinkEvent(500_000, A, B, syn, "deliver", 505_000))
    run.add(LinkEvent(505_000, B, A, rst, "deliver", 510_000))
    run.add(StateChange(510_000, A, second, State.SYN_SENT, State.CLOSED, "rcv RST,ACK"))
    return run.sorted()


def test_several_connections_are_tagged_with_their_ports() -> None:
    text = render_ladder(two_connections())
    assert "49152:80 SYN seq=0" in text
    assert "49153:80 SYN seq=0" in text
    assert "49153:80 RST,ACK seq=1 ack=1" in text  # Wireshark too: a bare RST starts at 1
    left, _, _ = line_with(text, "49153:80 SYN-SENT")
    assert left.strip() == "49153:80 SYN-SENT"
    assert "*:80 LISTEN" in text


def test_conn_filter_keeps_one_connection_from_either_side() -> None:
    text = render_ladder(two_connections(), conn=ConnId(A, A_PORT + 1, B, B_PORT))
    assert "SYN seq=0" in text and "RST,ACK seq=1 ack=1" in text
    assert "FIN" not in text and "49153:" not in text
    assert "LISTEN" in text  # the listener on port 80 belongs to every connection to it
    from_server_side = render_ladder(two_connections(), conn=ConnId(B, B_PORT, A, A_PORT))
    assert "FIN,ACK seq=101 ack=1" in from_server_side and "RST" not in from_server_side


def test_duplicates_injections_and_drops_are_labelled() -> None:
    records = lifecycle()
    dup = packet(A, ISS_A + 1, ISS_B + 1, Flags.ACK)
    records += [
        LinkEvent(420_000, A, B, dup, "duplicate", 426_000, "staged-duplicate"),
        LinkEvent(430_000, A, B, dup, "inject", 430_000),
        SegmentDropped(430_000, B, None, dup, "no-connection", "RST sent"),
    ]
    text = render_ladder(records)
    assert "ACK seq=1 ack=1 (duplicate)" in text
    assert "ACK seq=1 ack=1 (injected)" in text
    _, _, right = line_with(text, "[drop: no-connection]")
    assert right.strip() == "[drop: no-connection]"


def test_long_captions_wrap_between_the_timelines() -> None:
    words = "the passive closer retransmits its FIN because the last ACK was lost " * 3
    text = render_ladder([*lifecycle(), Note(420_000, A, words.strip())])
    wrapped = [mid for _, mid, _ in columns(text) if "passive closer" in mid or "ACK was" in mid]
    assert len(wrapped) >= 2
    assert all(len(mid) == len(columns(text)[0][1]) for mid in wrapped)


def test_unicode_and_colour() -> None:
    fancy = render_ladder(lifecycle(), unicode=True)
    assert "│" in fancy and "▶" in fancy and "◀" in fancy and "✕ lost: drop-data" in fancy
    assert "|" not in fancy
    coloured = render_ladder(lifecycle(), color=True)
    assert "\x1b[1;32mSYN-SENT\x1b[0m" in coloured
    assert "\x1b[31m" in coloured  # the lost arrow
    assert "\x1b[" not in render_ladder(lifecycle())


def test_draw_arrow_shapes() -> None:
    pkt = packet(A, 1, 0, Flags.SYN)
    right = Arrow(0, 5, True, "SYN seq=0", pkt)
    left = Arrow(0, 5, False, "SYN seq=0", pkt)
    lost = Arrow(0, None, True, "SYN seq=0", pkt, lost=True, note="lost: x")
    lost_left = Arrow(0, None, False, "SYN seq=0", pkt, lost=True, note="lost: x")
    assert draw_arrow(right, 21) == "---- SYN seq=0 ----->"
    assert draw_arrow(left, 21) == "<---- SYN seq=0 -----"
    assert draw_arrow(lost, 30) == "---- SYN seq=0 -----X lost: x "
    assert draw_arrow(lost_left, 30) == " lost: x X---- SYN seq=0 -----"
    assert len(draw_arrow(lost, 40)) == 40


def test_rows_put_a_state_change_beside_the_segment_it_goes_with() -> None:
    rows = layout_rows(build_timeline(lifecycle()))
    syn_row = next(r for r in rows if r.arrow and r.arrow.label == "SYN seq=0")
    assert syn_row.left is not None and syn_row.left.text == "SYN-SENT"
    ack_row = next(r for r in rows if r.arrow and r.arrow.label == "ACK seq=102 ack=2")
    assert ack_row.left is not None and ack_row.left.text == "TIME-WAIT"


def test_timeline_events_and_initial_states() -> None:
    timeline = build_timeline(lifecycle())
    assert (timeline.left, timeline.right) == (A, B)
    assert timeline.initial == ("CLOSED", "CLOSED")
    kinds = {type(e) for e in timeline.events}
    assert kinds == {Arrow, Mark, Caption}
    lost = [e for e in timeline.events if isinstance(e, Arrow) and e.lost]
    assert [(e.t, e.note) for e in lost] == [(12_000, "lost: drop-data")]
    delivered = [e for e in timeline.events if isinstance(e, Arrow) and not e.lost]
    assert all(e.t_arrive == e.t + 5_000 for e in delivered)


def test_default_hosts_and_formatting() -> None:
    assert default_hosts(lifecycle()) == (A, B)
    assert default_hosts(host_only(lifecycle(), B)) == (A, B)
    changes: list[Record] = [StateChange(0, A, CONN_A, State.CLOSED, State.SYN_SENT, "")]
    assert default_hosts(changes) == (A, B)
    assert default_hosts([]) is None
    assert format_ms(60_405_000) == "60405.000" and format_ms(1_234) == "1.234"
    assert format_duration(60_000_000) == "60.000s" and format_duration(200_000) == "200.000ms"
    assert render_ladder([]).splitlines()[0].split() == ["ms", "A", "B"]


def timed_lines(text: str) -> list[tuple[str, str]]:
    """(time of the row, line) for every line after the header; blank times inherit."""
    out = []
    current = ""
    for line in text.splitlines()[2:]:
        current = line[:9].strip() or current
        out.append((current, line))
    return out


def test_late_segment_is_drawn_again_where_it_lands() -> None:
    text = render_ladder(with_late_segment())
    sent = [t for t, line in timed_lines(text) if "(duplicate)" in line]
    landed = [(t, line) for t, line in timed_lines(text) if "(late, sent 212.000)" in line]
    assert sent == ["212.000"]
    assert [t for t, _ in landed] == ["700.000"]
    mid = landed[0][1].split("|")[1]
    assert mid.startswith(".") and mid.endswith(".>")
    assert "PSH,ACK seq=1 ack=1 len=100 (late, sent 212.000)" in mid
    # Ordinary trips (5 ms) are not late.
    assert text.count("late,") == 1


def test_late_arrival_comes_first_among_events_of_its_instant() -> None:
    records = with_late_segment()
    records.append(SegmentDropped(700_000, B, None, None, "no-connection"))
    timeline = build_timeline(sorted(records, key=lambda r: r.t))
    at = [e for e in timeline.events if e.t == 700_000]
    assert isinstance(at[0], Arrow) and at[0].arrival
    assert isinstance(at[1], Mark) and at[1].text == "[drop: no-connection]"
