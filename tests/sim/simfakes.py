"""Fake stacks that satisfy the simulator's driver contract, for the simulator's own tests."""

from __future__ import annotations

from synfin.wire import emit_packet, parse_packet
from synfin.wire.flags import Flags
from synfin.wire.segment import Packet, TcpSegment


def make_packet(
    src: str,
    dst: str,
    flags: Flags = Flags.ACK,
    seq: int = 0,
    payload: bytes = b"",
    src_port: int = 1000,
    dst_port: int = 80,
) -> bytes:
    """IPv4 bytes of a TCP segment with the given fields."""
    segment = TcpSegment(src_port, dst_port, seq, 0, flags, 65535, payload=payload)
    return emit_packet(Packet(src, dst, segment))


class FakeStack:
    """Sends what the test queues, records what arrives, has one settable timer."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.outbox: list[bytes] = []
        self.received: list[tuple[int, bytes]] = []
        self.deadline: int | None = None
        self.fired: list[int] = []
        self.polls = 0

    def queue(self, data: bytes) -> None:
        """Queue ``data`` for the next ``poll_transmit``."""
        self.outbox.append(data)

    def on_packet(self, data: bytes, now: int) -> None:
        self.received.append((now, data))

    def poll_transmit(self, now: int) -> list[bytes]:
        self.polls += 1
        out, self.outbox = self.outbox, []
        return out

    def next_deadline(self) -> int | None:
        return self.deadline

    def on_timer(self, now: int) -> None:
        self.fired.append(now)
        self.deadline = None

    def arrival_times(self) -> list[int]:
        """When each received packet arrived."""
        return [t for t, _ in self.received]

    def received_seqs(self) -> list[int]:
        """The sequence numbers of the received packets, in arrival order."""
        return [parse_packet(data).segment.seq for _, data in self.received]


class EchoStack(FakeStack):
    """Answers every arriving packet with an ACK back to its source, seq = incoming seq."""

    def on_packet(self, data: bytes, now: int) -> None:
        super().on_packet(data, now)
        packet = parse_packet(data)
        seg = packet.segment
        reply = make_packet(
            self.address, packet.src, Flags.ACK, seg.seq, b"", seg.dst_port, seg.src_port
        )
        self.queue(reply)


class PacerStack(FakeStack):
    """Sends one numbered data packet to ``peer`` every ``interval_us`` until ``count`` sent."""

    def __init__(self, address: str, peer: str, count: int, interval_us: int) -> None:
        super().__init__(address)
        self.peer = peer
        self.count = count
        self.interval_us = interval_us
        self.sent = 0
        self.deadline = 0

    def on_timer(self, now: int) -> None:
        self.fired.append(now)
        payload = self.sent.to_bytes(4, "big")
        self.queue(make_packet(self.address, self.peer, Flags.ACK | Flags.PSH, self.sent, payload))
        self.sent += 1
        self.deadline = now + self.interval_us if self.sent < self.count else None
