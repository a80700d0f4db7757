"""Shared helpers for benchmarks: timing medians, memory deltas, two stacks wired directly."""

from __future__ import annotations

import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from synfin.config import Config
from synfin.connection import Connection
from synfin.stack import Stack

T = TypeVar("T")


def median_seconds(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def traced_bytes(build: Callable[[], T]) -> tuple[T, int]:
    """What ``build()`` returns and how many bytes it left allocated (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    value = build()
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return value, after - before


def make_stack(address: str, config: Config | None = None, seed: int = 1) -> Stack:
    return Stack(address, config or Config(), secret=f"bench-{address}".encode(),
                 rng=random.Random(seed))


class Wire:
    """Stacks wired directly by destination address, no delay: a zero-cost network."""

    def __init__(self, stacks: list[Stack]) -> None:
        self.by_address = {pack(s.address): s for s in stacks}
        self.stacks = stacks

    def settle(self, now: int) -> int:
        """Deliver packets until every stack is quiet; returns how many moved."""
        moved = 0
        busy = True
        while busy:
            busy = False
            for stack in self.stacks:
                for data in stack.poll_transmit(now):
                    self.by_address[data[16:20]].on_packet(data, now)
                    moved += 1
                    busy = True
        return moved


def pack(address: str) -> bytes:
    return bytes(int(part) for part in address.split("."))


def open_connections(server: Stack, clients: list[Stack], count: int, now: int,
                     batch: int = 1000) -> list[Connection]:
    """Open ``count`` connections from the client stacks to server port 80 with real
    handshakes, spread over the clients; returns the client ends."""
    wire = Wire([server, *clients])
    if 80 not in server.listeners:
        server.listen(80, backlog=count + 1)
    listener = server.listeners[80]
    conns: list[Connection] = []
    while len(conns) < count:
        for _ in range(min(batch, count - len(conns))):
            client = clients[len(conns) % len(clients)]
            conns.append(client.connect(server.address, 80, now))
        wire.settle(now)
        while listener.accept() is not None:
            pass
    return conns
