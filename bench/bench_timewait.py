"""Bytes per TIME-WAIT record (issue 5 goal <= 200 B each, also at 1,000,000 records).

Measured with tracemalloc around filling a :class:`~synfin.timewait.TimeWaitTable` with
distinct 4-tuples, as the stack files connections entering TIME-WAIT.
"""

from __future__ import annotations

from bench.common import median_of, traced_bytes
from synfin.timewait import TimeWaitTable, time_wait_key


def fill(count: int) -> TimeWaitTable:
    table = TimeWaitTable(60_000_000, max_buckets=count)
    for i in range(count):
        remote = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        key = time_wait_key(remote, 80, 1024 + i % 60000)
        table.add(key, 1_000_000 + i, 2_000_000 + i, 3_000_000 + i, 4_000_000 + i, 7, 65535, i)
    return table


def bytes_per_record(count: int) -> float:
    table, used = traced_bytes(lambda: fill(count))
    assert len(table) == count
    return used / count


def run(count: int = 100_000, repeat: int = 3, big: int = 1_000_000) -> dict[str, float]:
    """Median of ``repeat`` fillings at ``count`` records (tracemalloc counts are nearly
    deterministic, so one filling suffices at the ``big`` size)."""
    out = {"timewait_record_bytes": round(median_of(lambda: bytes_per_record(count), repeat), 1)}
    if big:
        out["timewait_record_bytes_1m"] = round(bytes_per_record(big), 1)
    return out


if __name__ == "__main__":
    print(run())
