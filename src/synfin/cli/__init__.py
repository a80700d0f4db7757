"""The ``synfin`` command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from synfin import __version__
from synfin.cli import connect_cmd, netns_cmd, pkt_cmd, scenario_cmd, serve_cmd, ss_cmd
from synfin.cli.args import Parser, UsageError


def build_parser() -> Parser:
    parser = Parser(prog="synfin", description="synfin: see and test how TCP opens and closes "
                                               "connections.")
    parser.add_argument("--version", action="version", version=f"synfin {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser,
                                metavar="{demo,scenario,ss,pkt,serve,connect,netns}")
    scenario_cmd.add_parsers(sub)
    ss_cmd.add_parser(sub)
    pkt_cmd.add_parser(sub)
    serve_cmd.add_parser(sub)
    connect_cmd.add_parser(sub)
    netns_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            return scenario_cmd.demo(args)
        if args.command == "scenario":
            if args.action == "list":
                return scenario_cmd.list_scenarios()
            return scenario_cmd.run_named(args)
        if args.command == "ss":
            return ss_cmd.run(args)
        if args.command == "pkt":
            return pkt_cmd.run(args)
        if args.command == "serve":
            return serve_cmd.run(args)
        if args.command == "connect":
            return connect_cmd.run(args)
        if args.command == "netns":
            return netns_cmd.run(args)
    except UsageError as exc:
        sys.stderr.write(f"synfin: error: {exc}\n")
        return 2
    except BrokenPipeError:
        return 0
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
