"""Benchmarks of synfin against Linux over a TUN device (needs root; skipped without it).

Everything runs in a network namespace made for the run and deleted afterwards: a TUN device
whose kernel side is ``10.78.0.1`` and synfin answering as ``10.78.0.2``. synfin runs in this
process behind :class:`synfin.drivers.tun.TunDriver`, its I/O thread pinned to one CPU; the
Linux side is ``bench/tun_peer.py``, a separate process of kernel sockets, so the two never
share the GIL. For the ping-pong figures (lifecycles, raw round trips) the peer is pinned to
synfin's CPU: the two sides take turns, and a wake-up on another CPU costs an inter-processor
interrupt (on this VM it cuts bare TUN round trips from about 60,000/s to about 11,000/s,
which would measure the hypervisor rather than synfin). For bulk transfers the peer gets the
other CPU, so sender and receiver run at the same time as on any host; the raw round trips
across two CPUs are reported too (``tun_raw_roundtrips_2cpu_per_s``).

The synfin applications (echo, sink, source) run inside the driver's I/O thread at the start
of each round, straight on :class:`~synfin.connection.Connection` user calls: packets in, the
application's calls, packets out. That measures synfin's TCP and the driver, not thread
hand-offs; ``tun_lifecycle_serve_per_s`` measures the same lifecycle against
``synfin serve echo`` (asyncio streams over the driver) for comparison.

Figures (each the median of repeated runs):

* ``tun_lifecycle_per_s``: a Linux client does connect + 1-byte echo + close, one at a time;
* ``tun_bulk_in_MBps`` / ``tun_bulk_in_jumbo_MBps``: Linux -> synfin at MTU 1500 / 65535,
  timed by the client from connect until synfin's receipt of the last byte;
* ``tun_bulk_out_MBps`` (and ``tun_bulk_out_jumbo_MBps``): synfin -> Linux;
* ``tun_bulk_in_offload_MBps`` / ``tun_bulk_in_jumbo_offload_MBps``: Linux -> synfin with the
  driver's opt-in checksum offload (``TunDriver(checksum_offload=True)``);
* ``tun_raw_roundtrips_per_s``: UDP datagrams from a Linux socket reflected by a bare Python
  loop reading and writing the same kind of TUN device, no TCP: the ceiling for any Python
  stack on this path; ``tun_lifecycle_vs_raw`` is ``tun_lifecycle_per_s`` over it.

    .venv/bin/python -m bench.bench_tun [--size MB] [--conns N] [--loss P --reorder P]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import json
import os
import pstats
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from bench.common import Netns, bench_cpus, median_of, netns_available, pinned
from synfin.config import Config
from synfin.connection import Connection
from synfin.drivers.faults import NO_FAULTS, FaultSpec
from synfin.drivers.tun import TunDevice, TunDriver, mss_for_mtu
from synfin.errors import LocalError, RemoteError
from synfin.listener import Listener
from synfin.states import State
from synfin.trace.records import NULL_SINK

HERE = Path(__file__).resolve().parent
PEER = HERE / "tun_peer.py"
TUN = "sfb0"
KERNEL_IP = "10.78.0.1"
SYNFIN_IP = "10.78.0.2"
ECHO_PORT, SINK_PORT, SOURCE_PORT, UDP_PORT = 7, 9, 19, 7
MB = 1_000_000
#: Socket buffers for the jumbo runs: a 256 KB window holds only four 64 KB segments.
JUMBO_BUFFER = 4 << 20


def pattern(size: int) -> bytes:
    """What the source sends: the payload ``tun_peer.py`` checks."""
    cycle = bytes(range(251))
    return (cycle * (size // 251 + 1))[:size]


# -- applications running in the driver's I/O thread ---------------------------------------

class EchoApp:
    """Accept, echo what arrives, close after the peer's FIN (like ``synfin serve echo``)."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.conns: list[Connection] = []

    def step(self, now: int) -> None:
        while (conn := self.listener.accept()) is not None:
            self.conns.append(conn)
        if not self.conns:
            return
        keep = []
        for conn in self.conns:
            try:
                data = conn.receive(now=now)
                if data:
                    conn.send(data, now)
                keep.append(conn)
            except LocalError:  # the peer's FIN: everything read
                conn.close(now)
            except RemoteError:  # reset
                pass
        self.conns = keep

    def pending(self) -> bool:
        return bool(self.listener.accept_queue) or any(
            conn.readable() or conn.peer_fin for conn in self.conns)


class SinkApp:
    """Read everything; at the peer's FIN send a one-byte receipt and close."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.conns: list[Connection] = []
        self.received = 0

    def step(self, now: int) -> None:
        while (conn := self.listener.accept()) is not None:
            self.conns.append(conn)
        keep = []
        for conn in self.conns:
            try:
                while data := conn.receive(now=now):
                    self.received += len(data)
                keep.append(conn)
            except LocalError:
                conn.send(b"!", now)
                conn.close(now)
            except RemoteError:
                pass
        self.conns = keep

    def pending(self) -> bool:
        return bool(self.listener.accept_queue) or any(
            conn.readable() or conn.peer_fin for conn in self.conns)


class SourceApp:
    """Send ``size`` bytes of :func:`pattern` to whoever connects, then close."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.data = b""
        self.conns: list[tuple[Connection, memoryview]] = []

    def step(self, now: int) -> None:
        while (conn := self.listener.accept()) is not None:
            self.conns.append((conn, memoryview(self.data)))
        keep = []
        for conn, rest in self.conns:
            try:
                space = conn.send_space()
                if rest and space:
                    rest = rest[conn.send(bytes(rest[:space]), now):]
                    if not rest:
                        conn.close(now)
                if conn.state is not State.CLOSED:
                    keep.append((conn, rest))
            except (LocalError, RemoteError):
                pass
        self.conns = keep

    def pending(self) -> bool:
        return bool(self.listener.accept_queue) or any(
            rest and conn.send_space() for conn, rest in self.conns)


class AppDriver(TunDriver):
    """A TUN driver that runs the benchmark applications in its I/O thread: at the start of
    every round, and again after it while a round left them something to do (a connection
    reaches the accept queue when the round's output settles it)."""

    apps: tuple[EchoApp | SinkApp | SourceApp, ...] = ()

    def _round(self, now: int) -> None:
        for _ in range(8):
            for app in self.apps:
                app.step(now)
            super()._round(now)
            if not any(app.pending() for app in self.apps):
                return


# -- the namespace, the device and the peer ------------------------------------------------

def make_tun(ns: Netns, mtu: int) -> None:
    ns.ip("tuntap", "add", "dev", TUN, "mode", "tun")
    ns.ip("link", "set", TUN, "mtu", str(mtu))
    ns.ip("addr", "add", f"{KERNEL_IP}/24", "dev", TUN)
    ns.ip("link", "set", TUN, "up")


def run_peer(ns: Netns, mode: str, port: int, amount: int, cpu: int, timeout: float = 300
             ) -> dict[str, float]:
    """Run ``tun_peer.py MODE`` inside the namespace pinned to ``cpu``; its JSON answer."""
    env = dict(os.environ, SYNFIN_BENCH_CPU=str(cpu))
    result = subprocess.run(ns.command(sys.executable, str(PEER), mode, SYNFIN_IP,
                                       str(port), str(amount)),
                            capture_output=True, text=True, timeout=timeout, env=env,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"tun_peer {mode} failed: {result.stderr.strip()[-2000:]}")
    answer: dict[str, float] = json.loads(result.stdout)
    return answer


@contextlib.contextmanager
def synfin_over_tun(mtu: int, faults: FaultSpec = NO_FAULTS,
                    driver_class: type[AppDriver] = AppDriver, checksum_offload: bool = False
                    ) -> Iterator[tuple[Netns, AppDriver]]:
    """A namespace with a TUN device of ``mtu`` and a running :class:`AppDriver` serving
    echo (7), sink (9) and source (19), its I/O thread on synfin's CPU."""
    buffer = JUMBO_BUFFER if mtu > 9000 else 256 * 1024
    config = Config(mss=mss_for_mtu(mtu), send_buffer=buffer, recv_buffer=buffer)
    with Netns("sfb") as ns:
        make_tun(ns, mtu)
        driver: AppDriver = ns.call(lambda: driver_class(TUN, SYNFIN_IP, config, seed=1,
                                                         sink=NULL_SINK, faults_in=faults,
                                                         faults_out=faults,
                                                         checksum_offload=checksum_offload))
        stack = driver.stack
        driver.apps = (EchoApp(stack.listen(ECHO_PORT)), SinkApp(stack.listen(SINK_PORT)),
                       SourceApp(stack.listen(SOURCE_PORT)))
        with pinned(bench_cpus()[0]):
            driver.start()
        try:
            yield ns, driver
        finally:
            driver.stop()


def source_data(driver: AppDriver, size: int) -> None:
    with driver.cond:
        for app in driver.apps:
            if isinstance(app, SourceApp):
                app.data = pattern(size)


# -- measurements ----------------------------------------------------------------------------

def synfin_cpu() -> int:
    return bench_cpus()[0]


def other_cpu() -> int:
    return bench_cpus()[1]


def lifecycles(ns: Netns, count: int, repeat: int) -> float:
    """Sequential lifecycles from a Linux client on synfin's CPU (they take turns)."""
    def once() -> float:
        answer = run_peer(ns, "lifecycle", ECHO_PORT, count, synfin_cpu())
        if answer["bad"]:
            raise RuntimeError(f"{answer['bad']} bad echoes")
        return answer["per_s"]
    return median_of(once, repeat)


def bulk(ns: Netns, driver: AppDriver, direction: str, size: int, repeat: int) -> float:
    if direction == "out":
        source_data(driver, size)

    def once() -> float:
        answer = (run_peer(ns, "recv", SOURCE_PORT, size, other_cpu()) if direction == "out"
                  else run_peer(ns, "send", SINK_PORT, size, other_cpu()))
        if not answer["ok"]:
            raise RuntimeError(f"bulk {direction}: data not delivered intact")
        return answer["MBps"]
    return median_of(once, repeat)


def raw_roundtrips(count: int, repeat: int, peer_cpu: int | None = None) -> float:
    """UDP ping-pong through a TUN device reflected by a bare read/write loop; the peer on
    synfin's CPU unless ``peer_cpu`` says otherwise."""
    with Netns("sfr") as ns:
        make_tun(ns, 1500)
        device = ns.call(lambda: TunDevice(TUN))
        stop = threading.Event()
        reflector = threading.Thread(target=reflect_udp, args=(device, stop), daemon=True)
        with pinned(bench_cpus()[0]):
            reflector.start()
        try:
            cpu = synfin_cpu() if peer_cpu is None else peer_cpu
            return median_of(lambda: run_peer(ns, "udp-ping", UDP_PORT, count, cpu)["per_s"],
                             repeat)
        finally:
            stop.set()
            reflector.join(5)
            device.close()


def reflect_udp(device: TunDevice, stop: threading.Event) -> None:
    """Send every UDP datagram back where it came from: swapping the addresses and the
    ports leaves both checksums valid (they are sums), so nothing is recomputed."""
    poller = select.epoll()
    poller.register(device.fd, select.EPOLLIN)
    fd = device.fd
    try:
        while not stop.is_set():
            if not poller.poll(0.1):
                continue
            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if len(packet) < 28 or packet[0] != 0x45 or packet[9] != 17:
                    continue
                reply = (packet[:12] + packet[16:20] + packet[12:16] + packet[22:24]
                         + packet[20:22] + packet[24:])
                os.write(fd, reply)
    finally:
        poller.close()


def profiled_lifecycles(count: int) -> pstats.Stats | None:
    """cProfile of synfin's I/O thread while a Linux client runs ``count`` lifecycles."""
    if not netns_available() or not os.path.exists("/dev/net/tun"):
        return None
    profiler = cProfile.Profile()

    class ProfiledDriver(AppDriver):
        def _run(self) -> None:
            profiler.enable()
            try:
                super()._run()
            finally:
                profiler.disable()

    with synfin_over_tun(1500, driver_class=ProfiledDriver) as (ns, _):
        lifecycles(ns, count, 1)
    return pstats.Stats(profiler)


def serve_lifecycles(count: int, repeat: int) -> float:
    """Lifecycles against ``synfin serve echo`` (a subprocess: asyncio streams on the TUN
    driver), the way a user would run a server."""
    with Netns("sfs") as ns:
        ns.ip("tuntap", "add", "dev", TUN, "mode", "tun")
        ns.ip("addr", "add", f"{KERNEL_IP}/24", "dev", TUN)
        ns.ip("link", "set", TUN, "up")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            ["taskset", "-c", str(bench_cpus()[0]),
             *ns.command(sys.executable, "-m", "synfin.cli", "serve", "echo", "--tun", TUN,
                         "--addr", SYNFIN_IP)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            assert proc.stdout is not None
            proc.stdout.readline()  # "listening on ..."
            return lifecycles(ns, count, repeat)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def run(conns: int = 2_000, size_mb: int = 40, jumbo_mb: int = 200, repeat: int = 5,
        serve_conns: int = 500) -> dict[str, float]:
    """Every TUN figure; empty when this machine cannot make namespaces and TUN devices."""
    if not netns_available() or not os.path.exists("/dev/net/tun"):
        print("bench_tun: skipped (needs root, ip and /dev/net/tun)", file=sys.stderr)
        return {}
    out: dict[str, float] = {}
    with synfin_over_tun(1500) as (ns, driver):
        out["tun_lifecycle_per_s"] = lifecycles(ns, conns, repeat)
        out["tun_bulk_in_MBps"] = bulk(ns, driver, "in", size_mb * MB, repeat)
        out["tun_bulk_out_MBps"] = bulk(ns, driver, "out", size_mb * MB, repeat)
    with synfin_over_tun(65535) as (ns, driver):
        out["tun_bulk_in_jumbo_MBps"] = bulk(ns, driver, "in", jumbo_mb * MB, repeat)
        out["tun_bulk_out_jumbo_MBps"] = bulk(ns, driver, "out", jumbo_mb * MB, repeat)
    # The driver's opt-in checksum offload (kernel segments taken without verifying the
    # checksum the kernel vouches for): what closes the jumbo goal, see bench/NOTES.md.
    with synfin_over_tun(1500, checksum_offload=True) as (ns, driver):
        out["tun_bulk_in_offload_MBps"] = bulk(ns, driver, "in", size_mb * MB, repeat)
    with synfin_over_tun(65535, checksum_offload=True) as (ns, driver):
        out["tun_bulk_in_jumbo_offload_MBps"] = bulk(ns, driver, "in", jumbo_mb * 2 * MB,
                                                     repeat)
    out["tun_raw_roundtrips_per_s"] = raw_roundtrips(conns * 5, repeat)
    out["tun_raw_roundtrips_2cpu_per_s"] = raw_roundtrips(conns * 2, repeat, other_cpu())
    out["tun_lifecycle_vs_raw"] = out["tun_lifecycle_per_s"] / out["tun_raw_roundtrips_per_s"]
    if serve_conns:
        out["tun_lifecycle_serve_per_s"] = serve_lifecycles(serve_conns, repeat)
    return {key: round(value, 3 if key.endswith("_vs_raw") else 1) for key, value in out.items()}


# -- the command line (fault injection, states left behind) ----------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=20, help="MB per bulk transfer")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", choices=["bulk", "conns", "raw"])
    args = ap.parse_args()
    spec = FaultSpec(loss=args.loss, reorder=args.reorder, reorder_us=2000)
    if args.only in (None, "bulk"):
        for mtu in (1500, 65535):
            with synfin_over_tun(mtu, spec) as (ns, driver):
                rate_in = bulk(ns, driver, "in", args.size * MB, args.repeat)
                rate_out = bulk(ns, driver, "out", args.size * MB, args.repeat)
                print(f"MTU {mtu:5}: {args.size} MB Linux->synfin {rate_in:6.1f} MB/s, "
                      f"synfin->Linux {rate_out:6.1f} MB/s; driver {driver.counters}")
    if args.only in (None, "conns"):
        with synfin_over_tun(1500, spec) as (ns, driver):
            rate = lifecycles(ns, args.conns, args.repeat)
            with driver.cond:
                left = collections.Counter(str(conn.state)
                                           for conn in driver.stack.connections.values())
            print(f"connections: {rate:.0f}/s; synfin connections left: {dict(left)}")
    if args.only in (None, "raw"):
        print(f"raw TUN round trips: {raw_roundtrips(args.conns * 5, args.repeat):.0f}/s")


if __name__ == "__main__":
    main()
