"""synfin <-> synfin in one process, over an in-memory link (every packet encoded and parsed):

* ``inproc_bulk_MBps``: one connection, MSS 1460, the client sends as fast as its send buffer
  takes data and the server reads everything; MB/s of application data (median of runs);
* ``established_conn_bytes``: memory per ESTABLISHED endpoint (the Connection, its TCB,
  buffers, timers and its entries in the stack's tables), by tracemalloc over opening 5,000
  connections between two stacks, divided by the 10,000 endpoints.
"""

from __future__ import annotations

import gc
import time

from bench.common import Wire, make_stack, median_of, open_connections, traced_bytes
from synfin.config import Config
from synfin.connection import Connection

MB = 1_000_000
CHUNK = 64 * 1024


def bulk_rate(size: int, mss: int = 1460) -> float:
    """MB/s of ``size`` bytes client -> server, measured from connect to the last byte."""
    config = Config(mss=mss)
    client = make_stack("10.3.0.1", config, seed=1)
    server = make_stack("10.3.0.2", config, seed=2)
    listener = server.listen(9)
    wire = Wire([client, server])
    block = bytes(range(256)) * (CHUNK // 256)
    gc.collect()
    now = 1_000
    start = time.perf_counter()
    conn = client.connect("10.3.0.2", 9, now)
    peer: Connection | None = None
    queued = received = 0
    while received < size:
        now += 100
        if queued < size and conn.send_space():
            queued += conn.send(block[: min(CHUNK, size - queued)], now)
        wire.deliver(client, now)
        if peer is None:
            peer = listener.accept()
        if peer is not None:
            received += len(peer.receive(now=now))
        wire.deliver(server, now)
    return size / (time.perf_counter() - start) / MB


def established_bytes(count: int = 10_000) -> float:
    """Bytes per ESTABLISHED endpoint after ``count`` real handshakes."""
    config = Config()
    server = make_stack("10.4.0.2", config, seed=2)
    clients = [make_stack(f"10.4.1.{i + 1}", config, seed=10 + i)
               for i in range(count // 20_000 + 1)]
    server.listen(80, backlog=count + 1)

    def build() -> list[Connection]:
        return open_connections(server, clients, count, now=1_000)

    conns, used = traced_bytes(build)
    assert len(server.connections) == count and all(
        c.state.name == "ESTABLISHED" for c in conns)
    return used / (2 * count)


def run(size_mb: int = 20, repeat: int = 5, conns: int = 5_000) -> dict[str, float]:
    return {
        "inproc_bulk_MBps": round(median_of(lambda: bulk_rate(size_mb * MB), repeat), 2),
        "established_conn_bytes": round(median_of(lambda: established_bytes(conns), 3), 1),
    }


if __name__ == "__main__":
    print(run())
