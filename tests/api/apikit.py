"""Two synfin hosts in one process (the in-memory driver, real clock): no privileges needed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from synfin.api import TcpHost
from synfin.config import Config
from synfin.drivers.faults import NO_FAULTS, FaultSpec
from synfin.drivers.memory import MemoryDriver
from synfin.trace.records import ListSink

A_IP = "10.1.0.1"
B_IP = "10.1.0.2"
NOBODY_IP = "10.1.0.9"  # no stack answers here: packets are dropped ("no-route")


@dataclass
class Pair:
    driver: MemoryDriver
    a: TcpHost
    b: TcpHost
    records: ListSink


@contextlib.contextmanager
def hosts(config: Config | None = None, faults: FaultSpec = NO_FAULTS,
          seed: int = 1) -> Iterator[Pair]:
    records = ListSink()
    driver = MemoryDriver([A_IP, B_IP], config, seed=seed, sink=records, faults=faults)
    driver.start()
    try:
        yield Pair(driver, TcpHost(driver, driver.stack(A_IP)),
                   TcpHost(driver, driver.stack(B_IP)), records)
    finally:
        driver.stop()
