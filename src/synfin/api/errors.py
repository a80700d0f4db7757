"""synfin's RFC 9293 error texts as the ``OSError`` subclasses and errno values of BSD sockets.

``OSError(errno.ECONNREFUSED, ...)`` is constructed as :class:`ConnectionRefusedError` by
Python itself, so callers can catch either the class or compare ``exc.errno``.
"""

from __future__ import annotations

import errno
import os

from synfin.errors import (
    CONNECTION_ALREADY_EXISTS,
    CONNECTION_REFUSED,
    CONNECTION_RESET,
    CONNECTION_TIMED_OUT,
    INSUFFICIENT_RESOURCES,
    USER_TIMEOUT,
    TcpError,
)

ERRNO_OF_TEXT: dict[str, int] = {
    CONNECTION_RESET: errno.ECONNRESET,
    CONNECTION_REFUSED: errno.ECONNREFUSED,
    CONNECTION_TIMED_OUT: errno.ETIMEDOUT,
    USER_TIMEOUT: errno.ETIMEDOUT,
    CONNECTION_ALREADY_EXISTS: errno.EADDRINUSE,
    INSUFFICIENT_RESOURCES: errno.EADDRNOTAVAIL,
}
"""The errno a BSD socket reports for each RFC 9293 error text."""


def os_error(code: int, detail: str = "") -> OSError:
    """``OSError(code, strerror)`` (Python picks the subclass, e.g. ``ConnectionResetError``)."""
    message = os.strerror(code)
    if detail:
        message = f"{message} ({detail})"
    return OSError(code, message)


def errno_of(error: TcpError) -> int:
    """The errno for a synfin error (``EIO`` for texts without a BSD counterpart)."""
    return ERRNO_OF_TEXT.get(error.text, errno.EIO)


def translate(error: TcpError) -> OSError:
    """The ``OSError`` a socket call raises for a synfin error (``__cause__`` keeps the
    RFC 9293 text)."""
    exc = os_error(errno_of(error))
    exc.__cause__ = error
    return exc
