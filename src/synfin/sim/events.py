"""The simulator's event queue: a binary heap ordered by (time, insertion number).

The insertion number breaks ties between events due at the same microsecond, so events run in
the order they were scheduled. Nothing here depends on hashing or object identity: the same
sequence of pushes always pops in the same order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

Action = Callable[[int], bool]
"""An event's action: called with the event's time, returns whether it did any work.

An action that turns out to have nothing to do (a stale timer) returns ``False`` and the
simulator does not advance its clock for it.
"""


class EventQueue:
    """A min-heap of ``(time, seq, action)``; O(log n) push and pop."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Action]] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, t: int, action: Action) -> None:
        """Schedule ``action`` at absolute time ``t`` (µs), after everything already due then."""
        heapq.heappush(self._heap, (t, self._seq, action))
        self._seq += 1

    def next_time(self) -> int | None:
        """The time of the earliest event, or ``None`` when the queue is empty."""
        return self._heap[0][0] if self._heap else None

    def pop(self) -> tuple[int, Action]:
        """Remove and return the earliest event as ``(time, action)``."""
        t, _, action = heapq.heappop(self._heap)
        return t, action
