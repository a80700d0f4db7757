"""``synfin serve APP --tun DEV --addr IP``: a real server on synfin's TCP, over a TUN device.

Apps: ``echo`` (port 7) sends back what it receives, ``discard`` (port 9) reads and drops,
``http`` (port 80) is a small static HTTP/1.1 server answering ``GET /`` (and ``HEAD /``).
Each app half-closes the way a careful server does: it closes after the client's FIN (echo,
discard) or after the response when the client asked for ``Connection: close``.

It runs until SIGINT or SIGTERM, then stops listening, closes its connections (FIN), waits a
moment for them to finish and exits 0. A line on stdout says when it is listening.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Awaitable, Callable

from synfin.api import TcpHost, start_server
from synfin.cli.args import Parser, UsageError
from synfin.cli.tun_common import TraceFile, add_tun_options, open_driver, port_number
from synfin.drivers.tun import TunDriver
from synfin.states import State

DEFAULT_PORTS = {"echo": 7, "discard": 9, "http": 80}
#: How long to wait at exit for our connections to finish their closing handshakes.
DRAIN_SECONDS = 3.0
MAX_HEADER = 16 * 1024
CHUNK = 256 * 1024

PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>synfin</title></head>
<body><h1>Hello from synfin</h1>
<p>This page came over a TCP connection run by synfin, a pure-Python TCP (RFC 9293).</p>
</body></html>
"""

_SETTLED = frozenset({State.FIN_WAIT_2, State.TIME_WAIT, State.CLOSED})

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def add_parser(sub: argparse._SubParsersAction[Parser]) -> None:
    p = sub.add_parser("serve", help="run an echo, discard or http server over a TUN device")
    p.add_argument("app", choices=sorted(DEFAULT_PORTS), help="what to serve")
    add_tun_options(p)
    p.add_argument("--port", type=port_number,
                   help="port to listen on (default: echo 7, discard 9, http 80)")


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(CHUNK):
        writer.write(data)
        await writer.drain()


async def discard(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while await reader.read(CHUNK):
        pass


async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 (RFC 9112) just enough for ``curl``: persistent connections, GET and HEAD."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return
        except asyncio.LimitOverrunError:
            writer.write(_response(431, "Request Header Fields Too Large", b"", close=True))
            return
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:] if line)}
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            writer.write(_response(400, "Bad Request", b"bad request\n", close=True))
            return
        method, target, version = parts
        close = headers.get("connection", "").lower() == "close" or (
            version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive")
        if "content-length" in headers or "transfer-encoding" in headers:
            close = True  # no request bodies here: answer, then close
        if method not in ("GET", "HEAD"):
            writer.write(_response(405, "Method Not Allowed", b"only GET and HEAD\n",
                                   close=True, extra="Allow: GET, HEAD\r\n"))
            return
        if target.split("?")[0] in ("/", "/index.html"):
            response = _response(200, "OK", PAGE, close=close, head_only=method == "HEAD")
        else:
            response = _response(404, "Not Found", b"not found\n", close=close,
                                 head_only=method == "HEAD")
        writer.write(response)
        await writer.drain()
        if close:
            return


def _response(code: int, reason: str, body: bytes, *, close: bool, head_only: bool = False,
              extra: str = "") -> bytes:
    kind = "text/html; charset=utf-8" if code == 200 else "text/plain; charset=utf-8"
    head = (f"HTTP/1.1 {code} {reason}\r\nServer: synfin\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}"
            f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n")
    return head.encode() + (b"" if head_only else body)


APPS: dict[str, Handler] = {"echo": echo, "discard": discard, "http": http}


class Server:
    """The running app: its connections, and the clean stop on a signal."""

    def __init__(self, driver: TunDriver, app: str, port: int) -> None:
        self.driver = driver
        self.host = TcpHost(driver)
        self.app = app
        self.port = port
        self.served = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.served += 1
        try:
            await APPS[self.app](reader, writer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            server = await start_server(self.handle, self.host.address, self.port, via=self.host)
        except OSError as exc:
            raise UsageError(f"cannot listen on port {self.port}: {exc.strerror}") from None
        d = self.driver
        print(f"synfin serve {self.app}: listening on {self.host.address}:{self.port} "
              f"(tun {d.device}, mtu {d.mtu}, mss {d.stack.config.mss})", flush=True)
        await stop.wait()
        server.close_clients()
        server.close()
        await self._drain()
        return 0

    async def _drain(self) -> None:
        """Give closing connections a moment until our FINs are acknowledged (a peer that
        never closes leaves us in FIN-WAIT-2, which needs nothing more from us)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while loop.time() < deadline:
            with self.driver.cond:
                busy = [c for c in self.driver.stack.connections.values()
                        if c.state not in _SETTLED]
            if not busy:
                return
            await asyncio.sleep(0.02)


def run(args: argparse.Namespace) -> int:
    port = args.port or DEFAULT_PORTS[args.app]
    trace = TraceFile(args.trace, args.ladder)
    try:
        driver = open_driver(args, trace.sink)
        try:
            driver.start()
            server = Server(driver, args.app, port)
            status = asyncio.run(server.run())
        finally:
            driver.stop()
        sys.stderr.write(f"synfin serve: stopped after {server.served} connection(s)"
                         f"{_counters(driver)}\n")
        return status
    finally:
        trace.close()


def _counters(driver: TunDriver) -> str:
    counts = {**driver.counters}
    for direction, faults in driver.fault_counts().items():
        for what, n in faults.items():
            counts[f"{what}-{direction}"] = n
    if not counts:
        return ""
    return "; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
