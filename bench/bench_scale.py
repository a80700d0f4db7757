"""Per-segment cost with 100,000 open connections relative to 1,000 (issue 5 goal <= 1.2x).

Both measurements run in the same process: N connections are opened with real handshakes,
then the same fixed workload (one data segment and its ACK on each of 1,000 connections,
repeated) is timed. If demux or timers scanned all connections, the ratio would grow with N.
"""

from __future__ import annotations

from bench.common import Wire, make_stack, median_seconds, open_connections
from synfin.config import Config

WORK_CONNS = 1_000
ROUNDS = 3


def per_segment_seconds(total: int, work_conns: int = WORK_CONNS, repeat: int = 5) -> float:
    config = Config(timestamps=True)
    server = make_stack("10.1.0.2", config, seed=2)
    clients = [make_stack(f"10.1.1.{i + 1}", config, seed=10 + i)
               for i in range(max(1, total // 25_000 + 1))]
    conns = open_connections(server, clients, total, now=1_000)
    wire = Wire([server, *clients])
    work = conns[:: max(1, total // work_conns)][:work_conns]
    clock = [2_000]

    def round_trip() -> None:
        for _ in range(ROUNDS):
            clock[0] += 1_000
            now = clock[0]
            for conn in work:
                conn.send(b"x", now)
            wire.settle(now)

    seconds = median_seconds(round_trip, repeat=repeat)
    segments = ROUNDS * len(work) * 2  # a data segment and its ACK each
    return seconds / segments


def run(small_n: int = 1_000, large_n: int = 100_000, work_conns: int = WORK_CONNS,
        repeat: int = 5) -> dict[str, float]:
    small = per_segment_seconds(small_n, work_conns, repeat)
    large = per_segment_seconds(large_n, work_conns, repeat)
    return {
        "segment_cost_us_1k": round(small * 1e6, 2),
        "segment_cost_us_100k": round(large * 1e6, 2),
        "segment_cost_ratio_100k_vs_1k": round(large / small, 3),
    }


if __name__ == "__main__":
    print(run())
