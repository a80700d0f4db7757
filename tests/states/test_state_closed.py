"""CLOSED: the state before OPEN and after the end (RFC 9293 3.10.1-3.10.5, 3.10.7.1)."""

from __future__ import annotations

import pytest
from statekit import (
    LOCAL_IP,
    LOCAL_PORT,
    MSS,
    PEER_SYN_OPTIONS,
    REMOTE_IP,
    REMOTE_PORT,
    Kit,
    proves,
)

from synfin import drops
from synfin.errors import LocalError
from synfin.isn import IsnGenerator
from synfin.seq import seq_add
from synfin.states import State
from synfin.wire.segment import (
    MssOption,
    NopOption,
    SackPermittedOption,
    TimestampsOption,
    WindowScaleOption,
)

S = State


# -- OPEN -------------------------------------------------------------------------------------


@proves(S.CLOSED, S.LISTEN)
def test_passive_open_enters_listen_and_sends_nothing() -> None:
    kit = Kit()
    kit.open_passive()
    kit.assert_state(S.LISTEN)
    assert kit.arrows() == [(S.CLOSED, S.LISTEN)]
    kit.expect_nothing()
    assert kit.conn.next_deadline() is None


@proves(S.CLOSED, S.SYN_SENT)
def test_active_open_sends_syn_from_rfc6528_iss() -> None:
    kit = Kit()
    kit.open_active()
    kit.assert_state(S.SYN_SENT)
    out = kit.expect("S", seq=0)
    assert "SYN" in out.reason
    # RFC 9293 3.4.1 / RFC 6528: ISS = M + F(4-tuple, secret), M ticking every 4 us.
    assert kit.iss == IsnGenerator(b"statekit").isn(LOCAL_IP, LOCAL_PORT, REMOTE_IP,
                                                     REMOTE_PORT, kit.now)
    status = kit.conn.status()
    assert (status.snd_una, status.snd_nxt) == (kit.iss, seq_add(kit.iss, 1))
    # The retransmission timer runs with the initial RTO (RFC 6298 2.1: 1 s).
    assert kit.conn.timers == {"retransmit": kit.now + 1_000_000}


def test_active_open_at_a_later_time_picks_a_later_iss() -> None:
    early, late = Kit(start=0), Kit(start=4_000)
    early.to_syn_sent()
    late.to_syn_sent()
    assert late.iss == seq_add(early.iss, 1000)  # 4000 us / 4 us per tick


def test_active_open_with_options_offers_mss_sack_timestamps_and_window_scale() -> None:
    kit = Kit(Kit().config.with_(timestamps=True, sack=True, window_scaling=True))
    kit.open_active()
    seg = kit.conn.poll_transmit(kit.now)[0]
    ts = seg.timestamps
    assert ts is not None and ts.tsecr == 0
    # Linux's order; 256 KiB needs a shift of 3 (65535 << 3 >= 262144).
    assert seg.options == (MssOption(MSS), SackPermittedOption(), TimestampsOption(ts.tsval, 0),
                           NopOption(), WindowScaleOption(3))
    assert seg.window == 65535  # never scaled in a SYN (RFC 7323 2.2)


def test_opening_twice_is_connection_already_exists() -> None:
    kit = Kit().to_syn_sent()
    with pytest.raises(LocalError, match="connection already exists"):
        kit.open_active()
    with pytest.raises(LocalError, match="connection already exists"):
        kit.open_passive()
    kit.expect_nothing()


# -- SEND, RECEIVE, CLOSE, ABORT -------------------------------------------------------------


@pytest.mark.parametrize("call", ["send", "receive", "close", "abort"])
def test_user_calls_on_a_new_tcb_are_connection_does_not_exist(call: str) -> None:
    kit = Kit()
    with pytest.raises(LocalError) as info:
        if call == "send":
            kit.send(b"x")
        elif call == "receive":
            kit.receive()
        elif call == "close":
            kit.close()
        else:
            kit.abort()
    assert info.value.text == "connection does not exist"
    kit.assert_state(S.CLOSED)
    kit.expect_nothing()


# -- SEGMENT ARRIVES (3.10.7.1) ---------------------------------------------------------------


def test_rst_is_discarded_without_answer() -> None:
    kit = Kit()
    kit.recv("R", seq=5)
    kit.recv("RA", seq=5, ack=9)
    kit.expect_nothing()
    assert kit.drops() == [drops.CLOSED_CONNECTION] * 2
    kit.assert_state(S.CLOSED)


def test_ack_is_answered_with_rst_at_seg_ack() -> None:
    kit = Kit()
    seg = kit.segment("A", seq=1, ack=77, payload=b"data")
    kit.deliver(seg)
    out = kit.expect_rst(seq_abs=seg.ack)  # <SEQ=SEG.ACK><CTL=RST>
    assert "CLOSED" in out.reason
    kit.expect_nothing()


@pytest.mark.parametrize(("flags", "payload", "seg_len"),
                         [("S", b"", 1), ("", b"abc", 3), ("SF", b"ab", 4), ("F", b"", 1)])
def test_segment_without_ack_is_answered_with_rst_ack_covering_it(
        flags: str, payload: bytes, seg_len: int) -> None:
    kit = Kit()
    seg = kit.segment(flags, seq=10, payload=payload)
    kit.deliver(seg)
    # <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
    kit.expect_rst(seq_abs=0, ack_abs=seq_add(seg.seq, seg_len))
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)


def test_reset_goes_back_to_the_sender_port() -> None:
    kit = Kit()
    seg = kit.segment("A", seq=1, ack=3, src_port=5555)
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack, dst_port=5555)


def test_segments_after_the_end_of_a_connection_are_reset() -> None:
    """A connection that ended (ABORT here) is CLOSED again: the peer's late segments get
    the CLOSED answers, and the TCB holds no timers."""
    kit = Kit().to_established()
    kit.abort()
    kit.expect("R", seq=1)
    kit.assert_state(S.CLOSED)
    assert kit.conn.next_deadline() is None
    seg = kit.segment("PA", seq=1, ack=1, payload=b"late")
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack)
    kit.expect_nothing()


@proves(S.CLOSED, S.SYN_SENT)
def test_opening_again_after_an_orderly_close_starts_a_new_tcb() -> None:
    """3.10.1 OPEN in CLOSED creates a new TCB: the old FINs do not make the new connection
    "closing", and its sequence numbers start from a new ISS."""
    kit = Kit().to_last_ack()
    kit.recv("A", seq=2, ack=2)
    kit.assert_state(S.CLOSED)
    old_iss = kit.iss
    kit.now += 10_000_000
    kit.open_active()
    kit.expect("S", seq=0)
    assert kit.iss == seq_add(old_iss, 10_000_000 // 4)
    kit.recv("SA", seq=0, ack=1, options=PEER_SYN_OPTIONS)
    kit.expect("A", seq=1, ack=1)
    assert kit.send(b"new") == 3
    kit.expect("PA", seq=1, ack=1, payload=b"new")
    assert kit.receive() == b""
    assert not kit.conn.at_eof


def test_data_queued_before_an_abort_is_not_sent_on_the_next_connection() -> None:
    kit = Kit().to_established()
    kit.recv("A", seq=1, ack=1, window=0)
    kit.send(b"stale")
    kit.abort()
    kit.expect("R", seq=1)
    kit.conn.nagle = False
    kit.now += 1_000_000
    kit.open_passive()
    kit.recv("S", seq=0, options=PEER_SYN_OPTIONS)
    kit.expect("SA", seq=0, ack=1)
    kit.recv("A", seq=1, ack=1)
    kit.expect_nothing()
    assert kit.conn.status().send_queue == 0
    assert kit.conn.nagle is False  # a user setting, kept


def test_no_timers_run_in_closed() -> None:
    kit = Kit().to_syn_sent()
    kit.close()
    kit.assert_state(S.CLOSED)
    assert kit.conn.timers == {}
    kit.wait(10_000_000)
    kit.expect_nothing()
