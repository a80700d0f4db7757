"""Each counterfactual variant really produces the failure the seeds describe, and real TCP,
in the same scenario, avoids it."""

from __future__ import annotations

import pytest
from scenariokit import (
    SECOND,
    TWO_MSL,
    C,
    S,
    changes,
    drops,
    entered,
    left,
    link_events,
    run,
    segments,
    state_at,
    timers,
)

from synfin.config import Config
from synfin.errors import LocalError
from synfin.scenarios import SCENARIOS, Options
from synfin.scenarios.apps import CloseWhen, Script
from synfin.scenarios.catalogue import REQUEST, RESPONSE
from synfin.scenarios.world import CLIENT_PORT, SERVER_IP, SERVER_PORT, World
from synfin.seq import SEQ_MOD
from synfin.sim import all_of, flags_exactly, from_host
from synfin.states import State
from synfin.variants import NO_TIME_WAIT, TWO_WAY_HANDSHAKE
from synfin.wire import Flags

TWO_WAY = frozenset({TWO_WAY_HANDSHAKE})
NO_TW = frozenset({NO_TIME_WAIT})
GREETING = b"220 synfin ready\r\n"


def _seq(a: int, b: int) -> int:
    """b - a in sequence space."""
    return (b - a) % SEQ_MOD


# -- two-way handshake: an old duplicate SYN opens a connection nobody asked for ---------------


def test_two_way_handshake_accepts_a_connection_nobody_asked_for() -> None:
    r = run("old-duplicate-syn", variants=TWO_WAY)
    world = r.world
    assert world.states(S) == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSED"]
    assert world.conn_ids(C) == []  # the client host never asked for it
    (accepted,) = world.acceptors[0].peers
    assert accepted.conn.conn_id.remote_port == CLIENT_PORT + 1
    # The application took it and wrote its greeting into it, to nobody.
    assert accepted.sent == len(GREETING)
    assert accepted.received == bytearray()
    server_segs = segments(r.records, S)
    assert [s.flags for s in server_segs] == ["SYN,ACK", "PSH,ACK"]
    assert entered(r.records, S, State.ESTABLISHED) == [server_segs[0].t]  # at once, t=0
    # Only the client host's RSTs (for the SYN,ACK and for the data) end it.
    rsts = segments(r.records, C)
    assert [s.flags for s in rsts] == ["RST", "RST"]
    assert accepted.error == "connection reset"
    assert "rcv RST in ESTABLISHED" in changes(r.records, S)[-1].cause


def test_three_way_handshake_never_accepts_the_old_syn() -> None:
    r = run("old-duplicate-syn")
    assert r.world.states(S) == ["LISTEN", "SYN-RECEIVED", "LISTEN"]
    assert r.world.acceptors[0].peers == []
    assert entered(r.records, S, State.ESTABLISHED) == []
    assert [s.flags for s in segments(r.records, S)] == ["SYN,ACK"]  # no data to anyone


# -- two-way handshake: a lost SYN,ACK leaves the two ends disagreeing -------------------------


def test_two_way_handshake_lost_syn_ack_ends_disagree() -> None:
    r = run("lost-syn-ack", variants=TWO_WAY)
    world, records = r.world, r.records
    assert world.states(C) == ["CLOSED", "SYN-SENT"]
    assert world.states(S) == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
    # For the whole minute the client is in SYN-SENT and the server ESTABLISHED ...
    end = world.net.now
    assert end == 60 * SECOND
    assert state_at(records, C, end) is State.SYN_SENT
    assert state_at(records, S, end) is State.ESTABLISHED
    # ... with its greeting sent again and again and never acknowledged ...
    (server_conn,) = world.server.connections.values()
    status = server_conn.status()
    assert status.state is State.ESTABLISHED
    assert status.send_queue == len(GREETING)
    assert _seq(status.snd_una, status.snd_nxt) == len(GREETING)
    data = [s for s in segments(records, S) if s.length]
    assert len(data) >= 5 and {s.seq for s in data} == {1}
    # ... which the client, waiting for a SYN,ACK that never comes again, drops every time.
    client_drops = [d for d in drops(records, C) if d.packet and d.packet.segment.payload]
    assert len(client_drops) == len(data)
    assert {d.reason for d in client_drops} == {"no-syn-in-syn-sent"}
    assert [s.flags for s in segments(records, S)].count("SYN,ACK") == 1
    # The client keeps asking (SYN retransmissions), and gets only bare ACKs back.
    assert [s.t for s in segments(records, C) if s.flags == "SYN"] == [
        0, SECOND, 3 * SECOND, 7 * SECOND, 15 * SECOND, 31 * SECOND]
    assert all(p.received == bytearray() for p in world.all_peers())


def test_two_way_handshake_lost_syn_ack_ends_only_by_timeouts() -> None:
    world = SCENARIOS["lost-syn-ack"].build(Options(variants=TWO_WAY))
    world.net.run(max_time_us=300 * SECOND)
    records = world.sink.records
    cfg = Config()
    # The client gives up after its SYN retries (1+2+4+...+64 s) ...
    give_up = sum(SECOND << i for i in range(cfg.syn_retries + 1))
    assert give_up == 127 * SECOND
    assert changes(records, C)[-1].t == give_up
    client, server = world.all_peers()
    assert client.error == "connection timed out"
    # ... and only then does the server's next retransmission meet a RST.
    assert server.error == "connection reset"
    assert left(records, S, State.ESTABLISHED)[0] > give_up
    assert client.received == server.received == bytearray()


def test_three_way_handshake_lost_syn_ack_completes() -> None:
    r = run("lost-syn-ack")
    assert entered(r.records, C, State.ESTABLISHED) == [SECOND + 20_000]
    client, server = r.world.all_peers()
    assert bytes(client.received) == GREETING
    assert bytes(server.received) == b"QUIT\r\n"


# -- no TIME-WAIT: an old segment is taken as data of the new connection -----------------------


def test_no_time_wait_old_segment_corrupts_the_new_connection() -> None:
    r = run("old-segment-in-time-wait", variants=NO_TW)
    world, records = r.world, r.records
    (cid,) = world.conn_ids(C)  # one 4-tuple, two incarnations
    incarnation = ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert world.states(C, cid) == ["CLOSED"] + incarnation * 2
    assert entered(records, C, State.TIME_WAIT) == left(records, C, State.TIME_WAIT)
    first_client, second_client = world.peers
    first_server, second_server = world.acceptors[0].peers
    old_download = first_server.script.payload
    new_page = second_server.script.payload
    assert bytes(second_server.received) == REQUEST
    assert bytes(first_client.received) == old_download

    # The copy of old segment 36 arrives while the new incarnation is ESTABLISHED.
    (copy,) = link_events(records, "duplicate")
    assert copy.t_arrive is not None
    second_open = entered(records, C, State.SYN_SENT)[1]
    assert copy.t < second_open < copy.t_arrive
    assert state_at(records, C, copy.t_arrive) is State.ESTABLISHED
    old_syn_ack, new_syn_ack = [s for s in segments(records, S) if s.flags == "SYN,ACK"]
    old_offset = _seq(old_syn_ack.packet.segment.seq + 1, copy.packet.segment.seq)
    assert old_offset == 35 * 1460
    # The new ISN is only (reconnect time)/4 us ahead: the old bytes sit inside the new
    # receive window, 5840 bytes into the new stream.
    new_irs = new_syn_ack.packet.segment.seq
    assert _seq(old_syn_ack.packet.segment.seq, new_irs) == second_open // 4
    new_offset = _seq(new_irs + 1, copy.packet.segment.seq)
    assert new_offset == 5840

    # Accepted: not dropped, SACKed as if it were new data of this connection.
    assert not [d for d in drops(records, C) if d.t == copy.t_arrive]
    (reply,) = [s for s in segments(records, C) if s.t == copy.t_arrive]
    assert reply.packet.segment.ack == new_irs + 1
    assert reply.packet.segment.sack_blocks == (
        (copy.packet.segment.seq, copy.packet.segment.seq + 1460),)
    # The real segment with those numbers, when it comes, is dropped as a duplicate ...
    real = [s for s in segments(records, S) if s.t > second_open
            and s.packet.segment.seq == copy.packet.segment.seq]
    assert len(real) == 1 and real[0].length == 1460
    real_drop = [d for d in drops(records, C) if d.packet is not None
                 and d.packet.segment == real[0].packet.segment]
    assert [d.reason for d in real_drop] == ["seq-unacceptable"]
    # ... so the application reads 1460 bytes of the old download inside the new page.
    got = bytes(second_client.received)
    assert len(got) == len(new_page) and got != new_page
    assert got[:5840] == new_page[:5840]
    assert got[5840:7300] == old_download[old_offset:old_offset + 1460]
    assert got[7300:] == new_page[7300:]
    assert b"of the old download" in got
    assert second_client.error is None  # and nobody noticed


def test_time_wait_keeps_the_old_segment_out() -> None:
    r = run("old-segment-in-time-wait")
    (copy,) = link_events(r.records, "duplicate")
    assert copy.t_arrive is not None
    assert state_at(r.records, C, copy.t_arrive) is State.TIME_WAIT
    assert [d.reason for d in drops(r.records, C) if d.t == copy.t_arrive] == ["seq-unacceptable"]
    (client,) = r.world.peers
    assert bytes(client.received) == r.world.acceptors[0].peers[0].script.payload


def test_time_wait_refuses_to_reuse_the_4_tuple() -> None:
    """What real TCP does instead of the variant's reconnect: the 4-tuple is taken."""
    world = SCENARIOS["old-segment-in-time-wait"].build(Options())
    world.net.run(max_time_us=181_040)
    (cid,) = world.conn_ids(C)
    assert world.client.state_of(cid) is State.TIME_WAIT
    assert not world.client.connections  # kept as a compact TIME-WAIT record
    with pytest.raises(LocalError, match="connection already exists"):
        world.client.connect(SERVER_IP, SERVER_PORT, world.net.now, CLIENT_PORT)


# -- no TIME-WAIT: a lost last ACK leaves the passive closer in LAST-ACK -----------------------


def test_no_time_wait_new_syn_meets_the_old_connection_in_last_ack() -> None:
    r = run("lost-last-ack", variants=NO_TW)
    records = r.records
    (cid,) = r.world.conn_ids(C)
    incarnation = ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    assert r.world.states(C, cid) == ["CLOSED"] + incarnation * 2
    (lost,) = link_events(records, "lose")
    assert lost.packet.segment.flags == Flags.ACK
    # The client forgot the connection the moment it sent that (lost) ACK ...
    assert left(records, C, State.TIME_WAIT)[0] == lost.t
    old_fin = next(s for s in segments(records, S) if "FIN" in s.flags)
    client_fin = next(s for s in segments(records, C) if "FIN" in s.flags)
    # ... and reconnects from the same port while the server is still in LAST-ACK.
    syns = [s for s in segments(records, C) if s.flags == "SYN"]
    assert [s.t for s in syns] == [0, 200_000, 1_200_000]
    assert state_at(records, S, syns[1].t + 10_000) is State.LAST_ACK
    # No SYN,ACK: the old connection answers with an ACK of the old numbers.
    answer = next(s for s in segments(records, S) if s.t == syns[1].t + 10_000)
    assert answer.flags == "ACK"
    assert answer.packet.segment.seq == old_fin.packet.segment.seq + 1
    assert answer.packet.segment.ack == client_fin.packet.segment.seq + 1
    assert "challenge ACK" in answer.reason
    # The client in SYN-SENT finds that ACK unacceptable and resets it (<SEQ=SEG.ACK>).
    rst = next(s for s in segments(records, C) if s.flags == "RST")
    assert rst.t == answer.t + 10_000
    assert rst.packet.segment.seq == answer.packet.segment.ack
    assert [d.reason for d in drops(records, C) if d.t == rst.t] == ["ack-unacceptable"]
    # The RST ends the old connection: LAST-ACK never saw its ACK.
    (end_of_old,) = [c for c in changes(records, S) if c.old is State.LAST_ACK
                     and c.t < syns[2].t]
    assert (end_of_old.new, end_of_old.t, end_of_old.cause) == (State.CLOSED, rst.t + 10_000,
                                                                "rcv RST")
    # Only the SYN retransmitted a second later opens the new connection.
    assert syns[2].packet.segment.seq == syns[1].packet.segment.seq
    synacks = [s for s in segments(records, S) if s.flags == "SYN,ACK"]
    assert [s.t for s in synacks] == [10_000, syns[2].t + 10_000]
    assert entered(records, C, State.ESTABLISHED)[1] - syns[1].t == SECOND + 20_000
    assert [bytes(p.received) for p in r.world.peers] == [RESPONSE, RESPONSE]


def _lost_last_ack_without_reconnect(variants: frozenset[str]) -> World:
    cfg = Options(variants=variants).config()
    world = World.build(1, cfg, cfg)
    world.serve(Script(RESPONSE, CloseWhen.ON_EOF, send_after_receiving=len(REQUEST),
                       close_delay_us=5_000))
    world.open(0, Script(REQUEST, CloseWhen.AFTER_SEND, close_after_receiving=len(RESPONSE),
                         close_delay_us=5_000))
    last_ack = all_of(from_host(C), flags_exactly(Flags.ACK))
    world.net.drop(last_ack, nth=3)  # handshake, data, then the ACK of the server's FIN
    world.net.run(max_time_us=200 * SECOND)
    return world


def test_no_time_wait_retransmitted_fin_gets_rst() -> None:
    world = _lost_last_ack_without_reconnect(NO_TW)
    records = world.sink.records
    (lost,) = link_events(records, "lose")
    assert lost.packet.segment.ack == next(
        s for s in segments(records, S) if "FIN" in s.flags).packet.segment.seq + 1
    server_fins = [s for s in segments(records, S) if "FIN" in s.flags]
    assert len(server_fins) == 2  # the FIN, retransmitted from LAST-ACK ...
    assert state_at(records, S, server_fins[1].t) is State.LAST_ACK
    reply = segments(records, C)[-1]  # ... meets no TCB: RST, <SEQ=SEG.ACK>
    assert reply.flags == "RST"
    assert reply.packet.segment.seq == server_fins[1].packet.segment.ack
    assert [d.reason for d in drops(records, C)] == ["no-connection"]
    assert changes(records, S)[-1].cause == "rcv RST"


def test_time_wait_re_acks_the_retransmitted_fin() -> None:
    world = _lost_last_ack_without_reconnect(frozenset())
    records = world.sink.records
    server_fins = [s for s in segments(records, S) if "FIN" in s.flags]
    assert len(server_fins) == 2
    reply = segments(records, C)[-1]
    assert reply.flags == "ACK"
    assert reply.packet.segment.ack == server_fins[1].packet.segment.seq + 1
    assert state_at(records, C, reply.t) is State.TIME_WAIT
    assert "rcv ACK of FIN" in changes(records, S)[-1].cause
    assert [t.deadline - t.t for t in timers(records, C, "time-wait")] == [TWO_MSL, TWO_MSL]


# -- --time-wait -------------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", [1, 5, 240])
def test_time_wait_option_sets_two_msl(seconds: int) -> None:
    r = run("normal-lifecycle", time_wait_us=seconds * SECOND)
    (tw_in,) = entered(r.records, C, State.TIME_WAIT)
    assert left(r.records, C, State.TIME_WAIT) == [tw_in + seconds * SECOND]
    assert [t.deadline - t.t for t in timers(r.records, C, "time-wait")] == [seconds * SECOND]


def test_time_wait_option_applies_to_the_restarted_timer() -> None:
    r = run("lost-last-ack", time_wait_us=3 * SECOND)
    starts = timers(r.records, C, "time-wait")
    assert len(starts) == 2
    assert [t.deadline - t.t for t in starts] == [3 * SECOND, 3 * SECOND]
    assert left(r.records, C, State.TIME_WAIT) == [starts[1].deadline]
