"""The parsed form of a packetdrill script: options, then events on a timeline.

Every event keeps the line its time stands on, so that a failure names the line. Sequence
numbers stay as the script wrote them (script space); the interpreter maps them to the
numbers on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from synfin.wire.flags import Flags


class TimeKind(Enum):
    """How an event's time is written."""

    ABSOLUTE = "absolute"  #: ``0.100``
    RELATIVE = "relative"  #: ``+0.100``
    ANY = "any"  #: ``*`` (outbound packets only)
    ABSOLUTE_RANGE = "absolute range"  #: ``0.100~0.300`` (outbound packets only)
    RELATIVE_RANGE = "relative range"  #: ``+0.100~+0.300`` (outbound packets only)


@dataclass(frozen=True, slots=True)
class TimeSpec:
    """The time column, in microseconds."""

    kind: TimeKind
    start: int = 0
    end: int | None = None


# -- expressions (syscall arguments and results) ---------------------------------------------


@dataclass(frozen=True, slots=True)
class EllipsisExpr:
    """``...``: any value (an argument packetdrill fills in, or a result not checked)."""


@dataclass(frozen=True, slots=True)
class IntExpr:
    value: int


@dataclass(frozen=True, slots=True)
class WordExpr:
    """A symbol such as ``SOCK_STREAM`` or ``ECONNREFUSED``."""

    name: str


@dataclass(frozen=True, slots=True)
class StringExpr:
    value: str
    open_ended: bool = False  #: written ``"abc"...``


@dataclass(frozen=True, slots=True)
class OrExpr:
    """``A|B``: bitwise OR."""

    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class ListExpr:
    """``[a, b]``: an array (``[1]`` is an int passed by pointer)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class StructExpr:
    """``{fd=4, events=POLLIN}`` or ``{1, 2}``: named fields, or plain items."""

    fields: tuple[tuple[str, Expr], ...] = ()
    items: tuple[Expr, ...] = ()

    def get(self, name: str) -> Expr | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class CallExpr:
    """``htons(8080)``, ``inet_addr("192.0.2.1")``."""

    name: str
    args: tuple[Expr, ...]


Expr = (EllipsisExpr | IntExpr | WordExpr | StringExpr | OrExpr | ListExpr | StructExpr
        | CallExpr)


# -- TCP options ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One TCP option as written: ``mss 1460``, ``wscale 7``, ``sackOK``, ``sack 1:2 3:4``,
    ``TS val 1 ecr 0``, ``nop``, ``eol``."""

    kind: str
    values: tuple[int, ...] = ()

    @property
    def length(self) -> int:
        """Octets on the wire."""
        sizes = {"nop": 1, "eol": 1, "mss": 4, "wscale": 3, "sackOK": 2, "TS": 10}
        if self.kind == "sack":
            return 2 + 4 * len(self.values)
        return sizes[self.kind]

    def __str__(self) -> str:
        if self.kind == "sack":
            pairs = zip(self.values[0::2], self.values[1::2], strict=True)
            return "sack " + " ".join(f"{a}:{b}" for a, b in pairs)
        if self.kind == "TS":
            return f"TS val {self.values[0]} ecr {self.values[1]}"
        if self.values:
            return f"{self.kind} {self.values[0]}"
        return self.kind


# -- actions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PacketSpec:
    """``< S 0:0(0) win 1000 <mss 1000>`` (inbound) or ``> S. 0:0(0) ack 1 <...>``."""

    inbound: bool
    flags: Flags
    flags_text: str
    start: int
    end: int
    length: int
    ack: int | None = None
    window: int | None = None
    urgent: int | None = None
    #: ``None`` is the ``<...>`` wildcard (outbound only): options not checked.
    options: tuple[OptionSpec, ...] | None = ()
    src_port: int | None = None
    dst_port: int | None = None

    def __str__(self) -> str:
        text = f"{'<' if self.inbound else '>'} {self.flags_text} "
        text += f"{self.start}:{self.end}({self.length})"
        if self.ack is not None:
            text += f" ack {self.ack}"
        if self.window is not None:
            text += f" win {self.window}"
        if self.urgent is not None:
            text += f" urg {self.urgent}"
        if self.options is None:
            text += " <...>"
        elif self.options:
            text += " <" + ",".join(str(o) for o in self.options) + ">"
        return text


@dataclass(frozen=True, slots=True)
class SyscallSpec:
    """``+0...0.2 read(4, ..., 1000) = 1000`` or ``connect(3, ..., ...) = -1 EINPROGRESS``."""

    name: str
    args: tuple[Expr, ...]
    result: Expr
    errno: str | None = None
    note: str | None = None
    #: ``...END``: a blocking call expected to return at END (microseconds, as written).
    end: int | None = None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A backtick shell command: never run by synfin."""

    text: str


@dataclass(frozen=True, slots=True)
class CodeSpec:
    """``%{ assert tcpi_state == TCP_ESTABLISHED }%``."""

    text: str


Action = PacketSpec | SyscallSpec | CommandSpec | CodeSpec


@dataclass(frozen=True, slots=True)
class Event:
    line: int
    time: TimeSpec
    action: Action


@dataclass(frozen=True, slots=True)
class ScriptOption:
    """A leading ``--name=value`` line."""

    line: int
    name: str
    value: str | None


@dataclass(slots=True)
class Script:
    path: str
    options: list[ScriptOption] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    #: Backtick commands before the first event and after the last (init / cleanup).
    commands: list[tuple[int, str]] = field(default_factory=list)
