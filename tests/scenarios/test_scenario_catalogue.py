"""Every catalogue scenario shows exactly what the seeds describe: the state path of both ends
(client 10.0.0.1, server 10.0.0.2) and the segments that make the point of the scenario."""

from __future__ import annotations

from scenariokit import (
    SECOND,
    TWO_MSL,
    C,
    S,
    briefs,
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
from synfin.scenarios import SCENARIOS
from synfin.scenarios.catalogue import RESPONSE
from synfin.scenarios.world import CLIENT_PORT, SERVER_PORT
from synfin.states import State
from synfin.trace.records import ConnId
from synfin.trace.sstable import connection_states, render_ss
from synfin.wire import Flags

ACTIVE_CLOSE = ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
                "CLOSED"]
PASSIVE_CLOSE = ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
HANDSHAKE = [(C, "SYN", 0, None, 0), (S, "SYN,ACK", 0, 1, 0), (C, "ACK", 1, 1, 0)]
RTO_MIN = Config().rto_min_us


def test_every_scenario_is_tested_here() -> None:
    tested = {name[len("test_"):].replace("_", "-") for name in globals()
              if name.startswith("test_") and name != "test_every_scenario_is_tested_here"}
    assert set(SCENARIOS) <= tested


def test_normal_lifecycle() -> None:
    r = run("normal-lifecycle")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    assert briefs(r.records) == [
        *HANDSHAKE,
        (C, "PSH,ACK", 1, 1, 32),
        (S, "ACK", 1, 33, 0),
        (S, "PSH,ACK", 1, 33, 51),
        (C, "ACK", 33, 52, 0),
        (C, "FIN,ACK", 33, 52, 0),   # FIN-WAIT-1
        (S, "ACK", 52, 34, 0),       # CLOSE-WAIT: ack = u+1
        (S, "FIN,ACK", 52, 34, 0),   # LAST-ACK: seq = w
        (C, "ACK", 34, 53, 0),       # TIME-WAIT: seq = u+1, ack = w+1
    ]
    # The SYN,ACK acknowledges x+1 in absolute numbers too, and every segment but the first
    # SYN carries ACK.
    segs = segments(r.records)
    assert segs[1].packet.segment.ack == segs[0].packet.segment.seq + 1
    assert all(s.packet.segment.flags & Flags.ACK for s in segs[1:])
    tw_in, tw_out = entered(r.records, C, State.TIME_WAIT), left(r.records, C, State.TIME_WAIT)
    assert tw_out[0] - tw_in[0] == TWO_MSL
    assert entered(r.records, S, State.TIME_WAIT) == []  # only the active closer waits
    peers = r.world.all_peers()
    assert [(bytes(p.received), p.error) for p in peers] == [
        (peers[1].script.payload, None), (peers[0].script.payload, None)]


def test_server_closes_first() -> None:
    r = run("server-closes-first")
    assert r.world.states(C) == ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK",
                                 "CLOSED"]
    assert r.world.states(S) == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
                                 "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]
    fins = [s.brief for s in segments(r.records) if "FIN" in s.flags]
    assert fins == [(S, "FIN,ACK", 52, 33, 0), (C, "FIN,ACK", 33, 53, 0)]
    assert briefs(r.records)[-1] == (S, "ACK", 53, 34, 0)
    assert entered(r.records, C, State.TIME_WAIT) == []
    tw_in, tw_out = entered(r.records, S, State.TIME_WAIT), left(r.records, S, State.TIME_WAIT)
    assert tw_out[0] - tw_in[0] == TWO_MSL


def test_half_close() -> None:
    r = run("half-close")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    segs = segments(r.records)
    client_fin = next(s for s in segs if s.host == C and "FIN" in s.flags)
    assert client_fin.brief == (C, "FIN,PSH,ACK", 1, 1, 32)  # the request, then no more
    server_data = [s for s in segs if s.host == S and s.length]
    assert sum(s.length for s in server_data) == 20480
    # Every byte of the response is sent after the client's FIN, while the server is in
    # CLOSE-WAIT, and the client, half-closed, still ACKs it.
    assert all(state_at(r.records, S, s.t) is State.CLOSE_WAIT for s in server_data)
    client_acks = [s for s in segs if s.host == C and s.t > client_fin.t]
    assert client_acks[-2].ack == 20481 and client_acks[-1].ack == 20482
    assert {state_at(r.records, C, s.t) for s in client_acks[:-1]} == {State.FIN_WAIT_2}
    server_fin = next(s for s in segs if s.host == S and "FIN" in s.flags)
    assert server_fin.brief == (S, "FIN,ACK", 20481, 34, 0)
    assert server_fin.t > server_data[-1].t
    client = r.world.peers[0]
    assert bytes(client.received) == r.world.acceptors[0].script.payload


def test_fin_ack_close() -> None:
    r = run("fin-ack-close")
    assert r.world.states(C) == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "TIME-WAIT",
                                 "CLOSED"]
    assert r.world.states(S) == PASSIVE_CLOSE
    segs = briefs(r.records)
    fin = segs.index((C, "FIN,ACK", 33, 52, 0))
    # Three segments: FIN / FIN,ACK (acknowledging the FIN) / ACK; no separate ACK.
    assert segs[fin:] == [(C, "FIN,ACK", 33, 52, 0), (S, "FIN,ACK", 52, 34, 0),
                          (C, "ACK", 34, 53, 0)]


def test_simultaneous_open() -> None:
    r = run("simultaneous-open")
    both = ["CLOSED", "SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1", "CLOSING",
            "TIME-WAIT", "CLOSED"]
    assert r.world.states(C) == both
    assert r.world.states(S) == both
    for host in (C, S):
        mine = segments(r.records, host)
        syns = [s for s in mine if "SYN" in s.flags]
        assert [s.brief[1:] for s in syns] == [("SYN", 0, None, 0), ("SYN,ACK", 0, 1, 0)]
        # Each SYN left before the other side's SYN arrived: the OPENs crossed.
        other_syn = next(s for s in segments(r.records) if s.host != host and s.flags == "SYN")
        assert syns[0].t == other_syn.t == 0
        assert syns[1].packet.segment.seq == syns[0].packet.segment.seq  # same ISN
    assert all(bytes(p.received) == b"hi" for p in r.world.peers)


def test_simultaneous_close() -> None:
    r = run("simultaneous-close")
    assert r.world.states(C) == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "CLOSING",
                                 "TIME-WAIT", "CLOSED"]
    assert r.world.states(S) == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "FIN-WAIT-1",
                                 "CLOSING", "TIME-WAIT", "CLOSED"]
    segs = segments(r.records)
    fins = [s for s in segs if "FIN" in s.flags]
    assert [f.brief for f in fins] == [(C, "FIN,ACK", 4, 4, 0), (S, "FIN,ACK", 4, 4, 0)]
    assert fins[0].t == fins[1].t == SECOND  # both sent before either arrived
    assert [s.brief for s in segs if s.t > SECOND] == [(S, "ACK", 5, 5, 0), (C, "ACK", 5, 5, 0)]
    for host in (C, S):
        assert entered(r.records, host, State.CLOSING) == [SECOND + 10_000]
        tw_in, tw_out = entered(r.records, host, State.TIME_WAIT), left(r.records, host,
                                                                         State.TIME_WAIT)
        assert tw_out[0] - tw_in[0] == TWO_MSL


def test_lost_syn() -> None:
    r = run("lost-syn")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    syns = [s for s in segments(r.records, C) if s.flags == "SYN"]
    assert len(syns) == 2
    assert syns[1].t - syns[0].t == SECOND  # initial RTO, RFC 6298 2.1
    assert syns[0].packet.segment.seq == syns[1].packet.segment.seq  # same ISN
    lost = link_events(r.records, "lose")
    assert [(e.packet.segment.flags, e.fault) for e in lost] == [(Flags.SYN, "staged-drop")]
    assert lost[0].packet == syns[0].packet
    assert entered(r.records, S, State.SYN_RECEIVED) == [SECOND + 10_000]


def test_lost_syn_ack() -> None:
    r = run("lost-syn-ack")
    # The run stops at 60 s, inside the client's TIME-WAIT.
    assert r.world.states(C) == ACTIVE_CLOSE[:-1]
    assert r.world.states(S) == PASSIVE_CLOSE
    lost = link_events(r.records, "lose")
    assert [e.packet.segment.flags for e in lost] == [Flags.SYN | Flags.ACK]
    client_syns = [s for s in segments(r.records, C) if s.flags == "SYN"]
    assert [s.t for s in client_syns] == [0, SECOND]
    server_synacks = [s for s in segments(r.records, S) if s.flags == "SYN,ACK"]
    assert server_synacks[0].t == 10_000
    assert {s.packet.segment.seq for s in server_synacks} == {server_synacks[0].packet.segment.seq}
    assert {s.t for s in server_synacks[1:]} == {SECOND + 10_000}
    # The server waited in SYN-RECEIVED until the client's ACK finally came.
    assert entered(r.records, S, State.SYN_RECEIVED) == [10_000]
    assert left(r.records, S, State.SYN_RECEIVED) == [SECOND + 30_000]
    assert entered(r.records, C, State.ESTABLISHED) == [SECOND + 20_000]
    assert [bytes(p.received) for p in r.world.all_peers()] == [b"220 synfin ready\r\n",
                                                                b"QUIT\r\n"]


def test_lost_handshake_ack() -> None:
    r = run("lost-handshake-ack")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    lost = link_events(r.records, "lose")
    assert [(e.src_host, e.packet.segment.flags) for e in lost] == [(C, Flags.ACK)]
    synacks = [s for s in segments(r.records, S) if s.flags == "SYN,ACK"]
    assert [s.t for s in synacks] == [10_000, SECOND + 10_000]  # retransmitted after 1 s
    assert synacks[0].packet.segment.seq == synacks[1].packet.segment.seq
    # The client, already ESTABLISHED, answers the old SYN,ACK with an ACK, which completes
    # the server: SYN-RECEIVED lasted a full second.
    reack = next(s for s in segments(r.records, C) if s.t == SECOND + 20_000)
    assert reack.brief == (C, "ACK", 1, 1, 0)
    assert state_at(r.records, C, reack.t) is State.ESTABLISHED
    assert entered(r.records, S, State.SYN_RECEIVED) == [10_000]
    assert left(r.records, S, State.SYN_RECEIVED) == [SECOND + 30_000]


def test_lost_first_fin() -> None:
    r = run("lost-first-fin")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    fins = [s for s in segments(r.records, C) if "FIN" in s.flags]
    assert [f.brief for f in fins] == [(C, "FIN,ACK", 33, 52, 0)] * 2
    assert fins[1].t - fins[0].t == RTO_MIN  # an RTO later (RTT 20 ms: the floor)
    assert [e.packet for e in link_events(r.records, "lose")] == [fins[0].packet]
    assert entered(r.records, S, State.CLOSE_WAIT) == [fins[1].t + 10_000]
    assert entered(r.records, C, State.FIN_WAIT_1) == [fins[0].t]


def test_lost_ack_of_fin() -> None:
    r = run("lost-ack-of-fin")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    lost = link_events(r.records, "lose")
    assert [(e.src_host, e.packet.segment.flags) for e in lost] == [(S, Flags.ACK)]
    fins = [s for s in segments(r.records, C) if "FIN" in s.flags]
    assert [f.brief for f in fins] == [(C, "FIN,ACK", 33, 52, 0)] * 2
    assert fins[1].t - fins[0].t == RTO_MIN
    # The client retransmitted from FIN-WAIT-1; the server, in CLOSE-WAIT, sees an old FIN
    # and ACKs it again; only that ACK takes the client to FIN-WAIT-2.
    assert state_at(r.records, C, fins[1].t) is State.FIN_WAIT_1
    reack = next(s for s in segments(r.records, S) if s.t == fins[1].t + 10_000)
    assert reack.brief == (S, "ACK", 52, 34, 0)
    assert state_at(r.records, S, reack.t) is State.CLOSE_WAIT
    assert entered(r.records, C, State.FIN_WAIT_2) == [reack.t + 10_000]


def test_lost_last_ack() -> None:
    r = run("lost-last-ack")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    lost = link_events(r.records, "lose")
    assert [(e.src_host, e.packet.segment.flags) for e in lost] == [(C, Flags.ACK)]
    server_fins = [s for s in segments(r.records, S) if "FIN" in s.flags]
    assert [f.brief for f in server_fins] == [(S, "FIN,ACK", 52, 34, 0)] * 2
    assert server_fins[1].t - server_fins[0].t == RTO_MIN
    assert state_at(r.records, S, server_fins[1].t) is State.LAST_ACK  # retransmitted from there
    reack = segments(r.records, C)[-1]
    assert reack.brief == (C, "ACK", 34, 53, 0)
    assert reack.t == server_fins[1].t + 10_000
    assert state_at(r.records, C, reack.t) is State.TIME_WAIT
    # 2MSL restarted at the re-ACK, and TIME-WAIT ends exactly 2MSL after it.
    tw_in = entered(r.records, C, State.TIME_WAIT)[0]
    starts = timers(r.records, C, "time-wait")
    assert [(t.t, t.deadline) for t in starts] == [(tw_in, tw_in + TWO_MSL),
                                                   (reack.t, reack.t + TWO_MSL)]
    assert left(r.records, C, State.TIME_WAIT) == [reack.t + TWO_MSL]
    assert left(r.records, S, State.LAST_ACK) == [reack.t + 10_000]


def test_old_duplicate_syn() -> None:
    r = run("old-duplicate-syn")
    stale = ConnId(S, SERVER_PORT, C, CLIENT_PORT + 1)
    assert r.world.conn_ids(S) == [stale]
    assert r.world.states(S) == ["LISTEN", "SYN-RECEIVED", "LISTEN"]
    assert r.world.conn_ids(C) == []  # the client host has no such connection
    injected = link_events(r.records, "inject")
    assert [e.packet.segment.flags for e in injected] == [Flags.SYN]
    assert injected[0].packet.segment.seq == 123_456_789
    segs = segments(r.records)
    assert [s.brief for s in segs] == [(S, "SYN,ACK", 0, 123_456_790, 0),
                                       (C, "RST", 123_456_790, None, 0)]  # <SEQ=SEG.ACK>
    assert [d.reason for d in drops(r.records, C)] == ["no-connection"]
    # Nothing was accepted and nothing is left of the half-open connection.
    assert r.world.acceptors[0].peers == []
    assert r.world.server.connections == {}
    listener = r.world.server.listeners[SERVER_PORT]
    assert not listener.syn_queue and not listener.accept_queue
    assert entered(r.records, S, State.ESTABLISHED) == []


def test_old_segment_in_time_wait() -> None:
    r = run("old-segment-in-time-wait")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    (copy,) = link_events(r.records, "duplicate")
    assert copy.t_arrive is not None
    assert state_at(r.records, C, copy.t_arrive) is State.TIME_WAIT
    # Old: dropped by the sequence check and answered with an ACK of RCV.NXT (unchanged).
    client_drops = [d for d in drops(r.records, C) if d.t == copy.t_arrive]
    assert [(d.reason, d.packet and d.packet.segment) for d in client_drops] == [
        ("seq-unacceptable", copy.packet.segment)]
    last_ack = [s for s in segments(r.records, C) if s.t < copy.t_arrive][-1]
    reply = next(s for s in segments(r.records, C) if s.t == copy.t_arrive)
    assert reply.brief == last_ack.brief == (C, "ACK", 34, 55802, 0)
    # Not delivered: the application read the download exactly once.
    (client,) = r.world.peers
    assert bytes(client.received) == r.world.acceptors[0].peers[0].script.payload
    # The server (CLOSED) resets that ACK; TIME-WAIT ignores the RST and lasts its 2MSL.
    assert segments(r.records, S)[-1].brief == (S, "RST", 55802, None, 0)
    assert "rst-in-time-wait-ignored" in [d.reason for d in drops(r.records, C)]
    tw_in, tw_out = entered(r.records, C, State.TIME_WAIT), left(r.records, C, State.TIME_WAIT)
    assert tw_out[0] - tw_in[0] == TWO_MSL


def test_connect_closed_port() -> None:
    r = run("connect-closed-port")
    assert r.world.states(C) == ["CLOSED", "SYN-SENT", "CLOSED"]
    assert r.world.conn_ids(S) == []
    syn = segments(r.records, C)[0]
    assert syn.packet.segment.dst_port == 81
    (rst,) = segments(r.records, S)
    # <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (RFC 9293 3.10.7.1)
    assert rst.flags == "RST,ACK"
    assert (rst.packet.segment.seq, rst.packet.segment.ack) == (0, syn.packet.segment.seq + 1)
    assert [d.reason for d in drops(r.records, S)] == ["no-connection"]
    (peer,) = r.world.peers
    assert peer.error == "connection refused"


def test_rst_in_established() -> None:
    r = run("rst-in-established")
    assert r.world.states(C) == ["CLOSED", "SYN-SENT", "ESTABLISHED", "CLOSED"]
    assert r.world.states(S) == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSED"]
    rst = segments(r.records, S)[-1]
    assert rst.brief == (S, "RST", 4001, None, 0)  # exactly SND.NXT
    assert rst.t == 100_000
    assert entered(r.records, C, State.CLOSED) == [rst.t + 10_000]
    assert entered(r.records, C, State.TIME_WAIT) == entered(r.records, S, State.TIME_WAIT) == []
    client, server = r.world.all_peers()
    assert client.error == "connection reset"
    assert bytes(client.received) == b"x" * 4000
    assert server.error is None


def test_peer_vanishes_fin_wait_2() -> None:
    r = run("peer-vanishes-fin-wait-2")
    assert r.world.states(C) == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1",
                                 "FIN-WAIT-2", "CLOSED"]
    assert r.world.states(S) == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT"]
    fin_timeout = Config().fin_timeout_us
    assert fin_timeout == 60 * SECOND
    (fw2,) = entered(r.records, C, State.FIN_WAIT_2)
    assert left(r.records, C, State.FIN_WAIT_2) == [fw2 + fin_timeout]
    assert [(t.t, t.deadline) for t in timers(r.records, C, "fin-wait-2")] == [
        (fw2, fw2 + fin_timeout)]
    cause = changes(r.records, C)[-1].cause
    assert "FIN-WAIT-2 timeout" in cause
    # Nothing is sent after the FIN's ACK: the client waited silently.
    assert segments(r.records)[-1].brief == (S, "ACK", 52, 34, 0)


def test_close_wait_pileup() -> None:
    r = run("close-wait-pileup")
    server_conns = r.world.conn_ids(S)
    assert len(server_conns) == 5
    for cid in server_conns:
        assert r.world.states(S, cid) == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT"]
    for cid in r.world.conn_ids(C):
        assert r.world.states(C, cid) == ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1",
                                          "FIN-WAIT-2"]
    rows = connection_states(r.records, host=S)
    table = render_ss(rows)
    close_wait_lines = [line for line in table.splitlines() if line.startswith("CLOSE-WAIT")]
    assert len(close_wait_lines) == 5
    assert sorted(line.split()[-2] for line in close_wait_lines) == [
        f"{C}:{CLIENT_PORT + i}" for i in range(5)]
    assert table.splitlines()[-1] == "Total: 6 (LISTEN 1, CLOSE-WAIT 5)"
    assert [c.state for c in r.world.live(r.world.server)] == [State.CLOSE_WAIT] * 5


def test_random_loss_transfer() -> None:
    r = run("random-loss-transfer")
    assert r.world.states(C) == ACTIVE_CLOSE
    assert r.world.states(S) == PASSIVE_CLOSE
    client, server = r.world.all_peers()
    assert len(client.script.payload) == len(server.script.payload) == 100_000
    assert bytes(server.received) == client.script.payload
    assert bytes(client.received) == server.script.payload
    assert client.error is None and server.error is None
    faults = {(e.kind, e.fault) for e in link_events(r.records)}
    assert {("lose", "random-loss"), ("duplicate", "random-duplicate"),
            ("deliver", "reorder")} <= faults
    reasons = {s.reason for s in segments(r.records)}
    assert any("retransmi" in reason for reason in reasons)


def test_syn_flood() -> None:
    r = run("syn-flood")
    legit = ConnId(C, CLIENT_PORT, S, SERVER_PORT)
    assert r.world.states(C, legit) == ACTIVE_CLOSE
    assert r.world.states(S, ConnId(S, SERVER_PORT, C, CLIENT_PORT)) == PASSIVE_CLOSE
    handshake = [s for s in segments(r.records) if C in (s.packet.src, s.packet.dst)
                 and CLIENT_PORT in (s.packet.segment.src_port, s.packet.segment.dst_port)][:3]
    assert [(s.t, s.flags, s.reason) for s in handshake] == [
        (300_000, "SYN", "SYN (first)"),
        (310_000, "SYN,ACK", "SYN,ACK with SYN cookie"),
        (320_000, "ACK", "ACK of SYN,ACK (handshake step 3)"),
    ]
    assert all(bytes(p.received) == RESPONSE for p in r.world.peers)


def test_syn_flood_no_cookies() -> None:
    r = run("syn-flood-no-cookies")
    legit = ConnId(C, CLIENT_PORT, S, SERVER_PORT)
    assert r.world.states(C, legit) == ACTIVE_CLOSE
    syns = [s.t for s in segments(r.records, C) if s.flags == "SYN"
            and s.packet.segment.src_port == CLIENT_PORT]
    assert syns == [300_000 + d * SECOND for d in (0, 1, 3, 7, 15, 31, 63)]
    assert entered(r.records, C, State.ESTABLISHED, legit) == [63 * SECOND + 320_000]
    assert all(bytes(p.received) == RESPONSE for p in r.world.peers)


def test_time_wait_pileup() -> None:
    r = run("time-wait-pileup")
    first = r.world.conn_ids(C)[0]
    # The first port is used twice: once its TIME-WAIT has ended, by a later connection.
    again = ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert r.world.states(C, first) == ACTIVE_CLOSE + again
    tw_in, tw_out = entered(r.records, C, State.TIME_WAIT, first), left(
        r.records, C, State.TIME_WAIT, first)
    assert tw_out[0] - tw_in[0] == TWO_MSL
    rows = connection_states(r.records, host=C)
    assert [row.state for row in rows] == [State.TIME_WAIT] * 100
