"""docs/state-machine.md is generated from TRANSITIONS and the ``@proves`` markers: it must be
current, every arrow must have a test, and the generator must read the markers correctly."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from statekit import Kit, proves

from synfin import docs_gen
from synfin.states import FIGURE_5_ARROWS, TRANSITIONS, State

S = State
HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "state-machine.md"


def test_doc_is_up_to_date() -> None:
    expected = docs_gen.state_machine_markdown(docs_gen.collect_arrow_tests(HERE))
    assert DOC.exists(), "docs/state-machine.md is missing: run python -m synfin.docs_gen"
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/state-machine.md is out of date: run python -m synfin.docs_gen")


def test_every_arrow_has_a_test() -> None:
    arrow_tests = docs_gen.collect_arrow_tests(HERE)
    missing = [f"{old} -> {new}" for (old, new), tests in arrow_tests.items() if not tests]
    assert missing == []
    assert set(arrow_tests) == set(TRANSITIONS)


def test_the_generator_reads_the_same_markers_the_tests_carry() -> None:
    """The AST scan must agree with the markers the decorator attached at import time."""
    from_source = docs_gen.collect_arrow_tests(HERE)
    at_runtime: dict[tuple[State, State], list[str]] = {arrow: [] for arrow in TRANSITIONS}
    for path in sorted(HERE.glob("test_*.py")):
        module = importlib.import_module(path.stem)
        for name, value in vars(module).items():
            arrows: list[tuple[State, State]] = getattr(value, "proves", [])
            if name.startswith("test_") and callable(value):
                for arrow in arrows:
                    at_runtime[arrow].append(f"{path.name}::{name}")
    assert {a: sorted(t) for a, t in from_source.items()} == {
        a: sorted(t) for a, t in at_runtime.items()}


def test_the_check_mode_agrees(tmp_path: Path) -> None:
    out = tmp_path / "state-machine.md"
    args = ["--tests", str(HERE), "--output", str(out)]
    assert docs_gen.main([*args, "--check"]) == 1  # missing
    assert docs_gen.main(args) == 0
    assert out.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")
    assert docs_gen.main([*args, "--check"]) == 0
    out.write_text("stale", encoding="utf-8")
    assert docs_gen.main([*args, "--check"]) == 1


# -- the renderer ---------------------------------------------------------------------------


def test_diagram_draws_every_arrow_with_its_label() -> None:
    diagram = docs_gen.mermaid_diagram()
    assert diagram.startswith("stateDiagram-v2\n")
    assert "    [*] --> CLOSED" in diagram
    assert '    state "SYN-RECEIVED" as SYN_RECEIVED' in diagram
    for (old, new), label in TRANSITIONS.items():
        assert f"    {old.name} --> {new.name} : {label}" in diagram
    arrows = [line for line in diagram.splitlines() if " --> " in line and "[*]" not in line]
    assert len(arrows) == len(TRANSITIONS)


def test_table_lists_every_arrow_once_and_flags_missing_tests() -> None:
    only_one = {(S.CLOSED, S.LISTEN): ["test_x.py::test_listen", "test_y.py::test_other"]}
    table = docs_gen.arrow_table(only_one)
    rows = table.splitlines()[2:]
    assert len(rows) == len(TRANSITIONS)
    assert rows[0] == ("| 1 | CLOSED | LISTEN | passive OPEN / create TCB | yes | "
                       "`test_x.py::test_listen`<br>`test_y.py::test_other` |")
    assert sum("**no test**" in row for row in rows) == len(TRANSITIONS) - 1
    text_only = [row for row in rows if "| text |" in row]
    assert len(text_only) == len(TRANSITIONS) - len(FIGURE_5_ARROWS)


def test_markers_are_read_from_source() -> None:
    source = (
        "@proves(S.CLOSED, S.LISTEN)\n"
        "@other\n"
        "@kit.proves(State.LISTEN, State.CLOSED)\n"
        "def test_a() -> None: ...\n"
        "def test_b() -> None: ...\n"
    )
    assert docs_gen.markers_in(source, "t.py") == [
        ((S.CLOSED, S.LISTEN), "t.py::test_a"),
        ((S.LISTEN, S.CLOSED), "t.py::test_a"),
    ]


@pytest.mark.parametrize("source", [
    "@proves(S.CLOSED, S.TIME_WAIT)\ndef test_a() -> None: ...\n",
    "@proves(S.CLOSED)\ndef test_a() -> None: ...\n",
    "@proves(S.NOWHERE, S.LISTEN)\ndef test_a() -> None: ...\n",
])
def test_bad_markers_are_rejected(source: str) -> None:
    with pytest.raises(docs_gen.MarkerError):
        docs_gen.markers_in(source, "t.py")


def test_the_decorator_rejects_an_arrow_that_is_not_in_the_table() -> None:
    with pytest.raises(ValueError, match="not in TRANSITIONS"):
        proves(S.TIME_WAIT, S.ESTABLISHED)


def test_a_marked_test_fails_when_the_arrow_is_not_taken() -> None:
    @proves(S.ESTABLISHED, S.CLOSE_WAIT)
    def test_wrongly_marked() -> None:
        Kit().to_fin_wait_1()

    with pytest.raises(AssertionError, match="no connection took that arrow"):
        test_wrongly_marked()
