"""Drivers: what moves a sans-IO :class:`~synfin.stack.Stack`'s packets and runs its timers.

* :class:`~synfin.drivers.tun.TunDriver`: a Linux TUN device, real clock (``synfin serve``).
* :class:`~synfin.drivers.memory.MemoryDriver`: several stacks in one process, real clock.
* :mod:`synfin.sim`: the deterministic simulator, virtual clock.

The real-clock drivers share :class:`~synfin.drivers.base.IoDriver`: one I/O thread owns the
stacks; other threads use them while holding its lock (see :mod:`synfin.api`).
"""

from __future__ import annotations

from synfin.drivers.base import DriverStopped, IoDriver
from synfin.drivers.faults import NO_FAULTS, FaultInjector, FaultSpec

__all__ = ["NO_FAULTS", "DriverStopped", "FaultInjector", "FaultSpec", "IoDriver"]
