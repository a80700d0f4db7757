"""Half-open connections as small records (issue 5, rule 1): what a SYN costs, the SYN,ACK
retransmission and give-up, the segments a record answers itself (RFC 9293 3.10.7.4 in
SYN-RECEIVED), the SYN queue bound and its switch to SYN cookies, the per-source SYN limit."""

from __future__ import annotations

import gc
import random
import tracemalloc

from listenkit import (
    CLIENT,
    PLAIN,
    SECOND,
    SERVER,
    Host,
    ack_of,
    changes,
    segment,
    syn,
    timers_started,
)

from synfin.config import Config
from synfin.connection import Connection
from synfin.seq import seq_add
from synfin.stack import Stack
from synfin.states import State
from synfin.wire import Flags, Packet, TcpSegment, emit_packet

PEER_ISN = 0xFFFF_FFF0
S = State


def _spoofed(i: int, port: int = 80) -> bytes:
    """A SYN from one of 65536*16 made-up sources."""
    src = f"172.{16 + i % 16}.{(i // 16) % 256}.{1 + (i // 4096) % 250}"
    seg = TcpSegment(1024 + i % 60000, port, (i * 2654435761) % 2**32, 0, Flags.SYN, 64240)
    return emit_packet(Packet(src, SERVER, seg))


def _connections_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Connection))


# -- a SYN makes a record, and the handshake ACK a connection -----------------------------------


def test_syn_makes_a_record_not_a_connection() -> None:
    host = Host(PLAIN)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    assert reply.reason == "SYN,ACK (first)"
    assert (reply.flags, reply.seg.ack) == (Flags.SYN | Flags.ACK, seq_add(PEER_ISN, 1))
    cid = host.conn_id(40000)
    assert host.stack.state_of(cid) is State.SYN_RECEIVED
    assert list(host.listening.half_open) == [cid]
    assert host.stack.connections == {}
    assert (cid, State.SYN_RECEIVED) in host.stack.table()
    assert changes(host.sink.records, SERVER) == [
        (0, S.LISTEN, S.SYN_RECEIVED, "rcv SYN / snd SYN,ACK")]


def test_handshake_ack_makes_the_connection_with_an_rtt_sample() -> None:
    host = Host(PLAIN)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    host.at(40_000)
    assert host.feed(ack_of(reply.seg)) == []
    cid = host.conn_id(40000)
    conn = host.listening.accept()
    assert conn is not None and conn.conn_id == cid
    assert host.stack.state_of(cid) is State.ESTABLISHED
    assert host.listening.half_open == {}
    assert conn.status().srtt_us == 40_000  # measured from the record's SYN,ACK
    assert [c[1:3] for c in changes(host.sink.records, SERVER)] == [
        (S.LISTEN, S.SYN_RECEIVED), (S.SYN_RECEIVED, S.ESTABLISHED)]


# -- memory -----------------------------------------------------------------------------------


def test_a_half_open_record_costs_under_a_kilobyte_and_a_fraction_of_a_connection() -> None:
    stack = Stack(SERVER, Config(syn_backlog=1_000_000), secret=b"mem", rng=random.Random(1))
    stack.listen(80)
    # Warm up: the codec's address caches (bounded) fill during the first few thousand.
    for i in range(5000):
        stack.on_packet(_spoofed(i), i)
        stack.poll_transmit(i)
    n = 4000
    packets = [_spoofed(i) for i in range(5000, 5000 + n)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i, data in enumerate(packets):
        stack.on_packet(data, 5000 + i)
        stack.poll_transmit(5000 + i)
    gc.collect()
    per_record = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    assert len(stack.listeners[80].half_open) == 5000 + n
    assert stack.connections == {}

    # The same number of full connections (their handshakes completed), for comparison.
    host = Host(PLAIN.with_(syn_backlog=1_000_000), backlog=100_000)
    replies = [host.feed(syn(10_000 + i, PEER_ISN))[0].seg for i in range(n)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for reply in replies:
        host.feed(ack_of(reply))
    gc.collect()
    # The records are freed as the connections are made: add one record back per connection.
    per_connection = (tracemalloc.get_traced_memory()[0] - before) / n + per_record
    tracemalloc.stop()
    assert len(host.listening.accept_queue) == n
    print(f"bytes per half-open record {per_record:.0f}, per connection {per_connection:.0f}")
    assert per_record < 1024
    assert per_connection > 3 * per_record


def test_ten_thousand_spoofed_syns_make_no_connection() -> None:
    stack = Stack(SERVER, Config(), secret=b"flood", rng=random.Random(1))
    listener = stack.listen(80)
    alive = _connections_alive()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(10_000):
        stack.on_packet(_spoofed(i), i * 100)  # 10,000 SYN/s
        assert len(stack.poll_transmit(i * 100)) == 1  # every SYN gets its SYN,ACK
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert _connections_alive() == alive
    assert stack.connections == {}
    assert len(listener.half_open) == Config().syn_backlog == 256
    assert stack.counters == {"syn-cookie-sent": 10_000 - 256}
    assert grown < 2_000_000


def test_spoofed_acks_for_records_make_no_connection() -> None:
    """A spoofer who never sees the SYN,ACK can still send an ACK with any number for its
    own SYN: the record answers it with a RST and stays a record (the SYN queue bound)."""
    host = Host(PLAIN.with_(syn_backlog=16))
    alive = _connections_alive()
    for i in range(500):
        src = f"172.16.{i // 250}.{1 + i % 250}"
        host.feed(syn(40000, 5000), src=src)
        (rst,) = host.feed(segment(Flags.ACK, 40000, 5001, 12345), src=src)
        assert (rst.flags, rst.seg.seq) == (Flags.RST, 12345)
    assert _connections_alive() == alive
    assert host.stack.connections == {}
    assert len(host.listening.half_open) == 16
    drops = host.drops()
    assert drops.count("ack-unacceptable") == 16
    assert drops.count("bad-syn-cookie") == 500 - 16  # the others got cookies


# -- SYN,ACK retransmission and give-up ---------------------------------------------------------


def test_syn_ack_is_retransmitted_with_backoff_then_the_record_is_deleted() -> None:
    host = Host(PLAIN)
    host.feed(syn(40000, PEER_ISN))
    cid = host.conn_id(40000)
    sent = host.run_until(200 * SECOND)
    assert [(s.t, s.reason) for s in sent] == [
        (t * SECOND, "SYN,ACK retransmission (RTO)") for t in (1, 3, 7, 15, 31)]
    first_iss = host.sink.records  # every retransmission carries the same ISS
    assert len({s.seg.seq for s in sent}) == 1
    assert timers_started(first_iss, SERVER, "retransmit", cid) == [
        (0, SECOND), (SECOND, 3 * SECOND), (3 * SECOND, 7 * SECOND), (7 * SECOND, 15 * SECOND),
        (15 * SECOND, 31 * SECOND), (31 * SECOND, 63 * SECOND)]
    assert changes(host.sink.records, SERVER) == [
        (0, S.LISTEN, S.SYN_RECEIVED, "rcv SYN / snd SYN,ACK"),
        (63 * SECOND, S.SYN_RECEIVED, S.CLOSED, "5 SYN,ACK retransmissions unanswered")]
    assert host.stack.state_of(cid) is None
    assert host.listening.half_open == {}
    assert host.stack.next_deadline() is None


def test_synack_retries_and_rto_max_are_configurable() -> None:
    host = Host(PLAIN.with_(synack_retries=3, rto_max_us=3 * SECOND))
    host.feed(syn(40000, PEER_ISN))
    sent = host.run_until(100 * SECOND)
    assert [s.t for s in sent] == [1 * SECOND, 3 * SECOND, 6 * SECOND]
    assert changes(host.sink.records, SERVER)[-1][:3] == (9 * SECOND, S.SYN_RECEIVED, S.CLOSED)


def test_late_handshake_ack_after_retransmission_completes_without_rtt_sample() -> None:
    host = Host(PLAIN)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    host.run_until(SECOND + 10_000)  # one SYN,ACK retransmission
    host.feed(ack_of(reply.seg))
    conn = host.listening.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    assert conn.status().srtt_us is None  # Karn: the SYN,ACK was retransmitted
    assert host.run_until(100 * SECOND) == []  # the retransmission timer went with the ACK


# -- what a record answers itself (RFC 9293 3.10.7.4, SYN-RECEIVED) ------------------------------


def test_rst_at_rcv_nxt_returns_to_listen() -> None:
    host = Host(PLAIN)
    host.feed(syn(40000, PEER_ISN))
    host.at(5_000)
    assert host.feed(segment(Flags.RST, 40000, seq_add(PEER_ISN, 1))) == []
    cid = host.conn_id(40000)
    assert changes(host.sink.records, SERVER)[-1] == (
        5_000, S.SYN_RECEIVED, S.LISTEN, "rcv RST (from passive OPEN)")
    assert host.stack.state_of(cid) is None
    assert host.listening.half_open == {} and host.stack.connections == {}
    assert host.run_until(100 * SECOND) == []  # no more SYN,ACKs
    # The listener goes on: the same 4-tuple may start again.
    (again,) = host.feed(syn(40000, seq_add(PEER_ISN, 100)))
    assert again.reason == "SYN,ACK (first)"


def test_rst_ack_at_rcv_nxt_also_returns_to_listen() -> None:
    host = Host(PLAIN)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    rst = segment(Flags.RST | Flags.ACK, 40000, seq_add(PEER_ISN, 1), seq_add(reply.seg.seq, 1))
    assert host.feed(rst) == []
    assert host.listening.half_open == {}


def test_rst_in_window_but_not_exact_gets_a_challenge_ack() -> None:
    host = Host(PLAIN)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    (ack,) = host.feed(segment(Flags.RST, 40000, seq_add(PEER_ISN, 1000)))
    assert ack.flags == Flags.ACK
    assert (ack.seg.seq, ack.seg.ack) == (seq_add(reply.seg.seq, 1), seq_add(PEER_ISN, 1))
    assert ack.reason.startswith("challenge ACK (RFC 5961)")
    assert host.drops() == ["rst-in-window-challenged"]
    assert host.stack.state_of(host.conn_id(40000)) is State.SYN_RECEIVED


def test_rst_out_of_window_is_dropped_silently() -> None:
    host = Host(PLAIN)
    host.feed(syn(40000, PEER_ISN))
    assert host.feed(segment(Flags.RST, 40000, seq_add(PEER_ISN, -5000))) == []
    assert host.drops() == ["rst-out-of-window"]
    assert host.stack.state_of(host.conn_id(40000)) is State.SYN_RECEIVED


def test_duplicate_syn_resends_the_syn_ack_and_keeps_the_timer() -> None:
    host = Host(PLAIN)
    (first,) = host.feed(syn(40000, PEER_ISN))
    host.at(300_000)
    (again,) = host.feed(syn(40000, PEER_ISN))
    assert again.seg == first.seg
    assert again.reason == "SYN,ACK again (duplicate SYN)"
    assert host.drops() == ["duplicate-syn"]
    assert len(host.listening.half_open) == 1 and host.stack.connections == {}
    assert host.stack.next_deadline() == SECOND  # the retransmission schedule is unchanged


def test_new_syn_in_window_returns_to_listen() -> None:
    host = Host(PLAIN)
    host.feed(syn(40000, PEER_ISN))
    assert host.feed(syn(40000, seq_add(PEER_ISN, 10))) == []
    assert changes(host.sink.records, SERVER)[-1][1:] == (
        S.SYN_RECEIVED, S.LISTEN, "rcv SYN in window")
    assert host.listening.half_open == {}


def test_unacceptable_segment_gets_an_ack_and_the_record_stays() -> None:
    host = Host(PLAIN)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    old = segment(Flags.ACK | Flags.PSH, 40000, seq_add(PEER_ISN, -100), seq_add(reply.seg.seq, 1),
                  payload=b"old")
    (ack,) = host.feed(old)
    assert (ack.flags, ack.seg.seq, ack.seg.ack) == (
        Flags.ACK, seq_add(reply.seg.seq, 1), seq_add(PEER_ISN, 1))
    assert host.drops() == ["seq-unacceptable"]
    assert host.stack.state_of(host.conn_id(40000)) is State.SYN_RECEIVED
    assert host.stack.connections == {}


def test_old_timestamp_fails_paws_in_a_record() -> None:
    host = Host(Config())
    (reply,) = host.feed(syn(40000, PEER_ISN, tsval=1000, wscale=7, sack=True))
    stale = segment(Flags.ACK, 40000, seq_add(PEER_ISN, 1), seq_add(reply.seg.seq, 1),
                    ts=(999, 0))
    (ack,) = host.feed(stale)
    assert ack.flags == Flags.ACK
    ts = ack.seg.timestamps
    assert ts is not None and ts.tsecr == 1000
    assert host.drops() == ["paws-old-timestamp"]
    assert host.stack.connections == {}


def test_segment_without_ack_is_dropped() -> None:
    host = Host(PLAIN)
    host.feed(syn(40000, PEER_ISN))
    assert host.feed(segment(Flags.FIN, 40000, seq_add(PEER_ISN, 1))) == []
    assert host.drops() == ["no-ack-flag"]
    assert host.stack.state_of(host.conn_id(40000)) is State.SYN_RECEIVED


# -- the SYN queue and its switch to cookies --------------------------------------------------


def test_full_syn_queue_switches_to_cookies_and_back() -> None:
    host = Host(PLAIN.with_(syn_backlog=3))
    for i in range(3):
        (reply,) = host.feed(syn(40000, 1000), src=f"172.16.0.{i + 1}")
        assert reply.reason == "SYN,ACK (first)"
    (cookie,) = host.feed(syn(40000, PEER_ISN))
    assert cookie.reason == "SYN,ACK with SYN cookie"
    assert len(host.listening.half_open) == 3
    assert host.stack.state_of(host.conn_id(40000)) is None
    assert host.stack.counters == {"syn-cookie-sent": 1}
    # The legitimate client answers the cookie and gets its connection while the queue is
    # still full of the spoofers' records.
    host.at(20_000)
    host.feed(ack_of(cookie.seg))
    conn = host.listening.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    assert len(host.listening.half_open) == 3
    # Once the spoofers' records time out (63 s), a SYN gets a record again.
    host.run_until(64 * SECOND)
    assert host.listening.half_open == {}
    (reply,) = host.feed(syn(40001, PEER_ISN))
    assert reply.reason == "SYN,ACK (first)"


def test_cookies_always_even_with_room_in_the_queue() -> None:
    host = Host(PLAIN.with_(syn_cookies="always"))
    (reply,) = host.feed(syn(40000, PEER_ISN))
    assert reply.reason == "SYN,ACK with SYN cookie"
    assert host.listening.half_open == {}


# -- per-source SYN rate limit -----------------------------------------------------------------


def test_per_source_syn_rate_limit() -> None:
    host = Host(PLAIN.with_(syn_rate_per_source=3))
    answered = [bool(host.feed(syn(40000 + i, PEER_ISN))) for i in range(5)]
    assert answered == [True, True, True, False, False]
    assert host.drops() == ["syn-rate-limited", "syn-rate-limited"]
    # Another source is not affected ...
    assert host.feed(syn(40000, PEER_ISN), src="10.0.0.3")
    # ... and the next second the first source may send again.
    host.now = SECOND
    assert host.feed(syn(40010, PEER_ISN))
    assert len(host.listening.half_open) == 5
    assert CLIENT in {cid.remote_ip for cid in host.listening.half_open}


def test_rate_limit_off_by_default() -> None:
    host = Host(PLAIN)
    assert all(host.feed(syn(40000 + i, PEER_ISN)) for i in range(50))
    assert "syn-rate-limited" not in host.drops()


def test_challenge_acks_from_half_open_records_share_the_rfc5961_budget() -> None:
    """RFC 5961 section 7: in-window RSTs aimed at half-open records cannot make the listener
    send more than ``challenge_ack_limit`` challenge ACKs a second."""
    limit = 50
    host = Host(PLAIN.with_(challenge_ack_limit=limit))
    host.feed(syn(40000, PEER_ISN))
    challenges = []
    for i in range(200):
        rst = segment(Flags.RST, 40000, seq_add(PEER_ISN, 10 + i))
        challenges += [r for r in host.feed(rst) if r.flags == Flags.ACK]
    assert len(challenges) == limit
    assert host.drops().count("challenge-ack-rate-limited") == 200 - limit
    host.run_until(SECOND)  # the next second (the SYN,ACK is retransmitted on the way)
    later = host.feed(segment(Flags.RST, 40000, seq_add(PEER_ISN, 5)))
    assert [r.flags for r in later] == [Flags.ACK]
