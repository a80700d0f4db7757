"""``synfin pkt run FILE...``: run packetdrill-format scripts against synfin in virtual time.

Prints PASS or FAIL per file (a failure with its line, expected and actual), lines that were
skipped or mapped, then ``N passed, M failed``. Exit 0 when every script passes, 1 when one
fails, 2 when a script is malformed (the error names the file and line).
"""

from __future__ import annotations

import argparse
import sys

from synfin.cli.args import Parser, UsageError
from synfin.pkt import ScriptError, parse_file, run_script
from synfin.pkt.nodes import Script


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("pkt", help="run packetdrill-format scripts against synfin")
    actions = p.add_subparsers(dest="action", required=True, parser_class=Parser,
                               metavar="{run}")
    run = actions.add_parser("run", help="run scripts; PASS/FAIL per file")
    run.add_argument("files", nargs="+", metavar="FILE", help="packetdrill scripts (.pkt)")
    run.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VAL]",
                     help="define NAME for #ifdef (and replace the word NAME by VAL)")
    run.add_argument("--tolerance-usecs", type=int, default=None, metavar="N",
                     help="timing tolerance in microseconds (default 4000; a script's "
                          "--tolerance_usecs line overrides it)")
    run.add_argument("--verbose", action="store_true",
                     help="print every packet and call as it happens")


def parse_defines(items: list[str]) -> dict[str, str]:
    defines: dict[str, str] = {}
    for item in items:
        name, _, value = item.partition("=")
        if not name or not name.replace("_", "a").isalnum():
            raise UsageError(f"-D expects NAME or NAME=VALUE, not {item!r}")
        defines[name] = value
    return defines


def run(args: argparse.Namespace) -> int:
    defines = parse_defines(args.defines)
    if args.tolerance_usecs is not None and args.tolerance_usecs < 0:
        raise UsageError("--tolerance-usecs must not be negative")
    scripts: list[Script] = []
    errors = 0
    for path in args.files:
        try:
            scripts.append(parse_file(path, defines))
        except ScriptError as exc:
            sys.stderr.write(f"synfin: error: {exc}\n")
            errors += 1
    if errors:
        return 2
    passed = failed = 0
    for script in scripts:
        try:
            result = run_script(script, args.tolerance_usecs, args.verbose)
        except ScriptError as exc:
            sys.stderr.write(f"synfin: error: {exc}\n")
            errors += 1
            continue
        for entry in result.log:
            print(f"    {entry}")
        if result.passed:
            passed += 1
            print(f"PASS {script.path}")
        else:
            failed += 1
            print(f"FAIL {script.path}")
            print(f"  line {result.line}: {result.message}")
        for note in result.notes:
            print(f"  note: line {note.line}: {note.text}")
    print(f"{passed} passed, {failed} failed")
    if errors:
        return 2
    return 0 if failed == 0 else 1
