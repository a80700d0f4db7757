"""``synfin pkt run``: PASS/FAIL lines, the closing count, exit codes, -D, tolerance."""

from __future__ import annotations

from pathlib import Path

import pytest

from synfin.cli import main

GOOD = """// RFC 9293 3.10.7.1: a SYN to a closed port gets RST,ACK.
0 < S 0:0(0) win 1000
+0 > R. 0:0(0) ack 1
"""
BAD = """0 < S 0:0(0) win 1000
+0 > R. 0:0(0) ack 2
"""
IFDEF = """0 < S 0:0(0) win 1000
#ifdef RIGHT
+0 > R. 0:0(0) ack 1
#else
+0 > R. 0:0(0) ack 7
#endif
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_pass_and_fail_lines_and_the_count(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = write(tmp_path, "good.pkt", GOOD), write(tmp_path, "bad.pkt", BAD)
    assert main(["pkt", "run", good, bad]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"PASS {good}"
    assert out[1] == f"FAIL {bad}"
    assert out[2] == "  line 2: ack: expected 2 vs actual 1"
    assert out[-1] == "1 passed, 1 failed"
    assert main(["pkt", "run", good]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"


def test_defines_select_ifdef_branches(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    script = write(tmp_path, "ifdef.pkt", IFDEF)
    assert main(["pkt", "run", script]) == 1
    assert main(["pkt", "run", "-D", "RIGHT", script]) == 0
    assert main(["pkt", "run", "-D", "RIGHT=1", script]) == 0
    capsys.readouterr()


def test_malformed_script_names_file_and_line_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, "good.pkt", GOOD)
    bad = write(tmp_path, "broken.pkt", "0 < S 0:0(0) win 1000\n+0 > Z 0:0(0)\n")
    assert main(["pkt", "run", good, bad]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"synfin: error: {bad}:2: Invalid TCP flag: 'Z'\n"
    missing = str(tmp_path / "nope.pkt")
    assert main(["pkt", "run", missing]) == 2
    assert capsys.readouterr().err.startswith(f"synfin: error: {missing}:0: cannot read")


def test_tolerance_and_verbose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    late = write(tmp_path, "late.pkt", "0 < S 0:0(0) win 1000\n+.003 > R. 0:0(0) ack 1\n")
    assert main(["pkt", "run", late]) == 0
    assert main(["pkt", "run", "--tolerance-usecs", "1000", late]) == 1
    assert "timing error" in capsys.readouterr().out
    assert main(["pkt", "run", "--verbose", late]) == 0
    out = capsys.readouterr().out
    assert "    0.000000 < S 0:0(0) win 1000" in out
    assert "    0.000000 > R. 0:0(0) ack 1 win 0" in out


def test_skipped_lines_are_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = write(tmp_path, "cmd.pkt", "`defaults.sh`\n" + GOOD)
    assert main(["pkt", "run", script]) == 0
    out = capsys.readouterr().out
    assert "  note: line 1: skipped shell command `defaults.sh` (not run)" in out


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["pkt", "run"])
    assert info.value.code == 2
    assert main(["pkt", "run", "-D", "=x", "a.pkt"]) == 2
    assert "-D expects NAME" in capsys.readouterr().err
