"""The deterministic network: hosts, links, staged and random faults, a virtual clock.

:class:`Network` is a driver. It owns an integer clock (µs), an event queue, and one seeded
``random.Random``; it moves IPv4 packets between :class:`~synfin.sim.host.StackLike` stacks and
calls their timers. After every event that touched a host (a packet arrived, a timer fired, an
application callback ran) it polls that host's ``poll_transmit`` and puts the packets on links.
Nothing reads the wall clock, and every iteration is over insertion-ordered lists, so the same
seed always gives the same events in the same order with the same bytes.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Iterable
from functools import partial

from synfin.sim.events import EventQueue
from synfin.sim.faults import FaultPlan, Match, StagedFault, StagedVerdict
from synfin.sim.host import Host, StackLike
from synfin.sim.link import Link, LinkConfig, Transit
from synfin.trace.records import NULL_SINK, LinkEvent, Note, TraceSink
from synfin.wire import emit_packet, parse_packet
from synfin.wire.errors import MalformedSegment
from synfin.wire.segment import Packet

DEFAULT_MAX_TIME_US = 3_600_000_000
"""``run()`` stops at one hour of virtual time unless told otherwise."""

TIMER_LIVELOCK_LIMIT = 10_000
"""How many times one host's timer may fire at the same microsecond before we call it a bug."""

Callback = Callable[[], object]
"""An application callback; its return value is ignored."""


class Network:
    """A simulated IPv4 network of synfin stacks, driven in virtual time.

    ``seed`` seeds the single ``random.Random`` behind every random fault; ``sink`` receives a
    :class:`~synfin.trace.records.LinkEvent` for every packet put on a link (when enabled).
    """

    def __init__(self, seed: int = 0, sink: TraceSink = NULL_SINK) -> None:
        self.seed = seed
        self.sink = sink
        self._rng = random.Random(seed)
        self._now = 0
        self._queue = EventQueue()
        self._hosts: list[Host] = []
        self._by_packed: dict[bytes, Host] = {}
        self._dirty: list[Host] = []
        self._faults = FaultPlan()
        self._step_callbacks: list[tuple[Callback, tuple[Host, ...] | None]] = []

    # -- topology ---------------------------------------------------------------------------

    @property
    def now(self) -> int:
        """The virtual time in µs."""
        return self._now

    @property
    def rng(self) -> random.Random:
        """The network's random source (random faults draw from it)."""
        return self._rng

    def rng_for(self, name: str) -> random.Random:
        """An independent ``random.Random`` derived from the seed and ``name`` (e.g. a stack's
        ISN source), so adding one does not disturb the draws of the others."""
        return random.Random(f"synfin-sim/{self.seed}/{name}")

    @property
    def hosts(self) -> tuple[Host, ...]:
        """The hosts, in the order they were added."""
        return tuple(self._hosts)

    def host(self, address: str) -> Host:
        """The host with IPv4 ``address``; ``KeyError`` if there is none."""
        return self._by_packed[_pack(address)]

    def add_host(self, stack: StackLike) -> Host:
        """Attach ``stack`` as a host at ``stack.address``."""
        packed = _pack(stack.address)
        if packed in self._by_packed:
            raise ValueError(f"address {stack.address} is already taken")
        host = Host(self, stack, packed)
        self._hosts.append(host)
        self._by_packed[packed] = host
        self.wake(host)
        return host

    def connect(
        self, a: Host, b: Host, ab: LinkConfig | None = None, ba: LinkConfig | None = None
    ) -> tuple[Link, Link]:
        """Join ``a`` and ``b`` with one link per direction; ``ba`` defaults to ``ab``.

        Connecting an already connected pair replaces both links' configurations (their queue
        state and counters are kept), which is how a scenario changes a link mid-run.
        """
        ab = ab if ab is not None else LinkConfig()
        ba = ba if ba is not None else ab
        return self._link_one_way(a, b, ab), self._link_one_way(b, a, ba)

    def link(self, a: Host, b: Host) -> Link:
        """The link from ``a`` to ``b``; ``KeyError`` if they are not connected."""
        route = a.route(b.packed)
        if route is None:
            raise KeyError(f"no link {a.address} -> {b.address}")
        return route[0]

    def _link_one_way(self, src: Host, dst: Host, config: LinkConfig) -> Link:
        route = src.route(dst.packed)
        if route is not None:
            route[0].config = config
            return route[0]
        link = Link(src.address, dst.address, config)
        src.attach(link, dst)
        return link

    # -- staged faults ------------------------------------------------------------------------

    def drop(self, match: Match, nth: int = 1) -> StagedFault:
        """Lose the ``nth`` packet (1-based) that ``match`` accepts."""
        return self._faults.add(StagedFault("drop", match, nth))

    def delay(self, match: Match, by_us: int, nth: int = 1) -> StagedFault:
        """Deliver the ``nth`` matching packet ``by_us`` later than the link would."""
        return self._faults.add(StagedFault("delay", match, nth, by_us))

    def duplicate(self, match: Match, nth: int = 1, copy_delay_us: int = 0) -> StagedFault:
        """Deliver the ``nth`` matching packet normally and a copy ``copy_delay_us`` after it."""
        return self._faults.add(StagedFault("duplicate", match, nth, copy_delay_us))

    def inject(self, at_us: int, src_address: str, packet: Packet | bytes) -> None:
        """Deliver a crafted packet to its destination host at ``at_us``, as if from the network.

        ``src_address`` names the (possibly fictitious) sender in the trace. Injected packets
        bypass links and faults; bytes that do not parse are still delivered as they are.
        """
        self._check_future(at_us)
        data = emit_packet(packet) if isinstance(packet, Packet) else bytes(packet)
        self._queue.push(at_us, partial(self._inject_now, src_address, data))

    # -- application hooks ---------------------------------------------------------------------

    def at(self, t_us: int, callback: Callback, hosts: Iterable[Host] | None = None) -> None:
        """Run ``callback`` at virtual time ``t_us``; afterwards poll ``hosts`` (default: all)."""
        self._check_future(t_us)
        targets = tuple(hosts) if hosts is not None else None
        self._queue.push(t_us, partial(self._call_now, callback, targets))

    def after(self, delay_us: int, callback: Callback, hosts: Iterable[Host] | None = None) -> None:
        """Run ``callback`` ``delay_us`` from now (see :meth:`at`)."""
        self.at(self._now + delay_us, callback, hosts)

    def on_step(self, callback: Callback, hosts: Iterable[Host] | None = None) -> None:
        """Run ``callback`` after every step that did something (a delivery, a timer, a
        callback); afterwards poll ``hosts`` (default: all)."""
        self._step_callbacks.append((callback, tuple(hosts) if hosts is not None else None))

    def wake(self, host: Host) -> None:
        """Poll ``host`` after the current step (user code touched its stack)."""
        if not host.dirty:
            host.dirty = True
            self._dirty.append(host)

    def note(self, text: str, host: str = "") -> None:
        """Write a free-text :class:`~synfin.trace.records.Note` into the trace at ``now``."""
        if self.sink.enabled:
            self.sink.emit(Note(self._now, host, text))

    def _check_future(self, t_us: int) -> None:
        if t_us < self._now:
            raise ValueError(f"time {t_us} is in the past (now is {self._now})")

    # -- running -------------------------------------------------------------------------------

    def step(self) -> bool:
        """Process events up to and including the next one that does work; ``False`` if idle."""
        self._wake_all()
        self._flush()
        while self._queue:
            t, action = self._queue.pop()
            if action(t):
                self._after_step()
                return True
        return False

    def run_until(self, t_us: int) -> int:
        """Process every event due at or before ``t_us``, then set the clock to ``t_us``."""
        self._run(t_us, None)
        self._now = max(self._now, t_us)
        return self._now

    def run(
        self, until: Callable[[], bool] | None = None, max_time_us: int = DEFAULT_MAX_TIME_US
    ) -> int:
        """Run until ``until()`` is true, nothing is left to do, or the clock would pass
        ``max_time_us`` (absolute; the clock then stops there). Returns the time reached.

        ``until`` is checked before the first event and after every step.
        """
        self._run(max_time_us, until)
        return self._now

    def _run(self, limit: int, until: Callable[[], bool] | None) -> None:
        self._wake_all()
        self._flush()
        if until is not None and until():
            return
        queue = self._queue
        while queue:
            t = queue.next_time()
            if t is not None and t > limit:
                self._now = max(self._now, limit)
                return
            t, action = queue.pop()
            if not action(t):
                continue
            self._after_step()
            if until is not None and until():
                return

    def _after_step(self) -> None:
        """Poll the hosts the step touched, then run the step callbacks and poll again."""
        self._flush()
        if not self._step_callbacks:
            return
        for callback, hosts in self._step_callbacks:
            callback()
            self._wake_hosts(hosts)
        self._flush()

    def _wake_all(self) -> None:
        for host in self._hosts:
            self.wake(host)

    def _wake_hosts(self, hosts: tuple[Host, ...] | None) -> None:
        for host in hosts if hosts is not None else self._hosts:
            self.wake(host)

    def _flush(self) -> None:
        """Poll every dirty host, in the order they became dirty."""
        while self._dirty:
            dirty, self._dirty = self._dirty, []
            for host in dirty:
                host.dirty = False
                self._service(host)

    def _service(self, host: Host) -> None:
        """Send what ``host`` wants to send now, and schedule its next timer."""
        now = self._now
        for data in host.stack.poll_transmit(now):
            self._transmit(host, data)
        deadline = host.stack.next_deadline()
        if deadline is not None:
            self._schedule_timer(host, max(deadline, now))

    def _schedule_timer(self, host: Host, t: int) -> None:
        gen = host.want_timer(t)
        if gen is not None:
            self._queue.push(t, partial(self._timer_now, host, gen))

    # -- event actions (each gets the event time, returns whether it did work) -------------------

    def _timer_now(self, host: Host, gen: int, t: int) -> bool:
        if not host.timer_due(gen):
            return False
        deadline = host.stack.next_deadline()
        if deadline is None:
            return False
        if deadline > t:
            self._schedule_timer(host, deadline)
            return False
        self._now = t
        host.count_fire(t, TIMER_LIVELOCK_LIMIT)
        host.stack.on_timer(t)
        self.wake(host)
        return True

    def _arrive_now(self, host: Host, data: bytes, t: int) -> bool:
        self._now = t
        host.stack.on_packet(data, t)
        self.wake(host)
        return True

    def _call_now(self, callback: Callback, hosts: tuple[Host, ...] | None, t: int) -> bool:
        self._now = t
        callback()
        self._wake_hosts(hosts)
        return True

    def _inject_now(self, src_address: str, data: bytes, t: int) -> bool:
        self._now = t
        host = self._by_packed.get(data[16:20])
        if self.sink.enabled:
            kind, fault = ("inject", "") if host is not None else ("lose", "no-route")
            arrive = t if host is not None else None
            self._trace(src_address, data, None, kind, arrive, fault)
        if host is not None:
            host.stack.on_packet(data, t)
            self.wake(host)
        return True

    # -- links ---------------------------------------------------------------------------------

    def _transmit(self, host: Host, data: bytes) -> None:
        """Put one packet from ``host`` on the link towards its destination IP."""
        route = host.route(data[16:20])
        tracing = self.sink.enabled
        packet = _parse(data) if tracing or self._faults else None
        if route is None:
            if tracing:
                self._trace(host.address, data, packet, "lose", None, "no-route")
            return
        link, dst = route
        departed = link.serialize(len(data), self._now)
        verdict = None
        if packet is not None and self._faults:
            verdict = self._faults.check(packet, host.address, self._now)
        if verdict is not None:
            transit = _staged_transit(link, departed, verdict)
        elif link.has_random_faults:
            transit = link.random_transit(departed, self._rng)
        else:
            t = link.in_order_arrival(departed)
            link.delivered += 1
            self._queue.push(t, partial(self._arrive_now, dst, data))
            if tracing:
                self._trace(host.address, data, packet, "deliver", t, "", dst.address)
            return
        self._carry(host, dst, link, data, packet, transit)

    def _carry(
        self,
        src: Host,
        dst: Host,
        link: Link,
        data: bytes,
        packet: Packet | None,
        transit: Transit,
    ) -> None:
        """Schedule the arrivals a faulty transit decided on, and trace them."""
        tracing = self.sink.enabled
        if transit.t_arrive is None:
            link.lost += 1
            if tracing:
                self._trace(src.address, data, packet, "lose", None, transit.fault, dst.address)
            return
        link.delivered += 1
        self._queue.push(transit.t_arrive, partial(self._arrive_now, dst, data))
        if tracing:
            self._trace(
                src.address, data, packet, "deliver", transit.t_arrive, transit.fault, dst.address
            )
        for t_copy in transit.copy_arrivals:
            link.duplicated += 1
            self._queue.push(t_copy, partial(self._arrive_now, dst, data))
            if tracing:
                self._trace(
                    src.address, data, packet, "duplicate", t_copy, transit.copy_fault, dst.address
                )

    def _trace(
        self,
        src: str,
        data: bytes,
        packet: Packet | None,
        kind: str,
        t_arrive: int | None,
        fault: str,
        dst: str | None = None,
    ) -> None:
        """Emit a LinkEvent (or, for bytes that do not parse, a Note saying what happened)."""
        if packet is None:
            packet = _parse(data)
        dst = dst if dst is not None else _unpack(data[16:20])
        if packet is None:
            text = f"unparsable packet {src} -> {dst}: {kind} {fault}".rstrip()
            self.sink.emit(Note(self._now, src, text))
            return
        self.sink.emit(LinkEvent(self._now, src, dst, packet, kind, t_arrive, fault))


def _staged_transit(link: Link, departed: int, verdict: StagedVerdict) -> Transit:
    """Where a packet hit by staged faults goes: nowhere, later, and/or twice."""
    if verdict.drop:
        return Transit(None, verdict.fault)
    if verdict.delay_us:
        t = link.out_of_order_arrival(departed, verdict.delay_us)
    else:
        t = link.in_order_arrival(departed)
    copies = tuple(t + d for d in verdict.copy_delays)
    return Transit(t, verdict.fault, copies, "staged-duplicate")


def _parse(data: bytes) -> Packet | None:
    """The packet in ``data`` (checksums not verified), or ``None`` if it does not parse."""
    try:
        return parse_packet(data, verify_checksums=False)
    except MalformedSegment:
        return None


def _pack(address: str) -> bytes:
    """The 4 octets of a dotted-quad IPv4 address."""
    return ipaddress.IPv4Address(address).packed


def _unpack(packed: bytes) -> str:
    """Dotted-quad text for 4 octets (``"?"`` if the packet was too short to have them)."""
    return str(ipaddress.IPv4Address(packed)) if len(packed) == 4 else "?"
