"""Seeded fault injection for real-time drivers: loss, duplication, delay and reordering.

``tc netem`` is not always available (and a test must not depend on the kernel's queueing
discipline), so the drivers do it themselves, one :class:`FaultInjector` per direction. Each
injector has its own ``random.Random`` derived from the seed and the direction's name, so a
run's fault decisions are reproducible from ``--seed`` given the same packet sequence.

A packet passes through :meth:`FaultInjector.submit`; what comes out (now or later) is read
with :meth:`FaultInjector.due`. Without delay or reordering configured, surviving packets come
out at once, in order, and nothing is ever held.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """What to do to the packets of one direction. Probabilities are in ``[0, 1]``."""

    #: Probability that a packet is dropped.
    loss: float = 0.0
    #: Probability that a (surviving) packet is sent twice.
    duplicate: float = 0.0
    #: Fixed extra latency added to every packet, in microseconds.
    delay_us: int = 0
    #: Uniform random extra latency in ``[0, jitter_us]`` (may reorder packets).
    jitter_us: int = 0
    #: Probability that a packet is held back by ``reorder_us`` so later packets overtake it.
    reorder: float = 0.0
    reorder_us: int = 3_000

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], not {value}")
        for name in ("delay_us", "jitter_us", "reorder_us"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @property
    def active(self) -> bool:
        """Does this spec change anything at all?"""
        return bool(self.loss or self.duplicate or self.delay_us or self.jitter_us
                    or self.reorder)

    @property
    def holds(self) -> bool:
        """May packets be held back (delay, jitter or reordering)?"""
        return bool(self.delay_us or self.jitter_us or self.reorder)


NO_FAULTS = FaultSpec()


class FaultInjector:
    """Applies one :class:`FaultSpec` to a stream of packets, with its own seeded random."""

    def __init__(self, spec: FaultSpec, seed: int | None, direction: str) -> None:
        self.spec = spec
        self.direction = direction
        self._rng = random.Random(f"{seed}:{direction}") if seed is not None else random.Random()
        self._held: list[tuple[int, int, bytes]] = []
        self._order = 0
        self._ready: list[bytes] = []
        #: What happened to packets: ``lost``, ``duplicated``, ``delayed``, ``reordered``.
        self.counts: dict[str, int] = {}

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def submit(self, packet: bytes, now: int) -> None:
        """Take one packet at ``now``; it comes out of :meth:`due` when its time has come."""
        spec = self.spec
        if not spec.active:
            self._ready.append(packet)
            return
        rng = self._rng
        if spec.loss and rng.random() < spec.loss:
            self._count("lost")
            return
        copies = 1
        if spec.duplicate and rng.random() < spec.duplicate:
            self._count("duplicated")
            copies = 2
        for _ in range(copies):
            self._place(packet, now)

    def _place(self, packet: bytes, now: int) -> None:
        spec = self.spec
        if not spec.holds:
            self._ready.append(packet)
            return
        rng = self._rng
        extra = spec.delay_us
        if spec.jitter_us:
            extra += rng.randint(0, spec.jitter_us)
        if spec.reorder and rng.random() < spec.reorder:
            self._count("reordered")
            extra += spec.reorder_us
        if extra == 0:
            self._ready.append(packet)
            return
        self._count("delayed")
        self._order += 1
        heapq.heappush(self._held, (now + extra, self._order, packet))

    def due(self, now: int) -> list[bytes]:
        """Every packet whose time has come, in release order."""
        out, self._ready = self._ready, []
        held = self._held
        while held and held[0][0] <= now:
            out.append(heapq.heappop(held)[2])
        return out

    def next_release(self) -> int | None:
        """When the earliest held packet is due, or ``None``."""
        if self._ready:
            return 0
        return self._held[0][0] if self._held else None

    def __len__(self) -> int:
        """Packets held (not yet released)."""
        return len(self._held) + len(self._ready)
