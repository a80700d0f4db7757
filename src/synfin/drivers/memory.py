"""An in-process driver: several synfin stacks wired together in memory, in real time.

The same I/O-thread loop as the TUN driver (:mod:`synfin.drivers.base`), with the kernel
replaced by a routing table of stacks: a packet one stack sends goes, through the driver's
outbound and inbound fault injectors, to the stack that owns its destination address. It needs
no privileges, so the socket API and asyncio streams can be exercised anywhere.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from typing import Any

from synfin.config import Config
from synfin.drivers.base import IoDriver
from synfin.drivers.faults import NO_FAULTS, FaultSpec
from synfin.stack import Stack
from synfin.trace.records import NULL_SINK, TraceSink

NO_ROUTE = "no-route"
SHORT_PACKET = "truncated-ip"


class MemoryDriver(IoDriver):
    """Stacks for ``addresses`` exchanging packets in memory, driven by the real clock."""

    def __init__(
        self,
        addresses: Sequence[str],
        config: Config | None = None,
        *,
        seed: int | None = None,
        sink: TraceSink = NULL_SINK,
        faults: FaultSpec = NO_FAULTS,
    ) -> None:
        super().__init__(seed=seed, faults_out=faults)
        rng = random.Random(seed)
        self._by_address: dict[bytes, Stack] = {}
        for address in addresses:
            stack = Stack(address, config, secret=os.urandom(16),
                          rng=random.Random(rng.getrandbits(64)), sink=sink)
            self._by_address[bytes(int(part) for part in address.split("."))] = stack

    @property
    def stacks(self) -> tuple[Stack, ...]:
        return tuple(self._by_address.values())

    def stack(self, address: str) -> Stack:
        """The stack answering as ``address``."""
        for stack in self._by_address.values():
            if stack.address == address:
                return stack
        raise KeyError(address)

    def _readable(self, data: Any, now: int) -> None:  # no sources besides the wake fd
        return None

    def _write(self, packet: bytes, now: int) -> None:
        self._inbound(packet, now)

    def _deliver(self, packet: bytes, now: int) -> None:
        if len(packet) < 20:
            self.count(SHORT_PACKET)
            return
        stack = self._by_address.get(packet[16:20])
        if stack is None:
            self.count(NO_ROUTE)
            return
        stack.on_packet(packet, now)
