"""Helpers for the pkt interpreter tests: run script text, and a standard server preamble."""

from __future__ import annotations

from synfin.pkt import Result, parse_text, run_script

SERVER = """
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 10000 <mss 1000>
   +0 > S. 0:0(0) ack 1 <mss 1460>
  +.1 < . 1:1(0) ack 1 win 10000
   +0 accept(3, ..., ...) = 4
"""


def run(text: str, tolerance_us: int | None = None,
        defines: dict[str, str] | None = None) -> Result:
    return run_script(parse_text(text, "t.pkt", defines), tolerance_us)


def failure(text: str, tolerance_us: int | None = None) -> str:
    result = run(text, tolerance_us)
    assert not result.passed, "the script was expected to fail"
    return f"line {result.line}: {result.message}"
