"""Helpers for the scenario tests: run a catalogue scenario once, and read its records as
segments with Wireshark-style relative numbers, state paths and timers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from synfin.scenarios import SCENARIOS, Options, ScenarioRun, run_scenario
from synfin.scenarios.world import CLIENT_IP, SERVER_IP
from synfin.seq import SEQ_MOD
from synfin.states import State
from synfin.trace.records import (
    ConnId,
    LinkEvent,
    Record,
    SegmentDropped,
    SegmentSent,
    StateChange,
    TimerStarted,
)
from synfin.wire import Flags, Packet

C = CLIENT_IP
S = SERVER_IP
SECOND = 1_000_000
#: Linux TIME-WAIT (2MSL with MSL = 30 s), synfin's default.
TWO_MSL = 60 * SECOND


@cache
def run(name: str, seed: int = 1, variants: frozenset[str] = frozenset(),
        time_wait_us: int | None = None) -> ScenarioRun:
    """Run a catalogue scenario (cached: runs are deterministic and tests only read them)."""
    return run_scenario(SCENARIOS[name], Options(seed, variants, time_wait_us))


def flag_text(flags: Flags) -> str:
    """``SYN,ACK``, ``FIN,PSH,ACK``, ``RST``."""
    return flags.short().replace(", ", ",")


@dataclass(frozen=True)
class Seg:
    """One segment a host sent, numbered relative to the ISNs of the run's first SYNs."""

    t: int
    host: str
    flags: str
    seq: int
    ack: int | None
    length: int
    reason: str
    packet: Packet

    @property
    def brief(self) -> tuple[str, str, int, int | None, int]:
        """(sender, flags, rel seq, rel ack, length): what a ladder arrow says."""
        return (self.host, self.flags, self.seq, self.ack, self.length)


def first_isns(records: list[Record]) -> dict[tuple[str, int], int]:
    """The sequence number of the first SYN each endpoint (ip, port) sent."""
    isns: dict[tuple[str, int], int] = {}
    for r in records:
        if isinstance(r, SegmentSent) and r.packet.segment.flags & Flags.SYN:
            key = (r.packet.src, r.packet.segment.src_port)
            isns.setdefault(key, r.packet.segment.seq)
    return isns


def segments(records: list[Record], host: str | None = None) -> list[Seg]:
    """Every segment sent (by ``host``), with relative numbers where the ISN is known."""
    isns = first_isns(records)
    out = []
    for r in records:
        if not isinstance(r, SegmentSent) or (host is not None and r.host != host):
            continue
        p, seg = r.packet, r.packet.segment
        src_isn = isns.get((p.src, seg.src_port))
        dst_isn = isns.get((p.dst, seg.dst_port))
        seq = seg.seq if src_isn is None else (seg.seq - src_isn) % SEQ_MOD
        ack = None
        if seg.flags & Flags.ACK:
            ack = seg.ack if dst_isn is None else (seg.ack - dst_isn) % SEQ_MOD
        out.append(Seg(r.t, r.host, flag_text(seg.flags), seq, ack, len(seg.payload), r.reason, p))
    return out


def briefs(records: list[Record], host: str | None = None) -> list[tuple[str, str, int,
                                                                        int | None, int]]:
    return [s.brief for s in segments(records, host)]


def changes(records: list[Record], host: str,
            conn: ConnId | None = None) -> list[StateChange]:
    """State changes of ``host`` (of one connection), listeners excluded."""
    return [r for r in records if isinstance(r, StateChange) and r.host == host
            and r.conn.remote_ip != "0.0.0.0" and (conn is None or r.conn == conn)]


def entered(records: list[Record], host: str, state: State,
            conn: ConnId | None = None) -> list[int]:
    """Times at which ``host`` entered ``state``."""
    return [c.t for c in changes(records, host, conn) if c.new is state]


def left(records: list[Record], host: str, state: State,
         conn: ConnId | None = None) -> list[int]:
    """Times at which ``host`` left ``state``."""
    return [c.t for c in changes(records, host, conn) if c.old is state]


def state_at(records: list[Record], host: str, t: int, conn: ConnId | None = None) -> State:
    """The state of ``host``'s connection just after everything at time ``t``."""
    current = State.CLOSED
    for c in changes(records, host, conn):
        if c.t > t:
            break
        current = c.new
    return current


def timers(records: list[Record], host: str, name: str) -> list[TimerStarted]:
    return [r for r in records if isinstance(r, TimerStarted) and r.host == host
            and r.timer == name]


def drops(records: list[Record], host: str) -> list[SegmentDropped]:
    return [r for r in records if isinstance(r, SegmentDropped) and r.host == host]


def link_events(records: list[Record], kind: str | None = None) -> list[LinkEvent]:
    return [r for r in records if isinstance(r, LinkEvent) and (kind is None or r.kind == kind)]


__all__ = [
    "SECOND",
    "TWO_MSL",
    "C",
    "S",
    "Seg",
    "briefs",
    "changes",
    "drops",
    "entered",
    "first_isns",
    "flag_text",
    "left",
    "link_events",
    "run",
    "segments",
    "state_at",
    "timers",
]
