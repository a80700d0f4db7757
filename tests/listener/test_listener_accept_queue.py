"""The accept queue is bounded by the listen backlog. When it is full the handshake's final
ACK is dropped (``accept-queue-full``) and the half-open record stays, as Linux does with
``tcp_abort_on_overflow = 0`` (docs/deviations.md #17); the SYN,ACK retransmission and the
client's re-ACK complete the handshake once ``accept()`` has made room."""

from __future__ import annotations

from listenkit import CLIENT, PLAIN, SECOND, SERVER, Host, Pair, ack_of, changes, syn

from synfin.states import State
from synfin.trace.records import ConnId, SegmentDropped
from synfin.wire import Flags

MS = 1_000


def _drop_times(pair: Pair, reason: str) -> list[int]:
    return [r.t for r in pair.sink.records if isinstance(r, SegmentDropped)
            and r.host == SERVER and r.reason == reason]


def test_full_accept_queue_drops_the_final_ack_until_accept_makes_room() -> None:
    pair = Pair(backlog=1)
    first = pair.connect(40001)
    pair.run_until(100 * MS)
    assert len(pair.listener.accept_queue) == 1 and first.state is State.ESTABLISHED
    second = pair.connect(40002)  # SYN at 100 ms, SYN,ACK 110 ms, ACK 120 ms -> 130 ms
    pair.run_until(2 * SECOND)
    cid = ConnId(SERVER, 80, CLIENT, 40002)
    # The client believes the handshake is done; the server still holds only a record.
    assert second.state is State.ESTABLISHED
    assert pair.server.state_of(cid) is State.SYN_RECEIVED
    assert cid in pair.listener.half_open
    assert len(pair.listener.accept_queue) == 1
    assert _drop_times(pair, "accept-queue-full") == [130 * MS, 1_130 * MS]
    # No RST (tcp_abort_on_overflow = 0): the client is left to try again.
    assert not any(s.flags & Flags.RST for s in pair.sent(SERVER))

    accepted = pair.listener.accept()  # the application takes the first connection
    assert accepted is not None and accepted.conn_id.remote_port == 40001
    pair.run_until(10 * SECOND)
    syn_acks = [s.t for s in pair.sent(SERVER)
                if s.flags == Flags.SYN | Flags.ACK and s.seg.dst_port == 40002]
    assert syn_acks == [110 * MS, 1_110 * MS, 3_110 * MS]  # 1 s, then 2 s of backoff
    re_acks = [s.t for s in pair.sent(CLIENT)
               if s.flags == Flags.ACK and s.seg.src_port == 40002]
    assert re_acks == [120 * MS, 1_120 * MS, 3_120 * MS]
    assert [c[:3] for c in changes(pair.sink.records, SERVER, cid)] == [
        (110 * MS, State.LISTEN, State.SYN_RECEIVED),
        (3_130 * MS, State.SYN_RECEIVED, State.ESTABLISHED)]
    conn = pair.listener.accept()
    assert conn is not None and conn.conn_id == cid and conn.state is State.ESTABLISHED
    assert _drop_times(pair, "accept-queue-full") == [130 * MS, 1_130 * MS]


def test_data_waits_with_the_handshake_and_arrives_after_accept() -> None:
    pair = Pair(backlog=1)
    pair.connect(40001)
    pair.run_until(100 * MS)
    second = pair.connect(40002)
    pair.run_until(200 * MS)
    second.send(b"hello", pair.now)  # sent into a handshake the server has not completed
    pair.run_until(2 * SECOND)
    assert pair.listener.accept() is not None
    pair.run_until(10 * SECOND)
    conn = pair.listener.accept()
    assert conn is not None
    assert conn.receive(now=pair.now) == b"hello"
    assert second.status().send_queue == 0  # acknowledged in the end


def test_accept_queue_never_exceeds_the_backlog() -> None:
    pair = Pair(backlog=2)
    clients = [pair.connect(40000 + i) for i in range(5)]
    pair.run_until(500 * MS)
    assert len(pair.listener.accept_queue) == 2
    assert len(pair.listener.half_open) == 3
    accepted = []
    for step in range(1, 40):
        pair.run_until(step * SECOND)
        while (conn := pair.listener.accept()) is not None:
            accepted.append(conn.conn_id.remote_port)
        assert len(pair.listener.accept_queue) <= 2
    assert sorted(accepted) == [40000 + i for i in range(5)]
    assert all(c.state is State.ESTABLISHED for c in clients)


def test_full_accept_queue_hand_built() -> None:
    """The same rule seen segment by segment on one stack."""
    host = Host(PLAIN, backlog=1)
    (first,) = host.feed(syn(40001, 100))
    host.feed(ack_of(first.seg))
    (second,) = host.feed(syn(40002, 200))
    assert host.feed(ack_of(second.seg)) == []
    assert host.drops() == ["accept-queue-full"]
    assert host.stack.state_of(host.conn_id(40002)) is State.SYN_RECEIVED
    assert host.listening.accept() is not None
    assert host.feed(ack_of(second.seg)) == []  # the client's next ACK now completes it
    conn = host.listening.accept()
    assert conn is not None and conn.conn_id == host.conn_id(40002)
