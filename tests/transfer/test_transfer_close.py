"""Bulk transfer both ways and the ways a connection closes (RFC 9293 3.6, 3.10.4, 3.10.7.4).

Every run checks the bytes (sha256), that both ends reach CLOSED, and that TIME-WAIT lasts
exactly 2*MSL of virtual time on the active closer(s) and never happens on the passive side.
"""

from __future__ import annotations

import pytest
from pairkit import (
    CLIENT_IP,
    MB,
    SERVER_IP,
    Pair,
    Plan,
    pattern,
    sha256,
)

from synfin.config import Config
from synfin.sim import Match, all_of, from_host, has_flags
from synfin.states import State
from synfin.wire.flags import Flags

S = State
SHORT_MSL = Config().with_(msl_us=750_000)
MSLS = pytest.mark.parametrize("config", [Config(), SHORT_MSL], ids=["msl-30s", "msl-0.75s"])

ACTIVE_PATH = [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.FIN_WAIT_2, S.TIME_WAIT,
               S.CLOSED]
PASSIVE_CLIENT_PATH = [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]
SERVER_OPEN = [S.LISTEN, S.SYN_RECEIVED, S.ESTABLISHED]


def _check_bytes_and_end(pair: Pair, up: bytes, down: bytes) -> None:
    assert sha256(pair.server_app.received) == sha256(up)
    assert sha256(pair.client_app.received) == sha256(down)
    assert pair.client_app.error is None and pair.server_app.error is None
    assert pair.client_conn.state is S.CLOSED and pair.server_conn.state is S.CLOSED
    assert not pair.client.connections and not pair.server.connections
    assert pair.client_app.eof_at is not None and pair.server_app.eof_at is not None


@MSLS
def test_client_closes_first(config: Config) -> None:
    pair = Pair(seed=11, client_config=config, app_first=False)
    up, down = pattern(MB, 1), pattern(MB, 2)
    pair.start(Plan(up, close_after_send=True),
               Plan(down, close_after_send=True, close_on_eof=True))
    pair.run(pair.both_closed)
    _check_bytes_and_end(pair, up, down)
    assert pair.state_path(CLIENT_IP) == ACTIVE_PATH
    assert pair.state_path(SERVER_IP) == [*SERVER_OPEN, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]
    assert pair.time_wait_lengths(CLIENT_IP) == [config.time_wait_us]
    assert pair.client_app.closed_at is not None and pair.server_app.closed_at is not None
    assert pair.client_app.closed_at < pair.server_app.closed_at


@MSLS
def test_server_closes_first(config: Config) -> None:
    pair = Pair(seed=12, client_config=config, app_first=False)
    up, down = pattern(MB, 3), pattern(MB, 4)
    pair.start(Plan(up, close_after_send=True, close_on_eof=True),
               Plan(down, close_after_send=True))
    pair.run(pair.both_closed)
    _check_bytes_and_end(pair, up, down)
    assert pair.state_path(SERVER_IP) == SERVER_OPEN + ACTIVE_PATH[3:]
    assert pair.state_path(CLIENT_IP) == PASSIVE_CLIENT_PATH
    assert pair.time_wait_lengths(SERVER_IP) == [config.time_wait_us]
    assert pair.time_wait_lengths(CLIENT_IP) == []


@MSLS
def test_simultaneous_close(config: Config) -> None:
    """Both CLOSE at the same instant: the FINs cross, each end sees the other's FIN in
    FIN-WAIT-1 (-> CLOSING), then the ACK of its own (-> TIME-WAIT) (RFC 9293 Figure 13)."""
    pair = Pair(seed=13, client_config=config)
    up, down = pattern(MB, 5), pattern(MB, 6)
    pair.start(Plan(up), Plan(down))
    pair.run(pair.quiet)
    t_close = pair.net.now + 1_000
    pair.close_both_at(t_close)
    pair.run(pair.both_closed)
    _check_bytes_and_end(pair, up, down)
    tail = [S.FIN_WAIT_1, S.CLOSING, S.TIME_WAIT, S.CLOSED]
    assert pair.state_path(CLIENT_IP)[-4:] == tail
    assert pair.state_path(SERVER_IP)[-4:] == tail
    assert pair.client_app.closed_at == pair.server_app.closed_at == t_close
    assert pair.time_wait_lengths(CLIENT_IP) == [config.time_wait_us]
    assert pair.time_wait_lengths(SERVER_IP) == [config.time_wait_us]
    # Both FINs left at the same virtual time, before either end heard of the other's.
    fins = [r for host in (CLIENT_IP, SERVER_IP)
            for r in pair.sent(host, lambda r: bool(r.packet.segment.flags & Flags.FIN))]
    assert [r.t for r in fins] == [t_close, t_close]


def test_half_close_server_keeps_sending_in_close_wait() -> None:
    """The client closes after its request; the server reads EOF and only then sends 200 KB
    in CLOSE-WAIT, all of which the client receives in FIN-WAIT-2 (RFC 9293 3.6)."""
    pair = Pair(seed=14, client_config=SHORT_MSL)
    request, reply = pattern(3_000, 7), pattern(200 * 1024, 8)
    pair.start(Plan(request, close_after_send=True), Plan(reply, send_after_eof=True))
    pair.run(lambda: len(pair.client_app.received) == len(reply))
    # The whole reply crossed while the server sat in CLOSE-WAIT and the client in FIN-WAIT-2.
    assert pair.server_conn.state is S.CLOSE_WAIT
    assert pair.client_conn.state is S.FIN_WAIT_2
    [close_wait_at] = pair.entered(SERVER_IP, S.CLOSE_WAIT)
    data_out = pair.sent(SERVER_IP, lambda r: bool(r.packet.segment.payload))
    assert sum(len(r.packet.segment.payload) for r in data_out) >= len(reply)
    assert all(r.t >= close_wait_at for r in data_out)
    [fw2_at] = pair.entered(CLIENT_IP, S.FIN_WAIT_2)
    data_in = [r for r in pair.received(CLIENT_IP) if r.packet.segment.payload]
    assert data_in and all(r.t >= fw2_at for r in data_in)
    assert pair.server_app.eof_at is not None and pair.server_app.eof_at <= data_out[0].t

    pair.net.at(pair.net.now + 5_000, lambda: pair.server_app.close(pair.net.now))
    pair.run(pair.both_closed)
    _check_bytes_and_end(pair, request, reply)
    assert pair.state_path(CLIENT_IP) == ACTIVE_PATH
    assert pair.state_path(SERVER_IP) == [*SERVER_OPEN, S.CLOSE_WAIT, S.LAST_ACK, S.CLOSED]
    assert pair.time_wait_lengths(CLIENT_IP) == [SHORT_MSL.time_wait_us]


def _three_segment_close(pair: Pair) -> None:
    request = pattern(5_000, 9)
    pair.start(Plan(request, close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert pair.server_app.received == request
    path = pair.state_path(CLIENT_IP)
    assert path == [S.CLOSED, S.SYN_SENT, S.ESTABLISHED, S.FIN_WAIT_1, S.TIME_WAIT, S.CLOSED]
    [change] = [c for c in pair.state_changes(CLIENT_IP) if c.new is S.TIME_WAIT]
    assert change.old is S.FIN_WAIT_1 and "FIN,ACK" in change.cause

    [client_fin] = pair.sent(CLIENT_IP, lambda r: bool(r.packet.segment.flags & Flags.FIN))
    fin_end = (client_fin.packet.segment.seq + client_fin.packet.segment.seg_len) % (1 << 32)
    after = [r for host in (CLIENT_IP, SERVER_IP) for r in pair.sent(host)
             if r.t >= client_fin.t and r is not client_fin]
    # Exactly two more segments: the server's FIN,ACK (acknowledging our FIN) and our ACK.
    assert len(after) == 2
    server_seg = next(r.packet.segment for r in after if r.host == SERVER_IP)
    assert server_seg.flags & (Flags.FIN | Flags.ACK) == Flags.FIN | Flags.ACK
    assert server_seg.ack == fin_end
    assert pair.time_wait_lengths(CLIENT_IP) == [SHORT_MSL.time_wait_us]
    assert S.TIME_WAIT not in pair.state_path(SERVER_IP)


def test_three_segment_close_when_the_app_closes_before_output() -> None:
    """The passive app reads EOF and closes before its stack sends the ACK of the FIN: the
    ACK rides on its FIN and the active end goes FIN-WAIT-1 -> TIME-WAIT directly (RFC 9293
    3.10.7.4, FIN-WAIT-1 eighth step: "our FIN has been ACKed (perhaps in this segment)")."""
    _three_segment_close(Pair(seed=15, client_config=SHORT_MSL, app_first=True))


def test_three_segment_close_with_delayed_ack_on_the_passive_side() -> None:
    """The app runs only after the stack's output, but the ACK of the FIN is delayed
    (delayed_ack_us), so the FIN the app's CLOSE produces carries it."""
    server = SHORT_MSL.with_(delayed_ack_us=40_000)
    _three_segment_close(Pair(seed=16, client_config=SHORT_MSL, server_config=server,
                              app_first=False))


def test_four_segment_close_without_delay() -> None:
    """Control for the two tests above: ACK of FIN sent at once, app closes after output, so
    the active end passes through FIN-WAIT-2."""
    pair = Pair(seed=17, client_config=SHORT_MSL, app_first=False)
    pair.start(Plan(pattern(5_000, 9), close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert pair.state_path(CLIENT_IP) == ACTIVE_PATH


def _fin_from(host: str) -> Match:
    return all_of(from_host(host), has_flags(Flags.FIN))


def _close_run(pair: Pair) -> tuple[bytes, bytes]:
    up, down = pattern(30_000, 21), pattern(20_000, 22)
    pair.start(Plan(up, close_after_send=True),
               Plan(down, close_after_send=True, close_on_eof=True))
    pair.run(pair.both_closed)
    _check_bytes_and_end(pair, up, down)
    return up, down


def test_lost_fin_of_the_active_closer_is_retransmitted() -> None:
    pair = Pair(seed=18, client_config=SHORT_MSL, app_first=False)
    lost = pair.net.drop(_fin_from(CLIENT_IP))
    _close_run(pair)
    fins = pair.sent(CLIENT_IP, lambda r: bool(r.packet.segment.flags & Flags.FIN))
    assert len(fins) == 2 and lost.fired_at == fins[0].t
    assert fins[0].packet.segment.seq + fins[0].packet.segment.seg_len == (
        fins[1].packet.segment.seq + fins[1].packet.segment.seg_len)
    assert "retransmission" in fins[1].reason
    assert pair.state_path(CLIENT_IP) == ACTIVE_PATH
    assert pair.time_wait_lengths(CLIENT_IP) == [SHORT_MSL.time_wait_us]


def test_lost_fin_of_the_passive_closer_is_retransmitted_from_last_ack() -> None:
    pair = Pair(seed=19, client_config=SHORT_MSL, app_first=False)
    lost = pair.net.drop(_fin_from(SERVER_IP))
    _close_run(pair)
    fins = pair.sent(SERVER_IP, lambda r: bool(r.packet.segment.flags & Flags.FIN))
    assert len(fins) == 2 and lost.fired_at == fins[0].t
    [last_ack_at] = pair.entered(SERVER_IP, S.LAST_ACK)
    assert last_ack_at <= fins[0].t < fins[1].t
    # The client sat in FIN-WAIT-2 until the retransmitted FIN arrived.
    [tw_at] = pair.entered(CLIENT_IP, S.TIME_WAIT)
    assert tw_at == fins[1].t + 10_000
    assert pair.time_wait_lengths(CLIENT_IP) == [SHORT_MSL.time_wait_us]


def test_lost_last_ack_restarts_time_wait() -> None:
    """The ACK of the passive end's FIN is lost; its FIN comes again and finds the active end
    in TIME-WAIT, which acknowledges it and restarts the 2MSL timer (RFC 9293 3.10.7.4)."""
    pair = Pair(seed=20, client_config=SHORT_MSL, app_first=False)
    pair.net.drop(lambda p, sender: sender == CLIENT_IP
                  and pair.client_app.state is S.TIME_WAIT)
    _close_run(pair)
    [tw_at] = pair.entered(CLIENT_IP, S.TIME_WAIT)
    fins = pair.sent(SERVER_IP, lambda r: bool(r.packet.segment.flags & Flags.FIN))
    assert len(fins) == 2
    refin_arrives = fins[1].t + 10_000
    [re_ack] = pair.sent(CLIENT_IP, lambda r: r.t == refin_arrives)
    assert "TIME-WAIT" in re_ack.reason
    assert pair.time_wait_lengths(CLIENT_IP) == [
        refin_arrives - tw_at + SHORT_MSL.time_wait_us]
    [closed] = [c for c in pair.state_changes(SERVER_IP) if c.new is S.CLOSED]
    assert closed.old is S.LAST_ACK and closed.t == refin_arrives + 10_000


def test_fin_never_acknowledged_times_out() -> None:
    config = SHORT_MSL.with_(data_retries=4)
    pair = Pair(seed=21, client_config=config, app_first=False)
    for nth in range(1, 10):
        pair.net.drop(_fin_from(CLIENT_IP), nth=nth)
    up = pattern(10_000, 23)
    pair.start(Plan(up, close_at=500_000), Plan(close_on_eof=True))  # a FIN on its own
    pair.run(lambda: pair.client_app.done)
    assert pair.client_app.error == "connection timed out"
    assert pair.state_path(CLIENT_IP)[-2:] == [S.FIN_WAIT_1, S.CLOSED]
    assert len(pair.sent(CLIENT_IP, lambda r: bool(r.packet.segment.flags & Flags.FIN))) == 5
    assert pair.server_app.received == up and pair.server_app.state is S.ESTABLISHED
