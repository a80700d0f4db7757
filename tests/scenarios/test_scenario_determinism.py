"""One seed, one run: the same seed gives the same bytes (pcap and JSON lines), in the same
process and across processes with different hash seeds; another seed gives another run."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from synfin.scenarios import SCENARIOS, Options, ScenarioRun, run_scenario
from synfin.trace.jsonl import write_jsonl
from synfin.trace.pcap import pcap_bytes
from synfin.trace.records import LinkEvent

CASES: list[tuple[str, frozenset[str]]] = [(name, frozenset[str]()) for name in SCENARIOS] + [
    (name, frozenset({variant})) for name, s in SCENARIOS.items() for variant in s.variants]


def _fresh(name: str, seed: int, variants: frozenset[str] = frozenset()) -> ScenarioRun:
    return run_scenario(SCENARIOS[name], Options(seed, variants))


def _jsonl(run: ScenarioRun) -> str:
    out = io.StringIO()
    write_jsonl(run.records, out)
    return out.getvalue()


@pytest.mark.parametrize(("name", "variants"), CASES,
                         ids=[f"{n}{'+' + '+'.join(sorted(v)) if v else ''}" for n, v in CASES])
def test_same_seed_same_bytes(name: str, variants: frozenset[str]) -> None:
    first, second = _fresh(name, 7, variants), _fresh(name, 7, variants)
    assert first.records  # something happened
    pcap = pcap_bytes(first.records)
    assert len(pcap) > 24  # more than the global header
    assert pcap_bytes(second.records) == pcap
    assert _jsonl(second) == _jsonl(first)


def test_another_seed_another_run() -> None:
    one, two = _fresh("random-loss-transfer", 1), _fresh("random-loss-transfer", 2)
    assert pcap_bytes(one.records) != pcap_bytes(two.records)
    assert _jsonl(one) != _jsonl(two)

    def faults(run: ScenarioRun) -> list[tuple[int, str]]:
        return [(r.t, r.fault) for r in run.records if isinstance(r, LinkEvent) and r.fault]

    # Not only the ISNs: the network's random faults hit other packets.
    assert faults(one) and faults(two) and faults(one) != faults(two)
    # Both still deliver everything.
    for run in (one, two):
        client, server = run.world.all_peers()
        assert bytes(client.received) == server.script.payload
        assert bytes(server.received) == client.script.payload


def test_same_seed_same_bytes_across_processes(tmp_path: Path) -> None:
    """Nothing depends on Python's per-process hash seed (set or dict iteration order)."""
    in_process = _fresh("random-loss-transfer", 3)
    files = []
    for hash_seed in ("1", "2"):
        pcap, trace = tmp_path / f"run{hash_seed}.pcap", tmp_path / f"run{hash_seed}.jsonl"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-m", "synfin.cli", "scenario", "run", "random-loss-transfer",
             "--seed", "3", "--no-ladder", "--pcap", str(pcap), "--trace", str(trace)],
            env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        files.append((pcap.read_bytes(), trace.read_text()))
    assert files[0] == files[1]
    assert files[0][0] == pcap_bytes(in_process.records)
    assert files[0][1] == _jsonl(in_process)
