"""SYN cookies through the stack (RFC 4987 3.6): the SYN,ACK carries the cookie and the
listener keeps nothing; a valid ACK makes an ESTABLISHED connection with the MSS from the
cookie (and window scale / SACK when timestamps carry them); a forged or stale one gets a RST
and the drop reason ``bad-syn-cookie``; ``syn_cookies`` = "always", "on-overflow", "off"."""

from __future__ import annotations

from listenkit import (
    CLIENT,
    PLAIN,
    SECOND,
    SERVER,
    Host,
    Pair,
    ack_of,
    changes,
    segment,
    syn,
)

from synfin.config import Config
from synfin.handshake import window_shift_for
from synfin.seq import seq_add
from synfin.states import State
from synfin.syncookies import decode_ts_options
from synfin.wire import Flags, MssOption, TimestampsOption

ALWAYS = PLAIN.with_(syn_cookies="always")
PEER_ISN = 0xFFFF_FF00  # near the wrap: the cookie arithmetic must be modular


# -- the SYN,ACK carries a cookie and nothing is kept ------------------------------------------


def test_cookie_syn_ack_keeps_no_state() -> None:
    host = Host(ALWAYS)
    sent = host.feed(syn(40000, PEER_ISN, mss=1400, wscale=7, sack=True))
    (reply,) = sent
    assert reply.reason == "SYN,ACK with SYN cookie"
    assert reply.flags == Flags.SYN | Flags.ACK
    assert reply.seg.ack == seq_add(PEER_ISN, 1)
    # Without timestamps the cookie cannot carry window scale or SACK: not offered (Linux).
    assert reply.seg.options == (MssOption(1460),)
    assert host.listening.half_open == {}
    assert host.stack.state_of(host.conn_id(40000)) is None
    assert host.stack.connections == {}
    assert host.stack.next_deadline() is None  # no SYN,ACK retransmission either
    assert host.stack.counters == {"syn-cookie-sent": 1}
    assert changes(host.sink.records, SERVER) == []


def test_cookie_depends_on_the_four_tuple_and_the_peer_isn() -> None:
    host = Host(ALWAYS)
    cookies = {host.feed(syn(sport, isn))[0].seg.seq
               for sport, isn in [(40000, 1), (40001, 1), (40000, 2)]}
    assert len(cookies) == 3


# -- a valid cookie ACK makes the connection --------------------------------------------------


def test_valid_cookie_ack_makes_an_established_connection_with_the_cookie_mss() -> None:
    host = Host(ALWAYS)
    (reply,) = host.feed(syn(40000, PEER_ISN, mss=1400))
    host.at(50_000)
    assert host.feed(ack_of(reply.seg)) == []
    conn = host.listening.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    assert conn.conn_id == host.conn_id(40000)
    assert conn.tcb.smss == 1400
    assert conn.tcb.iss == reply.seg.seq
    assert conn.tcb.irs == PEER_ISN
    assert host.stack.counters == {"syn-cookie-sent": 1, "syn-cookie-accepted": 1}
    assert [(old, new, cause) for _, old, new, cause in changes(host.sink.records, SERVER)] == [
        (State.LISTEN, State.SYN_RECEIVED, "valid SYN cookie ACK (RFC 4987)"),
        (State.SYN_RECEIVED, State.ESTABLISHED, "rcv ACK of SYN / x"),
    ]


def test_cookie_mss_is_rounded_down_to_the_cookie_table() -> None:
    host = Host(ALWAYS)
    found = {}
    for sport, mss in [(40001, 1450), (40002, 1300), (40003, 1000), (40004, None)]:
        (reply,) = host.feed(syn(sport, PEER_ISN, mss=mss))
        host.feed(ack_of(reply.seg))
        conn = host.listening.accept()
        assert conn is not None and conn.state is State.ESTABLISHED
        found[mss] = conn.tcb.smss
    # 1450 -> 1440, 1300 is in the table, 1000 -> 536, no MSS option means 536 (RFC 9293 3.7.1).
    assert found == {1450: 1440, 1300: 1300, 1000: 536, None: 536}


def test_cookie_ack_with_data_delivers_it() -> None:
    host = Host(ALWAYS)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    (answer,) = host.feed(ack_of(reply.seg, flags=Flags.ACK | Flags.PSH, payload=b"hello"))
    assert answer.seg.ack == seq_add(PEER_ISN, 6)  # the data was taken and is acknowledged
    conn = host.listening.accept()
    assert conn is not None
    assert conn.receive(now=host.now) == b"hello"


def test_timestamps_carry_window_scale_and_sack_through_the_cookie() -> None:
    host = Host(ALWAYS.with_(timestamps=True, sack=True, window_scaling=True))
    (reply,) = host.feed(syn(40000, PEER_ISN, mss=1400, tsval=5000, wscale=7, sack=True))
    ts = reply.seg.timestamps
    assert ts is not None and ts.tsecr == 5000
    assert decode_ts_options(ts.tsval) == (7, True)
    assert reply.seg.wscale == window_shift_for(Config().recv_buffer)
    assert reply.seg.sack_permitted
    # The ACK comes back within the same millisecond (a LAN), and data follows at once.
    ack = segment(Flags.ACK, 40000, seq_add(PEER_ISN, 1), seq_add(reply.seg.seq, 1),
                  ts=(5030, ts.tsval), window=100)
    assert host.feed(ack) == []
    conn = host.listening.accept()
    assert conn is not None and conn.state is State.ESTABLISHED
    tcb = conn.tcb
    assert (tcb.ts_ok, tcb.ws_ok, tcb.sack_ok) == (True, True, True)
    assert tcb.snd_wscale == 7
    assert tcb.rcv_wscale == window_shift_for(Config().recv_buffer)
    assert tcb.smss == 1400 - 12  # RFC 6691: room for the timestamps option
    assert tcb.snd_wnd == 100 << 7  # the ACK's window is scaled (RFC 7323 2.3)
    assert tcb.ts_recent == 5030
    # The next segment's TSval is not older than the SYN,ACK's (the peer's PAWS).
    conn.send(b"x", host.now)
    (data,) = host.flush()
    data_ts = data.seg.timestamps
    assert data_ts is not None and data_ts.tsval >= ts.tsval


def test_timestamps_without_window_scale_give_no_window_scale() -> None:
    host = Host(ALWAYS.with_(timestamps=True, sack=True, window_scaling=True))
    (reply,) = host.feed(syn(40000, PEER_ISN, tsval=77))
    ts = reply.seg.timestamps
    assert ts is not None and decode_ts_options(ts.tsval) == (None, False)
    assert reply.seg.wscale is None and not reply.seg.sack_permitted
    host.feed(segment(Flags.ACK, 40000, seq_add(PEER_ISN, 1), seq_add(reply.seg.seq, 1),
                      ts=(78, ts.tsval)))
    conn = host.listening.accept()
    assert conn is not None
    assert (conn.tcb.ts_ok, conn.tcb.ws_ok, conn.tcb.sack_ok) == (True, False, False)


# -- forged and stale cookies -----------------------------------------------------------------


def test_forged_cookie_ack_is_reset_and_dropped() -> None:
    host = Host(ALWAYS)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    cookie = reply.seg.seq
    forged = [
        segment(Flags.ACK, 40000, seq_add(PEER_ISN, 1), seq_add(cookie, 2)),  # wrong cookie
        segment(Flags.ACK, 40000, seq_add(PEER_ISN, 2), seq_add(cookie, 1)),  # wrong peer ISN
        segment(Flags.ACK, 40001, seq_add(PEER_ISN, 1), seq_add(cookie, 1)),  # other port
        segment(Flags.ACK, 40000, 12345, 67890),                              # a blind guess
    ]
    for seg in forged:
        (rst,) = host.feed(seg)
        # <SEQ=SEG.ACK><CTL=RST> (RFC 9293 3.10.7.2, an ACK in LISTEN)
        assert (rst.flags, rst.seg.seq, rst.seg.dst_port) == (Flags.RST, seg.ack, seg.src_port)
    assert host.drops() == ["bad-syn-cookie"] * 4
    assert host.stack.connections == {}
    assert host.listening.accept() is None
    assert "syn-cookie-accepted" not in host.stack.counters


def test_forged_cookie_from_another_address_is_refused() -> None:
    host = Host(ALWAYS)
    (reply,) = host.feed(syn(40000, PEER_ISN))
    (rst,) = host.feed(ack_of(reply.seg), src="10.9.9.9")
    assert rst.flags == Flags.RST and rst.dst == "10.9.9.9"
    assert host.drops() == ["bad-syn-cookie"]


def test_cookie_is_accepted_for_two_periods_then_refused() -> None:
    host = Host(ALWAYS)
    (early,) = host.feed(syn(40000, PEER_ISN))
    (late,) = host.feed(syn(40001, PEER_ISN))
    host.now = 128 * SECOND - 1  # the 64-second counter has moved once (MAX_AGE_PERIODS = 2)
    assert host.feed(ack_of(early.seg)) == []
    assert host.listening.accept() is not None
    host.now = 128 * SECOND
    (rst,) = host.feed(ack_of(late.seg))
    assert rst.flags == Flags.RST
    assert host.drops() == ["bad-syn-cookie"]


# -- syn_cookies = "off" ----------------------------------------------------------------------


def test_cookies_off_a_full_syn_queue_drops_the_syn() -> None:
    host = Host(PLAIN.with_(syn_cookies="off", syn_backlog=2))
    for sport in (40000, 40001):
        (reply,) = host.feed(syn(sport, PEER_ISN))
        assert reply.reason == "SYN,ACK (first)"
    assert host.feed(syn(40002, PEER_ISN)) == []
    assert host.drops() == ["syn-queue-full"]
    assert len(host.listening.half_open) == 2
    assert host.stack.counters == {}


def test_cookies_off_an_ack_without_record_is_an_ack_in_listen() -> None:
    host = Host(PLAIN.with_(syn_cookies="off"))
    (rst,) = host.feed(segment(Flags.ACK, 40000, 1, 2))
    assert (rst.flags, rst.seg.seq) == (Flags.RST, 2)
    assert host.drops() == ["ack-in-listen"]


# -- two real stacks --------------------------------------------------------------------------


def _transfer(pair: Pair, size: int) -> tuple[bytes, bytes]:
    """Open a connection, send ``size`` bytes each way, and return what each side read."""
    conn = pair.connect(40000)
    server = None
    while server is None and pair.now < SECOND:
        pair.run_until(pair.now + 1_000)  # accept (and answer) within the millisecond
        server = pair.listener.accept()
    assert server is not None and server.state is State.ESTABLISHED
    up = bytes(i % 251 for i in range(size))
    down = bytes(i % 241 for i in range(size))
    got_up, got_down = bytearray(), bytearray()
    sent_up = sent_down = 0
    for _ in range(2000):
        sent_up += conn.send(up[sent_up:sent_up + conn.send_space()], pair.now)
        sent_down += server.send(down[sent_down:sent_down + server.send_space()], pair.now)
        got_up += server.receive(now=pair.now)
        got_down += conn.receive(now=pair.now)
        if len(got_up) == len(got_down) == size:
            break
        pair.run_until(pair.now + 5_000)
    return bytes(got_up), bytes(got_down)


def test_two_stacks_complete_a_cookie_handshake_with_every_option() -> None:
    pair = Pair(server=Config(syn_cookies="always"))
    size = 300_000  # more than 64 KiB in flight needs window scaling
    got_up, got_down = _transfer(pair, size)
    assert got_up == bytes(i % 251 for i in range(size))
    assert got_down == bytes(i % 241 for i in range(size))
    assert pair.server.counters == {"syn-cookie-sent": 1, "syn-cookie-accepted": 1}
    (server,) = [c for c in pair.server.connections.values()]
    (client,) = [c for c in pair.client.connections.values()]
    assert (server.tcb.ts_ok, server.tcb.ws_ok, server.tcb.sack_ok) == (True, True, True)
    assert server.tcb.snd_wscale == client.tcb.rcv_wscale > 0
    assert server.tcb.smss == client.tcb.smss == 1448
    # The cookie's TSval is never ahead of later ones: nothing fails PAWS at the client.
    assert pair.drops(CLIENT) == [] and pair.drops(SERVER) == []
    # The server's data left right after the handshake (within the 31 ms a rounded-up
    # cookie TSval could be ahead) and none of it had to be sent again.
    data = [s for s in pair.sent(SERVER) if s.seg.payload]
    syn_ack = next(s for s in pair.sent(SERVER) if s.flags == Flags.SYN | Flags.ACK)
    assert data[0].t - syn_ack.t <= 25_000
    assert {s.reason for s in data} == {"data"}


def test_two_stacks_cookie_without_timestamps_has_no_window_scale() -> None:
    pair = Pair(client=Config(timestamps=False), server=Config(syn_cookies="always"))
    size = 100_000
    got_up, got_down = _transfer(pair, size)
    assert len(got_up) == len(got_down) == size
    (server,) = pair.server.connections.values()
    (client,) = pair.client.connections.values()
    assert not server.tcb.ws_ok and not client.tcb.ws_ok
    assert not server.tcb.sack_ok and not client.tcb.sack_ok
    syn_ack = next(s for s in pair.sent(SERVER) if s.flags == Flags.SYN | Flags.ACK)
    assert syn_ack.seg.options == (MssOption(1460),)
    assert not any(isinstance(o, TimestampsOption) for o in syn_ack.seg.options)
