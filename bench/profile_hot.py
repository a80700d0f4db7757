"""Where the time goes: cProfile of the in-process benchmarks, grouped by layer.

    .venv/bin/python -m bench.profile_hot [lifecycle|bulk|jumbo] [N]

``make bench`` puts the grouped tables in bench/RESULTS.md. The groups follow the hot path:
codec (``synfin.wire``: parse, emit, checksums, options), demultiplexing and output collection
(``stack.py``), SEGMENT ARRIVES (``connection/arrival.py``), output (``connection/output.py``),
the rest of the connection, the listener, and Python's ``enum`` (``Flags`` operations).
cProfile charges every Python call, so shares lean towards call-heavy code; the relative order
is what guides the work.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from collections.abc import Callable
from pathlib import Path

from bench.bench_inproc import bulk_rate
from bench.bench_lifecycle import InprocLifecycles

GROUPS: list[tuple[str, str]] = [
    ("/synfin/wire/", "codec: parse, emit, checksum, options (synfin/wire)"),
    ("/synfin/stack.py", "demux and output collection (stack.py)"),
    ("/synfin/connection/arrival.py", "SEGMENT ARRIVES (connection/arrival.py)"),
    ("/synfin/connection/output.py", "output: segments to send (connection/output.py)"),
    ("/synfin/connection/", "connection: user calls, timers, core"),
    ("/synfin/listener.py", "listener, half-open records"),
    ("/synfin/handshake.py", "listener, half-open records"),
    ("/synfin/timewait.py", "TIME-WAIT records"),
    ("/synfin/drivers/", "driver loop: select, rounds, TUN read/write (synfin/drivers)"),
    ("/synfin/buffers.py", "send/receive buffers"),
    ("/synfin/", "other synfin (seq, rto, congestion, isn, ...)"),
    ("/enum.py", "Python enum (Flags and State operations)"),
    ("/bench/", "benchmark applications and link"),
    ("posix.write", "os.write to the TUN device (the kernel's work on each packet)"),
    ("posix.read", "os.read from the TUN device"),
    ("epoll", "waiting in epoll"),
]


def group_of(filename: str) -> str:
    for fragment, name in GROUPS:
        if fragment in filename:
            return name
    return "builtins and the rest of Python"


def profile(work: Callable[[], object]) -> pstats.Stats:
    prof = cProfile.Profile()
    prof.enable()
    work()
    prof.disable()
    return pstats.Stats(prof)


def grouped(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time per group, largest first, as shares of the total."""
    totals: dict[str, float] = {}
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = (
        stats.stats)  # type: ignore[attr-defined]
    for (filename, _, name), (_, _, tottime, _, _) in raw.items():
        group = group_of(filename if filename != "~" else name)
        totals[group] = totals.get(group, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    return sorted(((g, t / whole) for g, t in totals.items()), key=lambda x: -x[1])


def top_functions(stats: pstats.Stats, n: int = 12) -> list[tuple[str, int, float]]:
    """(function, calls, share of total own time) for the ``n`` costliest functions."""
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = (
        stats.stats)  # type: ignore[attr-defined]
    whole = sum(v[2] for v in raw.values()) or 1.0
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])[:n]
    out = []
    for (filename, line, name), (_, calls, tottime, _, _) in rows:
        where = Path(filename).name if filename != "~" else ""
        label = f"{where}:{line} {name}" if where else name
        out.append((label, calls, tottime / whole))
    return out


def lifecycle_work(count: int) -> Callable[[], None]:
    bench = InprocLifecycles()
    for _ in range(50):
        bench.one()

    def work() -> None:
        for _ in range(count):
            bench.one()
    return work


WORKLOADS: dict[str, tuple[str, Callable[[int], Callable[[], object]]]] = {
    "lifecycle": ("in-process lifecycle (connect + 1-byte echo + close)", lifecycle_work),
    "bulk": ("in-process bulk, MSS 1460",
             lambda n: lambda: bulk_rate(n * 1_000_000)),
    "jumbo": ("in-process bulk, MSS 65495 (the jumbo TUN path without the device)",
              lambda n: lambda: bulk_rate(n * 1_000_000, mss=65495)),
}


def markdown(name: str, amount: int) -> str:
    """A markdown section: the grouped shares and the top functions of one workload."""
    title, make = WORKLOADS[name]
    return section(title, profile(make(amount)))


def section(title: str, stats: pstats.Stats) -> str:
    """Markdown: own time by group, then the costliest functions."""
    lines = [f"### {title}", "", "| where | share of own time |", "|---|---|"]
    lines += [f"| {group} | {share:.0%} |" for group, share in grouped(stats)]
    lines += ["", "| function | calls | share |", "|---|---|---|"]
    lines += [f"| `{label}` | {calls} | {share:.1%} |"
              for label, calls, share in top_functions(stats)]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    name = argv[0] if argv else "lifecycle"
    amount = int(argv[1]) if len(argv) > 1 else {"lifecycle": 1000}.get(name, 10)
    print(markdown(name, amount))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
