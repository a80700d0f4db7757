"""A Linux TUN device driver: synfin answers as one IPv4 address behind ``/dev/net/tun``.

Stdlib only. The device is opened with ``TUNSETIFF`` and ``IFF_TUN | IFF_NO_PI`` (raw IP
packets, no packet-information prefix) and made nonblocking; it is created if absent (then it
lives only as long as this process holds it). The caller gives the kernel side of the device
its address and brings it up, e.g.::

    ip addr add 10.77.0.1/24 dev synfin0 && ip link set synfin0 up
    # synfin answers as 10.77.0.2

What arrives from the kernel is sorted before the stack sees it: non-IPv4 frames (IPv6 router
solicitations, ...) and non-TCP IPv4 are ignored and counted by reason in
:attr:`TunDriver.counters`, except ICMP echo requests to our address, which are answered.
The MSS follows the device MTU (1500 gives 1460; 65535 gives 65495) unless a config is given.

Checksum offload (``checksum_offload=True``; off by default, and ignored while inbound faults
are injected): the device is opened with ``IFF_VNET_HDR`` and ``TUNSETOFFLOAD(TUN_F_CSUM)``,
as a virtio-net guest's would be. Every
packet then carries a 10-octet ``virtio_net_hdr``. The kernel leaves the TCP checksum of its
own segments for the device to fill in and says so (``VIRTIO_NET_HDR_F_NEEDS_CSUM``), or marks
a checksum it already checked (``DATA_VALID``): such packets come from the kernel's memory, not
a wire, and are parsed without verifying checksums, which in Python costs about 2 ns per octet
(three quarters of the receive time at MTU 65535, bench/NOTES.md). Anything else, e.g. a packet
built by a raw socket, is verified as usual. What synfin writes carries complete checksums
and a header asking for nothing. The cost: a capture on the device (tcpdump, dumpcap) shows the
kernel's segments with the partial checksums offload leaves in them, as on any NIC with
offload, which is why it is not the default.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import selectors
import socket
import struct
from typing import Any

from synfin.config import Config
from synfin.drivers.base import IoDriver
from synfin.drivers.faults import NO_FAULTS, FaultSpec
from synfin.stack import Stack
from synfin.trace.records import NULL_SINK, TraceSink
from synfin.wire import emit_ipv4_header, internet_checksum, pack_ip

TUN_PATH = "/dev/net/tun"
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
TUNSETOFFLOAD = 0x400454D0
TUN_F_CSUM = 0x01
VNET_HDR_LEN = 10
"""``struct virtio_net_hdr``: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset."""
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_F_DATA_VALID = 2
_VOUCHED = VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID
_PLAIN_VNET_HDR = bytes(VNET_HDR_LEN)
READ_SIZE = 65536 + VNET_HDR_LEN
SIOCGIFMTU = 0x8921
IFNAMSIZ = 16
IFREQ_SIZE = 40

PROTO_ICMP = 1
PROTO_TCP = 6
ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
IPV4_TCP_HEADERS = 40
"""IPv4 and TCP headers without options: MSS = MTU - 40 (RFC 9293 3.7.1)."""

# Counter names for what the driver does not hand to the stack.
NOT_IPV4 = "not-ipv4"
NOT_TCP = "not-tcp"
ICMP_ECHO_ANSWERED = "icmp-echo-answered"
ICMP_OTHER = "icmp-ignored"
TRUNCATED = "truncated-ip"
WRITE_BLOCKED = "tun-write-blocked"
WRITE_FAILED = "tun-write-failed"


class TunError(OSError):
    """The TUN device could not be opened or configured."""


def _ifreq(name: str, tail: bytes = b"") -> bytes:
    raw = name.encode()
    if not raw or len(raw) >= IFNAMSIZ or b"/" in raw:
        raise TunError(errno.EINVAL, f"bad interface name {name!r}")
    return raw.ljust(IFNAMSIZ, b"\0") + tail.ljust(IFREQ_SIZE - IFNAMSIZ, b"\0")


def interface_exists(name: str) -> bool:
    """Is there a network interface of that name in this network namespace?"""
    try:
        socket.if_nametoindex(name)
    except OSError:
        return False
    return True


def interface_mtu(name: str) -> int:
    """The MTU of an interface (``SIOCGIFMTU``)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        result = fcntl.ioctl(sock.fileno(), SIOCGIFMTU, _ifreq(name))
    mtu: int = struct.unpack_from("i", result, IFNAMSIZ)[0]
    return mtu


class TunDevice:
    """An open TUN device: a nonblocking file descriptor carrying raw IPv4 packets (each
    behind a ``virtio_net_hdr`` with ``checksum_offload``, see the module docstring)."""

    def __init__(self, name: str, checksum_offload: bool = False) -> None:
        self.created = not interface_exists(name)
        if not os.path.exists(TUN_PATH):
            raise TunError(errno.ENOENT, f"{TUN_PATH} does not exist (no TUN support)")
        fd = os.open(TUN_PATH, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if checksum_offload else 0)
        try:
            result = fcntl.ioctl(fd, TUNSETIFF, _ifreq(name, struct.pack("H", flags)))
            if checksum_offload:
                fcntl.ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM)
        except OSError as exc:
            os.close(fd)
            raise TunError(exc.errno, f"TUNSETIFF {name}: {exc.strerror}") from exc
        self.fd = fd
        self.name = result[:IFNAMSIZ].rstrip(b"\0").decode()
        self.checksum_offload = checksum_offload

    def mtu(self) -> int:
        return interface_mtu(self.name)

    def read(self) -> bytes | None:
        """One packet, or ``None`` when none is waiting."""
        got = self.read_vouched()
        return None if got is None else got[0]

    def read_vouched(self) -> tuple[bytes, bool] | None:
        """One packet and whether the kernel vouches for its checksums (only with checksum
        offload), or ``None`` when none is waiting."""
        try:
            data = os.read(self.fd, READ_SIZE)
        except BlockingIOError:
            return None
        if not self.checksum_offload:
            return data, False
        return data[VNET_HDR_LEN:], bool(data[:1] and data[0] & _VOUCHED)

    def write(self, packet: bytes) -> None:
        if self.checksum_offload:
            os.writev(self.fd, (_PLAIN_VNET_HDR, packet))
        else:
            os.write(self.fd, packet)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def mss_for_mtu(mtu: int) -> int:
    """The MSS to advertise on a link of this MTU."""
    return max(536, min(mtu, 65535) - IPV4_TCP_HEADERS)


def icmp_echo_reply(packet: bytes, address: str) -> bytes | None:
    """The ICMP echo reply (RFC 792) to an echo request for ``address``, else ``None``."""
    if len(packet) < 28 or packet[0] >> 4 != 4 or packet[9] != PROTO_ICMP:
        return None
    ihl = (packet[0] & 0x0F) * 4
    total = int.from_bytes(packet[2:4], "big")
    if ihl < 20 or total > len(packet) or total < ihl + 8:
        return None
    if packet[16:20] != pack_ip(address) or int.from_bytes(packet[6:8], "big") & 0x3FFF:
        return None
    icmp = packet[ihl:total]
    if icmp[0] != ICMP_ECHO_REQUEST or icmp[1] != 0 or internet_checksum(icmp) != 0:
        return None
    body = bytes((ICMP_ECHO_REPLY, 0)) + b"\0\0" + icmp[4:]
    checksum = internet_checksum(body)
    reply = body[:2] + checksum.to_bytes(2, "big") + body[4:]
    src = socket.inet_ntoa(packet[12:16])
    header = emit_ipv4_header(address, src, PROTO_ICMP, len(reply), ttl=64,
                              dont_fragment=False)
    return header + reply


class TunDriver(IoDriver):
    """One synfin :class:`~synfin.stack.Stack` answering as ``address`` behind a TUN device."""

    def __init__(
        self,
        device: str,
        address: str,
        config: Config | None = None,
        *,
        seed: int | None = None,
        sink: TraceSink = NULL_SINK,
        faults_in: FaultSpec = NO_FAULTS,
        faults_out: FaultSpec = NO_FAULTS,
        secret: bytes | None = None,
        answer_ping: bool = True,
        checksum_offload: bool = False,
    ) -> None:
        pack_ip(address)  # ValueError for a bad address, before anything is opened
        super().__init__(seed=seed, faults_in=faults_in, faults_out=faults_out)
        self.tun: TunDevice | None = None
        try:
            offload = checksum_offload and not faults_in.active
            tun = self.tun = TunDevice(device, checksum_offload=offload)
            self.mtu = tun.mtu()
        except BaseException:
            self._release_fds()
            raise
        if config is None:
            config = Config(mss=mss_for_mtu(self.mtu))
        self.address = address
        self.answer_ping = answer_ping
        self.stack = Stack(address, config, secret=secret or os.urandom(16),
                           rng=random.Random(seed), sink=sink)
        self._selector.register(tun.fd, selectors.EVENT_READ, tun)

    @property
    def stacks(self) -> tuple[Stack]:
        return (self.stack,)

    @property
    def device(self) -> str:
        assert self.tun is not None
        return self.tun.name

    def _readable(self, data: Any, now: int) -> None:
        tun: TunDevice = data
        for _ in range(256):
            got = tun.read_vouched()
            if got is None:
                return
            self._from_kernel(got[0], now, got[1])

    def _from_kernel(self, packet: bytes, now: int, vouched: bool = False) -> None:
        """Sort one packet from the kernel: TCP to the stack, echo requests answered.
        ``vouched``: checksum offload says the checksums need no verifying (no inbound
        faults are injected then, so the packet goes straight to the stack)."""
        if not packet or packet[0] >> 4 != 4:
            self.count(NOT_IPV4)
            return
        if len(packet) < 20:
            self.count(TRUNCATED)
            return
        protocol = packet[9]
        if protocol == PROTO_TCP:
            if vouched:
                self.stack.on_packet(packet, now, verify_checksums=False)
            else:
                self._inbound(packet, now)
        elif protocol == PROTO_ICMP:
            reply = icmp_echo_reply(packet, self.address) if self.answer_ping else None
            if reply is None:
                self.count(ICMP_OTHER)
            else:
                self.count(ICMP_ECHO_ANSWERED)
                self._write(reply, now)
        else:
            self.count(NOT_TCP)

    def _deliver(self, packet: bytes, now: int) -> None:
        self.stack.on_packet(packet, now)

    def _write(self, packet: bytes, now: int) -> None:
        tun = self.tun
        if tun is None:
            return
        try:
            tun.write(packet)
        except BlockingIOError:
            self.count(WRITE_BLOCKED)
        except OSError:
            # EIO while the device is down, EINVAL for a packet the kernel refuses: the
            # packet is lost, as on a real link; TCP retransmits.
            self.count(WRITE_FAILED)

    def _close_io(self) -> None:
        if self.tun is not None:
            self.tun.close()
