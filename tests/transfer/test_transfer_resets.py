"""Resets: RFC 5961 blind-attack defences (challenge ACKs and their rate limit), refused
connections and ABORT (RFC 9293 3.5.2, 3.10.5, 3.10.7; RFC 5961 3, 4, 7)."""

from __future__ import annotations

from collections.abc import Callable

from pairkit import CLIENT_IP, SERVER_IP, SERVER_PORT, Pair, Plan, pattern, sha256

from synfin import drops
from synfin.config import Config
from synfin.connection import Connection
from synfin.errors import CONNECTION_REFUSED, CONNECTION_RESET
from synfin.seq import seq_add
from synfin.states import State
from synfin.trace.records import SegmentDropped, SegmentSent
from synfin.wire.flags import Flags
from synfin.wire.segment import Packet, TcpSegment

CHALLENGE = "challenge ACK (RFC 5961)"


def _forge_to_server(pair: Pair, flags: Flags, seq_from_rcv_nxt: int) -> Callable[[], None]:
    """A callback that injects, at the current time, a segment that claims to come from the
    client, with SEQ = the server's RCV.NXT + ``seq_from_rcv_nxt`` (an attacker who guessed
    the 4-tuple and the window, not the exact sequence number)."""
    def forge() -> None:
        victim = pair.server_conn
        seq = seq_add(victim.tcb.rcv_nxt, seq_from_rcv_nxt)
        seg = TcpSegment(victim.remote_port, SERVER_PORT, seq, 0, flags, 0)
        pair.net.inject(pair.net.now, "attacker", Packet(CLIENT_IP, SERVER_IP, seg))
    return forge


def _challenges(pair: Pair) -> list[SegmentSent]:
    return pair.sent(SERVER_IP, lambda r: r.reason.startswith(CHALLENGE))


def _drops(pair: Pair, reason: str) -> list[SegmentDropped]:
    return [r for r in pair.sink.records
            if isinstance(r, SegmentDropped) and r.host == SERVER_IP and r.reason == reason]


def _transfer_with(pair: Pair, at: int, action: Callable[[], None]) -> bytes:
    data = pattern(300_000, 1)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.net.at(at, action)
    pair.run(pair.both_closed)
    return data


def test_blind_in_window_rst_gets_a_challenge_ack_and_the_connection_survives() -> None:
    pair = Pair(seed=41)
    data = _transfer_with(pair, 60_000, _forge_to_server(pair, Flags.RST, 5_000))
    [challenge] = _challenges(pair)
    assert challenge.t == 60_000
    assert "RST in window" in challenge.reason
    seg = challenge.packet.segment
    assert seg.flags == Flags.ACK and not seg.payload
    assert len(_drops(pair, drops.RST_IN_WINDOW_CHALLENGED)) == 1
    assert sha256(pair.server_app.received) == sha256(data)
    assert pair.server_app.error is None and pair.client_app.error is None
    assert State.TIME_WAIT in [s for _, s in pair.client_app.states]


def test_rst_outside_the_window_is_dropped_silently() -> None:
    pair = Pair(seed=42)
    data = _transfer_with(pair, 60_000, _forge_to_server(pair, Flags.RST, 1 << 30))
    assert _challenges(pair) == []
    assert len(_drops(pair, drops.RST_OUT_OF_WINDOW)) == 1
    assert pair.server_app.received == data and pair.server_app.error is None


def test_exact_rst_resets_the_victim() -> None:
    pair = Pair(seed=43)
    _transfer_with(pair, 60_000, _forge_to_server(pair, Flags.RST, 0))
    assert pair.server_app.error == CONNECTION_RESET
    [closed] = [c for c in pair.state_changes(SERVER_IP) if c.new is State.CLOSED]
    assert closed.t == 60_000 and closed.old is State.ESTABLISHED
    assert "connection reset" in closed.cause
    assert _challenges(pair) == []
    # The client keeps sending into a connection that no longer exists: the server's stack
    # answers with RST (RFC 9293 3.10.7.1) and the client is reset too.
    assert pair.client_app.error == CONNECTION_RESET
    assert len(pair.server_app.received) < 300_000


def test_syn_in_established_gets_a_challenge_ack() -> None:
    pair = Pair(seed=44)
    data = _transfer_with(pair, 60_000, _forge_to_server(pair, Flags.SYN, 100))
    [challenge] = _challenges(pair)
    assert challenge.t == 60_000 and "SYN in ESTABLISHED" in challenge.reason
    assert len(_drops(pair, drops.SYN_IN_WINDOW_CHALLENGED)) == 1
    assert pair.server_app.received == data and pair.server_app.error is None


def test_challenge_ack_rate_limit() -> None:
    """2000 in-window RSTs within one second, limit 1000: exactly 1000 challenge ACKs that
    second, none of the RSTs resets, and the budget refills the next second (RFC 5961 7)."""
    limit = 1000
    pair = Pair(seed=45, server_config=Config().with_(challenge_ack_limit=limit))
    pair.start(Plan(pattern(20_000, 2)), Plan())
    pair.run(lambda: pair.server_app.state is not None and pair.quiet())
    start = 2_000_000
    for i in range(2_000):
        pair.net.at(start + i * 400, _forge_to_server(pair, Flags.RST, 1 + i))
    for i in range(3):
        pair.net.at(3_100_000 + i * 1_000, _forge_to_server(pair, Flags.RST, 7 + i))
    pair.run(lambda: pair.net.now >= 3_200_000)
    challenges = _challenges(pair)
    first_second = [r for r in challenges if r.t < 3_000_000]
    assert len(first_second) == limit
    assert [r.t for r in challenges if r.t >= 3_000_000] == [3_100_000, 3_101_000, 3_102_000]
    assert len(_drops(pair, drops.RST_IN_WINDOW_CHALLENGED)) == limit + 3
    assert len(_drops(pair, drops.CHALLENGE_ACK_LIMIT)) == 2_000 - limit
    assert pair.server_conn.state is State.ESTABLISHED
    assert pair.client_conn.state is State.ESTABLISHED
    pair.client_app.close(pair.net.now)
    pair.server_app.close(pair.net.now)
    pair.run(pair.both_closed)
    assert pair.server_app.error is None and pair.client_app.error is None


def test_connect_to_a_port_without_listener_is_refused() -> None:
    pair = Pair(seed=46)
    conns: list[Connection] = []
    pair.net.at(0, lambda: conns.append(pair.client.connect(SERVER_IP, 81, pair.net.now)))
    pair.run()
    [conn] = conns
    assert conn.state is State.CLOSED
    assert conn.error is not None and conn.error.text == CONNECTION_REFUSED
    [rst] = pair.sent(SERVER_IP)
    seg = rst.packet.segment
    assert seg.flags == Flags.RST | Flags.ACK
    assert seg.seq == 0 and seg.ack == seq_add(conn.tcb.iss, 1)
    assert pair.server.drop_counts == {drops.NO_CONNECTION: 1}
    assert pair.state_path(CLIENT_IP) == [State.CLOSED, State.SYN_SENT, State.CLOSED]
    assert pair.net.now == 20_000 and not pair.client.connections


def test_abort_by_the_client_resets_the_server() -> None:
    pair = Pair(seed=47)
    abort_at = 60_500
    _transfer_with(pair, abort_at, lambda: pair.client_conn.abort(pair.net.now))
    rsts = pair.sent(CLIENT_IP, lambda r: bool(r.packet.segment.flags & Flags.RST))
    assert rsts[0].t == abort_at and rsts[0].reason.startswith("ABORT")
    assert rsts[0].packet.segment.seq == pair.client_conn.tcb.snd_nxt
    # Later segments still in flight towards the client find no connection and are answered
    # <SEQ=SEG.ACK><CTL=RST> by its stack (RFC 9293 3.10.7.1).
    assert all(r.reason.startswith("no connection") for r in rsts[1:])
    assert pair.client_app.error is None  # the one who aborts is told nothing
    assert pair.client_conn.state is State.CLOSED
    assert pair.server_app.error == CONNECTION_RESET
    [closed] = [c for c in pair.state_changes(SERVER_IP) if c.new is State.CLOSED]
    # The link is FIFO: the RST arrives behind the data in flight, exactly at RCV.NXT.
    assert closed.old is State.ESTABLISHED and closed.t == abort_at + 10_000
    assert not pair.server.connections and not pair.client.connections


def test_abort_by_the_server_resets_the_client() -> None:
    pair = Pair(seed=48)
    _transfer_with(pair, 60_000, lambda: pair.server_conn.abort(pair.net.now))
    assert pair.client_app.error == CONNECTION_RESET
    [closed] = [c for c in pair.state_changes(CLIENT_IP) if c.new is State.CLOSED]
    # The server sends no data, so its RST carries exactly the client's RCV.NXT.
    assert closed.t == 70_000
    assert pair.server_app.error is None


def test_abort_during_go_back_n_still_resets_the_peer() -> None:
    """The server got everything but its ACKs are lost; the client's RTO rewinds to SND.UNA
    and resends one segment, then the client aborts. Its RST must carry the highest sequence
    number sent (the RFC's SND.NXT), which is the server's RCV.NXT: a RST from the rewound
    position would fall before the window and be dropped silently (RFC 5961 3.2), leaving the
    server ESTABLISHED for ever since it has nothing to send."""
    pair = Pair(seed=49)
    data = pattern(3 * 1448, 3)  # the initial window: all of it leaves at once
    pair.start(Plan(data), Plan())
    for nth in range(1, 40):  # from the server's first ACK of data on, it is not heard
        pair.net.drop(lambda p, sender: sender == SERVER_IP and pair.net.now > 20_000, nth=nth)
    pair.run(lambda: bool(pair.sent(CLIENT_IP, lambda r: "go-back-N" in r.reason)))
    resent = pair.net.now
    pair.net.at(resent + 15_000, lambda: pair.client_conn.abort(pair.net.now))
    pair.run(max_time_us=resent + 5_000_000)
    assert len(pair.server_app.received) == len(data)
    [rst] = pair.sent(CLIENT_IP, lambda r: r.reason.startswith("ABORT"))
    assert rst.packet.segment.seq == pair.client_conn.tcb.snd_max
    assert pair.server_app.error == CONNECTION_RESET
    assert pair.server_conn.state is State.CLOSED
