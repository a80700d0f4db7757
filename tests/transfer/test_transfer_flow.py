"""Flow control and segment sizing: zero windows and the persist timer, window scaling, MSS,
Nagle, delayed ACKs (RFC 9293 3.7.1, 3.8.6; RFC 7323 2; RFC 1122 4.2.3.2 and 4.2.3.4)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from pairkit import CLIENT_IP, MB, SERVER_IP, Pair, Plan, pattern, sha256

from synfin.config import Config
from synfin.seq import seq_diff
from synfin.states import State
from synfin.trace.records import SegmentSent
from synfin.wire.flags import Flags

RTT = 20_000
SMALL_BUFFER = Config().with_(recv_buffer=64 * 1024, window_scaling=False)


def _data(pair: Pair, host: str) -> list[SegmentSent]:
    return pair.sent(host, lambda r: bool(r.packet.segment.payload))


def _pure_acks(pair: Pair, host: str) -> list[SegmentSent]:
    return pair.sent(host, lambda r: not r.packet.segment.payload
                     and r.packet.segment.flags == Flags.ACK)


def test_zero_window_persist_probes_with_backoff_then_resume() -> None:
    """A server that does not read fills its 64 KiB window; the client stops sending, probes
    the zero window with a doubling interval, and resumes once the app reads."""
    pair = Pair(seed=31, server_config=SMALL_BUFFER)
    data = pattern(300_000, 1)
    read_at = 20_000_000
    pair.start(Plan(data, close_after_send=True), Plan(read=False, close_on_eof=True))
    pair.net.at(read_at, lambda: pair.server_app.start_reading(pair.net.now))
    pair.net.run_until(read_at - 1)
    # Stalled: exactly a window's worth delivered, unread; nothing in flight.
    assert pair.server_conn.status().recv_queue == 64 * 1024
    assert pair.server_conn.status().rcv_wnd == 0
    client = pair.client_conn.status()
    assert client.snd_wnd == 0 and client.snd_una == client.snd_nxt
    assert client.send_queue > 0

    pair.run(pair.both_closed)
    assert sha256(pair.server_app.received) == sha256(data)
    probes = pair.sent(CLIENT_IP, lambda r: r.reason == "zero-window probe")
    times = [r.t for r in probes]
    assert len(times) >= 5
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == [min(400_000 << i, 60_000_000) for i in range(len(gaps))]
    assert all(t < read_at for t in times)
    # A probe carries no data and sits just below SND.UNA; each one is answered with an ACK
    # still announcing the zero window.
    assert all(not r.packet.segment.payload for r in probes)
    zero_acks = [r for r in pair.sent(SERVER_IP) if r.t in set(t + 10_000 for t in times)]
    assert len(zero_acks) == len(times) and all(r.packet.segment.window == 0 for r in zero_acks)
    # The first probe comes max(RTO, persist_min) = 200 ms after the zero window was seen,
    # and no data leaves while the window is zero.
    zero_seen = min(r.t for r in pair.received(CLIENT_IP) if r.packet.segment.window == 0)
    assert times[0] == zero_seen + 200_000
    assert not [r for r in _data(pair, CLIENT_IP) if zero_seen <= r.t < read_at]
    # Reading reopens the window: a window update goes out at once, data follows one
    # link delay later.
    [update] = pair.sent(SERVER_IP, lambda r: r.t == read_at)
    assert update.reason == "window update" and update.packet.segment.window > 0
    resumed = min(r.t for r in _data(pair, CLIENT_IP) if r.t > read_at)
    assert resumed == read_at + 10_000


def test_lost_window_update_is_recovered_by_the_next_probe() -> None:
    pair = Pair(seed=32, server_config=SMALL_BUFFER)
    data = pattern(200_000, 2)
    read_at = 2_000_000
    pair.start(Plan(data, close_after_send=True), Plan(read=False, close_on_eof=True))
    lost = pair.net.drop(lambda p, sender: sender == SERVER_IP and p.segment.window > 0
                         and pair.net.now >= read_at)
    pair.net.at(read_at, lambda: pair.server_app.start_reading(pair.net.now))
    pair.run(pair.both_closed)
    assert sha256(pair.server_app.received) == sha256(data)
    assert lost.fired_at == read_at
    probes_after = pair.sent(CLIENT_IP, lambda r: r.reason == "zero-window probe"
                             and r.t > read_at)
    assert len(probes_after) == 1
    resumed = min(r.t for r in _data(pair, CLIENT_IP) if r.t > read_at)
    assert resumed == probes_after[0].t + RTT


def _max_in_flight(pair: Pair) -> list[int]:
    seen = [0]

    def sample() -> None:
        conn = pair.client_app.conn
        if conn is not None:
            seen[0] = max(seen[0], conn.flight_size())
    pair.net.on_step(sample)
    return seen


def test_window_scaling_lets_more_than_64k_fly() -> None:
    big = Config().with_(recv_buffer=MB, send_buffer=MB)
    pair = Pair(seed=33, client_config=big)
    flight = _max_in_flight(pair)
    data = pattern(4 * MB, 3)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert sha256(pair.server_app.received) == sha256(data)
    syn, synack = pair.sent(CLIENT_IP)[0].packet.segment, pair.sent(SERVER_IP)[0].packet.segment
    assert syn.wscale == synack.wscale == 5  # 1 MiB needs 65535 << 5
    tcb = pair.client_conn.tcb
    assert tcb.ws_ok and tcb.snd_wscale == 5 and tcb.rcv_wscale == 5
    assert flight[0] > 65_535
    assert flight[0] <= MB
    # Window fields on the wire are scaled: none of them could express 1 MiB unscaled.
    assert max(r.packet.segment.window for r in pair.sent(SERVER_IP)[1:]) == MB >> 5


def test_without_window_scaling_flight_stays_below_64k() -> None:
    no_ws = Config().with_(recv_buffer=MB, send_buffer=MB, window_scaling=False)
    pair = Pair(seed=34, client_config=no_ws)
    flight = _max_in_flight(pair)
    data = pattern(MB, 4)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert pair.server_app.received == data
    assert pair.sent(CLIENT_IP)[0].packet.segment.wscale is None
    assert 60_000 < flight[0] <= 65_535


def test_segments_never_exceed_the_smaller_mss() -> None:
    pair = Pair(seed=35, server_config=Config().with_(mss=536))
    up, down = pattern(200_000, 5), pattern(200_000, 6)
    pair.start(Plan(up, close_after_send=True),
               Plan(down, close_after_send=True, close_on_eof=True))
    pair.run(pair.both_closed)
    assert pair.server_app.received == up and pair.client_app.received == down
    assert pair.sent(CLIENT_IP)[0].packet.segment.mss == 1460
    assert pair.sent(SERVER_IP)[0].packet.segment.mss == 536
    for host in (CLIENT_IP, SERVER_IP):
        sizes = [len(r.packet.segment.payload) for r in _data(pair, host)]
        # 536 minus the 12 bytes of the timestamps option (RFC 6691), and used in full.
        assert max(sizes) == 524
        assert sizes.count(524) > 300
    assert pair.client_conn.status().smss == pair.server_conn.status().smss == 524


def _writes(pair: Pair, start: int, sizes: list[int], every: int) -> None:
    """The client app writes chunks of ``sizes`` bytes, one every ``every`` µs."""
    def writer(chunk: bytes) -> Callable[[], object]:
        return lambda: pair.client_conn.send(chunk, pair.net.now)

    for i, size in enumerate(sizes):
        pair.net.at(start + i * every, writer(bytes([i % 251]) * size))


def _acked_before(pair: Pair, t: int) -> int:
    """The highest ACK the client had received by ``t`` (as an offset from ISS)."""
    iss = pair.client_conn.tcb.iss
    acks = [seq_diff(r.packet.segment.ack, iss) for r in pair.received(CLIENT_IP)
            if r.t <= t and r.packet.segment.flags & Flags.ACK]
    return max(acks, default=0)


def _small_write_run(nagle: bool) -> Pair:
    pair = Pair(seed=36, client_config=Config().with_(nagle=nagle))
    pair.start(Plan(), Plan())
    pair.run(lambda: pair.server_app.state is State.ESTABLISHED)
    start = pair.net.now + 1_000
    _writes(pair, start, [100] * 40, every=2_000)
    pair.run(lambda: len(pair.server_app.received) == 4_000)
    return pair


def test_nagle_holds_small_segments_while_data_is_in_flight() -> None:
    pair = _small_write_run(nagle=True)
    data = _data(pair, CLIENT_IP)
    iss = pair.client_conn.tcb.iss
    for rec in data:
        seg = rec.packet.segment
        # Each small segment leaves only once everything before it was acknowledged.
        assert seq_diff(seg.seq, iss) == _acked_before(pair, rec.t) or rec is data[0]
    assert len(data) <= 6  # 80 ms of writes, one segment per 20 ms round trip
    assert max(len(r.packet.segment.payload) for r in data) >= 900  # coalesced


def test_nodelay_sends_every_small_write_at_once() -> None:
    pair = _small_write_run(nagle=False)
    data = _data(pair, CLIENT_IP)
    assert len(data) == 40
    assert all(len(r.packet.segment.payload) == 100 for r in data)
    start = data[0].t
    assert [r.t - start for r in data] == [2_000 * i for i in range(40)]


def test_nagle_never_holds_full_sized_segments() -> None:
    """A small segment is in flight; a write of 3 MSS + 100 bytes sends the three full
    segments at once and holds only the 100-byte tail until the ACK (RFC 1122 4.2.3.4)."""
    pair = Pair(seed=37)
    warm_up = pattern(50_000, 9)  # grow cwnd past the initial window first
    pair.start(Plan(warm_up), Plan())
    pair.run(lambda: pair.server_app.state is not None and pair.quiet())
    smss = pair.client_conn.status().smss
    assert pair.client_conn.status().cwnd > 10 * smss
    t0 = pair.net.now + 1_000
    _writes(pair, t0, [100, 3 * smss + 100], every=1_000)
    pair.run(lambda: len(pair.server_app.received) == len(warm_up) + 100 + 3 * smss + 100)
    data = [(r.t - t0, len(r.packet.segment.payload)) for r in _data(pair, CLIENT_IP)
            if r.t >= t0]
    # The tail waits until all outstanding data is acknowledged: the ACK of the full
    # segments, one round trip after they left (RFC 1122 4.2.3.4).
    assert data == [(0, 100), (1_000, smss), (1_000, smss), (1_000, smss), (1_000 + RTT, 100)]


def test_delayed_ack_every_second_full_segment() -> None:
    server = Config().with_(delayed_ack_us=40_000)
    pair = Pair(seed=38, server_config=server)
    smss_data = pattern(1448 * 100, 7)
    pair.start(Plan(smss_data), Plan())
    pair.run(lambda: pair.server_app.state is not None and pair.quiet())
    assert pair.server_app.received == smss_data
    acks = [r for r in _pure_acks(pair, SERVER_IP) if r.reason == "ACK of data"]
    iss = pair.client_conn.tcb.iss
    steps = [seq_diff(b.packet.segment.ack, a.packet.segment.ack)
             for a, b in itertools.pairwise(acks)]
    # Every in-order ACK covers exactly two full segments (100 segments: 50 ACKs).
    assert steps and all(step == 2 * 1448 for step in steps)
    assert len(acks) == 50
    assert seq_diff(acks[-1].packet.segment.ack, iss) == 1 + 100 * 1448
    assert not pair.sent(SERVER_IP, lambda r: r.reason == "delayed ACK timer")


def test_delayed_ack_of_a_single_segment_waits_for_the_timer() -> None:
    server = Config().with_(delayed_ack_us=40_000)
    pair = Pair(seed=39, server_config=server)
    pair.start(Plan(), Plan())
    pair.run(lambda: pair.server_app.state is State.ESTABLISHED)
    t0 = pair.net.now + 1_000
    _writes(pair, t0, [300], every=1)
    pair.run(lambda: pair.net.now > t0 and pair.client_conn.status().send_queue == 0)
    arrivals = [r for r in pair.received(SERVER_IP) if r.packet.segment.payload]
    [arrival] = arrivals
    [ack] = [r for r in pair.sent(SERVER_IP) if r.t > arrival.t - 1]
    assert ack.t == arrival.t + 40_000
    assert ack.reason == "delayed ACK timer"
    assert pair.net.now == ack.t + 10_000  # the client's send queue emptied on its arrival


def test_no_data_is_lost_when_the_receiver_reads_slowly() -> None:
    """A reader that takes 2 KB every 5 ms throttles a 300 KB transfer via the window."""
    pair = Pair(seed=40, server_config=SMALL_BUFFER)
    data = pattern(300_000, 8)
    pair.start(Plan(data, close_after_send=True), Plan(read=False))
    got = bytearray()

    def drip() -> None:
        conn = pair.server_app.conn
        if conn is not None and conn.state is not State.CLOSED:
            if conn.readable():
                got.extend(conn.receive(2_000, now=pair.net.now))
            elif conn.at_eof and conn.state is State.CLOSE_WAIT:
                conn.close(pair.net.now)
                return
        pair.net.after(5_000, drip)

    pair.net.at(0, drip)
    pair.run(pair.both_closed)
    assert sha256(got) == sha256(data)
    windows = [r.packet.segment.window for r in pair.sent(SERVER_IP)]
    assert min(windows) < 64 * 1024 // 4  # the window really closed down
    assert pair.net.now > 300_000 // 2_000 * 5_000  # paced by the reader
