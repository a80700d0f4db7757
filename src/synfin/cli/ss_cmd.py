"""``synfin ss --trace FILE [--live]``: the connection table of a JSON-lines trace, once or
refreshed as a running ``synfin serve``/``connect`` appends to it."""

from __future__ import annotations

import argparse
import json
import sys
import time

from synfin.cli.args import Parser, UsageError, seconds_value
from synfin.states import State
from synfin.trace.jsonl import read_jsonl
from synfin.trace.records import ConnId, StateChange
from synfin.trace.sstable import connection_states, render_ss


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("ss", help="connections and their states, like ss -tan")
    p.add_argument("--trace", metavar="FILE", required=True, help="JSON-lines trace to read")
    p.add_argument("--at", type=seconds_value, metavar="SECONDS",
                   help="the table at this time (default: the end of the trace)")
    p.add_argument("--all", action="store_true", help="include CLOSED connections")
    p.add_argument("--ss-names", action="store_true", help="ESTAB/SYN-RECV like Linux ss")
    p.add_argument("--live", action="store_true",
                   help="keep refreshing the table as the trace grows (Ctrl-C stops)")
    p.add_argument("--interval", type=seconds_value, default=1.0, metavar="SECONDS",
                   help="refresh period with --live (default 1)")
    p.add_argument("--count", type=int, metavar="N", help="with --live: stop after N tables")


def run(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    if not args.live:
        print(table(args, read_events(args.trace, live=False)), end="")
        return 0
    shown = 0
    try:
        while args.count is None or shown < args.count:
            if shown:
                time.sleep(args.interval)
            text = table(args, read_events(args.trace, live=True))
            if sys.stdout.isatty():
                sys.stdout.write("\x1b[H\x1b[2J")
            print(f"-- {time.strftime('%H:%M:%S')} {args.trace}")
            print(text, end="", flush=True)
            shown += 1
    except KeyboardInterrupt:
        pass
    return 0


def table(args: argparse.Namespace, events: list[dict[str, object]]) -> str:
    changes = [state_change(e) for e in events if e.get("event") == "state"]
    at = None if args.at is None else round(args.at * 1_000_000)
    rows = connection_states(changes, at, include_closed=args.all)
    return render_ss(rows, names="ss" if args.ss_names else "rfc")


def read_events(path: str, *, live: bool) -> list[dict[str, object]]:
    """The trace's records. While a program is still writing (``live``), a last line that is
    not complete yet is left for the next refresh."""
    if not live:
        try:
            return read_jsonl(path)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, ValueError) as exc:
            raise UsageError(f"{path} is not a JSON-lines trace: {exc}") from None
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    lines = text.split("\n")
    events = []
    for number, line in enumerate(lines[:-1] if not text.endswith("\n") else lines, 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number} is not JSON: {exc}") from None
    return events


def state_change(event: dict[str, object]) -> StateChange:
    """A JSON-lines state event back as a record (docs/trace-format.md)."""
    try:
        local, remote = str(event["conn"]).split("-")
        lip, lport = local.rsplit(":", 1)
        rip, rport = remote.rsplit(":", 1)
        t = event["t"]
        if not isinstance(t, int):
            raise ValueError("t is not an integer")
        return StateChange(t, str(event["host"]), ConnId(lip, int(lport), rip, int(rport)),
                           State(event["from"]), State(event["to"]), str(event.get("cause", "")))
    except (KeyError, ValueError) as exc:
        raise UsageError(f"bad state event {event!r}: {exc}") from None
