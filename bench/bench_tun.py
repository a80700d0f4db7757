"""Benchmarks of synfin against the Linux kernel over a TUN device (run as root).

    .venv/bin/python bench/bench_tun.py [--size MB] [--conns N] [--loss P --reorder P]

Everything runs in a network namespace created for the run and deleted afterwards:

* bulk transfer rates (MB/s) of ``--size`` MB Linux -> synfin and synfin -> Linux, at MTU 1500
  and 65535 (synfin runs in this process behind the TUN driver; Linux is a kernel socket);
* connections per second for connect + 1-byte echo + close from a Linux client against
  ``synfin serve echo`` (a subprocess), with the states left on both sides afterwards.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "tun"))

from tunkit import (
    MB,
    SYNFIN_IP,
    TUN,
    SynfinSide,
    linux_socket,
    netns,
    payload,
    read_line,
    synfin_cli,
)

from synfin.drivers.faults import FaultSpec
from synfin.trace.records import NULL_SINK


def bulk(mtu: int, size: int, spec: FaultSpec) -> tuple[float, float, bool]:
    with netns("sfb") as ns:
        ns.make_tun(mtu=mtu)
        side = SynfinSide(ns, sink=NULL_SINK, faults_in=spec, faults_out=spec)
        try:
            server = side.host.create_server(("", 9))
            data = payload(size, 1)
            result: dict[str, float] = {}

            def serve() -> None:
                conn, _ = server.accept()
                got = 0
                start = time.perf_counter()
                while got < size:
                    got += len(conn.recv(1 << 20))
                result["in"] = size / (time.perf_counter() - start) / 1e6
                conn.sendall(data)
                conn.close()

            t = threading.Thread(target=serve)
            t.start()
            sock = linux_socket(ns)
            sock.settimeout(600)
            sock.connect((SYNFIN_IP, 9))
            sock.sendall(data)
            received = bytearray()
            start = None
            while chunk := sock.recv(1 << 20):
                if start is None:
                    start = time.perf_counter() - 0.0
                received.extend(chunk)
            out = size / (time.perf_counter() - (start or 0)) / 1e6
            t.join()
            sock.close()
            return result["in"], out, received == data
        finally:
            side.stop()


def conns(n: int, trace: bool) -> None:
    with netns("sfc") as ns, tempfile.TemporaryDirectory() as tmp:
        ns.make_tun()
        trace_path = Path(tmp) / "echo.jsonl"
        extra = ["--trace", str(trace_path)] if trace else []
        proc = synfin_cli(ns, "serve", "echo", "--tun", TUN, "--addr", SYNFIN_IP, *extra,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            read_line(proc)

            def loop() -> tuple[float, int]:
                bad = 0
                start = time.perf_counter()
                for _ in range(n):
                    s = socket.create_connection((SYNFIN_IP, 7), timeout=5)
                    s.sendall(b"x")
                    if s.recv(1) != b"x":
                        bad += 1
                    s.close()
                return time.perf_counter() - start, bad
            elapsed, bad = ns.call(loop, timeout=600)
            time.sleep(0.5)
            linux = collections.Counter(state for state, _, peer in ns.ss()
                                        if peer.startswith(SYNFIN_IP))
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
            print(f"connections: {n} in {elapsed:.2f} s = {n / elapsed:.0f}/s, bad echoes {bad}")
            print(f"  Linux side afterwards: {dict(linux)}")
            print(f"  synfin: {err.decode().strip()}")
            if trace:
                finals: dict[str, str] = {}
                for line in trace_path.read_text().splitlines():
                    e = json.loads(line)
                    if e["event"] == "state":
                        finals[e["conn"]] = e["to"]
                print(f"  synfin final states: {dict(collections.Counter(finals.values()))}")
        finally:
            if proc.poll() is None:
                proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--trace", action="store_true", help="conns: with --trace (slower)")
    ap.add_argument("--only", choices=["bulk", "conns"])
    args = ap.parse_args()
    spec = FaultSpec(loss=args.loss, reorder=args.reorder, reorder_us=2000)
    if args.only != "conns":
        for mtu in (1500, 65535):
            rate_in, rate_out, ok = bulk(mtu, args.size * MB, spec)
            print(f"MTU {mtu:5}: {args.size} MB Linux->synfin {rate_in:6.1f} MB/s, "
                  f"synfin->Linux {rate_out:6.1f} MB/s, byte-exact: {ok}")
    if args.only != "bulk":
        conns(args.conns, args.trace)


if __name__ == "__main__":
    main()
