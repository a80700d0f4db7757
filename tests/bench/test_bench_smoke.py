"""Every benchmark runs at a tiny size and returns the figures it promises, with sane values.

Timing is not checked (house rule 10: performance is measured by ``make bench``, not by unit
tests); this only makes ``make test`` catch a benchmark that broke.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.__main__ import GOALS, machine, write_outputs
from bench.common import in_fresh_netns, pinned

from bench import (
    bench_inproc,
    bench_lifecycle,
    bench_scale,
    bench_synflood,
    bench_timewait,
    bench_tun,
    profile_hot,
)

CAN_TUN = (os.geteuid() == 0 and os.path.exists("/dev/net/tun")
           and shutil.which("ip") is not None)


def positive(figures: dict[str, float], *keys: str) -> None:
    assert set(keys) <= set(figures), f"missing {set(keys) - set(figures)}"
    for key in keys:
        assert isinstance(figures[key], float | int) and figures[key] > 0, (key, figures[key])


def test_lifecycle_both_ends_in_memory_and_kernel() -> None:
    bench = bench_lifecycle.InprocLifecycles()
    for _ in range(5):
        bench.one()
    # Every lifecycle leaves the client's end in TIME-WAIT and nothing on the server.
    assert len(bench.client.time_wait) == 5
    assert not bench.server.connections and not bench.client.connections
    assert bench.packets >= 5 * 7
    figures = bench_lifecycle.run(count=10, repeat=1)
    positive(figures, "lifecycle_inproc_per_s", "lifecycle_kernel_per_s", "lifecycle_ratio")
    assert figures["lifecycle_ratio"] == pytest.approx(
        figures["lifecycle_inproc_per_s"] / figures["lifecycle_kernel_per_s"], rel=0.01)


def test_pinning_is_undone() -> None:
    before = os.sched_getaffinity(0)
    with pinned() as cpu:
        assert os.sched_getaffinity(0) == {cpu}
        assert in_fresh_netns(lambda: os.sched_getaffinity(0)) == {cpu}
    assert os.sched_getaffinity(0) == before


def test_inproc_bulk_and_memory() -> None:
    figures = bench_inproc.run(size_mb=1, repeat=1, conns=50)
    positive(figures, "inproc_bulk_MBps", "established_conn_bytes")
    assert 200 < figures["established_conn_bytes"] < 100_000


def test_timewait_scale_synflood() -> None:
    tw = bench_timewait.run(count=2_000, repeat=1, big=0)
    positive(tw, "timewait_record_bytes")
    scale = bench_scale.run(small_n=50, large_n=200, work_conns=20, repeat=1)
    positive(scale, "segment_cost_us_1k", "segment_cost_us_100k",
             "segment_cost_ratio_100k_vs_1k")
    flood = bench_synflood.run(spoofed=300, legit=4, seeds=(7,), flood_us=300_000)
    assert set(flood) == {"synflood_legit_success", "synflood_mem_growth_MB"}
    assert 0.0 <= flood["synflood_legit_success"] <= 1.0
    assert flood["synflood_legit_success"] == 1.0  # no legitimate client loses at this size


@pytest.mark.skipif(not CAN_TUN, reason="needs root, ip and /dev/net/tun")
def test_tun_figures() -> None:
    figures = bench_tun.run(conns=30, size_mb=1, jumbo_mb=2, repeat=1, serve_conns=10)
    positive(figures, "tun_lifecycle_per_s", "tun_bulk_in_MBps", "tun_bulk_out_MBps",
             "tun_bulk_in_jumbo_MBps", "tun_bulk_out_jumbo_MBps", "tun_raw_roundtrips_per_s",
             "tun_raw_roundtrips_2cpu_per_s",
             "tun_bulk_in_offload_MBps", "tun_bulk_in_jumbo_offload_MBps",
             "tun_lifecycle_vs_raw", "tun_lifecycle_serve_per_s")


def test_report_files(tmp_path: Path) -> None:
    results = {key: 1.0 for key in GOALS} | {"lifecycle_inproc_per_s": 10.0,
                                              "tun_lifecycle_per_s": 100.0}
    profiles = profile_hot.markdown("lifecycle", 10)
    assert "SEGMENT ARRIVES" in profiles
    write_outputs(tmp_path, results, machine(), 1.0, profiles)
    data = json.loads((tmp_path / "results.json").read_text())
    assert isinstance(data.pop("machine"), dict)
    assert data == results
    text = (tmp_path / "RESULTS.md").read_text()
    assert "| `lifecycle_ratio` |" in text and "NOT met" in text and "PyTCP" in text
    assert (tmp_path / "results.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
