"""Hand-built trace records of one realistic connection lifecycle, as the simulator emits them.

Client 10.0.0.1:49152 opens to server 10.0.0.2:80 (one-way delay 5 ms), sends 100 octets that
are lost and retransmitted when the RTO fires, then closes first: FIN-WAIT-1, FIN-WAIT-2,
TIME-WAIT for 60 s; the server goes CLOSE-WAIT, LAST-ACK, CLOSED. The server's ISN is close to
2**32 so relative numbering must wrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synfin.states import State
from synfin.trace.records import (
    ConnId,
    LinkEvent,
    Note,
    Record,
    SegmentReceived,
    SegmentSent,
    StateChange,
    TimerFired,
    TimerStarted,
    TimerStopped,
    UserCall,
)
from synfin.wire.flags import Flags
from synfin.wire.segment import (
    MssOption,
    NopOption,
    Packet,
    SackPermittedOption,
    TcpSegment,
    WindowScaleOption,
)

A, B = "10.0.0.1", "10.0.0.2"
A_PORT, B_PORT = 49152, 80
CONN_A = ConnId(A, A_PORT, B, B_PORT)
CONN_B = ConnId(B, B_PORT, A, A_PORT)
LISTENER = ConnId(B, B_PORT, "0.0.0.0", 0)
ISS_A = 1_000
ISS_B = 4_294_967_000
DELAY = 5_000
MSL2 = 60_000_000
SYN_OPTIONS = (MssOption(1460), SackPermittedOption(), NopOption(), WindowScaleOption(7))

S = State


def packet(
    src: str,
    seq: int,
    ack: int,
    flags: Flags,
    payload: bytes = b"",
    window: int = 502,
    options: tuple[MssOption | NopOption | SackPermittedOption | WindowScaleOption, ...] = (),
) -> Packet:
    """A packet of the test connection from ``src`` (A or B) to the other host."""
    sport, dst, dport = (A_PORT, B, B_PORT) if src == A else (B_PORT, A, A_PORT)
    seg = TcpSegment(sport, dport, seq % 2**32, ack % 2**32, flags, window, 0, options, payload)
    return Packet(src, dst, seg)


@dataclass
class Run:
    """Appends records the way a simulator run would, then sorts them stably by time."""

    records: list[Record] = field(default_factory=list)

    def add(self, *records: Record) -> None:
        self.records.extend(records)

    def state(self, t: int, host: str, old: State, new: State, cause: str = "") -> None:
        conn = CONN_A if host == A else (LISTENER if new is S.LISTEN else CONN_B)
        self.add(StateChange(t, host, conn, old, new, cause))

    def send(self, t: int, pkt: Packet, reason: str = "", lost: str | None = None) -> None:
        """SegmentSent, the LinkEvent and (unless lost) the SegmentReceived on arrival."""
        conn = CONN_A if pkt.src == A else CONN_B
        self.add(SegmentSent(t, pkt.src, conn, pkt, reason))
        if lost is not None:
            self.add(LinkEvent(t, pkt.src, pkt.dst, pkt, "lose", None, lost))
            return
        self.add(LinkEvent(t, pkt.src, pkt.dst, pkt, "deliver", t + DELAY))
        other = CONN_B if pkt.src == A else CONN_A
        self.add(SegmentReceived(t + DELAY, pkt.dst, other, pkt))

    def sorted(self) -> list[Record]:
        return sorted(self.records, key=lambda r: r.t)


def lifecycle() -> list[Record]:
    """The whole lifecycle described in the module docstring."""
    run = Run()
    _handshake(run)
    _data_with_loss(run)
    _close(run)
    return run.sorted()


def _handshake(run: Run) -> None:
    run.add(Note(0, B, "server listens on port 80"))
    run.add(UserCall(0, B, LISTENER, "OPEN", "passive"))
    run.state(0, B, S.CLOSED, S.LISTEN, "passive OPEN / create TCB")
    run.add(UserCall(1_000, A, CONN_A, "OPEN", "active"))
    run.state(1_000, A, S.CLOSED, S.SYN_SENT, "active OPEN / snd SYN")
    run.add(TimerStarted(1_000, A, CONN_A, "retransmit", 1_001_000))
    run.send(1_000, packet(A, ISS_A, 0, Flags.SYN, window=64240, options=SYN_OPTIONS), "connect")
    run.state(6_000, B, S.LISTEN, S.SYN_RECEIVED, "rcv SYN / snd SYN,ACK")
    syn_ack = packet(B, ISS_B, ISS_A + 1, Flags.SYN | Flags.ACK, window=65160, options=SYN_OPTIONS)
    run.send(6_000, syn_ack, "syn-ack")
    run.add(TimerStopped(11_000, A, CONN_A, "retransmit"))
    run.state(11_000, A, S.SYN_SENT, S.ESTABLISHED, "rcv SYN,ACK / snd ACK")
    run.send(11_000, packet(A, ISS_A + 1, ISS_B + 1, Flags.ACK), "ack")
    run.state(16_000, B, S.SYN_RECEIVED, S.ESTABLISHED, "rcv ACK of SYN / x")


def _data_with_loss(run: Run) -> None:
    data = packet(A, ISS_A + 1, ISS_B + 1, Flags.PSH | Flags.ACK, b"x" * 100)
    run.add(UserCall(12_000, A, CONN_A, "SEND", "100 octets"))
    run.add(TimerStarted(12_000, A, CONN_A, "retransmit", 212_000))
    run.send(12_000, data, "data", lost="drop-data")
    run.add(TimerFired(212_000, A, CONN_A, "retransmit"))
    run.send(212_000, data, "retransmit")
    run.add(TimerStarted(212_000, A, CONN_A, "retransmit", 612_000))
    run.send(217_000, packet(B, ISS_B + 1, ISS_A + 101, Flags.ACK), "ack")
    run.add(TimerStopped(222_000, A, CONN_A, "retransmit"))


def _close(run: Run) -> None:
    run.add(Note(300_000, A, "client closes first"))
    run.add(UserCall(300_000, A, CONN_A, "CLOSE"))
    run.state(300_000, A, S.ESTABLISHED, S.FIN_WAIT_1, "CLOSE / snd FIN")
    run.send(300_000, packet(A, ISS_A + 101, ISS_B + 1, Flags.FIN | Flags.ACK), "close")
    run.state(305_000, B, S.ESTABLISHED, S.CLOSE_WAIT, "rcv FIN / snd ACK")
    run.send(305_000, packet(B, ISS_B + 1, ISS_A + 102, Flags.ACK), "ack of fin")
    run.state(310_000, A, S.FIN_WAIT_1, S.FIN_WAIT_2, "rcv ACK of FIN / x")
    run.add(UserCall(400_000, B, CONN_B, "CLOSE"))
    run.state(400_000, B, S.CLOSE_WAIT, S.LAST_ACK, "CLOSE / snd FIN")
    run.send(400_000, packet(B, ISS_B + 1, ISS_A + 102, Flags.FIN | Flags.ACK), "close")
    run.state(405_000, A, S.FIN_WAIT_2, S.TIME_WAIT, "rcv FIN / snd ACK")
    run.add(TimerStarted(405_000, A, CONN_A, "time-wait", 405_000 + MSL2))
    run.send(405_000, packet(A, ISS_A + 102, ISS_B + 2, Flags.ACK), "ack of fin")
    run.state(410_000, B, S.LAST_ACK, S.CLOSED, "rcv ACK of FIN / delete TCB")
    run.add(TimerFired(405_000 + MSL2, A, CONN_A, "time-wait"))
    run.state(405_000 + MSL2, A, S.TIME_WAIT, S.CLOSED, "timeout=2MSL / delete TCB")


def host_only(records: list[Record], host: str) -> list[Record]:
    """What a single-host (TUN) trace of ``host`` would hold: its own records, no link events."""
    return [
        r
        for r in records
        if not isinstance(r, LinkEvent | Note) and getattr(r, "host", None) == host
    ]


def with_late_segment() -> list[Record]:
    """The lifecycle plus an old copy of the client's first data segment that the link held
    back for almost half a second (the TIME-WAIT 'old segment' situation)."""
    old = packet(A, ISS_A + 1, ISS_B + 1, Flags.PSH | Flags.ACK, b"x" * 100)
    late = LinkEvent(212_000, A, B, old, "duplicate", 700_000, "staged-duplicate")
    return Run([*lifecycle(), late]).sorted()
