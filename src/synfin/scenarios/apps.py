"""Tiny scripted applications that drive connections inside a simulation.

A :class:`Peer` owns one connection: it writes its payload as send space allows, reads
whatever arrives, and closes when its script says (after sending, on the peer's EOF, at a
time, or never). Scenarios compose these; nothing here knows about particular scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from synfin.connection import Connection
from synfin.errors import LocalError, TcpError
from synfin.listener import Listener
from synfin.states import State


class CloseWhen(Enum):
    """When a peer application calls CLOSE."""

    AFTER_SEND = "after-send"  #: once all of its payload is queued
    ON_EOF = "on-eof"  #: once the other side's FIN has been read (passive close)
    AT_TIME = "at-time"  #: at ``close_at`` microseconds
    NEVER = "never"  #: the application never closes (the CLOSE-WAIT leak)


@dataclass
class Script:
    """What one side's application does with its connection."""

    payload: bytes = b""
    close: CloseWhen = CloseWhen.AFTER_SEND
    close_at: int | None = None
    #: Send the payload only after this much has been received (request/response).
    send_after_receiving: int = 0
    #: With AFTER_SEND: also wait until this much has been received.
    close_after_receiving: int = 0
    #: Wait this long once the close condition holds (so CLOSE-WAIT can be seen).
    close_delay_us: int = 0
    #: Do not read until this time (to let the receive window fill).
    read_from: int = 0
    #: ABORT (RST) instead of CLOSE.
    abort: bool = False


@dataclass
class Peer:
    """One application endpoint running a :class:`Script` on a connection."""

    conn: Connection
    script: Script
    received: bytearray = field(default_factory=bytearray)
    sent: int = 0
    closed: bool = False
    eof: bool = False
    error: str | None = None
    #: When the close condition first held (the delay counts from here).
    close_ready_at: int | None = None

    def step(self, now: int) -> None:
        """Do whatever the script allows at ``now``; never raises."""
        try:
            self._read(now)
            self._write(now)
            self._maybe_close(now)
        except TcpError as exc:
            self.error = exc.text
        if self.conn.error is not None:
            self.error = self.conn.error.text

    def _read(self, now: int) -> None:
        if now < self.script.read_from or self.eof:
            return
        try:
            data = self.conn.receive(now=now)
        except LocalError:
            self.eof = self.conn.at_eof
            return
        self.received += data
        if not data and self.conn.at_eof:
            self.eof = True

    def _write(self, now: int) -> None:
        script = self.script
        if self.closed or self.sent >= len(script.payload):
            return
        if len(self.received) < script.send_after_receiving:
            return
        if self.conn.state not in (State.ESTABLISHED, State.CLOSE_WAIT):
            return
        chunk = script.payload[self.sent:self.sent + self.conn.send_space()]
        if chunk:
            self.sent += self.conn.send(chunk, now)

    def _maybe_close(self, now: int) -> None:
        if self.closed or self.conn.state in (State.CLOSED, State.SYN_SENT, State.LISTEN):
            return
        if self.close_ready_at is None and self._close_due(now):
            self.close_ready_at = now
        due = self.wake_at()
        if due is not None and now >= due:
            self.closed = True
            if self.script.abort:
                self.conn.abort(now)
            else:
                self.conn.close(now)
                self.conn.orphan(now)

    def wake_at(self) -> int | None:
        """When this peer next needs to run although nothing arrives (a delayed close)."""
        if self.closed:
            return None
        if self.close_ready_at is None:
            at_time = self.script.close is CloseWhen.AT_TIME
            return self.script.close_at if at_time else None
        return self.close_ready_at + self.script.close_delay_us

    def _close_due(self, now: int) -> bool:
        script = self.script
        all_sent = self.sent >= len(script.payload)
        if script.close is CloseWhen.AFTER_SEND:
            return all_sent and len(self.received) >= script.close_after_receiving
        if script.close is CloseWhen.ON_EOF:
            return all_sent and self.eof
        if script.close is CloseWhen.AT_TIME:
            return script.close_at is not None and now >= script.close_at
        return False


@dataclass
class Acceptor:
    """A server application: accepts every connection of a listener and runs a script."""

    listener: Listener
    script: Script
    peers: list[Peer] = field(default_factory=list)

    def step(self, now: int) -> None:
        while (conn := self.listener.accept()) is not None:
            self.peers.append(Peer(conn, self.script))
        for peer in self.peers:
            peer.step(now)
