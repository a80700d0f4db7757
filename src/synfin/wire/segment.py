"""Immutable values for what travels on the wire: TCP options, TCP segments, IPv4 packets.

These are plain values (frozen dataclasses with slots). Parsing and emitting live in
``synfin.wire.tcp`` and ``synfin.wire.ipv4``; nothing here touches bytes on the wire.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from synfin.wire.flags import Flags

_T = TypeVar("_T")


def _fast_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slots dataclass an ``__init__`` that stores through the slot descriptors.

    The generated ``__init__`` of a frozen dataclass calls ``object.__setattr__`` per field;
    calling each slot's descriptor directly is about twice as fast, and segments and packets
    are built several times per segment on the wire (bench/NOTES.md). The signature, defaults,
    equality, hashing, repr and frozenness stay those of the dataclass: only the body of
    ``__init__`` changes, generated from the dataclass's own fields.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {}
    params = []
    body = []
    for i, f in enumerate(fields):
        namespace[f"_set{i}"] = getattr(cls, f.name).__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
        body.append(f"    _set{i}(self, {f.name})")
    source = f"def __init__(self, {', '.join(params)}):\n" + "\n".join(body) + "\n"
    exec(source, namespace)  # the same technique dataclasses itself uses
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


@dataclass(frozen=True, slots=True)
class MssOption:
    """Maximum Segment Size, kind 2 (RFC 9293 section 3.7.1). Only in SYN segments."""

    mss: int


@dataclass(frozen=True, slots=True)
class WindowScaleOption:
    """Window scale shift count, kind 3 (RFC 7323 section 2). Only in SYN segments."""

    shift: int


@dataclass(frozen=True, slots=True)
class SackPermittedOption:
    """SACK-permitted, kind 4 (RFC 2018 section 2). Only in SYN segments."""


@dataclass(frozen=True, slots=True)
class SackOption:
    """SACK blocks, kind 5 (RFC 2018 section 3): ``(left_edge, right_edge)`` pairs."""

    blocks: tuple[tuple[int, int], ...]


@_fast_init
@dataclass(frozen=True, slots=True)
class TimestampsOption:
    """Timestamps, kind 8 (RFC 7323 section 3): TSval and TSecr."""

    tsval: int
    tsecr: int


@dataclass(frozen=True, slots=True)
class NopOption:
    """No-Operation, kind 1 (RFC 9293 section 3.1): padding between options."""


@dataclass(frozen=True, slots=True)
class EolOption:
    """End of Option List, kind 0 (RFC 9293 section 3.1)."""


@dataclass(frozen=True, slots=True)
class UnknownOption:
    """Any other option, kept verbatim so that it survives a parse/emit round trip."""

    kind: int
    data: bytes


TcpOption = (
    MssOption
    | WindowScaleOption
    | SackPermittedOption
    | SackOption
    | TimestampsOption
    | NopOption
    | EolOption
    | UnknownOption
)


@_fast_init
@dataclass(frozen=True, slots=True)
class TcpSegment:
    """A TCP segment: the header fields of RFC 9293 section 3.1 and the payload.

    ``seq`` and ``ack`` are absolute 32-bit numbers; ``window`` is the raw 16-bit field
    (unscaled). ``options`` keeps the order of the wire.
    """

    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: Flags
    window: int
    urgent: int = 0
    options: tuple[TcpOption, ...] = ()
    payload: bytes = b""

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293 section 3.4: payload octets plus one for SYN and one for FIN."""
        n = len(self.payload)
        if self.flags & Flags.SYN:
            n += 1
        if self.flags & Flags.FIN:
            n += 1
        return n

    def option(self, kind: type[TcpOption]) -> TcpOption | None:
        """The first option of the given class, or ``None``."""
        for opt in self.options:
            if type(opt) is kind:
                return opt
        return None

    @property
    def mss(self) -> int | None:
        opt = self.option(MssOption)
        return opt.mss if isinstance(opt, MssOption) else None

    @property
    def wscale(self) -> int | None:
        opt = self.option(WindowScaleOption)
        return opt.shift if isinstance(opt, WindowScaleOption) else None

    @property
    def sack_permitted(self) -> bool:
        return self.option(SackPermittedOption) is not None

    @property
    def timestamps(self) -> TimestampsOption | None:
        opt = self.option(TimestampsOption)
        return opt if isinstance(opt, TimestampsOption) else None

    @property
    def sack_blocks(self) -> tuple[tuple[int, int], ...]:
        opt = self.option(SackOption)
        return opt.blocks if isinstance(opt, SackOption) else ()


@_fast_init
@dataclass(frozen=True, slots=True)
class Packet:
    """An IPv4 packet carrying one TCP segment (RFC 791 header fields synfin uses)."""

    src: str
    dst: str
    segment: TcpSegment
    ttl: int = 64
    ident: int = 0
    tos: int = 0
    dont_fragment: bool = True
