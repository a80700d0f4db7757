"""TIME-WAIT as compact records in the stack (issue 5, rule 3): a connection entering
TIME-WAIT becomes a record that re-ACKs a retransmitted FIN and restarts 2MSL, ignores RST
(RFC 1337), judges a new SYN (RFC 6191 / RFC 1122 4.2.2.13), expires exactly 2MSL after its
last (re)start; ``tw_reuse`` for outgoing connections; ``max_tw_buckets``; and the orphaned
FIN-WAIT-2 timeout (Linux ``tcp_fin_timeout``)."""

from __future__ import annotations

import gc

import pytest
from listenkit import (
    CLIENT,
    PLAIN,
    PORT,
    SECOND,
    SERVER,
    Host,
    Pair,
    Sent,
    ack_of,
    changes,
    segment,
    syn,
    timers_started,
)

from synfin.config import Config
from synfin.connection import Connection
from synfin.errors import LocalError
from synfin.seq import seq_add, seq_gt
from synfin.sim import all_of, flags_exactly, from_host
from synfin.stack import REOPEN_ISS_GAP
from synfin.states import State
from synfin.trace.records import ConnId
from synfin.wire import Flags

PEER_ISN = 0xFFFF_FF80
TWO_MSL = 60 * SECOND
MS = 1_000
S = State


def _ts(reply: Sent, tsval: int | None) -> tuple[int, int] | None:
    """The peer's timestamps option answering ``reply``: its own TSval, echoing ours."""
    if tsval is None:
        return None
    ours = reply.seg.timestamps
    return (tsval, ours.tsval if ours is not None else 0)


def server_time_wait(host: Host, sport: int = 40000, isn: int = PEER_ISN,
                     tsval: int | None = None) -> tuple[Connection, Sent]:
    """A hand-built peer opens a connection; the server closes first and the peer answers
    with FIN,ACK, so the server's end goes to TIME-WAIT. Returns the server's connection and
    its last ACK (``<SEQ=SND.NXT><ACK=RCV.NXT>`` of the record)."""
    (syn_ack,) = host.feed(syn(sport, isn, tsval=tsval))
    host.feed(ack_of(syn_ack.seg, ts=_ts(syn_ack, tsval)))
    conn = host.listening.accept()
    assert conn is not None
    host.at(host.now + 10 * MS)
    conn.close(host.now)
    (fin,) = host.flush()
    assert fin.flags == Flags.FIN | Flags.ACK
    host.at(host.now + 10 * MS)
    (last,) = host.feed(ack_of(fin.seg, flags=Flags.FIN | Flags.ACK, ts=_ts(fin, tsval)))
    assert last.flags == Flags.ACK
    return conn, last


# -- a connection entering TIME-WAIT becomes a record ------------------------------------------


def test_connection_entering_time_wait_becomes_a_record() -> None:
    host = Host(PLAIN)
    conn, last = server_time_wait(host)
    cid = host.conn_id(40000)
    entered = host.now
    assert conn.state is State.TIME_WAIT  # the application still sees TIME-WAIT
    assert host.stack.connections == {}  # but the stack keeps only the record
    assert host.stack.state_of(cid) is State.TIME_WAIT
    assert (cid, State.TIME_WAIT) in host.stack.table()
    assert changes(host.sink.records, SERVER, cid)[-1][:3] == (
        entered, S.FIN_WAIT_1, S.TIME_WAIT)
    assert timers_started(host.sink.records, SERVER, "time-wait", cid) == [
        (entered, entered + TWO_MSL)]
    assert (last.seg.seq, last.seg.ack) == (conn.tcb.snd_max, seq_add(PEER_ISN, 2))


def test_record_expires_exactly_2msl_after_entry_then_the_tuple_answers_rst() -> None:
    host = Host(PLAIN)
    conn, last = server_time_wait(host)
    cid = host.conn_id(40000)
    entered = host.now
    assert host.run_until(entered + TWO_MSL - 1) == []
    assert host.stack.state_of(cid) is State.TIME_WAIT
    assert host.run_until(entered + TWO_MSL) == []
    assert host.stack.state_of(cid) is None
    assert conn.state is State.CLOSED  # told through the connection it still holds
    assert changes(host.sink.records, SERVER, cid)[-1] == (
        entered + TWO_MSL, S.TIME_WAIT, S.CLOSED, "timeout=2MSL / delete TCB")
    assert host.stack.next_deadline() is None
    # The 4-tuple is gone: the peer's FIN now meets the listener, which resets it.
    (rst,) = host.feed(ack_of(last.seg, flags=Flags.FIN | Flags.ACK))
    assert rst.flags & Flags.RST
    assert host.stack.connections == {}


def test_expiry_of_a_record_nobody_holds_is_in_the_trace() -> None:
    host = Host(PLAIN)
    conn, _ = server_time_wait(host)
    entered = host.now
    del conn
    gc.collect()
    host.run_until(entered + TWO_MSL)
    assert changes(host.sink.records, SERVER, host.conn_id(40000))[-1] == (
        entered + TWO_MSL, S.TIME_WAIT, S.CLOSED, "timeout=2MSL / delete TCB")


def test_client_side_record_answers_rst_after_expiry() -> None:
    pair = Pair(PLAIN, PLAIN)
    client = pair.connect(41000)
    pair.run_until(100 * MS)
    server = pair.listener.accept()
    assert server is not None
    client.close(pair.now)
    pair.run_until(200 * MS)
    server.close(pair.now)
    pair.run_until(300 * MS)
    cid = ConnId(CLIENT, 41000, SERVER, PORT)
    assert pair.client.state_of(cid) is State.TIME_WAIT
    (entered,) = [c[0] for c in changes(pair.sink.records, CLIENT, cid) if c[2] is S.TIME_WAIT]
    pair.run_until(entered + TWO_MSL)
    assert pair.client.state_of(cid) is None
    assert client.state is State.CLOSED
    # A segment of the old connection now gets the CLOSED-state answer (RFC 9293 3.10.7.1).
    pair.inject(SERVER, segment(Flags.ACK, PORT, server.tcb.snd_max, client.tcb.snd_max,
                                dport=41000), dst=CLIENT)
    pair.run_until(pair.now + 20 * MS)
    rst = [s for s in pair.sent(CLIENT) if s.flags & Flags.RST]
    assert len(rst) == 1 and rst[0].reason == "no connection (RFC 9293 3.10.7.1)"
    assert pair.drops(CLIENT)[-1] == "no-connection"


# -- a retransmitted FIN is re-ACKed and restarts 2MSL -----------------------------------------


def test_retransmitted_fin_is_reacked_and_restarts_2msl() -> None:
    host = Host(PLAIN)
    conn, last = server_time_wait(host)
    cid = host.conn_id(40000)
    entered = host.now
    host.at(entered + 10 * SECOND)
    fin_again = segment(Flags.FIN | Flags.ACK, 40000, seq_add(PEER_ISN, 1), last.seg.seq)
    (reack,) = host.feed(fin_again)
    assert reack.seg == last.seg  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, the same ACK
    assert reack.reason == "re-ACK of retransmitted FIN in TIME-WAIT"
    restarted = entered + 10 * SECOND
    assert timers_started(host.sink.records, SERVER, "time-wait", cid)[-1] == (
        restarted, restarted + TWO_MSL)
    host.run_until(entered + TWO_MSL)
    assert host.stack.state_of(cid) is State.TIME_WAIT  # not at the original expiry
    host.run_until(restarted + TWO_MSL - 1)
    assert host.stack.state_of(cid) is State.TIME_WAIT
    host.run_until(restarted + TWO_MSL)
    assert host.stack.state_of(cid) is None
    assert conn.state is State.CLOSED
    assert changes(host.sink.records, SERVER, cid)[-1][:3] == (
        restarted + TWO_MSL, S.TIME_WAIT, S.CLOSED)


def test_lost_last_ack_between_two_stacks() -> None:
    """The seeds' reason 1: the passive closer retransmits its FIN; the record re-ACKs it and
    waits 2MSL again from then."""
    pair = Pair()
    client = pair.connect(41000)
    pair.run_until(SECOND)
    server = pair.listener.accept()
    assert server is not None
    client.close(pair.now)
    pair.run_until(1_500 * MS)
    pair.net.drop(all_of(from_host(CLIENT), flags_exactly(Flags.ACK)))  # the last ACK
    server.close(pair.now)  # FIN at 1.5 s, arrives 1.51 s: TIME-WAIT; its ACK is lost
    pair.run_until(100 * SECOND)
    cid = ConnId(CLIENT, 41000, SERVER, PORT)
    fins = [s.t for s in pair.sent(SERVER) if s.flags & Flags.FIN]
    assert fins[0] == 1_500 * MS and len(fins) == 2
    acks = [s for s in pair.sent(CLIENT) if s.flags == Flags.ACK and s.t > 1_500 * MS]
    assert [(s.t, s.reason) for s in acks] == [
        (1_510 * MS, "ACK of FIN"),
        (fins[1] + 10 * MS, "re-ACK of retransmitted FIN in TIME-WAIT")]
    assert (acks[0].seg.seq, acks[0].seg.ack) == (acks[1].seg.seq, acks[1].seg.ack)
    first_ts, again_ts = acks[0].seg.timestamps, acks[1].seg.timestamps
    assert first_ts is not None and again_ts is not None
    assert again_ts.tsval > first_ts.tsval  # the record's clock runs on (RFC 7323)
    assert server.state is State.CLOSED and server.error is None
    path = changes(pair.sink.records, CLIENT, cid)
    assert [c[1:3] for c in path[-2:]] == [(S.FIN_WAIT_2, S.TIME_WAIT), (S.TIME_WAIT, S.CLOSED)]
    assert path[-2][0] == 1_510 * MS
    assert path[-1][0] == fins[1] + 10 * MS + TWO_MSL  # 2MSL counted from the re-ACK


# -- RST is ignored (RFC 1337) -----------------------------------------------------------------


def test_rst_to_a_record_is_ignored() -> None:
    host = Host(PLAIN)
    _, last = server_time_wait(host)
    cid = host.conn_id(40000)
    entered = host.now
    host.at(entered + SECOND)
    for seq in (last.seg.ack, seq_add(last.seg.ack, 100)):  # exact and in window
        assert host.feed(segment(Flags.RST, 40000, seq)) == []
        assert host.feed(segment(Flags.RST | Flags.ACK, 40000, seq, last.seg.seq)) == []
    assert host.drops()[-4:] == ["rst-in-time-wait-ignored"] * 4
    assert host.stack.state_of(cid) is State.TIME_WAIT
    host.run_until(entered + TWO_MSL - 1)
    assert host.stack.state_of(cid) is State.TIME_WAIT  # the expiry did not move
    host.run_until(entered + TWO_MSL)
    assert host.stack.state_of(cid) is None


# -- a new SYN for the 4-tuple (RFC 6191, RFC 1122 4.2.2.13) -----------------------------------


def _reopened(host: Host, new_syn: object, old: Connection) -> Sent:
    (reply,) = host.feed(new_syn)  # type: ignore[arg-type]
    assert reply.flags == Flags.SYN | Flags.ACK
    assert reply.reason == "SYN,ACK (first)"
    cid = host.conn_id(40000)
    assert host.stack.state_of(cid) is State.SYN_RECEIVED
    assert old.state is State.CLOSED
    closing = changes(host.sink.records, SERVER, cid)
    assert closing[-2][1:] == (S.TIME_WAIT, S.CLOSED, "a new SYN reopens the 4-tuple (RFC 6191)")
    assert closing[-1][1:3] == (S.LISTEN, S.SYN_RECEIVED)
    # The new ISS lies beyond anything the old incarnation sent.
    old_snd_nxt = old.tcb.snd_max
    assert reply.seg.seq == seq_add(old_snd_nxt, REOPEN_ISS_GAP)
    assert seq_gt(reply.seg.seq, old_snd_nxt)
    return reply


def test_syn_with_higher_seq_reopens_without_timestamps() -> None:
    host = Host(PLAIN)
    old, last = server_time_wait(host)
    host.at(host.now + SECOND)
    reply = _reopened(host, syn(40000, seq_add(last.seg.ack, 1000)), old)
    host.feed(ack_of(reply.seg))
    conn = host.listening.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    assert conn.tcb.irs == seq_add(last.seg.ack, 1000)


def test_syn_with_lower_seq_gets_a_challenge_ack_without_timestamps() -> None:
    host = Host(PLAIN)
    _, last = server_time_wait(host)
    entered = host.now
    cid = host.conn_id(40000)
    for seq in (seq_add(last.seg.ack, -10), seq_add(last.seg.ack, -1)):
        (ack,) = host.feed(syn(40000, seq))
        assert ack.seg == last.seg  # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        assert ack.reason.startswith("challenge ACK (RFC 5961)")
    assert host.drops()[-2:] == ["syn-in-synchronized-state"] * 2
    assert host.stack.state_of(cid) is State.TIME_WAIT
    assert host.listening.half_open == {}
    host.run_until(entered + TWO_MSL)  # and the record still ends on time
    assert host.stack.state_of(cid) is None


def test_syn_with_newer_timestamp_reopens_even_with_lower_seq() -> None:
    host = Host(Config())
    old, last = server_time_wait(host, tsval=50_000)
    host.at(host.now + SECOND)
    _reopened(host, syn(40000, seq_add(last.seg.ack, -5000), tsval=50_001), old)


def test_syn_with_older_timestamp_is_challenged_even_with_higher_seq() -> None:
    host = Host(Config())
    _, last = server_time_wait(host, tsval=50_000)
    cid = host.conn_id(40000)
    for tsval in (49_999, 50_000):  # older, and not newer
        (ack,) = host.feed(syn(40000, seq_add(last.seg.ack, 5000), tsval=tsval))
        assert ack.flags == Flags.ACK and ack.seg.ack == last.seg.ack
        ts = ack.seg.timestamps
        assert ts is not None and ts.tsecr == 50_000  # the record's TS.Recent
    assert host.drops()[-2:] == ["syn-in-synchronized-state"] * 2
    assert host.stack.state_of(cid) is State.TIME_WAIT


def test_syn_ack_to_a_record_is_challenged() -> None:
    host = Host(PLAIN)
    _, last = server_time_wait(host)
    stray = segment(Flags.SYN | Flags.ACK, 40000, seq_add(last.seg.ack, 10), last.seg.seq)
    (ack,) = host.feed(stray)
    assert ack.seg == last.seg
    assert host.stack.state_of(host.conn_id(40000)) is State.TIME_WAIT


# -- tw_reuse for outgoing connections ---------------------------------------------------------


def _client_time_wait(pair: Pair, port: int = 41000) -> Connection:
    client = pair.connect(port)
    pair.run_until(pair.now + 100 * MS)
    server = pair.listener.accept()
    assert server is not None
    client.close(pair.now)
    pair.run_until(pair.now + 100 * MS)
    server.close(pair.now)
    pair.run_until(pair.now + 100 * MS)
    assert client.state is State.TIME_WAIT
    assert pair.client.state_of(client.conn_id) is State.TIME_WAIT
    return client


def test_tw_reuse_reopens_an_outgoing_tuple_after_one_second() -> None:
    pair = Pair(client=Config(tw_reuse=True))
    old = _client_time_wait(pair)
    (entered,) = [c[0] for c in changes(pair.sink.records, CLIENT, old.conn_id)
                  if c[2] is S.TIME_WAIT]
    pair.run_until(entered + SECOND - 1)
    with pytest.raises(LocalError) as too_soon:
        pair.connect(41000)
    assert too_soon.value.text == "connection already exists"
    pair.run_until(entered + SECOND)
    new = pair.connect(41000)
    assert old.state is State.CLOSED
    assert changes(pair.sink.records, CLIENT, old.conn_id)[-2][1:] == (
        S.TIME_WAIT, S.CLOSED, "tw_reuse: a new outgoing connection reopens the 4-tuple")
    assert new.tcb.iss == seq_add(old.tcb.snd_max, REOPEN_ISS_GAP)
    pair.run_until(pair.now + 100 * MS)
    assert new.state is State.ESTABLISHED
    accepted = pair.listener.accept()
    assert accepted is not None and accepted.conn_id.remote_port == 41000


def test_without_tw_reuse_the_tuple_is_refused() -> None:
    pair = Pair()
    _client_time_wait(pair)
    pair.run_until(pair.now + 10 * SECOND)
    with pytest.raises(LocalError) as refused:
        pair.connect(41000)
    assert refused.value.text == "connection already exists"


def test_tw_reuse_needs_timestamps() -> None:
    pair = Pair(client=Config(tw_reuse=True, timestamps=False))
    _client_time_wait(pair)
    pair.run_until(pair.now + 10 * SECOND)
    with pytest.raises(LocalError) as refused:
        pair.connect(41000)
    assert refused.value.text == "connection already exists"


def test_ephemeral_ports_skip_time_wait_unless_tw_reuse_allows() -> None:
    one_port = Config(ephemeral_ports=(41000, 41000))
    pair = Pair(client=one_port)
    _client_time_wait(pair, port=41000)
    with pytest.raises(LocalError) as exhausted:
        pair.connect()
    assert exhausted.value.text == "insufficient resources"
    reuse = Pair(client=one_port.with_(tw_reuse=True))
    _client_time_wait(reuse, port=41000)
    reuse.run_until(reuse.now + SECOND)
    assert reuse.connect().local_port == 41000


# -- max_tw_buckets ----------------------------------------------------------------------------


def test_bucket_overflow_closes_at_once() -> None:
    host = Host(PLAIN.with_(max_tw_buckets=2))
    conns = [server_time_wait(host, sport=40000 + i)[0] for i in range(3)]
    overflowed = host.conn_id(40002)
    assert [c.state for c in conns] == [State.TIME_WAIT, State.TIME_WAIT, State.CLOSED]
    assert host.drops() == ["time-wait-bucket-overflow"]
    path = changes(host.sink.records, SERVER, overflowed)
    assert path[-2][1:3] == (S.FIN_WAIT_1, S.TIME_WAIT)
    assert path[-1][1:] == (S.TIME_WAIT, S.CLOSED,
                            "time wait bucket table overflow (max_tw_buckets)")
    assert path[-1][0] == path[-2][0]  # closed at once
    assert host.stack.state_of(overflowed) is None
    assert [cid.remote_port for cid, st in host.stack.table() if st is S.TIME_WAIT] == [
        40000, 40001]
    # Once the first records expire there is room again.
    host.run_until(host.now + TWO_MSL)
    conn, _ = server_time_wait(host, sport=40003)
    assert conn.state is State.TIME_WAIT


# -- the orphaned FIN-WAIT-2 timeout (Linux tcp_fin_timeout) ------------------------------------


def test_orphaned_fin_wait_2_times_out_after_fin_timeout() -> None:
    pair = Pair(client=Config(fin_timeout_us=5 * SECOND))
    orphan = pair.connect(41000)
    kept = pair.connect(41001)
    pair.run_until(100 * MS)
    orphan.close(pair.now)
    orphan.orphan(pair.now)  # the application let go (close() on a socket)
    kept.close(pair.now)  # the application still holds this one
    pair.run_until(120 * MS)  # the server ACKs both FINs and never closes
    assert orphan.state is kept.state is State.FIN_WAIT_2
    (entered,) = [c[0] for c in changes(pair.sink.records, CLIENT, orphan.conn_id)
                  if c[2] is S.FIN_WAIT_2]
    assert entered == 120 * MS
    pair.run_until(entered + 5 * SECOND - 1)
    assert orphan.state is State.FIN_WAIT_2
    pair.run_until(entered + 5 * SECOND)
    assert (orphan.state, orphan.error) == (State.CLOSED, None)
    assert changes(pair.sink.records, CLIENT, orphan.conn_id)[-1] == (
        entered + 5 * SECOND, S.FIN_WAIT_2, S.CLOSED,
        "FIN-WAIT-2 timeout of an orphaned connection (Linux tcp_fin_timeout)")
    assert pair.client.state_of(orphan.conn_id) is None
    pair.run_until(200 * SECOND)
    assert kept.state is State.FIN_WAIT_2  # the protocol itself sets no limit


def test_fin_timeout_none_keeps_orphans() -> None:
    pair = Pair(client=Config(fin_timeout_us=None))
    orphan = pair.connect(41000)
    pair.run_until(100 * MS)
    orphan.close(pair.now)
    orphan.orphan(pair.now)
    pair.run_until(500 * SECOND)
    assert orphan.state is State.FIN_WAIT_2
