"""Generate ``docs/state-machine.md`` from the transition table and the tests that prove it.

The diagram and the table are rendered from :data:`synfin.states.TRANSITIONS`, the same table
every state change is checked against (house rule 1), so the picture cannot drift from the code.
The tests come from the ``@proves(old, new)`` markers in ``tests/states``: each marked test fails
unless a connection in it really took that arrow, and ``tests/states/test_state_doc.py`` fails
when an arrow has no test or when this file is out of date.

Rewrite the document with ``python -m synfin.docs_gen`` (``--check`` only compares).
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from synfin.states import FIGURE_5_ARROWS, TRANSITIONS, State

Arrow = tuple[State, State]

#: The repository this module sits in (``src/synfin/docs_gen.py``).
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TESTS = REPO_ROOT / "tests" / "states"
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "state-machine.md"
#: The decorator that marks a test as the proof of an arrow (``tests/states/statekit.py``).
MARKER = "proves"


class MarkerError(ValueError):
    """A ``@proves(...)`` marker the generator cannot read."""


# -- collecting the markers -----------------------------------------------------------------


def _state_of(node: ast.expr, where: str) -> State:
    """``S.CLOSED`` or ``State.CLOSED`` -> State.CLOSED."""
    if isinstance(node, ast.Attribute) and node.attr in State.__members__:
        return State[node.attr]
    raise MarkerError(f"{where}: @{MARKER} wants State members, got {ast.unparse(node)}")


def _is_marker(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == MARKER) or (
        isinstance(func, ast.Attribute) and func.attr == MARKER)


def markers_in(source: str, filename: str) -> list[tuple[Arrow, str]]:
    """Every ``(arrow, "file.py::test_name")`` that ``@proves`` markers in ``source`` name,
    in the order of the source."""
    found: list[tuple[Arrow, str]] = []
    for node in _test_functions(ast.parse(source, filename)):
        test_id = f"{filename}::{node.name}"
        for deco in node.decorator_list:
            if not _is_marker(deco):
                continue
            assert isinstance(deco, ast.Call)
            if len(deco.args) != 2 or deco.keywords:
                raise MarkerError(f"{test_id}: @{MARKER} takes two states")
            arrow = (_state_of(deco.args[0], test_id), _state_of(deco.args[1], test_id))
            if arrow not in TRANSITIONS:
                raise MarkerError(f"{test_id}: {arrow[0]} -> {arrow[1]} is not in TRANSITIONS")
            found.append((arrow, test_id))
    return found


def _test_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    """The module-level functions, in source order: what pytest collects as tests here
    (a marked function nested inside a test is that test's data, not a test)."""
    return [node for node in tree.body if isinstance(node, ast.FunctionDef)]


def collect_arrow_tests(tests_dir: Path = DEFAULT_TESTS) -> dict[Arrow, list[str]]:
    """Map every arrow of TRANSITIONS to the tests marked as proving it (possibly none)."""
    arrow_tests: dict[Arrow, list[str]] = {arrow: [] for arrow in TRANSITIONS}
    for path in sorted(tests_dir.glob("*.py")):
        for arrow, test_id in markers_in(path.read_text(encoding="utf-8"), path.name):
            arrow_tests[arrow].append(test_id)
    return arrow_tests


# -- rendering ------------------------------------------------------------------------------


def _node(state: State) -> str:
    """A Mermaid state id: the enum name (RFC names contain hyphens)."""
    return state.name


def _mermaid_label(label: str) -> str:
    """Mermaid ends a transition label at a newline and reads ``:``/``;`` specially."""
    return label.replace(":", " -").replace(";", ",").replace("\n", " ")


def mermaid_diagram() -> str:
    """A Mermaid ``stateDiagram-v2`` of TRANSITIONS, each arrow labelled from the table."""
    lines = ["stateDiagram-v2"]
    for state in State:
        if state.value != state.name:
            lines.append(f'    state "{state.value}" as {_node(state)}')
    lines.append(f"    [*] --> {_node(State.CLOSED)}")
    for (old, new), label in TRANSITIONS.items():
        lines.append(f"    {_node(old)} --> {_node(new)} : {_mermaid_label(label)}")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def arrow_table(arrow_tests: Mapping[Arrow, Sequence[str]]) -> str:
    """A Markdown table: every arrow, its RFC label, whether Figure 5 draws it, its tests."""
    rows = [
        "| # | From | To | Event / action (RFC 9293) | Figure 5 | Proved by |",
        "|---|------|----|---------------------------|----------|-----------|",
    ]
    for number, ((old, new), label) in enumerate(TRANSITIONS.items(), start=1):
        tests = arrow_tests.get((old, new), ())
        proof = "<br>".join(f"`{t}`" for t in tests) if tests else "**no test**"
        figure = "yes" if (old, new) in FIGURE_5_ARROWS else "text"
        rows.append(f"| {number} | {old} | {new} | {_cell(label)} | {figure} | {proof} |")
    return "\n".join(rows)


def state_machine_markdown(arrow_tests: Mapping[Arrow, Sequence[str]]) -> str:
    """The whole of ``docs/state-machine.md``."""
    proved = sum(1 for arrow in TRANSITIONS if arrow_tests.get(arrow))
    marks = sum(len(arrow_tests.get(arrow, ())) for arrow in TRANSITIONS)
    return "\n".join([
        "# The TCP state machine in synfin",
        "",
        "<!-- Generated by `python -m synfin.docs_gen` from `synfin.states.TRANSITIONS` and the",
        "     `@proves` markers in `tests/states`. Do not edit by hand. -->",
        "",
        "Every state change of a `Connection` goes through `synfin.states.check_transition`,",
        "which allows exactly the arrows below; anything else raises `IllegalTransition`. The",
        "labels are RFC 9293's: the arrows of Figure 5, plus those its text adds (RST, ABORT,",
        "timeouts) in sections 3.10.4 to 3.10.8.",
        "",
        "## Diagram",
        "",
        "```mermaid",
        mermaid_diagram(),
        "```",
        "",
        "## Arrows and the tests that prove them",
        "",
        f"{len(TRANSITIONS)} arrows ({len(FIGURE_5_ARROWS)} drawn in Figure 5), {proved} with "
        f"at least one test, {marks} test markers in all.",
        "",
        "A test marked `@proves(old, new)` drives one connection to `old` by a real exchange "
        "(open, segments, close calls; never by setting fields) and fails unless the "
        "connection then really takes the arrow to `new`.",
        "",
        arrow_table(arrow_tests),
        "",
    ])


# -- entry point ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synfin.docs_gen",
                                     description="Regenerate docs/state-machine.md.")
    parser.add_argument("--tests", type=Path, default=DEFAULT_TESTS,
                        help="directory holding the @proves-marked state tests")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="the Markdown file to write")
    parser.add_argument("--check", action="store_true",
                        help="only report whether the file is up to date (exit 1 if not)")
    args = parser.parse_args(argv)
    text = state_machine_markdown(collect_arrow_tests(args.tests))
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is out of date: run python -m synfin.docs_gen",
                  file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
