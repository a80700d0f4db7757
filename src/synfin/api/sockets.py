"""A blocking, BSD-like socket API over any real-time synfin driver.

::

    driver = TunDriver("synfin0", "10.77.0.2"); driver.start()
    host = TcpHost(driver)
    with host.socket() as s:
        s.connect(("10.77.0.1", 80))
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        print(s.recv(4096))

The calls follow Linux's ``socket(7)``/``tcp(7)``: errors are ``OSError`` with the errno a
Linux socket would give (``ECONNREFUSED``, ``ECONNRESET``, ``ETIMEDOUT``, ``EPIPE``,
``ENOTCONN``, ``EADDRINUSE``, ``EINPROGRESS`` for a non-blocking connect, ``EAGAIN`` for a
non-blocking call that would block), ``settimeout`` raises ``TimeoutError``. Like Linux,
``close()`` with unread received data, or with ``SO_LINGER`` on and a zero timeout, sends RST
(ABORT, RFC 9293 3.10.5; RFC 2525 2.17) instead of FIN, and a closed socket's connection lives
on in the stack (FIN retransmissions, TIME-WAIT) as an orphan.

Thread model: every call takes the driver's lock, makes its RFC 9293 user calls, kicks the
I/O thread and, to block, waits on the driver's condition (released while waiting).
"""

from __future__ import annotations

import errno
import ipaddress
import socket as _socket
import struct
import time
from collections.abc import Callable
from typing import Any, Protocol

from synfin.api.errors import os_error, translate
from synfin.connection import Connection
from synfin.errors import CONNECTION_ALREADY_EXISTS, LocalError, TcpError
from synfin.listener import Listener
from synfin.stack import Stack
from synfin.states import State

S = State
_SENDABLE = frozenset({S.ESTABLISHED, S.CLOSE_WAIT})
_FIN_OK = frozenset({S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT})
_OPEN_FOR_ABORT = frozenset({S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1,
                             S.FIN_WAIT_2, S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK})

AF_INET = _socket.AF_INET
SOCK_STREAM = _socket.SOCK_STREAM
SHUT_RD = _socket.SHUT_RD
SHUT_WR = _socket.SHUT_WR
SHUT_RDWR = _socket.SHUT_RDWR
SOL_SOCKET = _socket.SOL_SOCKET
IPPROTO_TCP = _socket.IPPROTO_TCP
SO_REUSEADDR = _socket.SO_REUSEADDR
SO_LINGER = _socket.SO_LINGER
SO_ERROR = _socket.SO_ERROR
SO_RCVBUF = _socket.SO_RCVBUF
SO_SNDBUF = _socket.SO_SNDBUF
SO_TYPE = _socket.SO_TYPE
TCP_NODELAY = _socket.TCP_NODELAY
MIN_BUFFER = 1024
LINGER = struct.Struct("ii")


class DriverLike(Protocol):
    """What the API needs from a driver (:class:`~synfin.drivers.base.IoDriver` has it)."""

    @property
    def cond(self) -> Any: ...  # a threading.Condition over the driver's lock

    def now(self) -> int: ...

    def kick(self) -> None: ...

    def check(self) -> None: ...

    def add_waker(self, waker: Callable[[], None]) -> None: ...

    def remove_waker(self, waker: Callable[[], None]) -> None: ...


def _parse_address(address: object) -> tuple[str, int]:
    """An ``(ip, port)`` pair with a dotted-quad IPv4 address and a port in range."""
    if not isinstance(address, tuple) or len(address) != 2:
        raise TypeError("AF_INET address must be a tuple (host, port)")
    host, port = address
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise OverflowError("port must be 0-65535.")
    if host in ("", "0.0.0.0"):
        return "0.0.0.0", port
    if host == "localhost":
        raise os_error(errno.EADDRNOTAVAIL, "synfin has no loopback address")
    try:
        return str(ipaddress.IPv4Address(host)), port
    except (ipaddress.AddressValueError, ValueError):
        raise _socket.gaierror(_socket.EAI_NONAME, f"not an IPv4 address: {host!r}") from None


class TcpHost:
    """One synfin stack seen through sockets: creates them and keeps the ports they bind."""

    def __init__(self, driver: DriverLike, stack: Stack | None = None) -> None:
        if stack is None:
            stack = getattr(driver, "stack", None)
            if not isinstance(stack, Stack):
                raise TypeError("this driver runs several stacks: say which one")
        self.driver = driver
        self.stack = stack
        self._bound: dict[int, list[TcpSocket]] = {}

    @property
    def address(self) -> str:
        return self.stack.address

    def socket(self, family: int = AF_INET, type: int = SOCK_STREAM, proto: int = 0) -> TcpSocket:
        """A new TCP socket (only ``AF_INET``/``SOCK_STREAM``)."""
        if family != AF_INET:
            raise os_error(errno.EAFNOSUPPORT)
        if type & ~(_socket.SOCK_NONBLOCK | _socket.SOCK_CLOEXEC) != SOCK_STREAM:
            raise os_error(errno.EPROTONOSUPPORT)
        sock = TcpSocket(self)
        if type & _socket.SOCK_NONBLOCK:
            sock.setblocking(False)
        return sock

    def create_connection(self, address: tuple[str, int], timeout: float | None = None,
                          source_address: tuple[str, int] | None = None) -> TcpSocket:
        """Like :func:`socket.create_connection` (IPv4 addresses only)."""
        sock = self.socket()
        try:
            sock.settimeout(timeout)
            if source_address is not None:
                sock.bind(source_address)
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return sock

    def create_server(self, address: tuple[str, int], *, backlog: int | None = None,
                      reuse_port: bool = False) -> TcpSocket:
        """Like :func:`socket.create_server`: bound (with ``SO_REUSEADDR``) and listening."""
        sock = self.socket()
        try:
            sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return sock

    # -- ports (called with the lock held) --------------------------------------------------

    def _port_in_use(self, port: int, reuse: bool) -> bool:
        if port in self.stack.listeners:
            return True
        for other in self._bound.get(port, ()):
            if not (reuse and other._reuseaddr):
                return True
        if reuse:
            return False
        return self.stack.uses_port(port)

    def _bind(self, sock: TcpSocket, port: int) -> int:
        if port == 0:
            port = self._free_port()
        elif self._port_in_use(port, sock._reuseaddr):
            raise os_error(errno.EADDRINUSE)
        self._bound.setdefault(port, []).append(sock)
        return port

    def _unbind(self, sock: TcpSocket, port: int) -> None:
        users = self._bound.get(port)
        if users and sock in users:
            users.remove(sock)
            if not users:
                del self._bound[port]

    def _free_port(self) -> int:
        low, high = self.stack.config.ephemeral_ports
        used = {cid.local_port for cid in self.stack.connections}
        used.update(self.stack.listeners, self._bound)
        start = int(time.monotonic_ns() // 1000) % (high - low + 1)
        for i in range(high - low + 1):
            port = low + (start + i) % (high - low + 1)
            if port not in used:
                return port
        raise os_error(errno.EADDRNOTAVAIL, "no free ephemeral port")


class TcpSocket:
    """A TCP socket of a :class:`TcpHost` (see the module docstring for the semantics)."""

    family = AF_INET
    type = SOCK_STREAM
    proto = 0

    def __init__(self, host: TcpHost, conn: Connection | None = None) -> None:
        self._host = host
        self._cond = host.driver.cond
        self._conn = conn
        self._listener: Listener | None = None
        self._port: int | None = conn.local_port if conn is not None else None
        self._bound_here = False
        self._timeout: float | None = _socket.getdefaulttimeout()
        self._closed = False
        self._shut_rd = False
        self._shut_wr = False
        self._reuseaddr = False
        self._linger: tuple[int, int] = (0, 0)
        self._nodelay = False
        self._sndbuf = host.stack.config.send_buffer
        self._rcvbuf = host.stack.config.recv_buffer
        self._error_reported = False

    def __repr__(self) -> str:
        state = "closed" if self._closed else (
            str(self._conn.state) if self._conn else "LISTEN" if self._listener else "unbound")
        return f"<synfin TcpSocket {state} {self._local_text()}>"

    def _local_text(self) -> str:
        return f"{self._host.address}:{self._port}" if self._port is not None else "*"

    def __enter__(self) -> TcpSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fileno(self) -> int:
        """There is no kernel file descriptor: always ``-1``."""
        return -1

    # -- timeouts ----------------------------------------------------------------------------

    def settimeout(self, value: float | None) -> None:
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self) -> float | None:
        return self._timeout

    def setblocking(self, flag: bool) -> None:
        self._timeout = None if flag else 0.0

    def getblocking(self) -> bool:
        return self._timeout != 0.0

    def _wait(self, ready: Callable[[], bool]) -> None:
        """Wait, lock held, until ``ready()``: EAGAIN when non-blocking, TimeoutError."""
        if ready():
            return
        timeout = self._timeout
        if timeout == 0.0:
            raise os_error(errno.EAGAIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        driver = self._host.driver
        while not ready():
            driver.check()
            if self._closed:
                raise os_error(errno.EBADF)
            if deadline is None:
                self._cond.wait()
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("timed out")
            self._cond.wait(remaining)

    # -- addresses --------------------------------------------------------------------------

    def getsockname(self) -> tuple[str, int]:
        with self._cond:
            if self._port is None:
                return ("0.0.0.0", 0)
            return (self._host.address, self._port)

    def getpeername(self) -> tuple[str, int]:
        with self._cond:
            conn = self._conn
            if conn is None or conn.state in (S.CLOSED, S.SYN_SENT):
                raise os_error(errno.ENOTCONN)
            return (conn.remote_ip, conn.remote_port)

    def bind(self, address: tuple[str, int]) -> None:
        ip, port = _parse_address(address)
        with self._cond:
            self._check_open()
            if self._port is not None:
                raise os_error(errno.EINVAL, "already bound")
            if ip not in ("0.0.0.0", self._host.address):
                raise os_error(errno.EADDRNOTAVAIL)
            self._port = self._host._bind(self, port)
            self._bound_here = True

    # -- passive open -------------------------------------------------------------------------

    def listen(self, backlog: int | None = None) -> None:
        with self._cond:
            self._check_open()
            if self._conn is not None:
                raise os_error(errno.EINVAL, "connected")
            if self._listener is not None:
                self._listener.backlog = max(1, backlog or self._listener.backlog)
                return
            if self._port is None:
                self._port = self._host._bind(self, 0)
                self._bound_here = True
            for other in self._host._bound.get(self._port, ()):
                if other is not self and other._listener is None and not (
                        self._reuseaddr and other._reuseaddr):
                    raise os_error(errno.EADDRINUSE)
            if not self._reuseaddr and self._host.stack.uses_port(self._port):
                raise os_error(errno.EADDRINUSE)
            now = self._host.driver.now()
            try:
                self._listener = self._host.stack.listen(
                    self._port, max(1, backlog) if backlog is not None else None, now)
            except LocalError:
                raise os_error(errno.EADDRINUSE) from None

    def accept(self) -> tuple[TcpSocket, tuple[str, int]]:
        with self._cond:
            self._check_open()
            listener = self._listener
            if listener is None:
                raise os_error(errno.EINVAL, "not listening")
            self._wait(lambda: bool(listener.accept_queue) or listener.closed)
            conn = listener.accept()
            if conn is None:
                raise os_error(errno.EINVAL, "listener closed")
            sock = TcpSocket(self._host, conn)
            sock._reuseaddr = self._reuseaddr
            sock._linger = self._linger
            sock._sndbuf = self._sndbuf
            sock._set_nodelay(self._nodelay)
            conn.send_buffer.capacity = self._sndbuf
            return sock, (conn.remote_ip, conn.remote_port)

    # -- active open -------------------------------------------------------------------------

    def connect(self, address: tuple[str, int]) -> None:
        code = self._connect(address)
        if code:
            exc = os_error(code)
            conn = self._conn
            if conn is not None and conn.error is not None:
                exc.__cause__ = conn.error
            raise exc

    def connect_ex(self, address: tuple[str, int]) -> int:
        """Like :meth:`connect`, but the errno as a result (0 on success)."""
        try:
            return self._connect(address)
        except OSError as exc:
            if isinstance(exc, TimeoutError) or exc.errno is None:
                raise
            return exc.errno

    def _connect(self, address: tuple[str, int]) -> int:
        """Active OPEN and wait for the handshake; the errno, 0 once connected. A second
        call after a non-blocking connect says EALREADY, the failure (once) or EISCONN."""
        ip, port = _parse_address(address)
        with self._cond:
            self._check_open()
            if self._listener is not None:
                return errno.EINVAL
            conn = self._conn
            if conn is None:
                if ip == "0.0.0.0" or port == 0:
                    return errno.ECONNREFUSED
                conn = self._open(ip, port)
                if self._timeout == 0.0:
                    return errno.EINPROGRESS
            elif conn.state is S.SYN_SENT:
                if self._timeout == 0.0:
                    return errno.EALREADY
            elif conn.error is not None and not self._error_reported:
                self._error_reported = True
                return self._errno_of_failure()
            else:
                return errno.EISCONN
            try:
                self._wait(lambda: conn.state is not S.SYN_SENT)
            except TimeoutError:
                if conn.state is not S.CLOSED:
                    conn.abort(self._host.driver.now())
                    self._host.driver.kick()
                raise
            if conn.error is not None:
                self._error_reported = True
                return self._errno_of_failure()
            return 0

    def _open(self, ip: str, port: int) -> Connection:
        """Active OPEN from our bound port (or an ephemeral one)."""
        host = self._host
        driver = host.driver
        try:
            conn = host.stack.connect(ip, port, driver.now(), local_port=self._port)
        except LocalError as exc:
            code = errno.EADDRNOTAVAIL if exc.text != CONNECTION_ALREADY_EXISTS \
                else errno.EADDRINUSE
            raise os_error(code, exc.text) from None
        if self._bound_here and self._port is not None:
            host._unbind(self, self._port)
            self._bound_here = False
        self._port = conn.local_port
        self._conn = conn
        conn.send_buffer.capacity = self._sndbuf
        if self._rcvbuf < conn.recv_buffer.capacity:  # before the SYN: no window shrinks
            conn.recv_buffer.capacity = self._rcvbuf
        conn.nagle = not self._nodelay
        driver.kick()
        return conn

    def _errno_of_failure(self) -> int:
        conn = self._conn
        assert conn is not None and conn.error is not None
        return translate(conn.error).errno or errno.EIO

    # -- data ---------------------------------------------------------------------------------

    def send(self, data: bytes | bytearray | memoryview, flags: int = 0) -> int:
        if flags:
            raise os_error(errno.EOPNOTSUPP, "send flags")
        view = memoryview(data).cast("B")
        with self._cond:
            conn = self._connected()
            if self._shut_wr:
                raise os_error(errno.EPIPE)
            if not view:
                return 0

            def ready() -> bool:
                return conn.error is not None or conn.state not in _SENDABLE | {S.SYN_SENT} \
                    or (conn.state is not S.SYN_SENT and conn.send_space() > 0)

            self._wait(ready)
            self._raise_failure(conn)
            if conn.state not in _SENDABLE:
                raise os_error(errno.EPIPE)
            taken = conn.send(bytes(view[: conn.send_space()]), self._host.driver.now())
            self._host.driver.kick()
            return taken

    def sendall(self, data: bytes | bytearray | memoryview, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        deadline = None if not self._timeout else time.monotonic() + self._timeout
        saved = self._timeout
        try:
            while view:
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("timed out")
                    self._timeout = remaining
                sent = self.send(view, flags)
                view = view[sent:]
        finally:
            self._timeout = saved

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if flags:
            raise os_error(errno.EOPNOTSUPP, "recv flags")
        with self._cond:
            conn = self._connected(allow_closed=True)
            if bufsize == 0:
                return b""

            def ready() -> bool:
                return (conn.readable() > 0 or conn.at_eof or conn.error is not None
                        or self._shut_rd or conn.state is S.CLOSED)

            if conn.state is S.SYN_SENT and self._timeout == 0.0:
                raise os_error(errno.EAGAIN)
            self._wait(ready)
            if conn.readable():
                data = conn.receive(bufsize, now=self._host.driver.now())
                self._host.driver.kick()
                return data
            if conn.at_eof or self._shut_rd:
                return b""
            self._raise_failure(conn)
            return b""

    def recv_into(self, buffer: bytearray | memoryview, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or len(view), flags)
        view[: len(data)] = data
        return len(data)

    def _connected(self, allow_closed: bool = False) -> Connection:
        self._check_open()
        conn = self._conn
        if conn is None:
            raise os_error(errno.ENOTCONN)
        if conn.state is S.CLOSED and conn.error is None and not allow_closed:
            raise os_error(errno.EPIPE)
        return conn

    def _raise_failure(self, conn: Connection) -> None:
        """A failed connection's error once (ECONNRESET...), then EPIPE, as Linux."""
        if conn.error is None:
            return
        if not self._error_reported:
            self._error_reported = True
            raise translate(conn.error)
        raise os_error(errno.EPIPE)

    # -- endings -------------------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise os_error(errno.EINVAL)
        with self._cond:
            self._check_open()
            conn = self._conn
            if conn is None or conn.state in (S.SYN_SENT, S.CLOSED):
                raise os_error(errno.ENOTCONN)
            if how in (SHUT_RD, SHUT_RDWR):
                self._shut_rd = True
            if how in (SHUT_WR, SHUT_RDWR) and not self._shut_wr:
                self._shut_wr = True
                if conn.state in _FIN_OK:
                    conn.close(self._host.driver.now())
                    self._host.driver.kick()
            self._cond.notify_all()

    def close(self) -> None:
        """Release the socket. Its connection ends in the stack: FIN after the queued data,
        or RST (ABORT) with SO_LINGER 0 or unread data; a listener's queue is reset."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            driver = self._host.driver
            now = driver.now()
            if self._listener is not None:
                self._close_listener(now)
            conn = self._conn
            if conn is not None:
                self._close_connection(conn, now)
            if self._bound_here and self._port is not None:
                self._host._unbind(self, self._port)
            driver.kick()
            self._cond.notify_all()
            on, seconds = self._linger
            if conn is not None and on and seconds > 0 and self._timeout != 0.0:
                limit = time.monotonic() + seconds
                while (conn.state not in (S.CLOSED, S.TIME_WAIT, S.FIN_WAIT_2)
                       and time.monotonic() < limit and driver_alive(driver)):
                    self._cond.wait(max(0.0, limit - time.monotonic()))

    def _close_listener(self, now: int) -> None:
        listener = self._listener
        assert listener is not None
        self._host.stack.close_listener(listener, now)
        while True:  # Linux resets connections nobody accepted
            conn = listener.accept()
            if conn is None:
                break
            if conn.state in _OPEN_FOR_ABORT:
                conn.abort(now)

    def _close_connection(self, conn: Connection, now: int) -> None:
        state = conn.state
        if state is S.CLOSED:
            return
        abortive = self._linger == (1, 0) or (conn.readable() > 0 and state is not S.TIME_WAIT)
        if abortive and state in _OPEN_FOR_ABORT:
            conn.abort(now)
            return
        if state in _FIN_OK:
            conn.close(now)
        elif state is S.SYN_SENT:
            conn.close(now)  # deletes the TCB
            return
        if conn.state is not S.CLOSED:
            conn.orphan(now)

    def _check_open(self) -> None:
        if self._closed:
            raise os_error(errno.EBADF)

    def detach(self) -> Connection | None:
        """The underlying :class:`~synfin.connection.Connection` (for inspection)."""
        return self._conn

    @property
    def connection(self) -> Connection | None:
        return self._conn

    # -- options ---------------------------------------------------------------------------

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        with self._cond:
            self._check_open()
            if level == SOL_SOCKET and option == SO_REUSEADDR:
                self._reuseaddr = bool(_int_value(value))
            elif level == SOL_SOCKET and option == SO_LINGER:
                if not isinstance(value, bytes | bytearray) or len(value) < LINGER.size:
                    raise os_error(errno.EINVAL, "SO_LINGER takes struct linger (ii)")
                on, seconds = LINGER.unpack_from(value)
                self._linger = (1 if on else 0, max(0, seconds))
            elif level == SOL_SOCKET and option == SO_SNDBUF:
                self._sndbuf = max(MIN_BUFFER, _int_value(value))
                if self._conn is not None:
                    self._conn.send_buffer.capacity = self._sndbuf
            elif level == SOL_SOCKET and option == SO_RCVBUF:
                limit = self._host.stack.config.recv_buffer
                self._rcvbuf = min(limit, max(MIN_BUFFER, _int_value(value)))
            elif level == IPPROTO_TCP and option == TCP_NODELAY:
                self._set_nodelay(bool(_int_value(value)))
                self._host.driver.kick()
            else:
                raise os_error(errno.ENOPROTOOPT)

    def _set_nodelay(self, on: bool) -> None:
        self._nodelay = on
        if self._conn is not None:
            self._conn.nagle = not on

    def getsockopt(self, level: int, option: int, buflen: int = 0) -> int | bytes:
        with self._cond:
            self._check_open()
            value = self._option(level, option)
        if isinstance(value, bytes):
            return value[:buflen] if buflen else LINGER.unpack(value)[0]
        if buflen:
            return struct.pack("i", value)[:buflen]
        return value

    def _option(self, level: int, option: int) -> int | bytes:
        if level == SOL_SOCKET:
            if option == SO_REUSEADDR:
                return int(self._reuseaddr)
            if option == SO_LINGER:
                return LINGER.pack(*self._linger)
            if option == SO_ERROR:
                return self._take_error()
            if option == SO_SNDBUF:
                return self._sndbuf
            if option == SO_RCVBUF:
                conn = self._conn
                return conn.recv_buffer.capacity if conn is not None else self._rcvbuf
            if option == SO_TYPE:
                return SOCK_STREAM
        if level == IPPROTO_TCP and option == TCP_NODELAY:
            return int(self._nodelay)
        raise os_error(errno.ENOPROTOOPT)

    def _take_error(self) -> int:
        """SO_ERROR: the pending error (reported once), 0 when there is none."""
        conn = self._conn
        if conn is None or conn.error is None or self._error_reported:
            return 0
        self._error_reported = True
        return self._errno_of_failure()

    # -- readiness (there is no file descriptor to select on) --------------------------------

    def wait_readable(self, timeout: float | None = None) -> bool:
        """Block until :meth:`recv` or :meth:`accept` would not block; ``False`` on timeout."""
        with self._cond:
            return bool(self._cond.wait_for(self._readable_now, timeout))

    def wait_writable(self, timeout: float | None = None) -> bool:
        """Block until :meth:`send` would not block (or a non-blocking connect finished)."""
        with self._cond:
            return bool(self._cond.wait_for(self._writable_now, timeout))

    def _readable_now(self) -> bool:
        if self._closed:
            return True
        if self._listener is not None:
            return bool(self._listener.accept_queue)
        conn = self._conn
        return conn is not None and (conn.readable() > 0 or conn.at_eof
                                     or conn.error is not None or conn.state is S.CLOSED
                                     or self._shut_rd)

    def _writable_now(self) -> bool:
        conn = self._conn
        if self._closed or conn is None:
            return True
        if conn.state is S.SYN_SENT:
            return False
        return conn.state not in _SENDABLE or conn.send_space() > 0 or conn.error is not None


def driver_alive(driver: DriverLike) -> bool:
    try:
        driver.check()
    except Exception:
        return False
    return True


def _int_value(value: int | bytes) -> int:
    if isinstance(value, bytes | bytearray):
        return int(struct.unpack_from("i", value.ljust(4, b"\0"))[0])
    return int(value)


def tcp_error(exc: TcpError) -> OSError:
    """The socket error for a synfin error (re-exported for convenience)."""
    return translate(exc)
