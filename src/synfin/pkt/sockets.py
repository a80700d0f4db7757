"""A small socket layer for the interpreter: file descriptors over a synfin Stack, with the
return values and errno names Linux gives, in virtual time.

A call returns an :class:`Outcome` at once, or a :class:`Pending` when a blocking socket
would block: the interpreter retries it as time passes and packets arrive. Where Linux and
the bare RFC user calls differ (reading after a reset, a second ``connect``, closing with
unread data), this layer follows Linux, since the scripts are written against sockets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from synfin.connection import Connection
from synfin.errors import LocalError, TcpError
from synfin.listener import Listener
from synfin.pkt import symbols as sym
from synfin.pkt.nodes import (
    CallExpr,
    EllipsisExpr,
    Expr,
    IntExpr,
    ListExpr,
    OrExpr,
    StringExpr,
    StructExpr,
    WordExpr,
)
from synfin.stack import Stack
from synfin.states import State

S = State
FIRST_FD = 3


class CallError(Exception):
    """A call the script wrote wrongly (bad argument shape, unknown symbol)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a call returned: the value, the errno name for -1, and values it wrote into
    arguments (by argument index) for the script's expected values to be checked against."""

    value: int
    errno: str | None = None
    outputs: tuple[tuple[int, object], ...] = ()


def ok(value: int = 0) -> Outcome:
    return Outcome(value)


def fail(errno: str) -> Outcome:
    return Outcome(-1, errno)


@dataclass(slots=True)
class Pending:
    """A blocked call: ``retry(now, expired)`` returns the outcome once it can complete;
    ``expired`` is true at ``timeout`` (a poll timeout), when it must complete."""

    retry: Callable[[int, bool], Outcome | None]
    timeout: int | None = None


@dataclass(eq=False, slots=True)
class Socket:
    fd: int
    nonblocking: bool = False
    port: int | None = None
    listener: Listener | None = None
    conn: Connection | None = None
    connect_started: bool = False
    connect_reported: bool = False
    error_consumed: bool = False
    shut_rd: bool = False
    shut_wr: bool = False
    options: dict[str, object] = field(default_factory=dict)


def evaluate(expr: Expr) -> int | None:
    """The integer value of an expression; ``None`` for ``...``."""
    if isinstance(expr, EllipsisExpr):
        return None
    if isinstance(expr, IntExpr):
        return expr.value
    if isinstance(expr, WordExpr):
        if expr.name in sym.SYMBOLS:
            return sym.SYMBOLS[expr.name]
        raise CallError(f"unknown symbol {expr.name}")
    if isinstance(expr, OrExpr):
        left, right = evaluate(expr.left), evaluate(expr.right)
        if left is None or right is None:
            raise CallError("'...' cannot be part of an OR expression")
        return left | right
    if isinstance(expr, ListExpr) and len(expr.items) == 1:
        return evaluate(expr.items[0])
    if isinstance(expr, CallExpr) and expr.name in ("htons", "htonl", "ntohs", "ntohl") \
            and len(expr.args) == 1:
        return evaluate(expr.args[0])
    raise CallError(f"expected an integer, not {describe(expr)}")


def describe(expr: Expr) -> str:
    if isinstance(expr, StringExpr):
        return f'"{expr.value}"'
    if isinstance(expr, ListExpr):
        return "[" + ", ".join(describe(i) for i in expr.items) + "]"
    if isinstance(expr, StructExpr):
        parts = [f"{k}={describe(v)}" for k, v in expr.fields]
        return "{" + ", ".join(parts + [describe(i) for i in expr.items]) + "}"
    if isinstance(expr, CallExpr):
        return f"{expr.name}(" + ", ".join(describe(a) for a in expr.args) + ")"
    if isinstance(expr, OrExpr):
        return f"{describe(expr.left)}|{describe(expr.right)}"
    if isinstance(expr, WordExpr):
        return expr.name
    if isinstance(expr, IntExpr):
        return str(expr.value)
    return "..."


def error_errno(conn: Connection) -> str | None:
    err = conn.error
    return sym.ERRNO_FOR_TEXT.get(err.text, "ECONNABORTED") if err is not None else None


class SocketLayer:
    """The fd table and the system calls of the scripts."""

    def __init__(self, stack: Stack, remote_ip: str, bind_port: int, connect_port: int) -> None:
        self.stack = stack
        self.remote_ip = remote_ip
        self.bind_port = bind_port
        self.connect_port = connect_port
        self.fds: dict[int, Socket] = {}
        #: Called with each connection a call creates or returns (the socket under test).
        self.on_connection: Callable[[Connection], None] = lambda _c: None
        #: Called with the local port a socket binds or connects from.
        self.on_local_port: Callable[[int], None] = lambda _p: None

    # -- dispatch -------------------------------------------------------------------------

    def call(self, name: str, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        handler = getattr(self, f"sys_{name}")
        result: Outcome | Pending = handler(args, now)
        return result

    def _new_fd(self) -> Socket:
        fd = FIRST_FD
        while fd in self.fds:
            fd += 1
        sock = Socket(fd)
        self.fds[fd] = sock
        return sock

    def _sock(self, args: tuple[Expr, ...], nargs: int) -> Socket | None:
        if len(args) != nargs:
            raise CallError(f"expected {nargs} arguments, got {len(args)}")
        fd = evaluate(args[0])
        return self.fds.get(fd) if fd is not None else None

    def _take_error(self, sock: Socket) -> str | None:
        """The pending socket error (sk_err), reported once."""
        if sock.conn is None or sock.error_consumed:
            return None
        errno = error_errno(sock.conn)
        if errno is not None:
            sock.error_consumed = True
        return errno

    # -- socket, bind, listen, accept -----------------------------------------------------

    def sys_socket(self, args: tuple[Expr, ...], now: int) -> Outcome:
        if len(args) != 3:
            raise CallError("socket() takes 3 arguments")
        kind = evaluate(args[1])
        if kind is not None and kind & 0xF != sym.SOCK_STREAM:
            return fail("EPROTONOSUPPORT")
        sock = self._new_fd()
        sock.nonblocking = kind is not None and bool(kind & sym.O_NONBLOCK)
        return ok(sock.fd)

    def _address(self, expr: Expr, default_port: int) -> tuple[str | None, int]:
        if isinstance(expr, EllipsisExpr):
            return None, default_port
        if isinstance(expr, StructExpr):
            port_expr = expr.get("sin_port")
            port = evaluate(port_expr) if port_expr is not None else None
            addr = expr.get("sin_addr")
            ip = None
            if isinstance(addr, CallExpr) and addr.args and isinstance(addr.args[0],
                                                                        StringExpr):
                ip = addr.args[0].value
            return ip, default_port if port is None else port
        raise CallError(f"expected a sockaddr or ..., not {describe(expr)}")

    def sys_bind(self, args: tuple[Expr, ...], now: int) -> Outcome:
        sock = self._sock(args, 3)
        if sock is None:
            return fail("EBADF")
        if sock.port is not None:
            return fail("EINVAL")
        _, port = self._address(args[1], self.bind_port)
        reuse = bool(sock.options.get("SO_REUSEADDR"))
        for other in self.fds.values():
            if other.port == port and other is not sock and (
                    other.listener is not None or not reuse):
                return fail("EADDRINUSE")
        if port in self.stack.listeners:
            return fail("EADDRINUSE")
        sock.port = port
        self.on_local_port(port)
        return ok()

    def sys_listen(self, args: tuple[Expr, ...], now: int) -> Outcome:
        sock = self._sock(args, 2)
        if sock is None:
            return fail("EBADF")
        if sock.conn is not None:
            return fail("EINVAL")
        backlog = evaluate(args[1]) or 0
        if sock.listener is not None:
            sock.listener.backlog = max(backlog, 0) + 1
            return ok()
        if sock.port is None:
            sock.port = self.bind_port
            self.on_local_port(sock.port)
        try:
            # Linux's accept queue holds backlog + 1 (sk_acceptq_is_full uses '>').
            sock.listener = self.stack.listen(sock.port, max(backlog, 0) + 1, now)
        except LocalError:
            return fail("EADDRINUSE")
        return ok()

    def sys_accept(self, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        sock = self._sock(args, 3)
        if sock is None:
            return fail("EBADF")
        if sock.listener is None:
            return fail("EINVAL")
        listener = sock.listener

        def attempt(_now: int, _expired: bool) -> Outcome | None:
            conn = listener.accept()
            if conn is None:
                return None
            child = self._new_fd()
            child.conn = conn
            child.port = conn.local_port
            self.on_connection(conn)
            return ok(child.fd)

        return self._maybe_block(sock, attempt, now)

    def _maybe_block(self, sock: Socket, attempt: Callable[[int, bool], Outcome | None],
                     now: int, nonblocking: bool = False) -> Outcome | Pending:
        result = attempt(now, False)
        if result is not None:
            return result
        if sock.nonblocking or nonblocking:
            return fail("EAGAIN")
        return Pending(attempt)

    # -- connect --------------------------------------------------------------------------

    def sys_connect(self, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        sock = self._sock(args, 3)
        if sock is None:
            return fail("EBADF")
        if sock.listener is not None:
            return fail("EISCONN")
        if sock.conn is None:
            ip, port = self._address(args[1], self.connect_port)
            try:
                conn = self.stack.connect(ip or self.remote_ip, port, now, sock.port)
            except TcpError:
                return fail("EADDRNOTAVAIL")
            sock.conn, sock.port, sock.connect_started = conn, conn.local_port, True
            self.on_local_port(conn.local_port)
            self.on_connection(conn)
            if sock.nonblocking:
                return fail("EINPROGRESS")
            return Pending(lambda t, e: self._connect_result(sock))
        if sock.connect_reported:
            return fail("EISCONN")
        if sock.conn.state in (S.SYN_SENT, S.SYN_RECEIVED):
            if sock.nonblocking:
                return fail("EALREADY")
            return Pending(lambda t, e: self._connect_result(sock))
        result = self._connect_result(sock)
        assert result is not None
        return result

    def _connect_result(self, sock: Socket) -> Outcome | None:
        conn = sock.conn
        assert conn is not None
        if conn.state in (S.SYN_SENT, S.SYN_RECEIVED):
            return None
        errno = self._take_error(sock)
        if errno is not None:
            return fail(errno)
        if conn.state is S.CLOSED:
            return fail("ECONNABORTED")
        sock.connect_reported = True
        return ok()

    # -- data -----------------------------------------------------------------------------

    def sys_read(self, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        return self._receive(args, now, 3, nonblocking=False)

    def sys_recv(self, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        flags = evaluate(args[3]) if len(args) == 4 else 0
        return self._receive(args, now, 4, nonblocking=bool((flags or 0) & sym.MSG_DONTWAIT))

    def _receive(self, args: tuple[Expr, ...], now: int, nargs: int,
                 nonblocking: bool) -> Outcome | Pending:
        sock = self._sock(args, nargs)
        if sock is None:
            return fail("EBADF")
        if sock.conn is None:
            return fail("ENOTCONN")
        count = evaluate(args[2])
        if count is None or count < 0:
            raise CallError("the byte count of a read must be a number")
        conn = sock.conn

        def attempt(t: int, _expired: bool) -> Outcome | None:
            if conn.readable():
                return ok(len(conn.receive(count, now=t)))
            errno = self._take_error(sock)
            if errno is not None:
                return fail(errno)
            if conn.at_eof or sock.shut_rd or conn.state is S.CLOSED:
                return ok(0)
            return None

        return self._maybe_block(sock, attempt, now, nonblocking)

    def sys_write(self, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        return self._send(args, now, 3, nonblocking=False)

    def sys_send(self, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        flags = evaluate(args[3]) if len(args) == 4 else 0
        return self._send(args, now, 4, nonblocking=bool((flags or 0) & sym.MSG_DONTWAIT))

    def _send(self, args: tuple[Expr, ...], now: int, nargs: int,
              nonblocking: bool) -> Outcome | Pending:
        sock = self._sock(args, nargs)
        if sock is None:
            return fail("EBADF")
        count = evaluate(args[2])
        if count is None or count < 0:
            raise CallError("the byte count of a write must be a number")
        if sock.conn is None:
            return fail("EPIPE")
        conn = sock.conn
        written = 0

        def attempt(t: int, _expired: bool) -> Outcome | None:
            nonlocal written
            errno = self._take_error(sock)
            if errno is not None:
                return fail(errno) if written == 0 else ok(written)
            if sock.shut_wr or conn.fin_queued or conn.state not in (
                    S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.CLOSE_WAIT):
                return fail("EPIPE") if written == 0 else ok(written)
            if conn.state in (S.SYN_SENT, S.SYN_RECEIVED):
                return None
            if count == 0:
                return ok(0)
            taken = conn.send(bytes(count - written), t) if conn.send_space() else 0
            written += taken
            if written == count or (written and (sock.nonblocking or nonblocking)):
                return ok(written)
            return None

        return self._maybe_block(sock, attempt, now, nonblocking)

    # -- close, shutdown ------------------------------------------------------------------

    def sys_close(self, args: tuple[Expr, ...], now: int) -> Outcome:
        sock = self._sock(args, 1)
        if sock is None:
            return fail("EBADF")
        del self.fds[sock.fd]
        if sock.listener is not None:
            listener = sock.listener
            # Linux resets the connections still waiting in the accept queue.
            while (child := listener.accept()) is not None:
                self._abort(child, now)
            self.stack.close_listener(listener, now)
        elif sock.conn is not None:
            self._close_connection(sock, sock.conn, now)
        return ok()

    def _close_connection(self, sock: Socket, conn: Connection, now: int) -> None:
        linger = sock.options.get("SO_LINGER")
        if conn.state in (S.CLOSED, S.TIME_WAIT):
            return
        if conn.readable() or linger == (1, 0):
            # RFC 1122 4.2.2.13 / RFC 2525 2.17: unread data lost, or linger 0: RST.
            self._abort(conn, now)
            return
        if not conn.fin_queued and conn.state in (S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED,
                                                  S.CLOSE_WAIT):
            conn.close(now)
        conn.orphan(now)

    def _abort(self, conn: Connection, now: int) -> None:
        if conn.state is not S.CLOSED:
            conn.abort(now)

    def sys_shutdown(self, args: tuple[Expr, ...], now: int) -> Outcome:
        sock = self._sock(args, 2)
        if sock is None:
            return fail("EBADF")
        how = evaluate(args[1])
        if how not in (sym.SHUT_RD, sym.SHUT_WR, sym.SHUT_RDWR):
            return fail("EINVAL")
        conn = sock.conn
        if conn is None or conn.state in (S.CLOSED, S.SYN_SENT):
            return fail("ENOTCONN")
        if how in (sym.SHUT_RD, sym.SHUT_RDWR):
            sock.shut_rd = True
        if how in (sym.SHUT_WR, sym.SHUT_RDWR):
            sock.shut_wr = True
            if not conn.fin_queued and conn.state in (S.SYN_RECEIVED, S.ESTABLISHED,
                                                      S.CLOSE_WAIT):
                conn.close(now)
        return ok()

    # -- options, fcntl -------------------------------------------------------------------

    def sys_setsockopt(self, args: tuple[Expr, ...], now: int) -> Outcome:
        sock = self._sock(args, 5)
        if sock is None:
            return fail("EBADF")
        level, name = evaluate(args[1]), evaluate(args[2])
        value = args[3]
        if level == sym.SOL_SOCKET and name == sym.SO_LINGER:
            if not isinstance(value, StructExpr):
                raise CallError("SO_LINGER takes {onoff=N, linger=N}")
            onoff, secs = value.get("onoff"), value.get("linger")
            if onoff is None or secs is None:
                raise CallError("SO_LINGER takes {onoff=N, linger=N}")
            sock.options["SO_LINGER"] = (evaluate(onoff), evaluate(secs))
            return ok()
        number = evaluate(value)
        if number is None:
            raise CallError("setsockopt needs a value")
        cfg = self.stack.config
        if level == sym.SOL_SOCKET and name == sym.SO_REUSEADDR:
            sock.options["SO_REUSEADDR"] = number
        elif level == sym.SOL_SOCKET and name == sym.SO_KEEPALIVE:
            sock.options["SO_KEEPALIVE"] = number
        elif level == sym.SOL_SOCKET and name in (sym.SO_RCVBUF, sym.SO_SNDBUF):
            key = "SO_RCVBUF" if name == sym.SO_RCVBUF else "SO_SNDBUF"
            sock.options[key] = 2 * number  # Linux doubles it for bookkeeping overhead
            field_name = "recv_buffer" if key == "SO_RCVBUF" else "send_buffer"
            self.stack.config = cfg.with_(**{field_name: max(number, 1)})
        elif level == sym.IPPROTO_TCP and name == sym.TCP_NODELAY:
            sock.options["TCP_NODELAY"] = number
            if sock.conn is not None:
                sock.conn.nagle = not number
            else:
                self.stack.config = cfg.with_(nagle=not number)
        elif level == sym.IPPROTO_TCP and name == sym.TCP_USER_TIMEOUT:
            sock.options["TCP_USER_TIMEOUT"] = number
            self.stack.config = cfg.with_(user_timeout_us=number * 1000 or None)
        else:
            return fail("ENOPROTOOPT")
        return ok()

    def sys_getsockopt(self, args: tuple[Expr, ...], now: int) -> Outcome:
        sock = self._sock(args, 5)
        if sock is None:
            return fail("EBADF")
        level, name = evaluate(args[1]), evaluate(args[2])
        value: object
        if level == sym.SOL_SOCKET and name == sym.SO_ERROR:
            errno = self._take_error(sock)
            value = sym.ERRNO[errno] if errno else 0
        elif level == sym.SOL_SOCKET and name == sym.SO_LINGER:
            value = sock.options.get("SO_LINGER", (0, 0))
        elif level == sym.SOL_SOCKET and name in (sym.SO_REUSEADDR, sym.SO_KEEPALIVE):
            key = "SO_REUSEADDR" if name == sym.SO_REUSEADDR else "SO_KEEPALIVE"
            value = int(bool(sock.options.get(key, 0)))
        elif level == sym.SOL_SOCKET and name in (sym.SO_RCVBUF, sym.SO_SNDBUF):
            key = "SO_RCVBUF" if name == sym.SO_RCVBUF else "SO_SNDBUF"
            size = self.stack.config.recv_buffer if key == "SO_RCVBUF" else \
                self.stack.config.send_buffer
            value = sock.options.get(key, size)
        elif level == sym.IPPROTO_TCP and name == sym.TCP_NODELAY:
            value = int(bool(sock.options.get("TCP_NODELAY", 0)))
        else:
            return fail("ENOPROTOOPT")
        return Outcome(0, None, ((3, value),))

    def sys_fcntl(self, args: tuple[Expr, ...], now: int) -> Outcome:
        if len(args) not in (2, 3):
            raise CallError("fcntl() takes 2 or 3 arguments")
        fd = evaluate(args[0])
        sock = self.fds.get(fd) if fd is not None else None
        if sock is None:
            return fail("EBADF")
        cmd = evaluate(args[1])
        if cmd == sym.F_GETFL:
            return ok(sym.O_RDWR | (sym.O_NONBLOCK if sock.nonblocking else 0))
        if cmd == sym.F_SETFL and len(args) == 3:
            flags = evaluate(args[2]) or 0
            sock.nonblocking = bool(flags & sym.O_NONBLOCK)
            return ok()
        return fail("EINVAL")

    # -- poll -----------------------------------------------------------------------------

    def sys_poll(self, args: tuple[Expr, ...], now: int) -> Outcome | Pending:
        if len(args) != 3 or not isinstance(args[0], ListExpr):
            raise CallError("poll() takes ([{fd=N, events=M, revents=R}, ...], nfds, timeout)")
        wanted: list[tuple[int, int]] = []
        for item in args[0].items:
            fd_expr = item.get("fd") if isinstance(item, StructExpr) else None
            ev_expr = item.get("events") if isinstance(item, StructExpr) else None
            fd = evaluate(fd_expr) if fd_expr is not None else None
            events = evaluate(ev_expr) if ev_expr is not None else None
            if fd is None or events is None:
                raise CallError("each pollfd needs fd=N and events=M")
            wanted.append((fd, events))
        timeout_ms = evaluate(args[2])
        if timeout_ms is None:
            raise CallError("poll() needs a timeout")

        def attempt(_t: int, expired: bool) -> Outcome | None:
            revents = [self.poll_mask(fd) & (events | sym.POLLERR | sym.POLLHUP | sym.POLLNVAL)
                       for fd, events in wanted]
            ready = sum(1 for r in revents if r)
            if ready or expired or timeout_ms == 0:
                return Outcome(ready, None, ((0, tuple(revents)),))
            return None

        result = attempt(now, False)
        if result is not None:
            return result
        return Pending(attempt, None if timeout_ms < 0 else now + timeout_ms * 1000)

    def poll_mask(self, fd: int) -> int:
        """Readiness as Linux's tcp_poll reports it."""
        sock = self.fds.get(fd)
        if sock is None:
            return sym.POLLNVAL
        if sock.listener is not None:
            return sym.POLLIN | sym.POLLRDNORM if sock.listener.accept_queue else 0
        conn = sock.conn
        if conn is None:
            return sym.POLLOUT | sym.POLLHUP
        mask = 0
        closed = conn.state is S.CLOSED
        rcv_shut = conn.peer_fin or sock.shut_rd or closed
        snd_shut = conn.fin_queued or sock.shut_wr or closed
        if closed or (rcv_shut and snd_shut):
            mask |= sym.POLLHUP
        if rcv_shut:
            mask |= sym.POLLIN | sym.POLLRDNORM | sym.POLLRDHUP
        if conn.state not in (S.SYN_SENT, S.SYN_RECEIVED):
            if conn.readable():
                mask |= sym.POLLIN | sym.POLLRDNORM
            if snd_shut or conn.send_space():
                mask |= sym.POLLOUT | sym.POLLWRNORM
        if conn.error is not None and not sock.error_consumed:
            mask |= sym.POLLERR
        return mask
