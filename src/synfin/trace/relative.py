"""Relative sequence numbers and packet labels, the way Wireshark shows them.

Per direction of a connection (keyed by its 4-tuple, source first), the base is the sequence
number of the first SYN seen in that direction, so a handshake reads ``SYN Seq=0``,
``SYN,ACK Seq=0 Ack=1``, ``ACK Seq=1 Ack=1``. Like Wireshark, a direction first seen without a
SYN (a capture that starts mid-connection) takes ``seq - 1`` as its base, so its first segment
reads ``Seq=1``; an acknowledgment for a direction not seen yet fixes that direction's base at
``ack - 1`` (``Ack=1``). A new SYN (without ACK) with a different sequence number after a FIN
or RST starts a new incarnation of the 4-tuple and re-bases both directions.

Windows are shown scaled (RFC 7323) once both SYNs of the connection carried a window scale
option, and raw otherwise (SYN segments are never scaled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from synfin.wire.flags import Flags
from synfin.wire.segment import (
    MssOption,
    Packet,
    SackOption,
    SackPermittedOption,
    TimestampsOption,
    WindowScaleOption,
)

MOD = 2**32
"""Sequence numbers live modulo 2**32 (RFC 9293 section 3.4)."""

Direction = tuple[str, int, str, int]
"""``(src_ip, src_port, dst_ip, dst_port)`` of one direction of a connection."""

_FLAG_ORDER = (
    Flags.FIN,
    Flags.SYN,
    Flags.RST,
    Flags.PSH,
    Flags.ACK,
    Flags.URG,
    Flags.ECE,
    Flags.CWR,
)


class Relative(NamedTuple):
    """What a packet's numbers look like relative to its connection's initial ones."""

    seq: int
    ack: int | None
    """``None`` when the ACK bit is off."""
    win: int
    """The window as the receiver reads it (scaled when scaling is in effect)."""
    length: int
    """Payload octets (Wireshark's ``Len``; SYN and FIN do not count)."""


@dataclass(slots=True)
class _Base:
    """One direction's base sequence number and what the numbering knows about it."""

    isn: int
    from_syn: bool
    wscale: int | None = None


@dataclass(slots=True)
class RelativeNumbers:
    """Tracks each direction's base; feed it packets in the order they happened."""

    _bases: dict[Direction, _Base] = field(default_factory=dict)
    _closed: set[frozenset[tuple[str, int]]] = field(default_factory=set)

    def observe(self, packet: Packet) -> Relative:
        """Learn from ``packet`` (if it is new) and return its relative numbers."""
        seg = packet.segment
        fwd = direction_of(packet)
        rev = reverse(fwd)
        if seg.flags & Flags.SYN:
            self._learn_syn(packet, fwd, rev)
        seq = (seg.seq - self._base(fwd, seg.seq).isn) % MOD
        ack = (seg.ack - self._base(rev, seg.ack).isn) % MOD if seg.flags & Flags.ACK else None
        if seg.flags & (Flags.FIN | Flags.RST):
            self._closed.add(_conversation(fwd))
        return Relative(seq, ack, self._window(packet, fwd, rev), len(seg.payload))

    def _base(self, direction: Direction, first: int) -> _Base:
        """The base of ``direction``; unknown so far, ``first`` becomes relative number 1."""
        base = self._bases.get(direction)
        if base is None:
            base = self._bases[direction] = _Base((first - 1) % MOD, from_syn=False)
        return base

    def _learn_syn(self, packet: Packet, fwd: Direction, rev: Direction) -> None:
        """A SYN sets its direction's base, or starts a new incarnation of the 4-tuple."""
        seg = packet.segment
        base = self._bases.get(fwd)
        key = _conversation(fwd)
        new_incarnation = (
            base is not None
            and base.from_syn
            and base.isn != seg.seq
            and not seg.flags & Flags.ACK
            and key in self._closed
        )
        if new_incarnation:
            self._bases.pop(rev, None)
            self._closed.discard(key)
        if base is None or not base.from_syn or new_incarnation:
            self._bases[fwd] = _Base(seg.seq, from_syn=True, wscale=seg.wscale)

    def _window(self, packet: Packet, fwd: Direction, rev: Direction) -> int:
        """The window scaled by the sender's shift when both SYNs agreed on scaling."""
        seg = packet.segment
        if seg.flags & Flags.SYN:
            return seg.window
        mine, theirs = self._bases.get(fwd), self._bases.get(rev)
        if mine is None or theirs is None or mine.wscale is None or theirs.wscale is None:
            return seg.window
        return seg.window << mine.wscale


def direction_of(packet: Packet) -> Direction:
    """The 4-tuple of ``packet``, source first."""
    seg = packet.segment
    return (packet.src, seg.src_port, packet.dst, seg.dst_port)


def reverse(direction: Direction) -> Direction:
    """The opposite direction of the same connection."""
    src, sport, dst, dport = direction
    return (dst, dport, src, sport)


def _conversation(direction: Direction) -> frozenset[tuple[str, int]]:
    """Both endpoints of a connection, without a direction."""
    src, sport, dst, dport = direction
    return frozenset({(src, sport), (dst, dport)})


def flag_names(flags: Flags) -> list[str]:
    """The names of the set bits, in Wireshark's order (``FIN, SYN, RST, PSH, ACK, ...``)."""
    return [f.name for f in _FLAG_ORDER if flags & f and f.name is not None]


def flags_text(flags: Flags) -> str:
    """Compact flag list, e.g. ``"SYN,ACK"``; empty when no bit is set."""
    return ",".join(flag_names(flags))


def option_text(packet: Packet) -> str:
    """Wireshark's option summary, e.g. ``"MSS=1460 SACK_PERM TSval=1 TSecr=0 WS=128"``."""
    parts: list[str] = []
    for opt in packet.segment.options:
        if isinstance(opt, MssOption):
            parts.append(f"MSS={opt.mss}")
        elif isinstance(opt, SackPermittedOption):
            parts.append("SACK_PERM")
        elif isinstance(opt, TimestampsOption):
            parts.append(f"TSval={opt.tsval} TSecr={opt.tsecr}")
        elif isinstance(opt, WindowScaleOption):
            parts.append(f"WS={1 << opt.shift}")
        elif isinstance(opt, SackOption):
            parts.extend(f"SLE={left} SRE={right}" for left, right in opt.blocks)
    return " ".join(parts)


def wireshark_label(
    packet: Packet, rel: Relative, *, win: bool | None = None, options: bool = True
) -> str:
    """Wireshark's Info text without ports, e.g. ``"[FIN, ACK] Seq=2445 Ack=558 Len=0"``.

    ``win=None`` shows ``Win`` only when it says something (a zero window); ``True`` always.
    ``options`` appends the option summary of SYN segments (``MSS=1460 WS=128 ...``).
    """
    flags = ", ".join(flag_names(packet.segment.flags)) or "<None>"
    parts = [f"[{flags}]", f"Seq={rel.seq}"]
    if rel.ack is not None:
        parts.append(f"Ack={rel.ack}")
    if win or (win is None and rel.win == 0):
        parts.append(f"Win={rel.win}")
    parts.append(f"Len={rel.length}")
    opts = option_text(packet) if options and packet.segment.flags & Flags.SYN else ""
    if opts:
        parts.append(opts)
    return " ".join(parts)


def info_line(packet: Packet, rel: Relative, *, arrow: str = "→") -> str:
    """The full Info column of a capture table: ``"49152 → 80 [SYN] Seq=0 Win=64240 Len=0 ..."``."""
    seg = packet.segment
    label = wireshark_label(packet, rel, win=True)
    return f"{seg.src_port} {arrow} {seg.dst_port} {label}"


def arrow_label(packet: Packet, rel: Relative) -> str:
    """The short form drawn on ladder arrows, e.g. ``"FIN,ACK seq=2445 ack=558"``.

    ``len=N`` is added for segments carrying data and ``win=0`` for a zero window.
    """
    parts = [flags_text(packet.segment.flags) or "<none>", f"seq={rel.seq}"]
    if rel.ack is not None:
        parts.append(f"ack={rel.ack}")
    if rel.length:
        parts.append(f"len={rel.length}")
    if rel.win == 0 and not packet.segment.flags & Flags.RST:
        parts.append("win=0")
    return " ".join(parts)


def label_packets(packets: list[Packet], *, short: bool = False) -> list[str]:
    """Labels for a sequence of packets, numbered relative to each connection's ISNs."""
    numbers = RelativeNumbers()
    out: list[str] = []
    for packet in packets:
        rel = numbers.observe(packet)
        out.append(arrow_label(packet, rel) if short else wireshark_label(packet, rel))
    return out
