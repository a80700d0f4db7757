"""``synfin ss --live``: the table of a trace that is still being written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synfin.cli import main

STATE = {"t": 5, "host": "10.0.0.2", "conn": "10.0.0.2:80-10.0.0.1:40000", "event": "state",
         "from": "SYN-RECEIVED", "to": "ESTABLISHED", "cause": "rcv ACK of SYN / x"}


def test_live_table_ignores_a_half_written_last_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps(STATE) + "\n" + '{"t": 9, "host": "10.0')  # still writing
    assert main(["ss", "--trace", str(trace), "--live", "--count", "2", "--interval", "0"]) == 0
    out = capsys.readouterr().out
    assert out.count("ESTABLISHED  -") == 2
    assert out.count("Total: 1 (ESTABLISHED 1)") == 2


def test_live_table_follows_new_records(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.jsonl"
    trace.write_text(json.dumps(STATE) + "\n")
    assert main(["ss", "--trace", str(trace), "--live", "--count", "1"]) == 0
    closed = dict(STATE, t=9, **{"from": "ESTABLISHED", "to": "CLOSE-WAIT"})
    with trace.open("a") as stream:
        stream.write(json.dumps(closed) + "\n")
    assert main(["ss", "--trace", str(trace), "--live", "--count", "1"]) == 0
    first, second = capsys.readouterr().out.split("-- ")[1:]
    assert "ESTABLISHED" in first and "CLOSE-WAIT" in second


def test_live_without_readable_trace_is_a_one_line_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ss", "--trace", str(tmp_path / "missing"), "--live", "--count", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot read" in err
