"""TUN checksum offload (``TunDriver(checksum_offload=True)``): the kernel's own segments are
taken without verifying checksums (it marks them NEEDS_CSUM or DATA_VALID in the virtio-net
header); anything else, such as a segment a raw socket built, is still verified."""

from __future__ import annotations

import socket
import threading

from tunkit import (
    KERNEL_IP,
    MB,
    SYNFIN_IP,
    SynfinSide,
    linux_socket,
    netns,
    payload,
    requires_netns,
    sha256,
)

from synfin.drivers.faults import FaultSpec
from synfin.wire import emit_ipv4_header

pytestmark = requires_netns


def echo_roundtrip(side: SynfinSide, ns_sock: socket.socket, data: bytes) -> bytes:
    server = side.host.create_server(("", 7))

    def serve() -> None:
        conn, _ = server.accept()
        server.close()
        while chunk := conn.recv(65536):
            conn.sendall(chunk)
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    ns_sock.connect((SYNFIN_IP, 7))
    got = bytearray()

    def reader() -> None:
        while chunk := ns_sock.recv(1 << 20):
            got.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    ns_sock.sendall(data)
    ns_sock.shutdown(socket.SHUT_WR)
    t.join(60)
    return bytes(got)


def test_offload_at_mtu_65535_is_byte_exact_and_skips_no_foreign_checksum() -> None:
    with netns() as ns:
        ns.make_tun(mtu=65535)
        side = SynfinSide(ns, checksum_offload=True)
        try:
            assert side.driver.tun is not None and side.driver.tun.checksum_offload
            sock = linux_socket(ns)
            sock.settimeout(20)
            data = payload(8 * MB, 21)
            assert sha256(echo_roundtrip(side, sock, data)) == sha256(data)
            sock.close()

            def junk() -> None:  # a TCP segment with a wrong checksum, from a raw socket
                with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as s:
                    tcp = bytes(range(40, 80))
                    s.sendto(emit_ipv4_header(KERNEL_IP, SYNFIN_IP, 6, len(tcp)) + tcp,
                             (SYNFIN_IP, 0))
            ns.call(junk)
            assert side.wait_state(
                lambda: side.driver.stack.drop_counts.get("malformed", 0) >= 1, 5)
        finally:
            side.stop()


def test_offload_is_off_while_inbound_faults_are_injected() -> None:
    with netns() as ns:
        ns.make_tun()
        side = SynfinSide(ns, checksum_offload=True, faults_in=FaultSpec(loss=0.01))
        try:
            assert side.driver.tun is not None and not side.driver.tun.checksum_offload
            sock = linux_socket(ns)
            sock.settimeout(30)
            data = payload(MB, 22)
            assert sha256(echo_roundtrip(side, sock, data)) == sha256(data)
            sock.close()
        finally:
            side.stop()
