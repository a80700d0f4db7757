"""Connection lifecycles per second: connect + 1-byte echo + close, synfin and the kernel.

* ``lifecycle_inproc_per_s``: a synfin client stack and a synfin server stack in this process,
  linked in memory. Every packet is encoded to bytes (checksums included) by the sender and
  parsed (checksums verified) by the receiver, as on a real link. The applications run the
  way a driver round runs them: packets in, then the application's calls, then the packets
  out, so the echo carries the ACK of the request as it would behind a real event loop.
* ``lifecycle_kernel_per_s``: the same pattern with Python sockets over the kernel's loopback,
  both ends in this thread (a blocking connect on loopback completes the handshake inside the
  call). It runs in a network namespace of its own when possible, so that the TIME-WAIT
  sockets of earlier runs do not use up ephemeral ports.

Both run pinned to one CPU (:func:`bench.common.pinned`), one connection at a time, and the
figure is the median over repeated runs; ``lifecycle_ratio`` is synfin over the kernel.
"""

from __future__ import annotations

import gc
import socket
import time

from bench.common import Wire, in_fresh_netns, make_stack, median_of, pinned
from synfin.config import Config
from synfin.connection import Connection
from synfin.errors import LocalError
from synfin.listener import Listener
from synfin.states import State

CLIENT_IP = "10.2.0.1"
SERVER_IP = "10.2.0.2"
ECHO_PORT = 7
BYTE = b"x"


class InprocLifecycles:
    """Client and server stacks linked in memory, running one lifecycle at a time."""

    def __init__(self, config: Config | None = None, seed: int = 1) -> None:
        self.client = make_stack(CLIENT_IP, config, seed=seed)
        self.server = make_stack(SERVER_IP, config, seed=seed + 1)
        self.listener = self.server.listen(ECHO_PORT)
        self.wire = Wire([self.client, self.server])
        self.now = 1_000
        self.packets = 0

    def one(self) -> None:
        """connect, send one byte, read its echo, close; the server echoes and closes on
        EOF. Ends when both sides are done (client in TIME-WAIT, server CLOSED)."""
        self.now += 10
        now = self.now
        client, server, wire = self.client, self.server, self.wire
        conn = client.connect(SERVER_IP, ECHO_PORT, now)
        echo = EchoApp()
        user = ClientApp(conn)
        for _ in range(64):
            user.step(now)
            moved = wire.deliver(client, now)
            echo.step(self.listener, now)
            moved += wire.deliver(server, now)
            self.packets += moved
            if not moved and echo.done and user.done:
                break
        else:
            raise RuntimeError("lifecycle did not finish")
        if user.got != BYTE:
            raise RuntimeError(f"echo returned {user.got!r}")


class ClientApp:
    """Send one byte once connected, read the echo, close."""

    __slots__ = ("conn", "done", "got", "sent")

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.sent = self.done = False
        self.got = b""

    def step(self, now: int) -> None:
        conn = self.conn
        if not self.sent:
            if conn.state is State.ESTABLISHED:
                conn.send(BYTE, now)
                self.sent = True
        elif not self.done:
            self.got = conn.receive(now=now)
            if self.got:
                conn.close(now)
                self.done = True


class EchoApp:
    """Accept one connection, echo what arrives, close after the client's FIN."""

    __slots__ = ("done", "peer")

    def __init__(self) -> None:
        self.peer: Connection | None = None
        self.done = False

    def step(self, listener: Listener, now: int) -> None:
        peer = self.peer
        if peer is None:
            peer = self.peer = listener.accept()
            if peer is None:
                return
        if self.done:
            return
        try:
            data = peer.receive(now=now)
        except LocalError:  # "connection closing": the client's FIN, all read
            peer.close(now)
            self.done = True
            return
        if data:
            peer.send(data, now)


def inproc_rate(count: int) -> float:
    """Lifecycles per second over fresh stacks (set-up not timed)."""
    bench = InprocLifecycles()
    gc.collect()
    start = time.perf_counter()
    for _ in range(count):
        bench.one()
    return count / (time.perf_counter() - start)


def kernel_rate(count: int) -> float:
    """``count`` sequential lifecycles over the kernel's loopback, both ends in this thread;
    returns lifecycles per second (socket set-up of the listener not timed)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    address = listener.getsockname()
    try:
        gc.collect()
        start = time.perf_counter()
        for _ in range(count):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.connect(address)
            server, _ = listener.accept()
            client.sendall(BYTE)
            server.sendall(server.recv(1))
            if client.recv(1) != BYTE:
                raise RuntimeError("kernel echo lost its byte")
            client.close()
            if server.recv(1) != b"":
                raise RuntimeError("kernel server expected EOF")
            server.close()
        return count / (time.perf_counter() - start)
    finally:
        listener.close()


def run(count: int = 2_000, repeat: int = 5) -> dict[str, float]:
    with pinned():
        synfin = median_of(lambda: inproc_rate(count), repeat)
        kernel = median_of(lambda: in_fresh_netns(lambda: kernel_rate(count)), repeat)
    return {
        "lifecycle_inproc_per_s": round(synfin, 1),
        "lifecycle_kernel_per_s": round(kernel, 1),
        "lifecycle_ratio": round(synfin / kernel, 3),
    }


if __name__ == "__main__":
    print(run())
