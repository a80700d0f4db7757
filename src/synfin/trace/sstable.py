"""An ``ss -tan``-like table of every connection's state at any instant of a run.

Built from :class:`StateChange` records alone: the state of a connection (one host's TCB,
keyed by host and 4-tuple) at time ``at`` is the ``new`` state of its last change at or before
``at``. Connections that reached CLOSED are left out unless asked for, as ``ss`` does. The
summary line counts connections per state, which is how a CLOSE-WAIT pile-up (an application
that never calls close) shows itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from synfin.states import State
from synfin.trace.ladder import WILDCARD_IPS, format_ms
from synfin.trace.records import ConnId, Record, StateChange

SS_NAMES: dict[State, str] = {
    State.CLOSED: "UNCONN",
    State.LISTEN: "LISTEN",
    State.SYN_SENT: "SYN-SENT",
    State.SYN_RECEIVED: "SYN-RECV",
    State.ESTABLISHED: "ESTAB",
    State.FIN_WAIT_1: "FIN-WAIT-1",
    State.FIN_WAIT_2: "FIN-WAIT-2",
    State.CLOSE_WAIT: "CLOSE-WAIT",
    State.CLOSING: "CLOSING",
    State.LAST_ACK: "LAST-ACK",
    State.TIME_WAIT: "TIME-WAIT",
}
"""The abbreviations Linux ``ss`` prints, for ``names="ss"``."""

HEADERS = ("State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Since(ms)")


@dataclass(frozen=True, slots=True)
class ConnRow:
    """One connection as ``ss`` would list it on ``host``."""

    host: str
    local: str
    """``ip:port``."""
    remote: str
    """``ip:port``; a listener's unbound peer is ``0.0.0.0:*``."""
    state: State
    since: int
    """When it entered ``state`` (microseconds)."""
    conn: ConnId
    recv_q: int | None = None
    """Octets received and not yet read; ``None`` when the trace does not say."""
    send_q: int | None = None
    """Octets not yet acknowledged; ``None`` when the trace does not say."""


def connection_states(
    records: Iterable[Record],
    at: int | None = None,
    *,
    include_closed: bool = False,
    host: str | None = None,
) -> list[ConnRow]:
    """Every connection's state at time ``at`` (default: the end of the trace), in the order
    the connections first appeared. ``host`` keeps one host's connections only."""
    latest: dict[tuple[str, ConnId], StateChange] = {}
    for record in records:
        if not isinstance(record, StateChange) or (at is not None and record.t > at):
            continue
        if host is None or record.host == host:
            latest[(record.host, record.conn)] = record
    rows = [_row(change) for change in latest.values() if not _deleted_clone(change)]
    return [r for r in rows if include_closed or r.state is not State.CLOSED]


def _deleted_clone(change: StateChange) -> bool:
    """A listener's half-open clone that went back to LISTEN: the stack deleted it (the
    listener itself has no peer), so ``ss`` would not list it."""
    conn = change.conn
    return (change.new is State.LISTEN and change.old is State.SYN_RECEIVED
            and conn.remote_port != 0)


def _row(change: StateChange) -> ConnRow:
    """The table row for a connection whose last change was ``change``."""
    conn = change.conn
    local = f"{conn.local_ip}:{conn.local_port}"
    return ConnRow(change.host, local, peer_text(conn), change.new, change.t, conn)


def peer_text(conn: ConnId) -> str:
    """The peer column: ``ip:port``, or ``0.0.0.0:*`` while a listener has no peer."""
    if conn.remote_port == 0 or conn.remote_ip in WILDCARD_IPS:
        ip = conn.remote_ip if conn.remote_ip not in ("", "*") else "0.0.0.0"
        return f"{ip}:*"
    return f"{conn.remote_ip}:{conn.remote_port}"


def state_counts(rows: Iterable[ConnRow]) -> dict[State, int]:
    """How many connections are in each state, in the RFC's order of states."""
    counts = Counter(r.state for r in rows)
    return {state: counts[state] for state in State if counts[state]}


def render_ss(
    rows: Sequence[ConnRow],
    *,
    names: Literal["rfc", "ss"] = "rfc",
    summary: bool = True,
    show_host: bool | None = None,
) -> str:
    """The table as text, ``ss -tan`` style, with a per-state count summary at the end.

    ``names="ss"`` prints Linux's abbreviations (``ESTAB``, ``SYN-RECV``); a ``Host`` column
    comes first when the rows span several hosts (or ``show_host`` says so).
    """
    with_host = show_host if show_host is not None else len({r.host for r in rows}) > 1
    header = (("Host",) if with_host else ()) + HEADERS
    table = [list(header)] + [_cells(r, names, with_host) for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in table]
    out = [line.rstrip() for line in lines]
    if summary:
        out.append(summary_line(rows, names=names))
    return "\n".join(out) + "\n"


def _cells(row: ConnRow, names: Literal["rfc", "ss"], with_host: bool) -> list[str]:
    """The text cells of one row."""
    state = SS_NAMES[row.state] if names == "ss" else row.state.value
    cells = [
        state,
        _queue(row.recv_q),
        _queue(row.send_q),
        row.local,
        row.remote,
        format_ms(row.since),
    ]
    return [row.host, *cells] if with_host else cells


def _queue(value: int | None) -> str:
    """A queue length, or ``-`` when unknown."""
    return "-" if value is None else str(value)


def summary_line(rows: Iterable[ConnRow], *, names: Literal["rfc", "ss"] = "rfc") -> str:
    """``Total: 5 (LISTEN 1, ESTABLISHED 1, CLOSE-WAIT 3)``."""
    counts = state_counts(rows)
    parts = [f"{SS_NAMES[s] if names == 'ss' else s.value} {n}" for s, n in counts.items()]
    total = sum(counts.values())
    return f"Total: {total} ({', '.join(parts)})" if parts else "Total: 0"
