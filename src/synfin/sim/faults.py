"""Exactly staged faults and the predicates that pick their packets.

A teaching scenario says things like "lose the first FIN from B" or "delay the second SYN by
3 s". A :class:`StagedFault` holds such an instruction: a *match* predicate over the parsed
:class:`~synfin.wire.segment.Packet` and the sending host's address, and ``nth``, the 1-based
number of the matching packet it applies to. Every packet a host puts on a link is offered to
every pending fault, in the order the faults were staged; each fault counts its own matches.

Predicates compose::

    net.drop(all_of(from_host(b), has_flags(Flags.FIN)), nth=1)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from synfin.wire.flags import Flags
from synfin.wire.segment import Packet

Match = Callable[[Packet, str], bool]
"""A packet predicate: ``match(packet, sender_address) -> bool``."""


class HasAddress(Protocol):
    """Anything with an IPv4 ``address`` (a stack, a simulator host)."""

    @property
    def address(self) -> str: ...


def _address_of(host: str | HasAddress) -> str:
    """The address of ``host``, which may be given as the address itself."""
    return host if isinstance(host, str) else host.address


def from_host(host: str | HasAddress) -> Match:
    """Packets sent by ``host`` (the host that put them on the link, whatever their source IP)."""
    address = _address_of(host)
    return lambda packet, sender: sender == address


def to_host(host: str | HasAddress) -> Match:
    """Packets whose destination IP is ``host``'s address."""
    address = _address_of(host)
    return lambda packet, sender: packet.dst == address


def has_flags(flags: Flags) -> Match:
    """Packets whose TCP header has at least all of ``flags`` set."""
    return lambda packet, sender: packet.segment.flags & flags == flags


def flags_exactly(flags: Flags) -> Match:
    """Packets whose TCP flags are exactly ``flags`` (e.g. a bare ``Flags.ACK``)."""
    return lambda packet, sender: packet.segment.flags == flags


def with_payload() -> Match:
    """Packets carrying at least one octet of data."""
    return lambda packet, sender: len(packet.segment.payload) > 0


def to_port(port: int) -> Match:
    """Packets for TCP destination port ``port``."""
    return lambda packet, sender: packet.segment.dst_port == port


def from_port(port: int) -> Match:
    """Packets from TCP source port ``port``."""
    return lambda packet, sender: packet.segment.src_port == port


def any_packet() -> Match:
    """Every packet."""
    return lambda packet, sender: True


def all_of(*matches: Match) -> Match:
    """Packets every one of ``matches`` accepts."""
    return lambda packet, sender: all(m(packet, sender) for m in matches)


def any_of(*matches: Match) -> Match:
    """Packets at least one of ``matches`` accepts."""
    return lambda packet, sender: any(m(packet, sender) for m in matches)


def none_of(*matches: Match) -> Match:
    """Packets no one of ``matches`` accepts."""
    return lambda packet, sender: not any(m(packet, sender) for m in matches)


@dataclass(slots=True, eq=False)
class StagedFault:
    """One staged instruction. ``kind`` is ``"drop"``, ``"delay"`` or ``"duplicate"``.

    ``by_us`` is the extra delay (``delay``) or how long after the original the copy arrives
    (``duplicate``). After it fires, ``fired_at`` is the virtual time the matching packet was
    sent and ``packet`` is that packet, so a scenario can assert the fault really happened.
    """

    kind: str
    match: Match
    nth: int = 1
    by_us: int = 0
    matches: int = 0
    fired_at: int | None = None
    packet: Packet | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.nth < 1:
            raise ValueError("nth is 1-based and must be >= 1")
        if self.by_us < 0:
            raise ValueError("a staged delay cannot be negative")

    @property
    def fired(self) -> bool:
        """Whether the fault has met its packet."""
        return self.fired_at is not None

    @property
    def name(self) -> str:
        """The fault name written into :class:`~synfin.trace.records.LinkEvent`."""
        return f"staged-{self.kind}"

    def offer(self, packet: Packet, sender: str, now: int) -> bool:
        """Count ``packet`` if it matches; return ``True`` when it is the nth match."""
        if not self.match(packet, sender):
            return False
        self.matches += 1
        if self.matches != self.nth:
            return False
        self.fired_at = now
        self.packet = packet
        return True


@dataclass(slots=True)
class StagedVerdict:
    """What the staged faults that fired on one packet want done with it."""

    drop: bool = False
    delay_us: int = 0
    copy_delays: list[int] = field(default_factory=list)
    fault: str = ""


class FaultPlan:
    """The pending staged faults, in staging order; fired faults leave the plan."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: list[StagedFault] = []

    def __bool__(self) -> bool:
        return bool(self._pending)

    def add(self, fault: StagedFault) -> StagedFault:
        """Stage ``fault`` and return it (as the caller's handle)."""
        self._pending.append(fault)
        return fault

    def check(self, packet: Packet, sender: str, now: int) -> StagedVerdict | None:
        """Offer ``packet`` to every pending fault; combine those that fire, or ``None``.

        A drop wins over everything; delays add up; each duplicate adds one copy. The verdict's
        ``fault`` names the first fault that fired on the original.
        """
        fired = [f for f in self._pending if f.offer(packet, sender, now)]
        if not fired:
            return None
        self._pending = [f for f in self._pending if not f.fired]
        return _combine(fired)


def _combine(fired: list[StagedFault]) -> StagedVerdict:
    """Merge the faults that fired on one packet into one verdict."""
    verdict = StagedVerdict()
    for fault in fired:
        if fault.kind == "drop":
            return StagedVerdict(drop=True, fault=fault.name)
        if fault.kind == "delay":
            verdict.delay_us += fault.by_us
            verdict.fault = verdict.fault or fault.name
        else:
            verdict.copy_delays.append(fault.by_us)
    return verdict
