"""The event queue orders by time, then by insertion."""

from __future__ import annotations

from collections.abc import Callable

from synfin.sim import EventQueue


def test_pops_in_time_order_and_ties_in_insertion_order() -> None:
    queue = EventQueue()
    log: list[str] = []

    def recorder(name: str) -> Callable[[int], bool]:
        def action(t: int) -> bool:
            log.append(f"{name}@{t}")
            return True

        return action

    for t, name in [(30, "c"), (10, "a1"), (20, "b"), (10, "a2"), (10, "a3")]:
        queue.push(t, recorder(name))
    assert queue.next_time() == 10
    while queue:
        t, action = queue.pop()
        assert action(t)
    assert log == ["a1@10", "a2@10", "a3@10", "b@20", "c@30"]


def test_empty_queue_has_no_next_time() -> None:
    queue = EventQueue()
    assert queue.next_time() is None
    assert len(queue) == 0
    queue.push(5, lambda t: True)
    assert len(queue) == 1
