"""The deterministic network simulator: a driver that runs synfin stacks in virtual time.

Build a :class:`Network`, add hosts (anything satisfying :class:`StackLike`), connect them
with :class:`LinkConfig` links, stage exact faults with predicates, schedule application
callbacks with :meth:`Network.at`, and :meth:`Network.run`. One seed, one event order, the same
bytes every time::

    net = Network(seed=1, sink=ListSink())
    a, b = net.add_host(stack_a), net.add_host(stack_b)
    net.connect(a, b, LinkConfig(delay_us=5_000))
    net.drop(all_of(from_host(b), has_flags(Flags.FIN)), nth=1)
    net.at(0, lambda: stack_a.connect(...))
    net.run()
"""

from synfin.sim.events import EventQueue
from synfin.sim.faults import (
    Match,
    StagedFault,
    all_of,
    any_of,
    any_packet,
    flags_exactly,
    from_host,
    from_port,
    has_flags,
    none_of,
    to_host,
    to_port,
    with_payload,
)
from synfin.sim.host import Host, StackLike
from synfin.sim.link import Link, LinkConfig
from synfin.sim.network import DEFAULT_MAX_TIME_US, Network

__all__ = [
    "DEFAULT_MAX_TIME_US",
    "EventQueue",
    "Host",
    "Link",
    "LinkConfig",
    "Match",
    "Network",
    "StackLike",
    "StagedFault",
    "all_of",
    "any_of",
    "any_packet",
    "flags_exactly",
    "from_host",
    "from_port",
    "has_flags",
    "none_of",
    "to_host",
    "to_port",
    "with_payload",
]
