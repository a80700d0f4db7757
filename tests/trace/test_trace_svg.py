"""The SVG ladder: well-formed XML, sloped arrows, state boxes, lost segments."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tracefixtures import A, B, host_only, lifecycle, with_late_segment

from synfin.trace.records import Note
from synfin.trace.svg import COLORS, render_svg

NS = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode("utf-8"))


def texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{NS}text"))


def text_element(root: ET.Element, content: str) -> ET.Element:
    found = [t for t in texts(root) if t.text == content]
    assert len(found) == 1, content
    return found[0]


def arrow_lines(root: ET.Element) -> list[ET.Element]:
    return [ln for ln in root.iter(f"{NS}line") if ln.get("marker-end") == "url(#head)"]


def test_document_is_well_formed_svg() -> None:
    root = parse(render_svg(lifecycle(), title="lifecycle"))
    assert root.tag == f"{NS}svg"
    assert root.find(f"{NS}title") is not None
    assert float(root.get("width", "0")) > 600 and float(root.get("height", "0")) > 800


def test_labels_states_and_timers_are_drawn() -> None:
    root = parse(render_svg(lifecycle()))
    contents = {t.text for t in texts(root)}
    for expected in (
        "10.0.0.1",
        "10.0.0.2",
        "SYN seq=0",
        "SYN,ACK seq=0 ack=1",
        "FIN,ACK seq=101 ack=1",
        "ACK seq=102 ack=2",
        "SYN-SENT",
        "SYN-RECEIVED",
        "CLOSE-WAIT",
        "TIME-WAIT",
        "[RTO fired]",
        "[2MSL timer 60.000s]",
        "server listens on port 80",
        "~ 59.995s later ~",
    ):
        assert expected in contents, expected


def test_arrows_slope_from_send_to_arrival() -> None:
    root = parse(render_svg(lifecycle()))
    lines = arrow_lines(root)
    assert len(lines) == 9  # every delivered segment; the lost one has no head
    syn = lines[0]
    x1, y1, x2, y2 = (float(syn.get(k, "0")) for k in ("x1", "y1", "x2", "y2"))
    assert x2 > x1 and y2 > y1
    # It ends level with the box of the state its arrival caused.
    box_text = text_element(root, "SYN-RECEIVED")
    assert abs(float(box_text.get("y", "0")) - 4 - y2) < 0.05
    syn_ack = lines[1]
    assert float(syn_ack.get("x2", "0")) < float(syn_ack.get("x1", "0"))


def test_lost_segment_is_red_dashed_with_a_cross() -> None:
    root = parse(render_svg(lifecycle()))
    red = [ln for ln in root.iter(f"{NS}line") if ln.get("stroke") == COLORS["lost"]]
    dashed = [ln for ln in red if ln.get("stroke-dasharray")]
    assert len(dashed) == 1 and dashed[0].get("marker-end") is None
    assert len(red) == 3  # the shaft and the two strokes of the X
    label = text_element(root, "PSH,ACK seq=1 ack=1 len=100 (lost: drop-data)")
    assert "lost" in label.get("class", "")


def test_rows_go_down_in_time_order() -> None:
    root = parse(render_svg(lifecycle()))
    times = [t for t in texts(root) if t.get("class") == "time" and t.text != "ms"]
    assert [t.text for t in times][:3] == ["0.000", "1.000", "6.000"]
    ys = [float(t.get("y", "0")) for t in times]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)


def test_single_host_arrows_are_level() -> None:
    root = parse(render_svg(host_only(lifecycle(), B)))
    lines = arrow_lines(root)
    assert len(lines) == 9
    assert all(ln.get("y1") == ln.get("y2") for ln in lines)


def test_text_is_escaped() -> None:
    note = 'a <b> & "c" ; #d'
    root = parse(render_svg([*lifecycle(), Note(500_000, A, note)], title="x < y & z"))
    assert note in {t.text for t in texts(root)}
    assert root.findtext(f"{NS}title") == "x < y & z"


def test_empty_trace_is_still_a_document() -> None:
    root = parse(render_svg([]))
    assert root.tag == f"{NS}svg"


def test_late_segment_lands_on_its_arrival_row() -> None:
    root = parse(render_svg(with_late_segment()))
    times = {t.text: float(t.get("y", "0")) for t in texts(root) if t.get("class") == "time"}
    steep = [
        ln for ln in arrow_lines(root) if float(ln.get("y2", "0")) - float(ln.get("y1", "0")) > 100
    ]
    assert len(steep) == 1
    assert times["212.000"] - 4 <= float(steep[0].get("y1", "0")) < times["217.000"] - 4
    assert float(steep[0].get("y2", "0")) == times["700.000"] - 4
    assert len(arrow_lines(root)) == 10  # drawn once, not again at arrival
