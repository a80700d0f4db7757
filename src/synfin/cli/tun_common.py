"""What ``synfin serve`` and ``synfin connect`` share: TUN options, the driver, the trace."""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path
from typing import IO

from synfin.cli.args import Parser, UsageError, seed_value
from synfin.cli.outputs import check_writable
from synfin.drivers.faults import FaultSpec
from synfin.drivers.tun import TunDriver
from synfin.trace.jsonl import JsonlSink
from synfin.trace.ladder import render_ladder
from synfin.trace.records import NULL_SINK, ListSink, TeeSink, TraceSink


def probability(text: str) -> float:
    """A probability in ``[0, 1]``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability, not {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"probability must be in [0, 1], not {text}")
    return value


def milliseconds(text: str) -> int:
    """A non-negative number of milliseconds, returned as microseconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds, not {text!r}") from None
    if not 0.0 <= value < 3_600_000:
        raise argparse.ArgumentTypeError(f"milliseconds must be in [0, 3600000), not {text}")
    return round(value * 1000)


def ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {text!r}") from None


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, not {value}")
    return value


def add_tun_options(p: Parser) -> None:
    p.add_argument("--tun", metavar="DEV", required=True,
                   help="TUN device (created if absent; give its kernel side an address and "
                        "bring it up)")
    p.add_argument("--addr", metavar="IP", type=ipv4, required=True,
                   help="the IPv4 address synfin answers as (on the TUN's subnet)")
    p.add_argument("--trace", metavar="FILE",
                   help="write the JSON-lines trace (flushed per record)")
    p.add_argument("--ladder", metavar="FILE",
                   help="at exit, write the ladder diagram of the run (kept in memory)")
    p.add_argument("--seed", type=seed_value, help="seed for the stack and the fault injection")
    p.add_argument("--loss", type=probability, default=0.0, metavar="P",
                   help="drop each packet with probability P, both directions")
    p.add_argument("--duplicate", type=probability, default=0.0, metavar="P",
                   help="duplicate each packet with probability P, both directions")
    p.add_argument("--reorder", type=probability, default=0.0, metavar="P",
                   help="hold a packet back 3 ms with probability P (reordering)")
    p.add_argument("--delay", type=milliseconds, default=0, metavar="MS",
                   help="extra one-way delay in milliseconds, both directions")


class TraceFile:
    """The ``--trace`` file, open for streaming, and the ``--ladder`` records, or nothing."""

    def __init__(self, path: str | None, ladder: str | None = None) -> None:
        self.path = path
        self.ladder = ladder
        self.stream: IO[str] | None = None
        self.records: ListSink | None = None
        sinks: list[TraceSink] = []
        check_writable(path, ladder)
        if path:
            self.stream = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed in close())
            sinks.append(JsonlSink(self.stream))
        if ladder:
            self.records = ListSink()
            sinks.append(self.records)
        self.sink: TraceSink = NULL_SINK if not sinks else sinks[0] if len(sinks) == 1 \
            else TeeSink(*sinks)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if self.ladder and self.records is not None:
            text = render_ladder(self.records.records, width=100)
            Path(self.ladder).write_text(text + "\n", encoding="utf-8")
            self.records = None


def open_driver(args: argparse.Namespace, sink: TraceSink) -> TunDriver:
    """The TUN driver the options describe; a clear one-line error when it cannot open."""
    spec = FaultSpec(loss=args.loss, duplicate=args.duplicate, reorder=args.reorder,
                     delay_us=args.delay)
    try:
        return TunDriver(args.tun, args.addr, seed=args.seed, sink=sink, faults_in=spec,
                         faults_out=spec)
    except OSError as exc:
        raise UsageError(f"cannot open TUN device {args.tun}: {exc.strerror or exc}") from None
