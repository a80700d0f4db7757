"""The driver contract a simulated host's stack satisfies, and the simulator's view of a host."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from synfin.sim.link import Link

if TYPE_CHECKING:
    from synfin.sim.network import Network


class StackLike(Protocol):
    """What every driver needs from a TCP/IP stack (sans-IO; times are absolute µs).

    ``on_packet`` hands it an arriving IPv4 packet, ``poll_transmit`` collects the packets it
    wants sent now, ``next_deadline`` is its earliest timer (or ``None``) and ``on_timer`` is
    called once the clock has reached that deadline.
    """

    @property
    def address(self) -> str: ...

    def on_packet(self, data: bytes, now: int) -> None: ...

    def poll_transmit(self, now: int) -> list[bytes]: ...

    def next_deadline(self) -> int | None: ...

    def on_timer(self, now: int) -> None: ...


class Host:
    """A stack attached to a :class:`~synfin.sim.network.Network`, with its outgoing links.

    The simulator keeps the host's timer bookkeeping here: at most one live timer event per
    host (``_timer_gen`` invalidates superseded ones) and a dirty flag meaning "poll me".
    """

    __slots__ = (
        "_fire_count",
        "_last_fire",
        "_links",
        "_timer_at",
        "_timer_gen",
        "address",
        "dirty",
        "network",
        "packed",
        "stack",
    )

    def __init__(self, network: Network, stack: StackLike, packed: bytes) -> None:
        self.network = network
        self.stack = stack
        self.address = stack.address
        self.packed = packed
        self.dirty = False
        self._links: dict[bytes, tuple[Link, Host]] = {}
        self._timer_at: int | None = None
        self._timer_gen = 0
        self._last_fire = -1
        self._fire_count = 0

    def __repr__(self) -> str:
        return f"Host({self.address})"

    @property
    def links(self) -> dict[str, Link]:
        """Outgoing links by destination address (a fresh dict; the links themselves are live)."""
        return {dst.address: link for link, dst in self._links.values()}

    def route(self, packed_dst: bytes) -> tuple[Link, Host] | None:
        """The link and far host for a 4-octet destination address, or ``None`` (no route)."""
        return self._links.get(packed_dst)

    def attach(self, link: Link, dst: Host) -> None:
        """Install (or replace) the outgoing link towards ``dst``."""
        self._links[dst.packed] = (link, dst)

    def at(self, t_us: int, callback: Callable[[], object]) -> None:
        """Run ``callback`` at virtual time ``t_us``, then poll only this host."""
        self.network.at(t_us, callback, hosts=(self,))

    def wake(self) -> None:
        """Ask the simulator to poll this host after the current step (or at the next run)."""
        self.network.wake(self)

    def timer_due(self, gen: int) -> bool:
        """Consume the timer event numbered ``gen``; ``False`` if a newer one superseded it."""
        if gen != self._timer_gen:
            return False
        self._timer_at = None
        return True

    def want_timer(self, t: int) -> int | None:
        """Note a wanted wake-up at ``t``; return a new event number if one must be scheduled.

        An event already pending at or before ``t`` suffices: if it fires early the host's
        deadline is read again and a new event is scheduled then.
        """
        if self._timer_at is not None and self._timer_at <= t:
            return None
        self._timer_gen += 1
        self._timer_at = t
        return self._timer_gen

    def count_fire(self, now: int, limit: int) -> None:
        """Guard against a stack whose deadline never moves past ``now`` (a livelock)."""
        if now != self._last_fire:
            self._last_fire, self._fire_count = now, 0
        self._fire_count += 1
        if self._fire_count > limit:
            raise RuntimeError(
                f"{self}: next_deadline() stays at {now} after {limit} on_timer calls"
            )
