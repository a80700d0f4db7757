"""The TUN driver itself: device creation, MTU and MSS, what it does with non-TCP packets,
garbage, and seeded fault injection under a real transfer."""

from __future__ import annotations

import errno
import socket
import struct
import threading

import pytest
from tunkit import (
    KERNEL_IP,
    MB,
    SYNFIN_IP,
    TUN,
    SynfinSide,
    linux_socket,
    netns,
    payload,
    requires_netns,
    sha256,
    wait_for,
)

from synfin.drivers.base import DriverStopped
from synfin.drivers.faults import FaultSpec
from synfin.drivers.tun import TunDriver, TunError, icmp_echo_reply, mss_for_mtu
from synfin.wire import emit_ipv4_header, internet_checksum

pytestmark = requires_netns


def echo_once(side: SynfinSide, port: int) -> None:
    """Serve one connection on ``port``: echo until EOF, then close (in a thread)."""
    server = side.host.create_server(("", port))

    def serve() -> None:
        conn, _ = server.accept()
        server.close()
        while data := conn.recv(65536):
            conn.sendall(data)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()


def linux_echo_roundtrip(side: SynfinSide, sock: socket.socket, data: bytes) -> bytes:
    got = bytearray()

    def reader() -> None:
        while chunk := sock.recv(1 << 20):
            got.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    t.join(60)
    return bytes(got)


def test_creates_the_device_when_absent() -> None:
    with netns() as ns:
        assert TUN not in ns.ip("link", "show")
        side = SynfinSide(ns)
        try:
            assert side.driver.tun.created
            assert TUN in ns.ip("link", "show")
            ns.configure_tun()
            echo_once(side, 7)
            sock = linux_socket(ns)
            sock.settimeout(10)
            sock.connect((SYNFIN_IP, 7))
            assert linux_echo_roundtrip(side, sock, b"hello") == b"hello"
            sock.close()
        finally:
            side.stop()
        # Not persistent: the device goes away with the driver.
        assert wait_for(lambda: TUN not in ns.ip("link", "show"), 5)


def test_attaches_to_an_existing_device() -> None:
    with netns() as ns:
        ns.make_tun()
        side = SynfinSide(ns)
        try:
            assert not side.driver.tun.created
            assert side.driver.mtu == 1500
            assert side.driver.stack.config.mss == 1460
        finally:
            side.stop()
        assert TUN in ns.ip("link", "show")  # persistent: still there


def test_mtu_65535_gives_a_large_mss_and_transfers() -> None:
    assert mss_for_mtu(65535) == 65495
    with netns() as ns:
        ns.make_tun(mtu=65535)
        side = SynfinSide(ns)
        try:
            assert side.driver.stack.config.mss == 65495
            echo_once(side, 7)
            sock = linux_socket(ns)
            sock.settimeout(20)
            sock.connect((SYNFIN_IP, 7))
            data = payload(8 * MB, 11)
            assert sha256(linux_echo_roundtrip(side, sock, data)) == sha256(data)
            sock.close()
            assert side.syn_mss() == (65495, 65495)
            assert max(len(r.packet.segment.payload) for r in side.records.records
                       if type(r).__name__ == "SegmentSent") > 1460
        finally:
            side.stop()


def _icmp_echo(ident: int, seq: int, data: bytes) -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return body[:2] + internet_checksum(body).to_bytes(2, "big") + body[4:]


def test_answers_icmp_echo() -> None:
    with netns() as ns:
        ns.make_tun()
        side = SynfinSide(ns)
        try:
            def ping() -> bytes:
                with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
                    s.settimeout(3)
                    s.sendto(_icmp_echo(0x5F5F, 1, b"synfin-ping"), (SYNFIN_IP, 0))
                    while True:
                        packet, addr = s.recvfrom(2048)
                        if addr[0] == SYNFIN_IP:
                            return packet
            reply = ns.call(ping)
            ihl = (reply[0] & 0x0F) * 4
            icmp = reply[ihl:]
            assert icmp[0] == 0 and icmp[1] == 0  # echo reply
            assert struct.unpack("!HH", icmp[4:8]) == (0x5F5F, 1)
            assert icmp[8:] == b"synfin-ping"
            assert internet_checksum(icmp) == 0
            assert internet_checksum(reply[:ihl]) == 0
            assert side.driver.counters.get("icmp-echo-answered") == 1
        finally:
            side.stop()


def test_echo_reply_builder_ignores_what_is_not_an_echo_request_for_us() -> None:
    request = emit_ipv4_header("10.0.0.1", "10.0.0.2", 1, 8 + 4) + _icmp_echo(1, 2, b"abcd")
    assert icmp_echo_reply(request, "10.0.0.2") is not None
    assert icmp_echo_reply(request, "10.0.0.3") is None  # not our address
    corrupt = request[:-1] + bytes([request[-1] ^ 1])
    assert icmp_echo_reply(corrupt, "10.0.0.2") is None  # bad ICMP checksum
    reply = icmp_echo_reply(request, "10.0.0.2")
    assert reply is not None and icmp_echo_reply(reply, "10.0.0.1") is None  # a reply


def test_counts_non_tcp_and_non_ipv4_packets() -> None:
    with netns() as ns:
        ns.make_tun()
        ns.ip("-6", "addr", "add", "fd77::1/64", "dev", TUN, "nodad")
        side = SynfinSide(ns)
        try:
            before_v6 = side.driver.counters.get("not-ipv4", 0)

            def send_udp() -> None:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(b"x", (SYNFIN_IP, 9))
                with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
                    s.sendto(b"y", ("fd77::2", 9))
            ns.call(send_udp)
            assert wait_for(lambda: side.driver.counters.get("not-tcp", 0) >= 1)
            assert wait_for(lambda: side.driver.counters.get("not-ipv4", 0) > before_v6)
            assert side.driver.stack.drop_counts == {}  # none of it reached the stack
        finally:
            side.stop()


def test_garbage_and_a_rst_storm_do_not_disturb_a_transfer() -> None:
    with netns() as ns:
        ns.make_tun()
        side = SynfinSide(ns)
        try:
            echo_once(side, 7)
            sock = linux_socket(ns)
            sock.settimeout(20)
            sock.connect((SYNFIN_IP, 7))
            port = sock.getsockname()[1]

            def storm() -> None:
                with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
                    rng = payload(64 * 1024, 5)
                    for i in range(300):
                        junk = rng[i * 100:i * 100 + 60]
                        # A TCP header with a random body: bad checksum, or out of window.
                        header = emit_ipv4_header(KERNEL_IP, SYNFIN_IP, 6, len(junk))
                        s.sendto(header + junk, (SYNFIN_IP, 0))
                        # A RST with a random sequence number on the live 4-tuple.
                        seq = int.from_bytes(junk[:4], "big")
                        tcp = struct.pack("!HHIIBBHHH", port, 7, seq, 0, 5 << 4, 0x04, 0, 0, 0)
                        header = emit_ipv4_header(KERNEL_IP, SYNFIN_IP, 6, len(tcp))
                        s.sendto(header + tcp, (SYNFIN_IP, 0))
            storm_thread = threading.Thread(target=lambda: ns.call(storm))
            storm_thread.start()
            data = payload(4 * MB, 12)
            assert sha256(linux_echo_roundtrip(side, sock, data)) == sha256(data)
            storm_thread.join(30)
            sock.close()
            drops = side.driver.stack.drop_counts
            assert drops.get("malformed", 0) >= 1
            assert sum(drops.values()) >= 300
        finally:
            side.stop()


def test_five_percent_loss_and_reordering_stay_byte_exact() -> None:
    spec = FaultSpec(loss=0.05, reorder=0.05, reorder_us=2000, duplicate=0.01)
    with netns() as ns:
        ns.make_tun()
        side = SynfinSide(ns, seed=3, faults_in=spec, faults_out=spec)
        try:
            echo_once(side, 7)
            sock = linux_socket(ns)
            sock.settimeout(60)
            sock.connect((SYNFIN_IP, 7))
            data = payload(1 * MB, 13)
            assert sha256(linux_echo_roundtrip(side, sock, data)) == sha256(data)
            sock.close()
            counts = side.driver.fault_counts()
            for direction in ("in", "out"):
                assert counts[direction].get("lost", 0) > 10
                assert counts[direction].get("reordered", 0) > 10
        finally:
            side.stop()


def test_bad_arguments_fail_before_anything_runs() -> None:
    with pytest.raises(ValueError):
        TunDriver(TUN, "10.77.0.300")
    with netns() as ns, pytest.raises(TunError) as info:
        ns.call(lambda: TunDriver("a-name-much-too-long", SYNFIN_IP))
    assert info.value.errno == errno.EINVAL


def test_driver_runs_user_work_on_its_thread() -> None:
    with netns() as ns:
        ns.make_tun()
        side = SynfinSide(ns)
        try:
            names = side.driver.call(lambda: threading.current_thread().name)
            assert names.startswith("synfin-")
            assert side.driver.call(lambda: side.driver.in_io_thread())
            assert not side.driver.in_io_thread()
        finally:
            side.stop()
        with pytest.raises(DriverStopped, match="not running"):
            side.driver.call(lambda: 1)
