"""ESTABLISHED: data both ways (RFC 9293 3.10.2-3.10.5, 3.10.7.4, 3.10.8)."""

from __future__ import annotations

import pytest
from statekit import MSS, PEER_SYN_OPTIONS, Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError, RemoteError
from synfin.states import State
from synfin.wire.segment import MssOption, NopOption, TimestampsOption

S = State


def established(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_established()


# -- SEND -------------------------------------------------------------------------------------


def test_send_segmentizes_with_a_piggybacked_ack() -> None:
    kit = established()
    assert kit.send(b"hello") == 5
    out = kit.expect("PA", seq=1, ack=1, payload=b"hello")
    assert out.reason == "data"
    kit.expect_nothing()
    assert kit.conn.timers == {"retransmit": kit.now + kit.conn.status().rto_us}


def test_send_splits_into_mss_sized_segments() -> None:
    kit = established()
    kit.send(bytes(range(256)) * 12)  # 3072 bytes: 1460 + 1460 + 152, all within IW
    data = bytes(range(256)) * 12
    kit.expect("A", seq=1, ack=1, payload=data[:MSS])
    kit.expect("A", seq=1 + MSS, ack=1, payload=data[MSS:2 * MSS])
    kit.expect_nothing()  # Nagle: the 152-byte tail waits for an ACK
    kit.recv("A", seq=1, ack=1 + 2 * MSS)
    kit.expect("PA", seq=1 + 2 * MSS, ack=1, payload=data[2 * MSS:])


def test_send_respects_the_peers_window() -> None:
    kit = established()
    kit.recv("A", seq=1, ack=1, window=1000)
    kit.send(bytes(3000))
    kit.expect("A", seq=1, ack=1, payload=bytes(1000))
    kit.expect_nothing()
    kit.recv("A", seq=1, ack=1001, window=1500)
    kit.expect("A", seq=1001, ack=1, payload=bytes(1460))
    kit.expect_nothing()


def test_send_after_a_reset_reports_it() -> None:
    kit = established()
    kit.recv("R", seq=1)
    with pytest.raises(RemoteError, match="connection reset"):
        kit.send(b"x")


# -- RECEIVE and data arrival (seventh step) --------------------------------------------------


def test_in_order_data_is_delivered_and_acknowledged() -> None:
    kit = established()
    kit.recv("PA", seq=1, ack=1, payload=b"abc")
    out = kit.expect("A", seq=1, ack=4)
    assert out.reason == "ACK of data"
    kit.expect_nothing()
    assert kit.receive(2) == b"ab"
    assert kit.receive() == b"c"
    assert kit.receive() == b""


def test_ack_rides_on_outgoing_data() -> None:
    kit = established()
    kit.recv("PA", seq=1, ack=1, payload=b"ping")
    kit.send(b"pong")
    kit.expect("PA", seq=1, ack=5, payload=b"pong")
    kit.expect_nothing()


def test_out_of_order_data_is_held_and_the_gap_acknowledged() -> None:
    kit = established()
    kit.recv("PA", seq=4, ack=1, payload=b"def")
    out = kit.expect("A", seq=1, ack=1)  # duplicate ACK for the hole (RFC 5681 4.2)
    assert "out-of-order" in out.reason
    assert kit.receive() == b""
    kit.recv("A", seq=1, ack=1, payload=b"abc")
    kit.expect("A", seq=1, ack=7)
    assert kit.receive() == b"abcdef"


def test_data_straddling_rcv_nxt_keeps_only_the_new_part() -> None:
    kit = established()
    kit.recv("PA", seq=1, ack=1, payload=b"abc")
    kit.expect("A", seq=1, ack=4)
    kit.recv("PA", seq=2, ack=1, payload=b"bcdef")
    kit.expect("A", seq=1, ack=7)
    assert kit.receive() == b"abcdef"


@pytest.mark.parametrize("seq", [-5, 1 - 100, 1 + 256 * 1024, 1 + 300_000])
def test_data_outside_the_window_is_acknowledged_and_dropped(seq: int) -> None:
    kit = established()
    kit.recv("PA", seq=seq, ack=1, payload=b"xyz")
    kit.expect("A", seq=1, ack=1)
    kit.expect_nothing()
    assert kit.receive() == b""
    assert kit.last_drop() == drops.SEQ_UNACCEPTABLE


def test_duplicate_of_delivered_data_is_acknowledged_again() -> None:
    kit = established()
    kit.recv("PA", seq=1, ack=1, payload=b"abc")
    kit.expect("A", seq=1, ack=4)
    kit.recv("PA", seq=1, ack=1, payload=b"abc")
    kit.expect("A", seq=1, ack=4)
    assert kit.receive() == b"abc"


def test_full_receive_window_refuses_data_until_read() -> None:
    kit = Kit(Kit().config.with_(recv_buffer=2000))
    kit.window = 2000
    kit.to_established()
    kit.recv("A", seq=1, ack=1, payload=bytes(1460))
    kit.expect("A", seq=1, ack=1461, window=540)
    kit.recv("PA", seq=1461, ack=1, payload=bytes(540))
    kit.expect("A", seq=1, ack=2001, window=0)
    # A zero window accepts nothing that occupies sequence space ...
    kit.recv("PA", seq=2001, ack=1, payload=b"more")
    kit.expect("A", seq=1, ack=2001, window=0)
    assert kit.last_drop() == drops.SEQ_UNACCEPTABLE
    # ... and reading reopens it with a window update (RFC 9293 3.8.6.2.2).
    assert len(kit.receive()) == 2000
    out = kit.expect("A", seq=1, ack=2001, window=2000)
    assert out.reason == "window update"


def test_zero_window_still_takes_acks() -> None:
    """3.10.7.4: with RCV.WND zero, valid ACKs are still processed."""
    kit = Kit(Kit().config.with_(recv_buffer=100))
    kit.window = 100
    kit.to_established()
    kit.send(b"question")
    kit.expect("PA", seq=1, ack=1, payload=b"question")
    kit.recv("PA", seq=1, ack=1, payload=bytes(100))
    kit.expect("A", seq=9, ack=101, window=0)
    kit.recv("A", seq=101, ack=9)
    kit.expect_nothing()
    assert kit.conn.status().snd_una == (kit.iss + 9) % 2**32
    assert kit.conn.timers == {}


def test_segment_without_ack_flag_is_dropped() -> None:
    kit = established()
    kit.recv("P", seq=1, payload=b"noack")
    kit.expect_nothing()
    assert kit.receive() == b""
    assert kit.last_drop() == drops.NO_ACK_FLAG


def test_delayed_ack_waits_for_a_second_segment_or_the_timer() -> None:
    kit = established(delayed_ack_us=40_000)
    kit.recv("PA", seq=1, ack=1, payload=b"one")
    kit.expect_nothing()
    assert kit.conn.timers == {"delayed-ack": kit.now + 40_000}
    kit.recv("PA", seq=4, ack=1, payload=b"two")
    kit.expect("A", seq=1, ack=7)  # every second segment at once (RFC 9293 3.8.6.3)
    assert kit.conn.timers == {}
    kit.recv("PA", seq=7, ack=1, payload=b"three")
    kit.expect_nothing()
    kit.fire("delayed-ack")
    out = kit.expect("A", seq=1, ack=12)
    assert out.reason == "delayed ACK timer"


# -- ACK (fifth step) -------------------------------------------------------------------------


def test_acceptable_ack_frees_the_data_and_stops_the_timer() -> None:
    kit = established()
    kit.send(b"data")
    kit.expect("PA", seq=1, ack=1, payload=b"data")
    kit.recv("A", seq=1, ack=5)
    kit.expect_nothing()
    status = kit.conn.status()
    assert status.snd_una == (kit.iss + 5) % 2**32 and status.send_queue == 0
    assert kit.conn.timers == {}


def test_partial_ack_restarts_the_timer() -> None:
    kit = established()
    kit.send(bytes(2 * MSS))
    kit.expect("A", seq=1, ack=1, payload=bytes(MSS))
    kit.expect("PA", seq=1 + MSS, ack=1, payload=bytes(MSS))
    kit.now += 30_000
    kit.recv("A", seq=1, ack=1 + MSS)
    kit.expect_nothing()
    assert kit.conn.timers == {"retransmit": kit.now + kit.conn.status().rto_us}


def test_duplicate_acks_are_ignored_until_the_third_starts_fast_retransmit() -> None:
    kit = established()
    kit.send(bytes(3 * MSS))
    for n in range(3):
        kit.expect("PA" if n == 2 else "A", seq=1 + n * MSS, ack=1, payload=bytes(MSS))
    kit.recv("A", seq=1, ack=1)
    kit.recv("A", seq=1, ack=1)
    kit.expect_nothing()
    kit.recv("A", seq=1, ack=1)
    out = kit.expect("A", seq=1, ack=1, payload=bytes(MSS))  # RFC 5681 3.2
    assert out.reason == "fast retransmit (3 duplicate ACKs)"


def test_old_ack_within_max_snd_wnd_is_a_duplicate_but_its_data_counts() -> None:
    kit = established()
    kit.send(b"data")
    kit.expect("PA", seq=1, ack=1, payload=b"data")
    kit.recv("A", seq=1, ack=5)
    kit.recv("PA", seq=1, ack=3, payload=b"late")  # SEG.ACK < SND.UNA: ignore the ACK only
    kit.expect("A", seq=5, ack=5)
    assert kit.receive() == b"late"


def test_ack_of_unsent_data_is_answered_and_the_segment_dropped() -> None:
    kit = established()
    kit.send(b"ab")
    kit.expect("PA", seq=1, ack=1, payload=b"ab")
    kit.recv("PA", seq=1, ack=10, payload=b"bogus")  # SEG.ACK > SND.NXT
    out = kit.expect("A", seq=3, ack=1)
    assert "not yet sent" in out.reason
    kit.expect_nothing()
    assert kit.receive() == b""
    assert kit.last_drop() == drops.ACK_TOO_NEW
    assert kit.conn.status().snd_una == (kit.iss + 1) % 2**32


def test_ack_older_than_the_largest_window_gets_a_challenge_ack() -> None:
    """RFC 5961 5.2: SEG.ACK < SND.UNA - MAX.SND.WND is discarded with an ACK."""
    kit = established()
    kit.recv("PA", seq=1, ack=1 - 70_000, payload=b"injected")
    out = kit.expect("A", seq=1, ack=1)
    assert "challenge" in out.reason
    assert kit.receive() == b""
    assert kit.last_drop() == drops.ACK_TOO_OLD


def test_window_update_needs_a_newer_segment() -> None:
    """SND.WL1/SND.WL2 keep an old segment from shrinking the window (3.10.7.4)."""
    kit = established()
    kit.recv("PA", seq=1, ack=1, payload=b"x", window=8000)
    kit.expect("A", seq=1, ack=2)
    kit.recv("A", seq=1, ack=1, window=10)  # older SEG.SEQ: the window stays
    assert kit.conn.status().snd_wnd == 8000
    kit.recv("A", seq=2, ack=1, window=10)
    assert kit.conn.status().snd_wnd == 10


def test_old_ack_does_not_update_the_window() -> None:
    """3.10.7.4 fifth step: the window is taken only "If SND.UNA =< SEG.ACK =< SND.NXT"; an
    old ACK's window is relative to an older left edge."""
    kit = established()
    kit.send(b"0123456789")
    kit.expect("PA", seq=1, ack=1, payload=b"0123456789")
    kit.recv("PA", seq=1, ack=11, window=1000, payload=b"a")
    kit.expect("A", seq=11, ack=2)
    kit.recv("PA", seq=2, ack=5, window=60_000, payload=b"b")  # newer SEQ, older ACK
    kit.expect("A", seq=11, ack=3)
    assert kit.conn.status().snd_wnd == 1000


def test_zero_window_is_probed_by_the_persist_timer() -> None:
    kit = established()
    kit.recv("A", seq=1, ack=1, window=0)
    kit.send(b"blocked")
    kit.expect_nothing()
    assert "persist" in kit.conn.timers
    kit.fire("persist")
    out = kit.expect("A", seq=0, ack=1)  # SEQ=SND.UNA-1, as Linux (a documented choice)
    assert out.reason == "zero-window probe"
    kit.recv("A", seq=1, ack=1, window=100)
    kit.expect("PA", seq=1, ack=1, payload=b"blocked")
    assert "persist" not in kit.conn.timers


# -- RST (second step) ------------------------------------------------------------------------


@proves(S.ESTABLISHED, S.CLOSED)
def test_rst_at_rcv_nxt_resets_the_connection() -> None:
    kit = established()
    kit.send(b"pending")
    kit.expect("PA", seq=1, ack=1, payload=b"pending")
    kit.recv("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection reset"
    assert kit.conn.timers == {}
    with pytest.raises(RemoteError, match="connection reset"):
        kit.receive()
    with pytest.raises(RemoteError, match="connection reset"):
        kit.close()


@proves(S.ESTABLISHED, S.CLOSED)
def test_rst_ack_at_rcv_nxt_resets_the_connection() -> None:
    kit = established()
    kit.recv("RA", seq=1, ack=1)
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection reset"


def test_data_before_a_reset_can_still_be_read() -> None:
    kit = established()
    kit.recv("PA", seq=1, ack=1, payload=b"last")
    kit.expect("A", seq=1, ack=5)
    kit.recv("R", seq=5)
    assert kit.receive() == b"last"
    with pytest.raises(RemoteError, match="connection reset"):
        kit.receive()


@pytest.mark.parametrize("seq", [2, 1000, 256 * 1024])
def test_in_window_rst_elsewhere_gets_a_challenge_ack(seq: int) -> None:
    kit = established()
    kit.recv("R", seq=seq)
    out = kit.expect("A", seq=1, ack=1)
    assert "challenge" in out.reason
    kit.assert_state(S.ESTABLISHED)
    assert kit.last_drop() == drops.RST_IN_WINDOW_CHALLENGED


@pytest.mark.parametrize("seq", [0, -1000, 1 + 256 * 1024])
def test_out_of_window_rst_is_dropped_silently(seq: int) -> None:
    kit = established()
    kit.recv("R", seq=seq)
    kit.expect_nothing()
    kit.assert_state(S.ESTABLISHED)
    assert kit.last_drop() == drops.RST_OUT_OF_WINDOW


def test_challenge_acks_are_rate_limited() -> None:
    kit = established(challenge_ack_limit=2)
    for _ in range(3):
        kit.recv("R", seq=50)
    kit.expect("A", seq=1, ack=1)
    kit.expect("A", seq=1, ack=1)
    kit.expect_nothing()
    kit.now += 1_000_000
    kit.recv("R", seq=50)
    kit.expect("A", seq=1, ack=1)


# -- SYN (fourth step) ------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "seq"), [("S", 100), ("S", 0), ("SA", 0), ("S", 500_000)])
def test_syn_gets_a_challenge_ack_and_changes_nothing(flags: str, seq: int) -> None:
    """RFC 5961 4 (in the window) or the first step's ACK (outside it, e.g. the peer's
    retransmitted SYN,ACK): both are <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>."""
    kit = established()
    kit.recv(flags, seq=seq, ack=1, options=PEER_SYN_OPTIONS)
    kit.expect("A", seq=1, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.ESTABLISHED)


# -- FIN (eighth step) ------------------------------------------------------------------------


@proves(S.ESTABLISHED, S.CLOSE_WAIT)
def test_fin_enters_close_wait_and_is_acknowledged() -> None:
    kit = established()
    kit.recv("FA", seq=1, ack=1)
    out = kit.expect("A", seq=1, ack=2)
    assert out.reason == "ACK of FIN"
    kit.assert_state(S.CLOSE_WAIT)
    assert kit.conn.at_eof
    with pytest.raises(LocalError, match="connection closing"):
        kit.receive()


def test_fin_with_data_delivers_the_data_first() -> None:
    kit = established()
    kit.recv("FPA", seq=1, ack=1, payload=b"the end")
    kit.expect("A", seq=1, ack=9)
    kit.assert_state(S.CLOSE_WAIT)
    assert not kit.conn.at_eof
    assert kit.receive() == b"the end"
    assert kit.conn.at_eof


def test_fin_beyond_a_hole_waits_for_the_hole() -> None:
    kit = established()
    kit.recv("FA", seq=4, ack=1)
    kit.expect("A", seq=1, ack=1)
    kit.assert_state(S.ESTABLISHED)
    kit.recv("A", seq=1, ack=1, payload=b"abc")
    kit.expect("A", seq=1, ack=5)
    kit.assert_state(S.CLOSE_WAIT)
    assert kit.receive() == b"abc"


def test_fin_outside_the_window_is_only_acknowledged() -> None:
    kit = established()
    kit.recv("FA", seq=0, ack=1)  # SEG.SEQ+SEG.LEN-1 < RCV.NXT: an old duplicate
    kit.expect("A", seq=1, ack=1)
    kit.assert_state(S.ESTABLISHED)


# -- CLOSE and ABORT --------------------------------------------------------------------------


@proves(S.ESTABLISHED, S.FIN_WAIT_1)
def test_close_sends_fin() -> None:
    kit = established()
    kit.close()
    kit.assert_state(S.FIN_WAIT_1)
    out = kit.expect("FA", seq=1, ack=1)
    assert out.reason == "FIN (CLOSE)"
    kit.expect_nothing()


@proves(S.ESTABLISHED, S.FIN_WAIT_1)
def test_close_after_data_puts_the_fin_on_the_last_segment() -> None:
    kit = established()
    kit.send(b"bye")
    kit.close()
    kit.expect("FPA", seq=1, ack=1, payload=b"bye")
    kit.expect_nothing()
    kit.recv("A", seq=1, ack=5)
    kit.assert_state(S.FIN_WAIT_2)


@proves(S.ESTABLISHED, S.CLOSED)
def test_abort_sends_rst_at_snd_nxt_and_flushes() -> None:
    kit = established()
    kit.send(b"never")
    kit.expect("PA", seq=1, ack=1, payload=b"never")
    kit.send(b"queued")
    kit.abort()
    kit.expect("R", seq=6)  # <SEQ=SND.NXT><CTL=RST>, nothing else
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None
    with pytest.raises(LocalError, match="connection does not exist"):
        kit.send(b"x")


def test_abort_after_a_timeout_sends_rst_at_the_highest_sequence_sent() -> None:
    """RFC 9293 3.10.5 <SEQ=SND.NXT><CTL=RST>: the RFC's SND.NXT never moves back. After
    go-back-N the peer may hold everything up to SND.MAX (only its ACKs were lost), so a RST
    at the rewound SND.NXT would fall before its RCV.NXT and be dropped as out of window."""
    kit = established()
    kit.send(bytes(2 * MSS))
    kit.expect("A", seq=1, ack=1, payload=bytes(MSS))
    kit.expect("PA", seq=1 + MSS, ack=1, payload=bytes(MSS))
    kit.fire("retransmit")
    kit.expect("A", seq=1, ack=1, payload=bytes(MSS))
    kit.abort()
    kit.expect("R", seq=1 + 2 * MSS)
    kit.expect_nothing()


# -- timeouts ---------------------------------------------------------------------------------


def test_retransmission_timeout_resends_the_first_segment() -> None:
    kit = established()
    kit.send(b"lost")
    kit.expect("PA", seq=1, ack=1, payload=b"lost")
    rto = kit.conn.status().rto_us
    kit.fire("retransmit")
    out = kit.expect("PA", seq=1, ack=1, payload=b"lost")
    assert "retransmission" in out.reason
    kit.expect_nothing()
    assert kit.conn.timers == {"retransmit": kit.now + 2 * rto}  # RFC 6298 5.5
    kit.recv("A", seq=1, ack=5)
    assert kit.conn.timers == {}


def test_go_back_n_after_a_timeout() -> None:
    """After an RTO SND.NXT goes back to SND.UNA and everything unacknowledged is sent
    again as the window allows (synfin's documented go-back-N)."""
    kit = established()
    kit.send(bytes(2 * MSS))
    kit.expect("A", seq=1, ack=1, payload=bytes(MSS))
    kit.expect("PA", seq=1 + MSS, ack=1, payload=bytes(MSS))
    kit.fire("retransmit")
    kit.expect("A", seq=1, ack=1, payload=bytes(MSS))
    kit.expect_nothing()  # cwnd is one segment after the timeout (RFC 5681 3.1)
    kit.recv("A", seq=1, ack=1 + MSS)
    kit.expect("PA", seq=1 + MSS, ack=1, payload=bytes(MSS))


@proves(S.ESTABLISHED, S.CLOSED)
def test_gives_up_after_data_retries() -> None:
    kit = established(data_retries=2)
    kit.send(b"void")
    kit.expect("PA", seq=1, ack=1, payload=b"void")
    kit.fire("retransmit")
    kit.expect("PA", seq=1, ack=1, payload=b"void")
    kit.fire("retransmit")
    kit.expect("PA", seq=1, ack=1, payload=b"void")
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection timed out"
    with pytest.raises(RemoteError, match="connection timed out"):
        kit.send(b"x")


def test_user_timeout_aborts() -> None:
    """3.10.8 USER TIMEOUT: "connection aborted due to user timeout"."""
    kit = established(user_timeout_us=1_500_000)
    kit.send(b"slow")
    kit.expect("PA", seq=1, ack=1, payload=b"slow")
    while kit.state is S.ESTABLISHED:
        kit.fire("retransmit")
        kit.sent_all()
    assert kit.error_text() == "connection aborted due to user timeout"


def test_an_ack_resets_the_retry_count() -> None:
    kit = established(data_retries=1)
    kit.send(b"one")
    kit.expect("PA", seq=1, ack=1, payload=b"one")
    kit.fire("retransmit")
    kit.expect("PA", seq=1, ack=1, payload=b"one")
    kit.recv("A", seq=1, ack=4)
    kit.send(b"two")
    kit.expect("PA", seq=4, ack=1, payload=b"two")
    kit.fire("retransmit")
    kit.expect("PA", seq=4, ack=1, payload=b"two")
    kit.assert_state(S.ESTABLISHED)


# -- with options on --------------------------------------------------------------------------


def test_timestamps_ride_on_every_segment_and_paws_drops_old_ones() -> None:
    kit = Kit(Kit().config.with_(timestamps=True))
    kit.open_active()
    syn = kit.conn.poll_transmit(kit.now)[0]
    assert syn.timestamps is not None
    kit.recv("SA", seq=0, ack=1,
             options=(MssOption(MSS), TimestampsOption(1000, syn.timestamps.tsval)))
    ack = kit.conn.poll_transmit(kit.now)[0]
    ts = ack.timestamps
    assert ts is not None and ts.tsecr == 1000
    assert ack.options == (NopOption(), NopOption(), TimestampsOption(ts.tsval, 1000))
    kit.recv("PA", seq=1, ack=1, payload=b"new", options=(TimestampsOption(1005, ts.tsval),))
    assert kit.conn.poll_transmit(kit.now)[0].ack == (kit.peer_iss + 4) % 2**32
    # RFC 7323 5.3: a TSval older than TS.Recent marks an old duplicate: ACK and drop.
    kit.recv("PA", seq=4, ack=1, payload=b"old", options=(TimestampsOption(900, ts.tsval),))
    stale = kit.conn.poll_transmit(kit.now)
    assert [seg.ack for seg in stale] == [(kit.peer_iss + 4) % 2**32]
    assert kit.last_drop() == drops.PAWS
    assert kit.receive() == b"new"


def test_passive_handshake_reaches_the_same_state() -> None:
    kit = Kit().to_established_passive()
    kit.recv("PA", seq=1, ack=1, payload=b"req")
    kit.send(b"resp")
    kit.expect("PA", seq=1, ack=4, payload=b"resp")


# -- every kind of arriving segment (3.10.7.4), one at a time ---------------------------------

EVENTS = [
    Event("RST at RCV.NXT", "R", 1, 0, None, S.CLOSED),
    Event("RST,ACK at RCV.NXT", "RA", 1, 1, None, S.CLOSED),
    Event("RST in window", "R", 5, 0, ("A", 1, 1), S.ESTABLISHED),
    Event("RST out of window", "R", 0, 0, None, S.ESTABLISHED),
    Event("SYN", "S", 5, 0, ("A", 1, 1), S.ESTABLISHED),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 1, 1), S.ESTABLISHED),
    Event("FIN without ACK", "F", 1, 0, None, S.ESTABLISHED),
    Event("FIN,ACK", "FA", 1, 1, ("A", 1, 2), S.CLOSE_WAIT),
    Event("duplicate ACK", "A", 1, 1, None, S.ESTABLISHED),
    Event("ACK too new", "A", 1, 5, ("A", 1, 1), S.ESTABLISHED),
    Event("ACK too old", "A", 1, -70_000, ("A", 1, 1), S.ESTABLISHED),
    Event("data in window", "PA", 1, 1, ("A", 1, 4), S.ESTABLISHED, b"abc"),
    Event("data out of window", "PA", -5, 1, ("A", 1, 1), S.ESTABLISHED, b"abc"),
    Event("data out of order", "PA", 5, 1, ("A", 1, 1), S.ESTABLISHED, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(established())
