"""asyncio streams over synfin: ``open_connection`` and ``start_server``.

They return asyncio's own :class:`asyncio.StreamReader` and :class:`asyncio.StreamWriter`
(over a :class:`SynfinTransport`), so ``read``, ``readline``, ``readexactly``, ``write``,
``drain``, ``write_eof``, ``close`` and ``wait_closed`` behave as with kernel sockets::

    host = TcpHost(driver)
    reader, writer = await open_connection("10.77.0.1", 80, via=host)

    async def handle(reader, writer):
        writer.write(await reader.read(100))
        await writer.drain()
        writer.close()
    server = await start_server(handle, "0.0.0.0", 7, via=host)

The driver's I/O thread runs a *waker* after each round; a per-loop :class:`_Bridge` turns
that into one ``call_soon_threadsafe`` poll of the loop's transports and servers. The poll
collects what happened while holding the driver's lock and runs the protocol callbacks after
releasing it, so callbacks may call back into the transport.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from synfin.api.errors import os_error, translate
from synfin.api.sockets import TcpHost, _parse_address
from synfin.connection import Connection
from synfin.errors import LocalError
from synfin.listener import Listener
from synfin.states import State

S = State
_SENDABLE = frozenset({S.ESTABLISHED, S.CLOSE_WAIT})
_FIN_OK = frozenset({S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT})
_ABORTABLE = frozenset({S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2,
                        S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK})
HIGH_WATER = 64 * 1024
READ_CHUNK = 1 << 20
DEFAULT_LIMIT = 2 ** 16

Actions = list[Callable[[], object]]
ClientCallback = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None]


class _Bridge:
    """One asyncio loop's view of one :class:`TcpHost`: polls its transports and servers."""

    def __init__(self, host: TcpHost, loop: asyncio.AbstractEventLoop) -> None:
        self.host = host
        self.loop = loop
        self.transports: set[SynfinTransport] = set()
        self.servers: set[SynfinServer] = set()
        self._scheduled = False
        self._detached = False
        host.driver.add_waker(self._wake)

    def _wake(self) -> None:
        """On the I/O thread: schedule one poll on the loop."""
        if self._scheduled or self._detached:
            return
        self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self.poll)
        except RuntimeError:  # the loop is closed
            self.detach()

    def schedule(self) -> None:
        """On the loop: poll soon."""
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self.poll)

    def poll(self) -> None:
        self._scheduled = False
        actions: Actions = []
        alive = _driver_alive(self.host)
        with self.host.driver.cond:
            for transport in list(self.transports):
                transport._service(actions, alive)
            for server in list(self.servers):
                server._service(actions, alive)
        for action in actions:
            action()

    def detach(self) -> None:
        if not self._detached:
            self._detached = True
            self.host.driver.remove_waker(self._wake)
            _BRIDGES.pop((id(self.host), id(self.loop)), None)

    def maybe_detach(self) -> None:
        if not self.transports and not self.servers:
            self.detach()


_BRIDGES: dict[tuple[int, int], _Bridge] = {}


def _bridge_for(host: TcpHost, loop: asyncio.AbstractEventLoop) -> _Bridge:
    key = (id(host), id(loop))
    bridge = _BRIDGES.get(key)
    if bridge is None or bridge.host is not host or bridge.loop is not loop:
        bridge = _Bridge(host, loop)
        _BRIDGES[key] = bridge
    return bridge


def _driver_alive(host: TcpHost) -> bool:
    try:
        host.driver.check()
    except Exception:
        return False
    return True


class SynfinTransport(asyncio.Transport):
    """An asyncio transport over one synfin :class:`~synfin.connection.Connection`."""

    def __init__(self, bridge: _Bridge, conn: Connection,
                 waiter: asyncio.Future[None] | None = None,
                 server: SynfinServer | None = None) -> None:
        super().__init__({"peername": (conn.remote_ip, conn.remote_port),
                          "sockname": (conn.local_ip, conn.local_port),
                          "connection": conn})
        self._bridge = bridge
        self._conn = conn
        self._waiter = waiter
        self._server = server
        self._protocol: asyncio.BaseProtocol | None = None
        self._buffer = bytearray()
        self._high = HIGH_WATER
        self._low = HIGH_WATER // 4
        self._closing = False
        self._eof_requested = False
        self._fin_done = False
        self._reading = True
        self._eof_delivered = False
        self._lost = False
        self._paused_writing = False

    def __repr__(self) -> str:
        return f"<SynfinTransport {self._conn.conn_id} {self._conn.state}>"

    # -- protocol plumbing ---------------------------------------------------------------

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def is_closing(self) -> bool:
        return self._closing or self._lost

    def _now(self) -> int:
        return self._bridge.host.driver.now()

    # -- reading -------------------------------------------------------------------------

    def is_reading(self) -> bool:
        return self._reading and not self._lost

    def pause_reading(self) -> None:
        self._reading = False

    def resume_reading(self) -> None:
        if not self._reading:
            self._reading = True
            self._bridge.schedule()

    # -- writing -------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._eof_requested:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._closing or self._lost or not data:
            return
        actions: Actions = []
        with self._bridge.host.driver.cond:
            self._buffer.extend(data)
            self._flush(actions)
        for action in actions:
            action()
        if len(self._buffer) > self._high and not self._paused_writing:
            self._paused_writing = True
            protocol = self._protocol
            if isinstance(protocol, asyncio.Protocol):
                protocol.pause_writing()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if self._eof_requested or self._closing:
            return
        self._eof_requested = True
        actions: Actions = []
        with self._bridge.host.driver.cond:
            self._flush(actions)
        for action in actions:
            action()

    def get_write_buffer_size(self) -> int:
        return len(self._buffer)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (self._low, self._high)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = HIGH_WATER if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high, self._low = high, low

    def _flush(self, actions: Actions) -> None:
        """Lock held: move buffered bytes into TCP; FIN once everything is in (write_eof or
        close); resume the writer below the low-water mark."""
        conn = self._conn
        driver = self._bridge.host.driver
        if self._buffer and conn.state in _SENDABLE and conn.error is None:
            space = conn.send_space()
            if space:
                taken = conn.send(bytes(self._buffer[:space]), driver.now())
                del self._buffer[:taken]
                driver.kick()
        if not self._buffer and (self._closing or self._eof_requested) and not self._fin_done:
            self._fin_done = True
            now = driver.now()
            if conn.state in _FIN_OK or conn.state is S.SYN_SENT:
                conn.close(now)
            if self._closing and conn.state is not S.CLOSED:
                conn.orphan(now)
            driver.kick()
        if self._paused_writing and len(self._buffer) <= self._low:
            self._paused_writing = False
            protocol = self._protocol
            if isinstance(protocol, asyncio.Protocol):
                actions.append(protocol.resume_writing)

    # -- the poll ------------------------------------------------------------------------

    def _service(self, actions: Actions, alive: bool) -> None:
        """Lock held: collect what happened since the last poll as protocol callbacks."""
        conn = self._conn
        if self._waiter is not None:
            self._service_connect(actions, alive)
            return
        if self._protocol is None or self._lost:
            return
        if not alive:
            self._lose(actions, ConnectionAbortedError(errno.ECONNABORTED,
                                                       "synfin driver stopped"))
            return
        self._flush(actions)
        if self._reading and not self._eof_delivered:
            chunks = []
            while conn.readable():
                chunks.append(conn.receive(READ_CHUNK, now=self._now()))
            if chunks:
                self._bridge.host.driver.kick()  # a window update may be due
                protocol = self._protocol
                if isinstance(protocol, asyncio.Protocol):
                    actions.append(partial(protocol.data_received, b"".join(chunks)))
            if conn.at_eof:
                self._eof_delivered = True
                actions.append(self._deliver_eof)
        if conn.error is not None and not conn.readable():
            self._lose(actions, translate(conn.error))
        elif self._closing and self._fin_done:
            self._lose(actions, None)

    def _service_connect(self, actions: Actions, alive: bool) -> None:
        conn = self._conn
        waiter = self._waiter
        assert waiter is not None
        if conn.state is S.SYN_SENT and alive:
            return
        self._waiter = None
        if not alive or conn.error is not None or conn.state is S.CLOSED:
            exc: OSError = translate(conn.error) if conn.error is not None else \
                os_error(errno.ECONNABORTED, "synfin driver stopped")
            self._lost = True
            self._bridge.transports.discard(self)
            actions.append(partial(_settle, waiter, exc))
            return
        actions.append(partial(_settle, waiter, None))

    def _deliver_eof(self) -> None:
        protocol = self._protocol
        keep_open = protocol.eof_received() if isinstance(protocol, asyncio.Protocol) else False
        if not keep_open:
            self.close()

    def _lose(self, actions: Actions, exc: Exception | None) -> None:
        self._lost = True
        self._buffer.clear()
        self._bridge.transports.discard(self)
        if self._server is not None:
            self._server._clients.discard(self)
        protocol = self._protocol
        if protocol is not None:
            actions.append(partial(protocol.connection_lost, exc))
        actions.append(self._bridge.maybe_detach)

    # -- endings -------------------------------------------------------------------------

    def close(self) -> None:
        if self._closing or self._lost:
            return
        self._closing = True
        if self._reading is False:
            self._reading = True
        actions: Actions = []
        with self._bridge.host.driver.cond:
            self._flush(actions)
        for action in actions:
            action()
        self._bridge.schedule()

    def abort(self) -> None:
        if self._lost:
            return
        self._closing = True
        with self._bridge.host.driver.cond:
            conn = self._conn
            if conn.state in _ABORTABLE:
                conn.abort(self._now())
                self._bridge.host.driver.kick()
            self._fin_done = True
        self._bridge.schedule()


def _settle(waiter: asyncio.Future[None], exc: BaseException | None) -> None:
    if waiter.done():
        return
    if exc is None:
        waiter.set_result(None)
    else:
        waiter.set_exception(exc)


async def open_connection(host: str, port: int, *, via: TcpHost, limit: int = DEFAULT_LIMIT,
                          local_port: int | None = None,
                          ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to ``host:port`` over the synfin host ``via``; like
    :func:`asyncio.open_connection` (raises ``ConnectionRefusedError`` etc.)."""
    loop = asyncio.get_running_loop()
    ip, port = _parse_address((host, port))
    bridge = _bridge_for(via, loop)
    waiter: asyncio.Future[None] = loop.create_future()
    driver = via.driver
    with driver.cond:
        driver.check()
        try:
            conn = via.stack.connect(ip, port, driver.now(), local_port=local_port)
        except LocalError as exc:
            raise translate(exc) from None
        transport = SynfinTransport(bridge, conn, waiter)
        bridge.transports.add(transport)
        driver.kick()
    try:
        await waiter
    except asyncio.CancelledError:
        transport.abort()
        raise
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport.set_protocol(protocol)
    protocol.connection_made(transport)
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    bridge.schedule()
    return reader, writer


class _ListenAddress:
    """What ``Server.sockets`` lists: something with ``getsockname()``."""

    def __init__(self, address: tuple[str, int]) -> None:
        self._address = address

    def getsockname(self) -> tuple[str, int]:
        return self._address


class SynfinServer(asyncio.AbstractServer):
    """A listening synfin port serving asyncio streams (see :func:`start_server`)."""

    def __init__(self, bridge: _Bridge, listener: Listener, callback: ClientCallback,
                 limit: int) -> None:
        self._bridge = bridge
        self._listener = listener
        self._callback = callback
        self._limit = limit
        self._closed = False
        self._serving_forever: asyncio.Future[None] | None = None
        self._clients: set[SynfinTransport] = set()
        self.sockets = (_ListenAddress((bridge.host.address, listener.port)),)

    @property
    def port(self) -> int:
        return self._listener.port

    def _service(self, actions: Actions, alive: bool) -> None:
        if not alive:
            actions.append(self.close)
            return
        while True:
            conn = self._listener.accept()
            if conn is None:
                return
            transport = SynfinTransport(self._bridge, conn, server=self)
            self._bridge.transports.add(transport)
            self._clients.add(transport)
            actions.append(partial(self._accepted, transport))

    def _accepted(self, transport: SynfinTransport) -> None:
        loop = self._bridge.loop
        reader = asyncio.StreamReader(limit=self._limit, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, self._callback,
                                                loop=loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        self._bridge.schedule()

    def close(self) -> None:
        """Stop listening (connections already accepted stay open, as with asyncio)."""
        if self._closed:
            return
        self._closed = True
        host = self._bridge.host
        with host.driver.cond:
            now = host.driver.now()
            host.stack.close_listener(self._listener, now)
            while True:
                conn = self._listener.accept()
                if conn is None:
                    break
                if conn.state in _ABORTABLE:
                    conn.abort(now)
            host.driver.kick()
        self._bridge.servers.discard(self)
        self._bridge.maybe_detach()
        if self._serving_forever is not None and not self._serving_forever.done():
            self._serving_forever.cancel()

    def close_clients(self) -> None:
        """Close every connection this server accepted (FIN after the buffered data), even
        those whose callback has not started yet (as ``Server.close_clients`` of 3.13), and
        those established but not yet accepted (FIN, where closing the listener would reset
        them)."""
        host = self._bridge.host
        with host.driver.cond:
            now = host.driver.now()
            while True:
                conn = self._listener.accept()
                if conn is None:
                    break
                if conn.state in _FIN_OK:
                    conn.close(now)
                if conn.state is not S.CLOSED:
                    conn.orphan(now)
            host.driver.kick()
        for transport in list(self._clients):
            transport.close()
        self._clients.clear()

    def abort_clients(self) -> None:
        """Abort (RST) every connection this server accepted."""
        for transport in list(self._clients):
            transport.abort()
        self._clients.clear()

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._bridge.loop

    def is_serving(self) -> bool:
        return not self._closed

    async def start_serving(self) -> None:
        return None

    async def serve_forever(self) -> None:
        if self._serving_forever is not None:
            raise RuntimeError("server is already being awaited on serve_forever()")
        if self._closed:
            raise RuntimeError("server is closed")
        self._serving_forever = self._bridge.loop.create_future()
        try:
            await self._serving_forever
        except asyncio.CancelledError:
            self.close()
            raise
        finally:
            self._serving_forever = None

    async def wait_closed(self) -> None:
        await asyncio.sleep(0)


async def start_server(client_connected_cb: ClientCallback, host: str | None = None,
                       port: int = 0, *, via: TcpHost, limit: int = DEFAULT_LIMIT,
                       backlog: int | None = None, **_: Any) -> SynfinServer:
    """Listen on ``port`` of the synfin host ``via``; like :func:`asyncio.start_server`.

    ``host`` must be ``None``, ``""``, ``"0.0.0.0"`` or the host's own address; port 0
    picks a free port (see ``server.sockets[0].getsockname()``)."""
    loop = asyncio.get_running_loop()
    ip, port = _parse_address((host or "0.0.0.0", port))
    if ip not in ("0.0.0.0", via.address):
        raise os_error(errno.EADDRNOTAVAIL)
    bridge = _bridge_for(via, loop)
    driver = via.driver
    with driver.cond:
        driver.check()
        if port == 0:
            port = via._free_port()
        elif via._port_in_use(port, reuse=True):
            raise os_error(errno.EADDRINUSE)
        try:
            listener = via.stack.listen(port, backlog, driver.now())
        except LocalError:
            raise os_error(errno.EADDRINUSE) from None
        server = SynfinServer(bridge, listener, client_connected_cb, limit)
        bridge.servers.add(server)
    bridge.schedule()
    return server
