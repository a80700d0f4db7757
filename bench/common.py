"""Shared helpers for benchmarks: timing medians, memory deltas, two stacks wired directly,
CPU pinning, and network namespaces of our own (created for a run, deleted afterwards)."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import itertools
import os
import queue
import random
import shutil
import statistics
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

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


def median_rate(run: Callable[[], object], count: int, repeat: int = 5) -> float:
    """Median of ``count / seconds`` over ``repeat`` timed runs of ``run``."""
    return count / median_seconds(run, repeat)


def median_of(measure: Callable[[], float], repeat: int = 5) -> float:
    """Median of ``repeat`` calls of ``measure`` (each returns one figure, e.g. a rate it
    timed itself around set-up it does not want counted)."""
    values = []
    for _ in range(repeat):
        gc.collect()
        values.append(measure())
    return statistics.median(values)


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

    def deliver(self, stack: Stack, now: int) -> int:
        """Hand everything ``stack`` has to send to its destinations; returns how many."""
        by_address = self.by_address
        moved = 0
        for data in stack.poll_transmit(now):
            by_address[data[16:20]].on_packet(data, now)
            moved += 1
        return moved

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


# -- CPU pinning ------------------------------------------------------------------------------


def bench_cpus() -> tuple[int, int]:
    """Two CPUs for a two-sided benchmark: (synfin's, the Linux peer's). The same CPU twice
    on a one-CPU machine."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[-1], cpus[0]


@contextlib.contextmanager
def pinned(cpu: int | None = None) -> Iterator[int]:
    """Run the calling thread on one CPU (``sched_setaffinity``); restored afterwards.
    Threads started inside inherit the pinning."""
    before = os.sched_getaffinity(0)
    chosen = bench_cpus()[0] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    try:
        yield chosen
    finally:
        os.sched_setaffinity(0, before)


# -- network namespaces ---------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
_names = itertools.count()
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def netns_available() -> bool:
    """Can this process make network namespaces (root, ``ip`` present)?"""
    return os.geteuid() == 0 and shutil.which("ip") is not None


class Netns:
    """A network namespace made for one benchmark, with a worker thread inside it (a network
    namespace belongs to a thread; sockets and TUN devices keep the one they were made in).
    Everything in it goes when :meth:`close` deletes it."""

    def __init__(self, prefix: str = "sfbench") -> None:
        self.name = f"{prefix}{os.getpid()}x{next(_names)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._work, args=(ready,), daemon=True,
                                        name=f"netns-{self.name}")
        self._thread.start()
        try:
            ready.result(10)
            self.ip("link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def _work(self, ready: Future[None]) -> None:
        try:
            fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns: {os.strerror(err)}")
            finally:
                os.close(fd)
        except OSError as exc:
            ready.set_exception(exc)
            return
        ready.set_result(None)
        while (job := self._jobs.get()) is not None:
            fn, future = job
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

    def call(self, fn: Callable[[], T], timeout: float = 300) -> T:
        """``fn()`` run on the worker thread inside the namespace."""
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future.result(timeout)

    def ip(self, *argv: str) -> str:
        return subprocess.run(["ip", "-n", self.name, *argv], capture_output=True, text=True,
                              check=True).stdout

    def command(self, *argv: str) -> list[str]:
        """A command line that runs ``argv`` inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def close(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(10)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)

    def __enter__(self) -> Netns:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def in_fresh_netns(fn: Callable[[], T]) -> T:
    """``fn()`` inside a new network namespace (only its loopback up), pinned like the
    caller; without the means to make one, in this namespace."""
    if not netns_available():
        return fn()
    cpus = os.sched_getaffinity(0)

    def job() -> T:
        os.sched_setaffinity(0, cpus)
        return fn()
    with Netns("sfk") as ns:
        return ns.call(job)
