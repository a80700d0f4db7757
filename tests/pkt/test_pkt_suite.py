"""synfin's conformance suite: every script under tests/pkt/scripts must pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from synfin.pkt import parse_file, run_script

SCRIPTS = sorted((Path(__file__).parent / "scripts").rglob("*.pkt"))


def test_the_suite_is_there() -> None:
    assert len(SCRIPTS) >= 9


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_script_passes(path: Path) -> None:
    text = path.read_text()
    assert "RFC" in text, "each script cites the RFC rule it checks"
    result = run_script(parse_file(str(path)))
    assert result.passed, f"line {result.line}: {result.message}"
    assert not [n for n in result.notes if "skipped" in n.text], result.notes
