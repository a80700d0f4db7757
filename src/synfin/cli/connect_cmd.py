"""``synfin connect IP PORT --tun DEV --addr IP``: like ``nc``, over synfin's TCP.

Standard input goes to the peer and the peer's bytes to standard output. At the end of
standard input synfin half-closes (FIN, then keeps reading). It exits 0 once the peer has
closed its side too, after its own FIN (if any) was acknowledged; if standard input is still
open when the peer closes, it keeps sending (the peer may only have half-closed) when that
input is a pipe or file, and stops at once when it is a terminal. Exit status 1 with a one-line
message on stderr for a refused, reset or timed-out connection.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

from synfin.api import TcpHost, TcpSocket
from synfin.api.sockets import SHUT_WR
from synfin.cli.args import Parser, seconds_value
from synfin.cli.tun_common import TraceFile, add_tun_options, ipv4, open_driver, port_number
from synfin.drivers.tun import TunDriver
from synfin.states import State

CHUNK = 64 * 1024
#: After both sides closed: how long to wait for our FIN's acknowledgement before exiting.
CLOSE_WAIT_SECONDS = 5.0


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("connect", help="like nc: stdin to a TCP peer, its bytes to stdout")
    p.add_argument("ip", type=ipv4, metavar="IP", help="the peer's address")
    p.add_argument("port", type=port_number, metavar="PORT", help="the peer's port")
    add_tun_options(p)
    p.add_argument("--timeout", type=seconds_value, default=30.0, metavar="SECONDS",
                   help="give up connecting after this long (default 30)")


class Session:
    def __init__(self, driver: TunDriver, sock: TcpSocket) -> None:
        self.driver = driver
        self.sock = sock
        self.stdin_done = threading.Event()
        self.error: OSError | None = None

    def pump_stdin(self) -> None:
        """stdin -> peer; FIN (SHUT_WR) at the end of input."""
        try:
            fd = sys.stdin.fileno()
            while True:
                data = os.read(fd, CHUNK)
                if not data:
                    break
                self.sock.sendall(data)
            self.sock.shutdown(SHUT_WR)
        except OSError as exc:
            self.error = self.error or exc
        finally:
            self.stdin_done.set()

    def pump_peer(self) -> None:
        """peer -> stdout until the peer's FIN."""
        out = sys.stdout.buffer
        while True:
            data = self.sock.recv(CHUNK)
            if not data:
                return
            out.write(data)
            out.flush()

    def wait_closed(self) -> None:
        """Until our FIN is acknowledged (TIME-WAIT or CLOSED), or a few seconds."""
        conn = self.sock.connection
        if conn is None:
            return
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        with self.driver.cond:
            while conn.state not in (State.TIME_WAIT, State.CLOSED) and self.driver.running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.driver.cond.wait(remaining)


def run(args: argparse.Namespace) -> int:
    trace = TraceFile(args.trace, args.ladder)
    try:
        driver = open_driver(args, trace.sink)
        try:
            driver.start()
            return _session(driver, args)
        finally:
            driver.stop()
    finally:
        trace.close()


def _session(driver: TunDriver, args: argparse.Namespace) -> int:
    host = TcpHost(driver)
    try:
        sock = host.create_connection((args.ip, args.port), timeout=args.timeout)
    except (OSError, TimeoutError) as exc:
        return _fail(f"connect to {args.ip}:{args.port}", exc)
    sock.settimeout(None)
    session = Session(driver, sock)
    feeder = threading.Thread(target=session.pump_stdin, name="stdin", daemon=True)
    feeder.start()
    try:
        session.pump_peer()
    except OSError as exc:
        sock.close()
        return _fail("receive", exc)
    if not sys.stdin.isatty():
        session.stdin_done.wait()
    if session.error is not None and not isinstance(session.error, BrokenPipeError):
        sock.close()
        return _fail("send", session.error)
    sock.close()
    session.wait_closed()
    return 0


def _fail(what: str, exc: BaseException) -> int:
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or "timed out"
    sys.stderr.write(f"synfin connect: {what}: {text}\n")
    return 1
