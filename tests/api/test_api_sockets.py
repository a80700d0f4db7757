"""The blocking socket API: BSD calls, Linux errno values, options, over the in-memory driver."""

from __future__ import annotations

import errno
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest
from apikit import A_IP, B_IP, NOBODY_IP, Pair, hosts

from synfin.api import TcpSocket
from synfin.config import Config
from synfin.drivers.base import DriverStopped
from synfin.states import State
from synfin.trace.records import SegmentSent
from synfin.wire import Flags


@pytest.fixture
def pair() -> Iterator[Pair]:
    with hosts() as p:
        yield p


def connected(pair: Pair, port: int = 80) -> tuple[TcpSocket, TcpSocket]:
    server = pair.b.create_server(("", port))
    server.settimeout(5)
    client = pair.a.create_connection((B_IP, port), timeout=5)
    accepted, _ = server.accept()
    accepted.settimeout(5)
    server.close()
    return client, accepted


def rsts_sent(pair: Pair, host: str) -> int:
    return sum(1 for r in pair.records.records if isinstance(r, SegmentSent)
               and r.host == host and r.packet.segment.flags & Flags.RST)


def test_connect_accept_send_recv_and_names(pair: Pair) -> None:
    server = pair.b.create_server(("", 80))
    client = pair.a.socket()
    client.settimeout(5)
    client.bind(("", 40000))
    client.connect((B_IP, 80))
    accepted, peer = server.accept()
    assert peer == (A_IP, 40000)
    assert client.getsockname() == (A_IP, 40000)
    assert client.getpeername() == (B_IP, 80)
    assert accepted.getsockname() == (B_IP, 80)
    client.sendall(b"hello")
    assert accepted.recv(100) == b"hello"
    accepted.sendall(b"world")
    assert client.recv(100) == b"world"
    buf = bytearray(10)
    accepted.sendall(b"into")
    assert client.recv_into(buf) == 4 and buf[:4] == b"into"
    for s in (client, accepted, server):
        s.close()


def test_refused_and_timed_out(pair: Pair) -> None:
    with pytest.raises(ConnectionRefusedError) as info:
        pair.a.create_connection((B_IP, 81), timeout=5)
    assert info.value.errno == errno.ECONNREFUSED
    assert info.value.__cause__ is not None  # the RFC text: "connection refused"
    assert str(info.value.__cause__) == "error: connection refused"
    sock = pair.a.socket()
    assert sock.connect_ex((B_IP, 81)) == errno.ECONNREFUSED
    sock.close()


def test_connection_timed_out_is_etimedout() -> None:
    config = Config(syn_retries=1, rto_initial_us=30_000, rto_min_us=30_000)
    with hosts(config) as pair:
        start = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            pair.a.create_connection((NOBODY_IP, 80))
        assert info.value.errno == errno.ETIMEDOUT
        assert time.monotonic() - start < 2
        assert pair.driver.counters.get("no-route", 0) >= 2  # the SYN and its retry


def test_socket_timeout_raises_timeouterror_without_errno(pair: Pair) -> None:
    client, accepted = connected(pair)
    client.settimeout(0.05)
    with pytest.raises(TimeoutError) as info:
        client.recv(10)
    assert info.value.errno is None
    client.close()
    accepted.close()


def test_nonblocking_connect_says_einprogress_then_so_error(pair: Pair) -> None:
    server = pair.b.create_server(("", 80))
    client = pair.a.socket()
    client.setblocking(False)
    assert not client.getblocking()
    with pytest.raises(BlockingIOError) as info:
        client.connect((B_IP, 80))
    assert info.value.errno == errno.EINPROGRESS
    assert client.wait_writable(5)
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    assert client.connect_ex((B_IP, 80)) == errno.EISCONN
    with pytest.raises(BlockingIOError) as again:
        client.recv(10)
    assert again.value.errno == errno.EAGAIN
    refused = pair.a.socket()
    refused.setblocking(False)
    assert refused.connect_ex((B_IP, 99)) == errno.EINPROGRESS
    assert refused.wait_writable(5)  # the handshake ended (here: with a RST)
    assert refused.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
    assert refused.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0  # reported once
    for s in (client, refused, server):
        s.close()


def test_wrong_state_errors(pair: Pair) -> None:
    sock = pair.a.socket()
    for call in (lambda: sock.recv(1), lambda: sock.send(b"x"), lambda: sock.getpeername(),
                 lambda: sock.shutdown(socket.SHUT_WR)):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.ENOTCONN
    with pytest.raises(OSError) as info:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    assert info.value.errno == errno.ENOPROTOOPT
    sock.close()
    sock.close()  # twice is fine
    with pytest.raises(OSError) as info:
        sock.recv(1)
    assert info.value.errno == errno.EBADF


def test_send_after_shutdown_is_epipe_and_peer_sees_eof(pair: Pair) -> None:
    client, accepted = connected(pair)
    client.shutdown(socket.SHUT_WR)
    assert accepted.recv(10) == b""
    with pytest.raises(BrokenPipeError):
        client.send(b"late")
    accepted.sendall(b"still flowing")  # half-close: the other way works
    assert client.recv(100) == b"still flowing"
    accepted.close()
    assert client.recv(10) == b""
    client.close()


def test_shut_rd_makes_recv_return_eof(pair: Pair) -> None:
    client, accepted = connected(pair)
    client.shutdown(socket.SHUT_RD)
    assert client.recv(10) == b""
    client.close()
    accepted.close()


def test_addresses_in_use(pair: Pair) -> None:
    first = pair.b.create_server(("", 80))
    with pytest.raises(OSError) as info:
        pair.b.create_server(("", 80))  # SO_REUSEADDR does not share a listening port
    assert info.value.errno == errno.EADDRINUSE
    plain = pair.b.socket()
    with pytest.raises(OSError) as info:
        plain.bind(("", 80))
    assert info.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError) as info:
        plain.bind(("10.9.9.9", 81))
    assert info.value.errno == errno.EADDRNOTAVAIL
    plain.close()
    first.close()


def test_time_wait_port_needs_so_reuseaddr(pair: Pair) -> None:
    client, accepted = connected(pair, 80)
    server_side_port = 80
    accepted.close()  # the server closes first: TIME-WAIT on B's port 80
    assert client.recv(1) == b""
    client.close()
    conn = accepted.connection
    assert conn is not None
    assert pair.driver.run_until(lambda: conn.state is State.TIME_WAIT, 5)
    plain = pair.b.socket()
    with pytest.raises(OSError) as info:
        plain.bind(("", server_side_port))
    assert info.value.errno == errno.EADDRINUSE
    plain.close()
    reuse = pair.b.socket()
    reuse.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reuse.bind(("", server_side_port))
    reuse.listen()
    reuse.close()


def test_so_linger_zero_sends_rst(pair: Pair) -> None:
    client, accepted = connected(pair)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8) == struct.pack("ii", 1, 0)
    client.close()
    with pytest.raises(ConnectionResetError) as info:
        accepted.recv(10)
    assert info.value.errno == errno.ECONNRESET
    with pytest.raises(BrokenPipeError):  # reported once, then EPIPE, as Linux
        accepted.send(b"x")
    assert rsts_sent(pair, A_IP) == 1
    accepted.close()


def test_close_with_unread_data_sends_rst(pair: Pair) -> None:
    client, accepted = connected(pair)
    client.sendall(b"never read")
    assert pair.driver.run_until(lambda: accepted.connection is not None
                                 and accepted.connection.readable() == 10, 5)
    accepted.close()
    with pytest.raises(ConnectionResetError):
        client.recv(10)
    assert rsts_sent(pair, B_IP) == 1


def test_listener_close_resets_unaccepted_connections(pair: Pair) -> None:
    server = pair.b.create_server(("", 80))
    client = pair.a.create_connection((B_IP, 80), timeout=5)
    server.close()
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(10)
    client.close()


def test_tcp_nodelay_and_buffer_sizes(pair: Pair) -> None:
    client, accepted = connected(pair)
    conn = client.connection
    assert conn is not None and conn.nagle
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1 and not conn.nagle
    client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    assert client.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 8192
    assert conn.send_space() <= 8192
    small = pair.a.socket()
    small.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    small.settimeout(5)
    server = pair.b.create_server(("", 81))
    small.connect((B_IP, 81))
    assert small.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 4096
    peer, _ = server.accept()
    peer_conn = peer.connection
    assert peer_conn is not None
    assert pair.driver.run_until(lambda: peer_conn.status().snd_wnd == 4096, 5)
    assert small.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM
    for s in (client, accepted, small, peer, server):
        s.close()


def test_a_large_transfer_both_ways_at_once(pair: Pair) -> None:
    client, accepted = connected(pair)
    up, down = bytes(range(256)) * 4096, bytes(reversed(range(256))) * 4096
    got_up, got_down = bytearray(), bytearray()

    def drain(sock: TcpSocket, into: bytearray) -> None:
        while data := sock.recv(65536):
            into.extend(data)

    threads = [threading.Thread(target=drain, args=(accepted, got_up)),
               threading.Thread(target=drain, args=(client, got_down))]
    for t in threads:
        t.start()
    sender = threading.Thread(target=lambda: (accepted.sendall(down),
                                              accepted.shutdown(socket.SHUT_WR)))
    sender.start()
    client.sendall(up)
    client.shutdown(socket.SHUT_WR)
    sender.join(30)
    for t in threads:
        t.join(30)
    assert got_up == up and got_down == down
    client.close()
    accepted.close()


def test_calls_fail_once_the_driver_stopped() -> None:
    with hosts() as pair:
        server = pair.b.create_server(("", 80))
        server.settimeout(5)
        result: list[BaseException] = []

        def wait_accept() -> None:
            try:
                server.accept()
            except BaseException as exc:
                result.append(exc)
        t = threading.Thread(target=wait_accept)
        t.start()
        time.sleep(0.05)
        pair.driver.stop()
        t.join(5)
        assert result and isinstance(result[0], DriverStopped)
