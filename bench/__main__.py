"""``python -m bench``: run every benchmark, write bench/results.json and bench/RESULTS.md.

Each figure is measured in this run; ratios compare two measurements made in the same
process, so they do not depend on how fast the machine is.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import bench_scale, bench_synflood, bench_timewait

HERE = Path(__file__).resolve().parent

#: (name, run function, goals: key -> (comparison, target))
BENCHMARKS: list[tuple[str, Callable[[], dict[str, float]], dict[str, tuple[str, float]]]] = [
    ("timewait", bench_timewait.run, {"timewait_record_bytes": ("<=", 200),
                                       "timewait_record_bytes_1m": ("<=", 200)}),
    ("scale", bench_scale.run, {"segment_cost_ratio_100k_vs_1k": ("<=", 1.2)}),
    ("synflood", bench_synflood.run, {"synflood_legit_success": (">=", 1.0),
                                       "synflood_mem_growth_MB": ("<", 10)}),
]


def machine() -> dict[str, str | int]:
    import os

    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count() or 0, "processor": platform.processor() or "unknown"}


def meets(value: float, comparison: str, target: float) -> bool:
    return {"<=": value <= target, "<": value < target, ">=": value >= target}[comparison]


def main(argv: list[str]) -> int:
    only = set(argv)
    results: dict[str, object] = {"machine": machine()}
    rows = []
    for name, run, goals in BENCHMARKS:
        if only and name not in only:
            continue
        start = time.perf_counter()
        figures = run()
        elapsed = time.perf_counter() - start
        print(f"{name}: {figures} ({elapsed:.1f}s)", flush=True)
        results.update(figures)
        for key, value in figures.items():
            goal = goals.get(key)
            verdict = "" if goal is None else ("met" if meets(value, *goal) else "NOT met")
            target = "" if goal is None else f"{goal[0]} {goal[1]}"
            rows.append(f"| {key} | {value} | {target} | {verdict} |")
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = ["| figure | value | goal | |", "|---|---|---|---|", *rows]
    (HERE / "RESULTS.md").write_text("# Benchmark results\n\nWritten by `make bench` "
                                     "(`python -m bench`).\n\n" + "\n".join(table) + "\n")
    print(f"wrote {HERE / 'results.json'} and {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
