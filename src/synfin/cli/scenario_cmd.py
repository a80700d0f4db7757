"""``synfin scenario list|run`` and ``synfin demo``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from synfin.cli.args import Parser, UsageError, seconds_value, seed_value
from synfin.cli.outputs import check_writable, write_views
from synfin.scenarios import SCENARIOS, Options, ScenarioRun, run_scenario
from synfin.scenarios.catalogue import view_records
from synfin.scenarios.world import CLIENT_IP, SERVER_IP
from synfin.states import State
from synfin.trace.ladder import format_duration, render_ladder
from synfin.trace.records import StateChange
from synfin.trace.sstable import connection_states, render_ss
from synfin.variants import KNOWN


def add_parsers(sub: argparse._SubParsersAction[Parser]) -> None:
    scen = sub.add_parser("scenario", help="list or run the scenario catalogue")
    ssub = scen.add_subparsers(dest="action", required=True, metavar="{list,run}")
    ssub.add_parser("list", help="list the scenarios")
    run = ssub.add_parser("run", help="run one scenario")
    run.add_argument("name", help="scenario name (see 'synfin scenario list')")
    add_run_options(run)
    demo = sub.add_parser("demo", help="run the normal lifecycle and write its views to ./out")
    demo.add_argument("--out", default="out", help="directory for the files (default: out)")
    demo.add_argument("--color", action="store_true", help="ANSI colours in the ladder")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=seed_value, default=1, help="random seed (default 1)")
    p.add_argument("--variant", action="append", default=[], choices=sorted(KNOWN),
                   help="counterfactual protocol variant (repeatable)")
    p.add_argument("--time-wait", type=seconds_value, metavar="SECONDS",
                   help="TIME-WAIT length (2MSL) in seconds; default 60")
    p.add_argument("--pcap", metavar="FILE", help="write a pcap file")
    p.add_argument("--svg", metavar="FILE", help="write an SVG ladder diagram")
    p.add_argument("--mermaid", metavar="FILE", help="write a Mermaid sequenceDiagram")
    p.add_argument("--trace", metavar="FILE", help="write the JSON-lines trace")
    p.add_argument("--unicode", action="store_true", help="box-drawing ladder")
    p.add_argument("--color", action="store_true", help="ANSI colours in the ladder")
    p.add_argument("--no-ladder", action="store_true", help="do not print the ladder")


def list_scenarios() -> int:
    width = max(len(name) for name in SCENARIOS)
    for name, scenario in SCENARIOS.items():
        variants = f"  [variants: {', '.join(scenario.variants)}]" if scenario.variants else ""
        print(f"{name:<{width}}  {scenario.title}{variants}")
    print("\nrun one with: synfin scenario run NAME [--seed N] [--variant V] [--time-wait S] "
          "[--pcap F] [--svg F] [--mermaid F] [--trace F]")
    return 0


def run_named(args: argparse.Namespace) -> int:
    scenario = SCENARIOS.get(args.name)
    if scenario is None:
        raise UsageError(f"unknown scenario {args.name!r} (see 'synfin scenario list')")
    time_wait = None if args.time_wait is None else round(args.time_wait * 1_000_000)
    options = Options(args.seed, frozenset(args.variant), time_wait)
    check_writable(args.pcap, args.svg, args.mermaid, args.trace)
    run = run_scenario(scenario, options)
    print_run(run, unicode=args.unicode, color=args.color, ladder=not args.no_ladder)
    shown = view_records(run)
    if shown is run.records:
        written = write_views(run.records, pcap=args.pcap, svg=args.svg, mermaid=args.mermaid,
                              trace=args.trace, title=scenario.title)
    else:  # the diagrams show the focus connection; pcap and trace keep everything
        written = write_views(run.records, pcap=args.pcap, trace=args.trace)
        written += write_views(shown, svg=args.svg, mermaid=args.mermaid, title=scenario.title)
    for line in written:
        print(f"wrote {line}")
    return 0


def demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror or exc}") from None
    scenario = SCENARIOS["normal-lifecycle"]
    run = run_scenario(scenario, Options())
    color = args.color or sys.stdout.isatty()
    print_run(run, unicode=False, color=color, ladder=True)
    base = out / scenario.name
    written = write_views(run.records, pcap=f"{base}.pcap", svg=f"{base}.svg",
                          mermaid=f"{base}.mmd", trace=f"{base}.jsonl", title=scenario.title)
    print("Files written:")
    for line in written:
        print(f"  {line}")
    print("\nOpen the pcap in Wireshark (or: tshark -r out/normal-lifecycle.pcap), the SVG in "
          "any browser,\npaste the .mmd into a Mermaid viewer. Other situations:\n"
          "  synfin scenario list\n"
          "  synfin scenario run lost-last-ack\n"
          "  synfin scenario run lost-last-ack --variant no-time-wait\n"
          "  synfin scenario run old-duplicate-syn --variant two-way-handshake")
    return 0


def print_run(run: ScenarioRun, *, unicode: bool, color: bool, ladder: bool) -> None:
    scenario = run.scenario
    variants = f"  (variants: {', '.join(sorted(run.options.variants))})" \
        if run.options.variants else ""
    print(f"== {scenario.name}: {scenario.title}{variants}\n")
    print(_wrap(scenario.why) + "\n")
    if ladder:
        print(render_ladder(view_records(run), unicode=unicode, color=color))
    print(summary(run))


#: A summary lists at most this many connections per host (and apps, TIME-WAIT endings, ss
#: rows); the rest is counted. Floods and pile-ups have hundreds.
MAX_LISTED = 6


def summary(run: ScenarioRun) -> str:
    """What happened, in a few lines: each connection's state path and each app's outcome,
    then what the scenario reports (rates, queue sizes, memory) and the ``ss`` view."""
    world = run.world
    lines = ["Outcome:"]
    for host, other in ((CLIENT_IP, SERVER_IP), (SERVER_IP, CLIENT_IP)):
        paths = [f"  {cid}: {' -> '.join(world.states(host, cid))}"
                 for cid in world.conn_ids(host) if cid.remote_ip == other]
        lines += _capped(paths, f"connections on {host}")
    apps = []
    for peer in world.all_peers():
        error = f", error: {peer.error}" if peer.error else ""
        apps.append(f"  app on {peer.conn.conn_id}: sent {peer.sent} B, received "
                    f"{len(peer.received)} B{error}")
    lines += _capped(apps, "apps")
    lines += _capped(_time_wait_lines(run), "TIME-WAIT endings")
    if run.scenario.report is not None:
        lines.append("\nMeasured:")
        lines += [f"  {line}" for line in run.scenario.report(world)]
    rows = connection_states(run.records, world.net.now)
    if rows:
        lines.append(f"\nConnections still open at t={world.net.now / 1e6:.3f}s (ss -tan):")
        lines.append(_capped_table(render_ss(rows).rstrip()))
    lines.append(f"\nVirtual time elapsed: {format_duration(world.net.now)}")
    return "\n".join(lines) + "\n"


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= MAX_LISTED:
        return lines
    return [*lines[:MAX_LISTED], f"  ... and {len(lines) - MAX_LISTED} more {what}"]


def _capped_table(table: str) -> str:
    """An ``ss`` table with at most MAX_LISTED rows; the per-state total line stays."""
    header, *rows, total = table.splitlines()
    if len(rows) <= MAX_LISTED:
        return table
    more = f"... and {len(rows) - MAX_LISTED} more rows"
    return "\n".join([header, *rows[:MAX_LISTED], more, total])


def _time_wait_lines(run: ScenarioRun) -> list[str]:
    entered: dict[object, int] = {}
    lines = []
    for rec in run.records:
        if not isinstance(rec, StateChange):
            continue
        key = (rec.host, rec.conn)
        if rec.new is State.TIME_WAIT:
            entered[key] = rec.t
        elif rec.old is State.TIME_WAIT and key in entered:
            lines.append(f"  {rec.conn} stayed in TIME-WAIT "
                         f"{format_duration(rec.t - entered.pop(key))}")
    return lines


def _wrap(text: str, width: int = 96) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return "\n".join(lines)
