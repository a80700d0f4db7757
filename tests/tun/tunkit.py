"""Network namespaces for the TUN interop tests: created by the test, deleted afterwards.

Everything happens inside a fresh namespace (never in the namespace the tests run in):

* the TUN device ``sft0`` with the kernel side ``10.77.0.1/24``; synfin answers as
  ``10.77.0.2``;
* Linux programs run inside it with ``ip netns exec`` (:meth:`Netns.run`, :meth:`Netns.popen`),
  Python sockets are created by a worker thread that joined the namespace with ``setns(2)``
  (:meth:`Netns.call`) - a network namespace belongs to a thread, and a socket or TUN device
  keeps the namespace it was created in, whichever thread uses it later.

Tests skip only when the facility does not exist: not root, no ``/dev/net/tun``, no ``ip``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import itertools
import os
import queue
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from synfin.api import TcpHost
from synfin.config import Config
from synfin.drivers.tun import TunDriver
from synfin.states import State
from synfin.trace.records import (
    ListSink,
    SegmentReceived,
    SegmentSent,
    StateChange,
    TraceSink,
)
from synfin.wire import Flags, MssOption

T = TypeVar("T")

KERNEL_IP = "10.77.0.1"
SYNFIN_IP = "10.77.0.2"
TUN = "sft0"
CLONE_NEWNET = 0x40000000
REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
MB = 1 << 20

_counter = itertools.count()


def facility_missing() -> str | None:
    """Why these tests cannot run here, or ``None``."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and TUN devices)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun on this machine"
    if shutil.which("ip") is None:
        return "no 'ip' command (iproute2)"
    return None


requires_netns = pytest.mark.skipif(facility_missing() is not None,
                                    reason=facility_missing() or "")


def sha256(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _setns(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


class Netns:
    """A namespace of our own with a worker thread living in it."""

    def __init__(self, prefix: str = "sft") -> None:
        self.name = f"{prefix}{os.getpid() % 100000}x{next(_counter)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self._jobs: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"netns-{self.name}",
                                        daemon=True)
        self._ready: Future[None] = Future()
        self._thread.start()
        self._ready.result(5)
        self.ip("link", "set", "lo", "up")

    def _work(self) -> None:
        try:
            _setns(f"/run/netns/{self.name}")
        except OSError as exc:
            self._ready.set_exception(exc)
            return
        self._ready.set_result(None)
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    def call(self, fn: Callable[[], T], timeout: float = 30) -> T:
        """Run ``fn()`` in the namespace (on its worker thread) and return the result."""
        future: Future[T] = Future()
        self._jobs.put((fn, future))
        return future.result(timeout)

    def ip(self, *argv: str) -> str:
        result = subprocess.run(["ip", "-n", self.name, *argv], capture_output=True,
                                text=True, check=True)
        return result.stdout

    def run(self, *argv: str, timeout: float = 60, check: bool = True,
            input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """A command inside the namespace."""
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], capture_output=True,
                              timeout=timeout, check=check, input=input)

    def popen(self, *argv: str, **kwargs: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kwargs)

    def ss(self) -> list[tuple[str, str, str]]:
        """Linux's TCP sockets: (state, local, peer) from ``ss -tan``."""
        out = self.run("ss", "-tanH").stdout.decode()
        rows = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 5:
                rows.append((parts[0], parts[3], parts[4]))
        return rows

    def make_tun(self, name: str = TUN, mtu: int = 1500) -> None:
        """A persistent TUN device with the kernel side configured and up."""
        self.ip("tuntap", "add", "dev", name, "mode", "tun")
        self.configure_tun(name, mtu)

    def configure_tun(self, name: str = TUN, mtu: int = 1500) -> None:
        self.ip("link", "set", name, "mtu", str(mtu))
        self.ip("addr", "add", f"{KERNEL_IP}/24", "dev", name)
        self.ip("link", "set", name, "up")

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(5)
        subprocess.run(["ip", "netns", "del", self.name], check=False)


@contextlib.contextmanager
def netns(prefix: str = "sft") -> Iterator[Netns]:
    ns = Netns(prefix)
    try:
        yield ns
    finally:
        ns.close()


class SynfinSide:
    """A running TUN driver in a namespace, with a socket API and a trace in memory."""

    def __init__(self, ns: Netns, config: Config | None = None, seed: int = 7,
                 sink: TraceSink | None = None, **faults: Any) -> None:
        self.ns = ns
        self.records = ListSink()
        self.driver: TunDriver = ns.call(lambda: TunDriver(
            TUN, SYNFIN_IP, config, seed=seed, sink=sink or self.records, **faults))
        self.driver.start()
        self.host = TcpHost(self.driver)

    def states(self, local_port: int | None = None, remote_port: int | None = None
               ) -> list[str]:
        """The state path of the (first) connection matching the ports, from the trace."""
        path: list[str] = []
        key = None
        for rec in list(self.records.records):
            if not isinstance(rec, StateChange) or rec.conn.remote_port == 0:
                continue
            if local_port is not None and rec.conn.local_port != local_port:
                continue
            if remote_port is not None and rec.conn.remote_port != remote_port:
                continue
            if key is None:
                key = rec.conn
                path.append(str(rec.old))
            if rec.conn == key:
                path.append(str(rec.new))
        return path

    def syn_mss(self) -> tuple[int | None, int | None]:
        """The MSS options of the first SYN sent and the first SYN received."""
        sent = received = None
        for rec in list(self.records.records):
            if isinstance(rec, SegmentSent | SegmentReceived) and \
                    rec.packet.segment.flags & Flags.SYN:
                mss = next((o.mss for o in rec.packet.segment.options
                            if isinstance(o, MssOption)), None)
                if isinstance(rec, SegmentSent) and sent is None:
                    sent = mss
                elif isinstance(rec, SegmentReceived) and received is None:
                    received = mss
        return sent, received

    def wait_state(self, predicate: Callable[[], bool], timeout: float = 10) -> bool:
        return self.driver.run_until(predicate, timeout)

    def connection_states(self) -> dict[str, State]:
        with self.driver.cond:
            return {str(cid): conn.state for cid, conn in self.driver.stack.connections.items()}

    def stop(self) -> None:
        self.driver.stop()


def linux_socket(ns: Netns) -> socket.socket:
    """A kernel TCP socket created inside the namespace."""
    return ns.call(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))


def linux_listener(ns: Netns, port: int = 0) -> socket.socket:
    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((KERNEL_IP, port))
        sock.listen(64)
        return sock
    return ns.call(make)


def wait_for(predicate: Callable[[], bool], timeout: float = 10, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def synfin_cli(ns: Netns, *argv: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    """``synfin ARGV`` inside the namespace, as a subprocess."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return ns.popen(PYTHON, "-m", "synfin.cli", *argv, env=env, **kwargs)


def read_line(proc: subprocess.Popen[bytes], timeout: float = 15) -> str:
    """The next stdout line of ``proc`` (for readiness messages), with a timeout."""
    stdout = proc.stdout
    assert stdout is not None
    result: list[bytes] = []
    reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result:
        raise TimeoutError("no output line from the synfin process")
    return result[0].decode()
