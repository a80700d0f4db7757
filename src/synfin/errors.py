"""Errors a user of synfin sees, worded as RFC 9293 section 3.10 words them.

A wrong-state user call raises :class:`LocalError`; a connection that failed because of the
peer or the network reports a :class:`RemoteError` (raised by the next user call, and kept in
``Connection.error``). Peer mistakes in single segments are never raised: they are dropped with a
named reason.
"""

from __future__ import annotations

CONNECTION_DOES_NOT_EXIST = "connection does not exist"
CONNECTION_ALREADY_EXISTS = "connection already exists"
CONNECTION_CLOSING = "connection closing"
CONNECTION_RESET = "connection reset"
CONNECTION_REFUSED = "connection refused"
CONNECTION_TIMED_OUT = "connection timed out"
USER_TIMEOUT = "connection aborted due to user timeout"
REMOTE_SOCKET_UNSPECIFIED = "remote socket unspecified"
INSUFFICIENT_RESOURCES = "insufficient resources"


class TcpError(Exception):
    """Base of synfin's user-facing errors; ``text`` is the RFC 9293 wording."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"error: {text}")


class LocalError(TcpError):
    """A user call that is not allowed in the connection's current state."""


class RemoteError(TcpError):
    """The connection failed: reset or refused by the peer, or timed out."""
