"""synfin against the Linux kernel's TCP over a TUN device, in a namespace of the test's own.

Both directions of every exchange: Linux client -> synfin server and synfin client -> Linux
server; handshakes, 10 MB each way with equal SHA-256, who closes first and where TIME-WAIT
ends up (Linux ``ss`` and synfin's trace), half-close, SO_LINGER 0 and closed ports.
"""

from __future__ import annotations

import errno
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from tunkit import (
    KERNEL_IP,
    MB,
    SYNFIN_IP,
    Netns,
    SynfinSide,
    linux_listener,
    linux_socket,
    netns,
    payload,
    requires_netns,
    sha256,
    wait_for,
)

from synfin.api import TcpSocket
from synfin.states import State

pytestmark = requires_netns

SIZE = 10 * MB


@pytest.fixture
def env() -> Iterator[tuple[Netns, SynfinSide]]:
    with netns() as ns:
        ns.make_tun()
        side = SynfinSide(ns)
        try:
            yield ns, side
        finally:
            side.stop()


Pair = tuple[socket.socket, TcpSocket]


def linux_to_synfin(ns: Netns, side: SynfinSide, port: int) -> Pair:
    """A Linux client connected to a synfin server: (linux socket, synfin socket)."""
    server = side.host.create_server(("", port))
    server.settimeout(10)
    client = linux_socket(ns)
    client.settimeout(10)
    client.connect((SYNFIN_IP, port))
    accepted, addr = server.accept()
    assert addr == (KERNEL_IP, client.getsockname()[1])
    server.close()
    accepted.settimeout(20)
    return client, accepted


def synfin_to_linux(ns: Netns, side: SynfinSide, port: int) -> Pair:
    """A synfin client connected to a Linux server: (linux socket, synfin socket)."""
    listener = linux_listener(ns, port)
    listener.settimeout(10)
    client = side.host.create_connection((KERNEL_IP, port), timeout=10)
    accepted, addr = listener.accept()
    listener.close()
    assert addr == (SYNFIN_IP, client.getsockname()[1])
    accepted.settimeout(20)
    client.settimeout(20)
    return accepted, client


CONNECT = {"linux-client": linux_to_synfin, "synfin-client": synfin_to_linux}


def recv_all(sock: socket.socket | TcpSocket, into: bytearray) -> None:
    while True:
        data = sock.recv(256 * 1024)
        if not data:
            return
        into.extend(data)


def linux_state(ns: Netns, linux: socket.socket) -> list[str]:
    """Linux's states for the connection of ``linux`` (by its local port), from ``ss``."""
    port = linux.getsockname()[1] if linux.fileno() >= 0 else None
    return [state for state, local, _ in ns.ss() if port and local.endswith(f":{port}")]


def ss_states_for_port(ns: Netns, port: int) -> list[str]:
    return [state for state, local, peer in ns.ss()
            if local.endswith(f":{port}") or peer.endswith(f":{port}")]


@pytest.mark.parametrize("who", ["linux-client", "synfin-client"])
def test_handshake(env: tuple[Netns, SynfinSide], who: str) -> None:
    ns, side = env
    linux, synfin = CONNECT[who](ns, side, 5001)
    conn = synfin.connection
    assert conn is not None and conn.state is State.ESTABLISHED
    assert linux_state(ns, linux) == ["ESTAB"]
    expected = ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"] if who == "linux-client" \
        else ["CLOSED", "SYN-SENT", "ESTABLISHED"]
    assert side.states()[:3] == expected
    # Options negotiated with the kernel: MSS 1460 both ways on a 1500-byte MTU, and
    # timestamps (12 octets of every segment), so 1448 octets of data per segment.
    assert side.syn_mss() == (1460, 1460)
    assert conn.status().smss == 1448
    linux.close()
    synfin.close()


@pytest.mark.parametrize("who", ["linux-client", "synfin-client"])
def test_ten_megabytes_each_way(env: tuple[Netns, SynfinSide], who: str) -> None:
    ns, side = env
    linux, synfin = CONNECT[who](ns, side, 5002)
    to_synfin, to_linux = payload(SIZE, 1), payload(SIZE, 2)
    got_synfin, got_linux = bytearray(), bytearray()
    threads = [
        threading.Thread(target=recv_all, args=(synfin, got_synfin)),
        threading.Thread(target=recv_all, args=(linux, got_linux)),
    ]
    for t in threads:
        t.start()

    def linux_sends() -> None:
        linux.sendall(to_synfin)
        linux.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=linux_sends)
    sender.start()
    synfin.sendall(to_linux)
    synfin.shutdown(socket.SHUT_WR)
    sender.join(60)
    for t in threads:
        t.join(60)
    assert len(got_synfin) == SIZE and sha256(got_synfin) == sha256(to_synfin)
    assert len(got_linux) == SIZE and sha256(got_linux) == sha256(to_linux)
    linux.close()
    synfin.close()


@pytest.mark.parametrize("who", ["linux-client", "synfin-client"])
@pytest.mark.parametrize("first", ["linux", "synfin"])
def test_active_close_leaves_time_wait_on_the_closer(
        env: tuple[Netns, SynfinSide], who: str, first: str) -> None:
    ns, side = env
    linux, synfin = CONNECT[who](ns, side, 5003)
    conn = synfin.connection
    assert conn is not None
    linux_port = linux.getsockname()[1]
    synfin_port = conn.local_port
    linux.sendall(b"ping")
    assert synfin.recv(10) == b"ping"
    if first == "linux":
        linux.close()
        assert synfin.recv(10) == b""  # the FIN
        synfin.close()
        assert side.wait_state(lambda: conn.state is State.CLOSED)
        assert side.states(synfin_port)[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]
        assert wait_for(lambda: "TIME-WAIT" in ss_states_for_port(ns, linux_port))
    else:
        synfin.close()
        assert linux.recv(10) == b""
        linux.close()
        assert side.wait_state(lambda: conn.state is State.TIME_WAIT)
        assert "TIME-WAIT" in side.states(synfin_port)
        # Four segments (FIN-WAIT-2), or three when Linux's FIN carries the ACK of ours.
        assert side.states(synfin_port)[-2:] in (["FIN-WAIT-2", "TIME-WAIT"],
                                                  ["FIN-WAIT-1", "TIME-WAIT"],
                                                  ["CLOSING", "TIME-WAIT"])
        # The kernel's LAST-ACK ends on our ACK: nothing of the connection is left there.
        assert wait_for(lambda: ss_states_for_port(ns, linux_port) == [])


@pytest.mark.parametrize("who", ["linux-client", "synfin-client"])
def test_linux_half_close_synfin_keeps_sending(env: tuple[Netns, SynfinSide], who: str) -> None:
    ns, side = env
    linux, synfin = CONNECT[who](ns, side, 5004)
    conn = synfin.connection
    assert conn is not None
    linux.sendall(b"request")
    linux.shutdown(socket.SHUT_WR)
    assert synfin.recv(100) == b"request"
    assert synfin.recv(100) == b""
    assert conn.state is State.CLOSE_WAIT
    answer = payload(2 * MB, 3)
    got = bytearray()
    reader = threading.Thread(target=recv_all, args=(linux, got))
    reader.start()
    synfin.sendall(answer)  # in CLOSE-WAIT
    synfin.close()
    reader.join(30)
    assert sha256(got) == sha256(answer)
    assert side.wait_state(lambda: conn.state is State.CLOSED)
    assert side.states(conn.local_port)[-3:] == ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    linux.close()


@pytest.mark.parametrize("who", ["linux-client", "synfin-client"])
def test_synfin_half_close_linux_keeps_sending(env: tuple[Netns, SynfinSide], who: str) -> None:
    ns, side = env
    linux, synfin = CONNECT[who](ns, side, 5005)
    conn = synfin.connection
    assert conn is not None
    synfin.sendall(b"request")
    synfin.shutdown(socket.SHUT_WR)
    assert linux.recv(100) == b"request"
    assert linux.recv(100) == b""
    assert side.wait_state(lambda: conn.state is State.FIN_WAIT_2)
    answer = payload(2 * MB, 4)
    got = bytearray()
    reader = threading.Thread(target=recv_all, args=(synfin, got))
    reader.start()
    linux.sendall(answer)  # synfin is in FIN-WAIT-2 and still receives
    linux.close()
    reader.join(30)
    assert sha256(got) == sha256(answer)
    assert side.wait_state(lambda: conn.state is State.TIME_WAIT)
    synfin.close()


@pytest.mark.parametrize("who", ["linux-client", "synfin-client"])
def test_linux_linger_zero_resets_synfin(env: tuple[Netns, SynfinSide], who: str) -> None:
    ns, side = env
    linux, synfin = CONNECT[who](ns, side, 5006)
    conn = synfin.connection
    assert conn is not None
    linux.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    linux.close()
    with pytest.raises(ConnectionResetError):
        synfin.recv(10)
    assert conn.error is not None and conn.error.text == "connection reset"
    assert synfin.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0  # reported already
    with pytest.raises(BrokenPipeError):
        synfin.send(b"more")
    synfin.close()


@pytest.mark.parametrize("who", ["linux-client", "synfin-client"])
def test_synfin_linger_zero_resets_linux(env: tuple[Netns, SynfinSide], who: str) -> None:
    ns, side = env
    linux, synfin = CONNECT[who](ns, side, 5007)
    synfin.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    synfin.close()
    with pytest.raises(ConnectionResetError):
        linux.recv(10)
    linux.close()


def test_syn_to_a_closed_synfin_port_is_refused(env: tuple[Netns, SynfinSide]) -> None:
    ns, side = env
    client = linux_socket(ns)
    client.settimeout(5)
    assert client.connect_ex((SYNFIN_IP, 5999)) == errno.ECONNREFUSED
    client.close()
    assert side.driver.stack.drop_counts.get("no-connection", 0) >= 1


def test_synfin_to_a_closed_linux_port_is_refused(env: tuple[Netns, SynfinSide]) -> None:
    _, side = env
    with pytest.raises(ConnectionRefusedError) as info:
        side.host.create_connection((KERNEL_IP, 5998), timeout=5)
    assert info.value.errno == errno.ECONNREFUSED
    sock = side.host.socket()
    assert sock.connect_ex((KERNEL_IP, 5998)) == errno.ECONNREFUSED
    sock.close()
