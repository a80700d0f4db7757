"""``python -m bench [NAME ...]``: run the benchmarks, write bench/results.json,
bench/RESULTS.md and bench/results.png.

Every figure is measured in this run, each the median of repeated runs (see each module);
ratios compare two measurements made in the same run on the same pinned CPU, so they do not
depend much on how fast the machine is. ``NAME`` picks benchmarks (``lifecycle``, ``tun``,
``inproc``, ``timewait``, ``scale``, ``synflood``); the files are then written with only those.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import (
    bench_inproc,
    bench_lifecycle,
    bench_scale,
    bench_synflood,
    bench_timewait,
    bench_tun,
    profile_hot,
)
from bench.common import bench_cpus

HERE = Path(__file__).resolve().parent
Goal = tuple[str, float]

#: Comparison and target per figure (issues 5 and 7).
GOALS: dict[str, Goal] = {
    "lifecycle_ratio": (">=", 0.5),
    "tun_lifecycle_per_s": (">=", 5_000),
    "tun_bulk_in_MBps": (">=", 40),
    "tun_bulk_in_jumbo_MBps": (">=", 400),
    "tun_bulk_out_MBps": (">=", 40),
    "timewait_record_bytes": ("<=", 200),
    "timewait_record_bytes_1m": ("<=", 200),
    "segment_cost_ratio_100k_vs_1k": ("<=", 1.2),
    "synflood_legit_success": (">=", 1.0),
    "synflood_mem_growth_MB": ("<", 10),
}

#: What each figure is, for the table.
DESCRIPTIONS: dict[str, str] = {
    "lifecycle_inproc_per_s": "connect + 1-byte echo + close/s, synfin <-> synfin in memory",
    "lifecycle_kernel_per_s": "the same with Python sockets over the kernel's loopback",
    "lifecycle_ratio": "synfin in memory / kernel loopback",
    "tun_lifecycle_per_s": "connect + 1-byte echo + close/s, Linux client -> synfin over TUN",
    "tun_lifecycle_serve_per_s": "the same against `synfin serve echo` (asyncio streams)",
    "tun_bulk_in_MBps": "MB/s Linux -> synfin, TUN MTU 1500",
    "tun_bulk_out_MBps": "MB/s synfin -> Linux, TUN MTU 1500",
    "tun_bulk_in_jumbo_MBps": "MB/s Linux -> synfin, TUN MTU 65535",
    "tun_bulk_out_jumbo_MBps": "MB/s synfin -> Linux, TUN MTU 65535",
    "tun_bulk_in_offload_MBps": "MB/s Linux -> synfin, MTU 1500, driver checksum offload on",
    "tun_bulk_in_jumbo_offload_MBps": "MB/s Linux -> synfin, MTU 65535, checksum offload on",
    "tun_raw_roundtrips_per_s": "bare Python UDP reflect over the TUN device, round trips/s",
    "tun_raw_roundtrips_2cpu_per_s": "the same with the Linux peer on the other CPU",
    "tun_lifecycle_vs_raw": "tun_lifecycle_per_s / tun_raw_roundtrips_per_s",
    "inproc_bulk_MBps": "MB/s synfin -> synfin in memory, MSS 1460",
    "established_conn_bytes": "bytes per ESTABLISHED endpoint (tracemalloc, 5,000 conns)",
    "timewait_record_bytes": "bytes per TIME-WAIT record at 100,000 (tracemalloc)",
    "timewait_record_bytes_1m": "bytes per TIME-WAIT record at 1,000,000",
    "segment_cost_us_1k": "us per segment with 1,000 connections open",
    "segment_cost_us_100k": "us per segment with 100,000 connections open",
    "segment_cost_ratio_100k_vs_1k": "per-segment cost ratio, 100,000 vs 1,000 connections",
    "synflood_legit_success": "legitimate exchanges done within 3 s under a 10,000 SYN/s flood",
    "synflood_mem_growth_MB": "server memory growth during the flood (MB)",
}

#: PyTCP 3.0.9 measured on this kind of machine (issue 7), for comparison.
PYTCP = {"tun_lifecycle_per_s": 180.0, "tun_bulk_in_MBps": 2.6, "tun_bulk_out_MBps": 0.8}

Bench = Callable[[], dict[str, float]]
BENCHMARKS: list[tuple[str, Bench]] = [
    ("lifecycle", bench_lifecycle.run),
    ("inproc", bench_inproc.run),
    ("tun", bench_tun.run),
    ("timewait", bench_timewait.run),
    ("scale", bench_scale.run),
    ("synflood", bench_synflood.run),
]


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                                capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    synfin_cpu, peer_cpu = bench_cpus()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "kernel": platform.release(),
        "cpu_model": model,
        "cpus": os.cpu_count() or 0,
        "pinned_cpu_synfin_and_kernel_reference": synfin_cpu,
        "pinned_cpu_linux_peer": peer_cpu,
        "root": os.geteuid() == 0,
        "commit": commit or "unknown",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def meets(value: float, comparison: str, target: float) -> bool:
    return {"<=": value <= target, "<": value < target, ">=": value >= target}[comparison]


def fmt(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def table(results: dict[str, float]) -> list[str]:
    rows = ["| figure | value | goal | | what |", "|---|---:|---|---|---|"]
    for key, value in results.items():
        goal = GOALS.get(key)
        verdict = "" if goal is None else ("met" if meets(value, *goal) else "**NOT met**")
        target = "" if goal is None else f"{goal[0]} {fmt(goal[1])}"
        rows.append(f"| `{key}` | {fmt(value)} | {target} | {verdict} | "
                    f"{DESCRIPTIONS.get(key, '')} |")
    return rows


def pytcp_rows(results: dict[str, float]) -> list[str]:
    rows = ["| figure | synfin | PyTCP 3.0.9 | synfin / PyTCP |", "|---|---:|---:|---:|"]
    for key, theirs in PYTCP.items():
        if key in results:
            ours = results[key]
            rows.append(f"| `{key}` | {fmt(ours)} | {fmt(theirs)} | {ours / theirs:,.0f}x |")
    return rows


def write_markdown(directory: Path, results: dict[str, float], info: dict[str, object],
                   elapsed: float, profiles: str) -> None:
    met = [k for k, g in GOALS.items() if k in results and meets(results[k], *g)]
    missed = [k for k, g in GOALS.items() if k in results and not meets(results[k], *g)]
    text = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`python -m bench`) in {elapsed:.0f} s on "
        f"{info['cpu_model']} ({info['cpus']} CPUs), Python {info['python']}, "
        f"Linux {info['kernel']}, commit {info['commit']}, {info['date']}.",
        "Each figure is the median of repeated runs. The in-process lifecycle and the kernel "
        f"reference run pinned to CPU {info['pinned_cpu_synfin_and_kernel_reference']}; over "
        f"TUN, synfin's I/O thread runs on CPU {info['pinned_cpu_synfin_and_kernel_reference']}"
        " and the Linux peer (a separate process) on the same CPU for the ping-pong figures "
        f"(lifecycles, raw round trips) and on CPU {info['pinned_cpu_linux_peer']} for bulk "
        "transfers (see bench/bench_tun.py).",
        "",
        f"Goals met: {len(met)} of {len(met) + len(missed)}"
        + (f"; not met: {', '.join(f'`{k}`' for k in missed)}." if missed else "."),
        "",
        *table(results),
        "",
        "## Against PyTCP",
        "",
        "PyTCP 3.0.9, the closest peer (a pure-Python TCP/IP stack over TUN), measured on this "
        "kind of machine: about 180 connections/s for connect + 1-byte echo + close from a "
        "Linux client, 2.6 MB/s Linux -> PyTCP and 0.8 MB/s PyTCP -> Linux (TCP_NODELAY).",
        "",
        *pytcp_rows(results),
        "",
        "![results](results.png)",
        "",
        "## Where the time goes",
        "",
        "cProfile of the in-process workloads (`python -m bench.profile_hot`), own time "
        "grouped by layer. See `bench/NOTES.md` for the analysis of the goals not met and the "
        "optimisation pass.",
        "",
        profiles,
    ]
    (directory / "RESULTS.md").write_text("\n".join(text))


def write_plot(directory: Path, results: dict[str, float]) -> None:
    """bench/results.png: rates against the kernel and PyTCP, and each goal's margin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(20, 6.5), width_ratios=[1.0, 1.3, 1.0])
    conn_keys = [("lifecycle_kernel_per_s", "kernel\nloopback"),
                 ("lifecycle_inproc_per_s", "synfin\nin memory"),
                 ("tun_lifecycle_per_s", "synfin\nover TUN"),
                 ("tun_lifecycle_serve_per_s", "synfin serve\n(asyncio)"),
                 ("tun_raw_roundtrips_per_s", "raw TUN\nround trips")]
    _bars(axes[0], [(label, results[k]) for k, label in conn_keys if k in results]
          + [("PyTCP\nover TUN", PYTCP["tun_lifecycle_per_s"])],
          "connect + 1-byte echo + close per second", "per second",
          goal=GOALS["tun_lifecycle_per_s"][1], goal_label="TUN goal 5,000/s")
    mb_keys = [("tun_bulk_in_MBps", "TUN in 1500"), ("tun_bulk_out_MBps", "TUN out 1500"),
               ("tun_bulk_in_jumbo_MBps", "TUN in 65535"),
               ("tun_bulk_out_jumbo_MBps", "TUN out 65535"),
               ("tun_bulk_in_offload_MBps", "TUN in 1500, offload"),
               ("tun_bulk_in_jumbo_offload_MBps", "TUN in 65535, offload"),
               ("inproc_bulk_MBps", "in memory, MSS 1460")]
    _bars(axes[1], [(label, results[k]) for k, label in mb_keys if k in results]
          + [("PyTCP in", PYTCP["tun_bulk_in_MBps"]), ("PyTCP out", PYTCP["tun_bulk_out_MBps"])],
          "bulk transfer (MB/s)", "MB/s", log=True, rotate=True)
    margins = []
    for key, (comparison, target) in GOALS.items():
        if key in results and results[key] > 0:
            value = results[key]
            margins.append((key, value / target if comparison == ">=" else target / value))
    ax = axes[2]
    names = [k for k, _ in margins]
    values = [m for _, m in margins]
    colors = ["tab:green" if m >= 1 else "tab:red" for m in values]
    ax.barh(range(len(values)), values, color=colors)
    ax.set_yticks(range(len(values)), names, fontsize=8)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if min(values) / 2 <= t <= max(values) * 2]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.invert_yaxis()
    ax.set_title("goals: value / goal (>= 1 is met)")
    fig.suptitle("synfin benchmarks (medians of repeated runs)")
    fig.tight_layout()
    fig.savefig(directory / "results.png", dpi=110)
    plt.close(fig)


def _bars(ax: object, items: list[tuple[str, float]], title: str, ylabel: str, *,
          goal: float | None = None, goal_label: str = "", log: bool = False,
          rotate: bool = False) -> None:
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    labels = [label for label, _ in items]
    values = [value for _, value in items]
    colors = ["tab:gray" if "PyTCP" in label or "kernel" in label or "raw" in label
              else "tab:blue" for label in labels]
    bars = ax.bar(range(len(values)), values, color=colors)
    ax.bar_label(bars, labels=[fmt(v) for v in values], fontsize=8)
    if rotate:
        ax.set_xticks(range(len(values)), labels, fontsize=8, rotation=30, ha="right")
    else:
        ax.set_xticks(range(len(values)), labels, fontsize=8)
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    if goal is not None:
        ax.axhline(goal, color="tab:red", linestyle="--", linewidth=1, label=goal_label)
        ax.legend(fontsize=8)


def main(argv: list[str]) -> int:
    only = set(argv)
    unknown = only - {name for name, _ in BENCHMARKS}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    info = machine()
    results: dict[str, float] = {}
    began = time.perf_counter()
    for name, run in BENCHMARKS:
        if only and name not in only:
            continue
        start = time.perf_counter()
        figures = run()
        print(f"{name}: {figures} ({time.perf_counter() - start:.1f}s)", flush=True)
        results.update(figures)
    profiles = "\n".join(profile_hot.markdown(name, amount)
                         for name, amount in (("lifecycle", 1000), ("jumbo", 50)))
    if not only or "tun" in only:
        tun_stats = bench_tun.profiled_lifecycles(1000)
        if tun_stats is not None:
            profiles += "\n" + profile_hot.section(
                "synfin's I/O thread over TUN while a Linux client runs lifecycles", tun_stats)
    elapsed = time.perf_counter() - began
    write_outputs(HERE, results, info, elapsed, profiles)
    print(f"wrote {HERE / 'results.json'}, {HERE / 'RESULTS.md'} and {HERE / 'results.png'}"
          f" in {elapsed:.0f} s")
    return 0


def write_outputs(directory: Path, results: dict[str, float], info: dict[str, object],
                  elapsed: float, profiles: str) -> None:
    """results.json (the figures and a ``machine`` object), RESULTS.md and results.png."""
    (directory / "results.json").write_text(
        json.dumps({"machine": info, **results}, indent=2) + "\n")
    write_markdown(directory, results, info, elapsed, profiles)
    write_plot(directory, results)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
