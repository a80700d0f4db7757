"""The command line against real programs: ``synfin serve`` with curl and Python clients,
``synfin connect`` against a Linux server, ``synfin netns up/down``. Each synfin runs as a
subprocess inside a namespace the test creates (``ip netns exec``)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tunkit import (
    KERNEL_IP,
    MB,
    PYTHON,
    SYNFIN_IP,
    TUN,
    Netns,
    linux_listener,
    linux_socket,
    netns,
    payload,
    read_line,
    requires_netns,
    sha256,
    synfin_cli,
    wait_for,
)

pytestmark = requires_netns


def trace_states(path: Path) -> list[dict[str, object]]:
    return [e for e in map(json.loads, path.read_text().splitlines()) if e["event"] == "state"]


def state_path(events: list[dict[str, object]], remote_port: int) -> list[object]:
    path: list[object] = []
    for e in events:
        if str(e["conn"]).endswith(f":{remote_port}"):
            if not path:
                path.append(e["from"])
            path.append(e["to"])
    return path


class Served:
    """A ``synfin serve`` subprocess that is listening."""

    def __init__(self, ns: Netns, app: str, trace: Path, *extra: str) -> None:
        self.proc = synfin_cli(ns, "serve", app, "--tun", TUN, "--addr", SYNFIN_IP,
                               "--trace", str(trace), *extra, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        line = read_line(self.proc)
        assert "listening on" in line, line

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(signum)
        _, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, err.decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def ns() -> Iterator[Netns]:
    with netns() as space:
        space.make_tun()
        yield space


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_gets_the_page_from_synfin_serve_http(ns: Netns, tmp_path: Path) -> None:
    trace = tmp_path / "http.jsonl"
    server = Served(ns, "http", trace)
    try:
        out = ns.run("curl", "-sS", "-m", "10", "-D", "-", f"http://{SYNFIN_IP}/").stdout
        assert out.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Hello from synfin" in out
        missing = ns.run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10",
                         f"http://{SYNFIN_IP}/nothing").stdout
        assert missing == b"404"
        head = ns.run("curl", "-sS", "-I", "-m", "10", f"http://{SYNFIN_IP}/").stdout
        assert b"Content-Length: " in head and b"Hello" not in head
        # Two requests on one connection (HTTP/1.1 persistence).
        two = ns.run("curl", "-sS", "-m", "10", f"http://{SYNFIN_IP}/",
                     f"http://{SYNFIN_IP}/").stdout
        assert two.count(b"Hello from synfin") == 2
        events = trace_states(trace)  # flushed while the server runs
        assert sum(1 for e in events if e["to"] == "ESTABLISHED") == 4
        # curl closes first: TIME-WAIT is Linux's, synfin goes through LAST-ACK.
        assert wait_for(lambda: sum(1 for e in trace_states(trace)
                                    if e["from"] == "LAST-ACK") == 4)
        assert sum(1 for state, _, _ in ns.ss() if state == "TIME-WAIT") == 4
        code, err = server.stop(signal.SIGINT)
        assert code == 0, err
        assert "stopped after 4 connection(s)" in err
    finally:
        server.kill()
    ss = subprocess.run([PYTHON, "-m", "synfin.cli", "ss", "--trace", str(trace), "--all"],
                        capture_output=True, text=True, check=True).stdout
    assert ss.count(f"{SYNFIN_IP}:80") == 5  # the listener and four connections
    assert "Total: 5 (CLOSED 5)" in ss


def test_serve_echo_with_a_python_client_and_sigterm(ns: Netns, tmp_path: Path) -> None:
    trace = tmp_path / "echo.jsonl"
    ladder = tmp_path / "echo.txt"
    server = Served(ns, "echo", trace, "--port", "7007", "--ladder", str(ladder))
    try:
        sock = linux_socket(ns)
        sock.settimeout(20)
        sock.connect((SYNFIN_IP, 7007))
        data = payload(2 * MB, 21)
        got = bytearray()

        def reader() -> None:
            while chunk := sock.recv(1 << 20):
                got.extend(chunk)
        t = threading.Thread(target=reader)
        t.start()
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # half-close: the echo keeps coming
        t.join(30)
        assert sha256(got) == sha256(data)
        port = sock.getsockname()[1]
        sock.close()
        assert wait_for(lambda: state_path(trace_states(trace), port)[-1:] == ["CLOSED"])
        assert state_path(trace_states(trace), port) == [
            "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
        # An open connection when the signal comes: the server closes it (FIN) and exits 0.
        idle = linux_socket(ns)
        idle.settimeout(10)
        idle.connect((SYNFIN_IP, 7007))
        idle_port = idle.getsockname()[1]
        assert wait_for(lambda: "ESTABLISHED" in state_path(trace_states(trace), idle_port))
        code, err = server.stop(signal.SIGTERM)
        assert code == 0, err
        assert idle.recv(10) == b""
        idle.close()
    finally:
        server.kill()
    text = ladder.read_text()  # the ladder of the whole run, written at exit
    assert text.count("SYN seq=0") == 2 and "LAST-ACK" in text and "FIN-WAIT-1" in text


def test_connect_talks_to_a_linux_server_with_half_close(ns: Netns, tmp_path: Path) -> None:
    listener = linux_listener(ns, 6001)
    listener.settimeout(20)
    request = payload(300 * 1024, 31)
    received = bytearray()

    def serve() -> None:
        conn, _ = listener.accept()
        while chunk := conn.recv(65536):  # until synfin's FIN (stdin EOF)
            received.extend(chunk)
        conn.sendall(b"got " + sha256(received).encode() + b"\n")
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    trace = tmp_path / "connect.jsonl"
    proc = synfin_cli(
        ns, "connect", KERNEL_IP, "6001", "--tun", TUN, "--addr", SYNFIN_IP,
        "--trace", str(trace), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    out, err = proc.communicate(request, timeout=30)
    t.join(10)
    listener.close()
    assert proc.returncode == 0, err
    assert received == request
    assert out == b"got " + sha256(request).encode() + b"\n"
    events = trace_states(trace)
    assert [e["to"] for e in events] == ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
                                         "TIME-WAIT"]


def test_connect_to_a_closed_port_says_refused(ns: Netns) -> None:
    proc = synfin_cli(ns, "connect", KERNEL_IP, "6002", "--tun", TUN, "--addr", SYNFIN_IP,
                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert err.decode().strip() == f"synfin connect: connect to {KERNEL_IP}:6002: " \
                                   "Connection refused"


def test_bad_device_is_one_line_exit_2(ns: Netns) -> None:
    proc = synfin_cli(ns, "serve", "echo", "--tun", "x" * 20, "--addr", SYNFIN_IP,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    lines = err.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("synfin: error: cannot open TUN device")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_netns_up_down_from_an_outer_namespace(tmp_path: Path) -> None:
    with netns("sfo") as outer:
        inner = f"{outer.name}i"
        up = subprocess.run([PYTHON, "-m", "synfin.cli", "netns", "up", inner,
                             "--peer-netns", outer.name], capture_output=True, text=True,
                            timeout=30)
        try:
            assert up.returncode == 0, up.stderr
            assert f"curl http://{SYNFIN_IP}/" in up.stdout
            assert f"netns down {inner}" in up.stdout
            again = subprocess.run([PYTHON, "-m", "synfin.cli", "netns", "up", inner],
                                   capture_output=True, text=True, timeout=30)
            assert again.returncode == 2 and "already exists" in again.stderr
            proc = subprocess.Popen(
                ["ip", "netns", "exec", inner, PYTHON, "-m", "synfin.cli", "serve", "http",
                 "--tun", "synfin0", "--addr", SYNFIN_IP], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
            try:
                assert "listening" in read_line(proc)
                page = outer.run("curl", "-sS", "-m", "10", f"http://{SYNFIN_IP}/").stdout
                assert b"Hello from synfin" in page
                proc.send_signal(signal.SIGINT)
                proc.communicate(timeout=15)
                assert proc.returncode == 0
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        finally:
            down = subprocess.run([PYTHON, "-m", "synfin.cli", "netns", "down", inner],
                                  capture_output=True, text=True, timeout=30)
        assert down.returncode == 0, down.stderr
        names = subprocess.run(["ip", "netns", "list"], capture_output=True,
                               text=True).stdout
        assert inner not in names.split()
        assert "sfv-" not in outer.ip("link", "show")  # the veth pair went with it


def test_a_thousand_short_connections_lose_no_fin(ns: Netns, tmp_path: Path) -> None:
    """connect, 1-byte echo, close, 1000 times: Linux closes first, so every connection must
    end in TIME-WAIT there (it got synfin's FIN and acknowledged it) and CLOSED in synfin
    (LAST-ACK ended by that ACK); nothing may be left in any other state on either side."""
    trace = tmp_path / "many.jsonl"
    server = Served(ns, "echo", trace)
    try:
        def loop() -> int:
            bad = 0
            for _ in range(1000):
                with socket.create_connection((SYNFIN_IP, 7), timeout=5) as s:
                    s.sendall(b"x")
                    bad += s.recv(1) != b"x"
            return bad
        assert ns.call(loop, timeout=120) == 0

        def linux_states() -> dict[str, int]:
            counts: dict[str, int] = {}
            for state, _, peer in ns.ss():
                if peer.startswith(f"{SYNFIN_IP}:"):
                    counts[state] = counts.get(state, 0) + 1
            return counts
        assert wait_for(lambda: linux_states() == {"TIME-WAIT": 1000}), linux_states()
        code, _ = server.stop()
        assert code == 0
    finally:
        server.kill()
    paths: dict[str, list[object]] = {}
    for e in trace_states(trace):
        paths.setdefault(str(e["conn"]), []).append(e["to"])
    conns = {c: p for c, p in paths.items() if not c.endswith("-0.0.0.0:0")}
    assert len(conns) == 1000
    assert all(p[-2:] == ["LAST-ACK", "CLOSED"] for p in conns.values())


@pytest.mark.skipif(shutil.which("dumpcap") is None or shutil.which("tshark") is None,
                    reason="dumpcap/tshark are not installed")
def test_capture_has_no_malformed_packets_or_bad_checksums(ns: Netns, tmp_path: Path) -> None:
    pcap = tmp_path / "run.pcapng"
    cap = ns.popen("dumpcap", "-q", "-i", TUN, "-w", str(pcap), stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    try:
        assert wait_for(lambda: pcap.exists() and pcap.stat().st_size > 0, 10)
        server = Served(ns, "echo", tmp_path / "t.jsonl")
        try:
            sock = linux_socket(ns)
            sock.settimeout(10)
            sock.connect((SYNFIN_IP, 7))
            data = payload(MB, 41)
            got = bytearray()
            t = threading.Thread(target=lambda: [got.extend(c) for c in iter(
                lambda: sock.recv(65536), b"")])
            t.start()
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            t.join(20)
            sock.close()
            assert got == data
            refused = linux_socket(ns)
            refused.settimeout(5)
            assert refused.connect_ex((SYNFIN_IP, 1)) != 0  # a RST from synfin too
            refused.close()
            server.stop()
        finally:
            server.kill()
    finally:
        # libpcap hands packets over in blocks, at the latest after its 1 s timeout: wait
        # for that, or the packets of the last block would be left out of the file.
        time.sleep(1.2)
        cap.send_signal(signal.SIGINT)
        cap.wait(10)

    def tshark(*argv: str) -> str:
        return subprocess.run(["tshark", "-r", str(pcap), "-o", "tcp.check_checksum:TRUE",
                               "-o", "ip.check_checksum:TRUE", *argv], capture_output=True,
                              text=True, check=True).stdout
    total = len(tshark("-Y", "tcp").splitlines())
    assert total > 500
    bad = tshark("-Y", "_ws.malformed || _ws.expert.severity == error || "
                 "tcp.checksum.status == \"Bad\" || ip.checksum.status == \"Bad\"")
    assert bad == ""
    resets = tshark("-Y", "tcp.flags.reset == 1 && ip.src == " + SYNFIN_IP)
    assert len(resets.splitlines()) == 1


def test_a_peer_that_stops_reading_blocks_nobody_and_loses_nothing(
        ns: Netns, tmp_path: Path) -> None:
    trace = tmp_path / "zero.jsonl"
    server = Served(ns, "echo", trace)
    try:
        def stalled_client() -> socket.socket:
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
            s.settimeout(30)
            s.connect((SYNFIN_IP, 7))
            return s
        stalled = ns.call(stalled_client)
        data = payload(2 * MB, 51)
        sender = threading.Thread(target=stalled.sendall, args=(data,))
        sender.start()  # the echo comes back into a receive buffer nobody reads
        port = stalled.getsockname()[1]

        def zero_window_seen() -> bool:
            for line in trace.read_text().splitlines():
                e = json.loads(line)
                if e["event"] == "recv" and e["win"] == 0 and e["src"].endswith(f":{port}"):
                    return True
            return False
        assert wait_for(zero_window_seen, 10)
        for i in range(20):  # meanwhile other clients are served
            with linux_socket(ns) as other:
                other.settimeout(5)
                other.connect((SYNFIN_IP, 7))
                other.sendall(b"ping %d" % i)
                assert other.recv(100) == b"ping %d" % i
        got = bytearray()
        while len(got) < len(data):
            got.extend(stalled.recv(1 << 20))  # reading again: all of it arrives
        sender.join(30)
        assert sha256(got) == sha256(data)
        stalled.close()
        code, _ = server.stop()
        assert code == 0
    finally:
        server.kill()
