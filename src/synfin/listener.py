"""A listening endpoint: the LISTEN TCB of a passive OPEN, with a bounded SYN queue of
half-open connections and a bounded accept queue of established ones.

Each SYN gets its own connection cloned from the listener in LISTEN, which then follows
RFC 9293 3.10.7.2 to SYN-RECEIVED; the listener itself stays in LISTEN (as BSD and Linux do).
"""

from __future__ import annotations

from collections import deque

from synfin.connection import Connection
from synfin.trace.records import ConnId


class Listener:
    """Half-open and completed connections of one listening port."""

    def __init__(self, local_ip: str, port: int, backlog: int, syn_backlog: int) -> None:
        self.local_ip = local_ip
        self.port = port
        self.backlog = backlog
        self.syn_backlog = syn_backlog
        self.syn_queue: dict[ConnId, Connection] = {}
        self.accept_queue: deque[Connection] = deque()
        self.closed = False

    def syn_queue_full(self) -> bool:
        return len(self.syn_queue) >= self.syn_backlog

    def accept_queue_full(self) -> bool:
        return len(self.accept_queue) >= self.backlog

    def accept(self) -> Connection | None:
        """The oldest completed connection, or ``None`` when there is none yet."""
        return self.accept_queue.popleft() if self.accept_queue else None

    def __repr__(self) -> str:
        return (f"<Listener {self.local_ip}:{self.port} syn={len(self.syn_queue)} "
                f"accept={len(self.accept_queue)}>")
