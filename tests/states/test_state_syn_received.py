"""SYN-RECEIVED: SYN seen and SYN,ACK sent, waiting for the ACK (RFC 9293 3.10.4-3.10.5,
3.10.7.4, 3.10.8). Reached both ways: passively (LISTEN, SYN) and by a simultaneous open."""

from __future__ import annotations

import pytest
from statekit import PEER_SYN_OPTIONS, Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError, RemoteError
from synfin.states import State

S = State


def passive(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_syn_received()


def active() -> Kit:
    return Kit().to_syn_received_active()


# -- ACK (fifth step) -------------------------------------------------------------------------


@proves(S.SYN_RECEIVED, S.ESTABLISHED)
def test_ack_of_syn_establishes_silently() -> None:
    kit = passive()
    kit.recv("A", seq=1, ack=1, window=5000)
    kit.expect_nothing()
    kit.assert_state(S.ESTABLISHED)
    assert kit.conn.status().snd_wnd == 5000  # SND.WND <- SEG.WND
    assert kit.conn.timers == {}


def test_ack_carrying_data_establishes_and_delivers() -> None:
    kit = passive()
    kit.recv("PA", seq=1, ack=1, payload=b"hello")
    kit.expect("A", seq=1, ack=6)
    kit.assert_state(S.ESTABLISHED)
    assert kit.receive() == b"hello"


def test_ack_carrying_fin_establishes_then_enters_close_wait() -> None:
    kit = passive()
    kit.recv("FA", seq=1, ack=1)
    kit.expect("A", seq=1, ack=2)
    assert kit.arrows()[-2:] == [(S.SYN_RECEIVED, S.ESTABLISHED),
                                 (S.ESTABLISHED, S.CLOSE_WAIT)]


@pytest.mark.parametrize("ack", [0, -5, 2, 100])
def test_unacceptable_ack_is_reset(ack: int) -> None:
    """Not SND.UNA < SEG.ACK =< SND.NXT: <SEQ=SEG.ACK><CTL=RST>, stay in SYN-RECEIVED."""
    kit = passive()
    seg = kit.segment("A", seq=1, ack=ack)
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack)
    kit.expect_nothing()
    kit.assert_state(S.SYN_RECEIVED)
    assert kit.last_drop() == drops.ACK_UNACCEPTABLE


def test_segment_without_ack_is_dropped() -> None:
    kit = passive()
    kit.recv("", seq=1, payload=b"no ack")
    kit.recv("F", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.SYN_RECEIVED)
    assert kit.drops() == [drops.NO_ACK_FLAG] * 2
    assert kit.receive() == b""


@pytest.mark.parametrize("seq", [-10, 1 + 256 * 1024, 300_000])
def test_unacceptable_sequence_number_is_acknowledged(seq: int) -> None:
    """First step: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the segment is dropped. The
    receive window is the 256 KiB buffer: RCV.NXT = 1, so it ends just before 1 + 262144."""
    kit = passive()
    kit.recv("PA", seq=seq, ack=1, payload=b"x" * 10)
    kit.expect("A", seq=1, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.SYN_RECEIVED)
    assert kit.last_drop() == drops.SEQ_UNACCEPTABLE


def test_simultaneous_open_syn_ack_establishes() -> None:
    """RFC 9293 Figure 7 line 6: in SYN-RECEIVED after a simultaneous open, the peer's
    SYN,ACK (SEQ=IRS, acknowledging our SYN) brings ESTABLISHED."""
    kit = active()
    kit.recv("SA", seq=0, ack=1, window=3000, options=PEER_SYN_OPTIONS)
    kit.assert_state(S.ESTABLISHED)
    kit.expect_nothing()  # our SYN,ACK already acknowledged theirs
    assert kit.conn.timers == {}
    assert kit.conn.status().snd_wnd == 3000
    kit.send(b"go")
    kit.expect("PA", seq=1, ack=1, payload=b"go")
    kit.expect_nothing()


def test_simultaneous_open_syn_ack_with_a_bad_ack_is_only_acknowledged() -> None:
    kit = active()
    kit.recv("SA", seq=0, ack=0)
    kit.expect("A", seq=1, ack=1)  # the first step's answer to an old segment
    kit.assert_state(S.SYN_RECEIVED)


# -- RST (second step) ------------------------------------------------------------------------


@proves(S.SYN_RECEIVED, S.LISTEN)
def test_rst_returns_a_passive_connection_to_listen() -> None:
    kit = passive()
    kit.recv("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)
    assert kit.conn.error is None
    assert kit.conn.timers == {}  # the retransmission queue is flushed: no SYN,ACK again
    kit.wait(10_000_000)
    kit.expect_nothing()
    # ... and it listens again.
    kit.recv("S", seq=500, options=PEER_SYN_OPTIONS)
    kit.peer_iss = (kit.peer_iss + 500) % 2**32
    kit.expect("SA", seq=0, ack=1)
    kit.assert_state(S.SYN_RECEIVED)


@proves(S.SYN_RECEIVED, S.LISTEN)
def test_rst_ack_returns_a_passive_connection_to_listen() -> None:
    kit = passive()
    kit.recv("RA", seq=1, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)


@proves(S.SYN_RECEIVED, S.CLOSED)
def test_rst_refuses_an_active_connection() -> None:
    kit = active()
    kit.recv("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection refused"
    with pytest.raises(RemoteError, match="connection refused"):
        kit.send(b"x")


def test_in_window_rst_not_at_rcv_nxt_gets_a_challenge_ack() -> None:
    kit = passive()
    kit.recv("R", seq=100)
    out = kit.expect("A", seq=1, ack=1)  # RFC 5961 3.2
    assert "challenge" in out.reason
    kit.assert_state(S.SYN_RECEIVED)


def test_out_of_window_rst_is_dropped_silently() -> None:
    kit = passive()
    kit.recv("R", seq=-1)
    kit.recv("R", seq=400_000)
    kit.expect_nothing()
    kit.assert_state(S.SYN_RECEIVED)
    assert kit.drops() == [drops.RST_OUT_OF_WINDOW] * 2


# -- SYN (fourth step) ------------------------------------------------------------------------


def test_retransmitted_syn_gets_the_syn_ack_again() -> None:
    """The peer's SYN again (our SYN,ACK was lost): synfin answers with the SYN,ACK at once,
    as Linux does (a documented deviation; the RFC's check would send a bare ACK)."""
    kit = passive()
    kit.recv("S", seq=0, options=PEER_SYN_OPTIONS)
    kit.expect("SA", seq=0, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.SYN_RECEIVED)


@proves(S.SYN_RECEIVED, S.LISTEN)
def test_new_syn_in_window_returns_a_passive_connection_to_listen() -> None:
    kit = passive()
    kit.recv("S", seq=1000)
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)


def test_new_syn_in_an_active_connection_gets_a_challenge_ack() -> None:
    kit = active()
    kit.recv("S", seq=1000)
    out = kit.expect("A", seq=1, ack=1)
    assert "challenge" in out.reason
    kit.assert_state(S.SYN_RECEIVED)


# -- user calls -------------------------------------------------------------------------------


def test_send_is_queued_until_established() -> None:
    kit = passive()
    assert kit.send(b"early") == 5
    kit.expect_nothing()
    kit.recv("A", seq=1, ack=1)
    kit.expect("PA", seq=1, ack=1, payload=b"early")


def test_receive_waits() -> None:
    kit = passive()
    assert kit.receive() == b""


@proves(S.SYN_RECEIVED, S.FIN_WAIT_1)
def test_close_sends_fin_and_enters_fin_wait_1() -> None:
    """3.10.4: with nothing queued, form a FIN, send it, and enter FIN-WAIT-1."""
    kit = active()
    kit.close()
    kit.assert_state(S.FIN_WAIT_1)
    kit.expect("FA", seq=1, ack=1)
    kit.expect_nothing()
    kit.recv("A", seq=1, ack=2)  # acknowledges SYN and FIN
    kit.assert_state(S.FIN_WAIT_2)


def test_fin_sent_from_syn_received_is_retransmitted_behind_the_syn_ack() -> None:
    kit = active()
    kit.close()
    kit.expect("FA", seq=1, ack=1)
    kit.fire("retransmit")
    kit.expect("SA", seq=0, ack=1)
    out = kit.expect("FA", seq=1, ack=1)
    assert out.reason == "FIN retransmission"
    kit.expect_nothing()


def test_close_with_data_queued_in_an_active_open_respects_the_window() -> None:
    kit = active()
    kit.send(bytes(300))
    kit.close()
    kit.expect_nothing()
    kit.recv("A", seq=1, ack=1, window=100)
    kit.expect("A", seq=1, ack=1, payload=bytes(100))
    kit.expect_nothing()
    assert kit.conn.status().snd_wnd == 100


def test_close_with_data_queued_sends_the_fin_after_the_data() -> None:
    kit = passive()
    kit.send(b"last words")
    kit.close()
    kit.expect_nothing()  # the data waits for ESTABLISHED, and the FIN for the data
    kit.recv("A", seq=1, ack=1)
    kit.expect("FPA", seq=1, ack=1, payload=b"last words")
    kit.recv("A", seq=1, ack=12)
    kit.assert_state(S.FIN_WAIT_2)


@proves(S.SYN_RECEIVED, S.CLOSED)
def test_abort_sends_rst_at_snd_nxt() -> None:
    kit = passive()
    kit.abort()
    kit.expect("R", seq=1)  # <SEQ=SND.NXT><CTL=RST>
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    with pytest.raises(LocalError, match="connection does not exist"):
        kit.send(b"x")


# -- timeouts ---------------------------------------------------------------------------------


def test_syn_ack_is_retransmitted_with_backoff() -> None:
    kit = passive()
    kit.fire("retransmit")
    out = kit.expect("SA", seq=0, ack=1)
    assert "retransmission" in out.reason
    assert kit.conn.timers == {"retransmit": kit.now + 2_000_000}


@proves(S.SYN_RECEIVED, S.CLOSED)
def test_gives_up_after_synack_retries() -> None:
    kit = passive(synack_retries=1)
    kit.fire("retransmit")
    kit.expect("SA", seq=0, ack=1)
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection timed out"


@proves(S.SYN_RECEIVED, S.CLOSED)
def test_user_timeout_applies_to_the_syn_ack() -> None:
    kit = passive(user_timeout_us=2_500_000)
    opened = kit.now
    kit.fire("retransmit")
    kit.expect("SA", seq=0, ack=1)
    assert kit.conn.timers == {"retransmit": opened + 2_500_000}
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection aborted due to user timeout"


def test_user_timeout_restarts_once_the_handshake_is_acknowledged() -> None:
    kit = passive(user_timeout_us=2_500_000)
    kit.now += 100_000  # an RTT sample of 100 ms: RTO 300 ms
    kit.recv("A", seq=1, ack=1)
    kit.now += 2_450_000  # 2.55 s after the SYN,ACK: the clock restarted at its ACK
    kit.send(b"fresh")
    kit.expect("PA", seq=1, ack=1, payload=b"fresh")
    assert kit.conn.timers["retransmit"] <= kit.now + 2_500_000
    kit.fire("retransmit")
    kit.expect("PA", seq=1, ack=1, payload=b"fresh")
    kit.assert_state(S.ESTABLISHED)


def test_ack_after_a_retransmitted_syn_ack_still_establishes() -> None:
    kit = passive()
    kit.fire("retransmit")
    kit.expect("SA", seq=0, ack=1)
    kit.recv("A", seq=1, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.ESTABLISHED)
    assert kit.conn.timers == {}


def test_options_negotiated_on_the_passive_side_apply_to_data() -> None:
    kit = passive(timestamps=True)
    # The peer offered no timestamps in its SYN, so none are used.
    kit.recv("A", seq=1, ack=1)
    kit.send(b"x")
    kit.expect("PA", seq=1, ack=1, payload=b"x")


# -- every kind of arriving segment (3.10.7.4), one at a time ---------------------------------

EVENTS = [
    Event("RST at RCV.NXT", "R", 1, 0, None, S.LISTEN),
    Event("RST,ACK at RCV.NXT", "RA", 1, 1, None, S.LISTEN),
    Event("RST in window", "R", 5, 0, ("A", 1, 1), S.SYN_RECEIVED),
    Event("RST out of window", "R", 0, 0, None, S.SYN_RECEIVED),
    Event("SYN again", "S", 0, 0, ("SA", 0, 1), S.SYN_RECEIVED),
    Event("new SYN in window", "S", 5, 0, None, S.LISTEN),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 1, 1), S.SYN_RECEIVED),
    Event("FIN without ACK", "F", 1, 0, None, S.SYN_RECEIVED),
    Event("FIN,ACK", "FA", 1, 1, ("A", 1, 2), S.CLOSE_WAIT),
    Event("ACK of SYN", "A", 1, 1, None, S.ESTABLISHED),
    Event("ACK too new", "A", 1, 2, ("R", 2, 0), S.SYN_RECEIVED),
    Event("ACK of nothing", "A", 1, 0, ("R", 0, 0), S.SYN_RECEIVED),
    Event("data in window", "PA", 1, 1, ("A", 1, 4), S.ESTABLISHED, b"abc"),
    Event("data out of window", "PA", -5, 1, ("A", 1, 1), S.SYN_RECEIVED, b"abc"),
    Event("data out of order", "PA", 5, 1, ("A", 1, 1), S.ESTABLISHED, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(passive())
