"""Application interfaces over any real-time driver: BSD-like sockets and asyncio streams.

* :class:`TcpHost` / :class:`TcpSocket` (:mod:`synfin.api.sockets`): blocking sockets with
  Linux errno semantics.
* :func:`open_connection` / :func:`start_server` (:mod:`synfin.api.streams`): asyncio's
  ``StreamReader``/``StreamWriter`` over a synfin connection.
"""

from __future__ import annotations

from synfin.api.sockets import TcpHost, TcpSocket
from synfin.api.streams import SynfinServer, SynfinTransport, open_connection, start_server

__all__ = [
    "SynfinServer",
    "SynfinTransport",
    "TcpHost",
    "TcpSocket",
    "open_connection",
    "start_server",
]
