"""``synfin ss --trace FILE``: the connection table of a JSON-lines trace."""

from __future__ import annotations

import argparse
import json

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


def run(args: argparse.Namespace) -> int:
    try:
        events = read_jsonl(args.trace)
    except OSError as exc:
        raise UsageError(f"cannot read {args.trace}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, ValueError) as exc:
        raise UsageError(f"{args.trace} is not a JSON-lines trace: {exc}") from None
    changes = [state_change(e) for e in events if e.get("event") == "state"]
    at = None if args.at is None else round(args.at * 1_000_000)
    rows = connection_states(changes, at, include_closed=args.all)
    print(render_ss(rows, names="ss" if args.ss_names else "rfc"), end="")
    return 0


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
