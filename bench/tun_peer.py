"""The Linux side of the TUN benchmarks: kernel sockets, run as a separate process inside the
benchmark's network namespace (``ip netns exec NS python bench/tun_peer.py MODE ...``), pinned
to its own CPU, so that neither side shares a CPU or the GIL with the other.

Modes (each prints one JSON object on stdout):

* ``lifecycle HOST PORT COUNT``: COUNT sequential connect + 1-byte echo + close;
  ``{"per_s": ..., "bad": ...}``
* ``send HOST PORT SIZE``: send SIZE bytes and FIN, wait for the one-byte receipt the synfin
  side sends once it has read them all; ``{"MBps": ...}`` timed from connect to receipt
* ``recv HOST PORT SIZE``: read SIZE bytes the synfin side sends, checking the pattern;
  ``{"MBps": ..., "ok": ...}`` timed from connect to the last byte
* ``udp-ping HOST PORT COUNT``: COUNT sequential UDP request/response round trips through the
  TUN device (the synfin side only reflects the datagram); ``{"per_s": ...}``

Stdlib only, and no synfin import: the peer is "Linux".
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time

CHUNK = 1 << 20


def pattern(size: int) -> bytes:
    """The bulk payload: a repeating 251-byte cycle (prime, so segment boundaries drift)."""
    cycle = bytes(range(251))
    return (cycle * (size // 251 + 1))[:size]


def lifecycle(host: str, port: int, count: int) -> dict[str, float]:
    bad = 0
    start = time.perf_counter()
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(b"x")
        if sock.recv(1) != b"x":
            bad += 1
        sock.close()
    elapsed = time.perf_counter() - start
    return {"per_s": count / elapsed, "bad": bad}


def send(host: str, port: int, size: int) -> dict[str, float]:
    data = memoryview(pattern(size))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(120)
    start = time.perf_counter()
    sock.connect((host, port))
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    receipt = sock.recv(1)
    elapsed = time.perf_counter() - start
    sock.close()
    return {"MBps": size / elapsed / 1e6, "ok": receipt == b"!"}


def recv(host: str, port: int, size: int) -> dict[str, float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(120)
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    start = time.perf_counter()
    sock.connect((host, port))
    while got < size:
        n = sock.recv_into(view[got:], min(CHUNK, size - got))
        if not n:
            break
        got += n
    elapsed = time.perf_counter() - start
    sock.close()
    return {"MBps": got / elapsed / 1e6, "ok": got == size and buf == pattern(size)}


def udp_ping(host: str, port: int, count: int) -> dict[str, float]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.connect((host, port))
    start = time.perf_counter()
    for i in range(count):
        message = i.to_bytes(4, "big")
        sock.send(message)
        if sock.recv(64) != message:
            raise RuntimeError("UDP ping answered with something else")
    elapsed = time.perf_counter() - start
    sock.close()
    return {"per_s": count / elapsed}


MODES = {"lifecycle": lifecycle, "send": send, "recv": recv, "udp-ping": udp_ping}


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] not in MODES:
        print(__doc__, file=sys.stderr)
        return 2
    cpu = os.environ.get("SYNFIN_BENCH_CPU")
    if cpu is not None:
        os.sched_setaffinity(0, {int(cpu)})
    mode, host, port, amount = argv
    print(json.dumps(MODES[mode](host, int(port), int(amount))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
