"""FIN-WAIT-2: our FIN is acknowledged, waiting for the peer's (RFC 9293 3.10.2-3.10.5,
3.10.7.4; the orphan timeout is Linux's tcp_fin_timeout)."""

from __future__ import annotations

import pytest
from statekit import Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError
from synfin.states import State

S = State


def fin_wait_2(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_fin_wait_2()


# -- FIN --------------------------------------------------------------------------------------


@proves(S.FIN_WAIT_2, S.TIME_WAIT)
def test_fin_enters_time_wait_and_is_acknowledged() -> None:
    kit = fin_wait_2()
    kit.recv("FA", seq=1, ack=2)
    out = kit.expect("A", seq=2, ack=2)
    assert out.reason == "ACK of FIN"
    kit.expect_nothing()
    kit.assert_state(S.TIME_WAIT)
    assert kit.conn.timers == {"time-wait": kit.now + kit.config.time_wait_us}
    assert kit.conn.at_eof


@proves(S.FIN_WAIT_2, S.TIME_WAIT)
def test_fin_with_data_delivers_then_enters_time_wait() -> None:
    kit = fin_wait_2()
    kit.recv("FPA", seq=1, ack=2, payload=b"tail")
    kit.expect("A", seq=2, ack=6)
    kit.assert_state(S.TIME_WAIT)
    assert kit.receive() == b"tail"
    with pytest.raises(LocalError, match="connection closing"):
        kit.receive()


def test_fin_beyond_a_hole_waits() -> None:
    kit = fin_wait_2()
    kit.recv("FA", seq=3, ack=2)
    kit.expect("A", seq=2, ack=1)
    kit.assert_state(S.FIN_WAIT_2)
    kit.recv("PA", seq=1, ack=2, payload=b"xy")
    kit.expect("A", seq=2, ack=4)
    kit.assert_state(S.TIME_WAIT)


def test_fin_without_ack_flag_is_dropped() -> None:
    kit = fin_wait_2()
    kit.recv("F", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_2)
    assert kit.last_drop() == drops.NO_ACK_FLAG


# -- data and ACKs ----------------------------------------------------------------------------


def test_data_is_still_received() -> None:
    kit = fin_wait_2()
    kit.recv("PA", seq=1, ack=2, payload=b"still talking")
    kit.expect("A", seq=2, ack=14)
    assert kit.receive() == b"still talking"
    kit.assert_state(S.FIN_WAIT_2)


def test_out_of_window_data_is_acknowledged() -> None:
    kit = fin_wait_2()
    kit.recv("PA", seq=400_000, ack=2, payload=b"far")
    kit.expect("A", seq=2, ack=1)
    assert kit.last_drop() == drops.SEQ_UNACCEPTABLE


def test_duplicate_ack_changes_nothing() -> None:
    kit = fin_wait_2()
    kit.recv("A", seq=1, ack=2)
    kit.recv("A", seq=1, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_2)


def test_ack_of_unsent_sequence_is_answered() -> None:
    kit = fin_wait_2()
    kit.recv("A", seq=1, ack=9)
    kit.expect("A", seq=2, ack=1)
    assert kit.last_drop() == drops.ACK_TOO_NEW


# -- RST and SYN ------------------------------------------------------------------------------


@proves(S.FIN_WAIT_2, S.CLOSED)
def test_rst_resets_the_connection() -> None:
    kit = fin_wait_2()
    kit.recv("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection reset"


def test_in_window_rst_gets_a_challenge_ack() -> None:
    kit = fin_wait_2()
    kit.recv("R", seq=2)
    kit.expect("A", seq=2, ack=1)
    kit.assert_state(S.FIN_WAIT_2)


def test_out_of_window_rst_is_dropped() -> None:
    kit = fin_wait_2()
    kit.recv("R", seq=0)
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_2)


def test_syn_gets_a_challenge_ack() -> None:
    kit = fin_wait_2()
    kit.recv("S", seq=1)
    kit.expect("A", seq=2, ack=1)
    kit.assert_state(S.FIN_WAIT_2)


# -- user calls -------------------------------------------------------------------------------


def test_send_is_connection_closing() -> None:
    kit = fin_wait_2()
    with pytest.raises(LocalError, match="connection closing"):
        kit.send(b"x")


def test_close_again_is_connection_closing_without_a_second_fin() -> None:
    kit = fin_wait_2()
    with pytest.raises(LocalError, match="connection closing"):
        kit.close()
    kit.expect_nothing()


@proves(S.FIN_WAIT_2, S.CLOSED)
def test_abort_sends_rst() -> None:
    kit = fin_wait_2()
    kit.abort()
    kit.expect("R", seq=2)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)


# -- timeouts ---------------------------------------------------------------------------------


def test_no_timer_runs_unless_orphaned() -> None:
    kit = fin_wait_2()
    assert kit.conn.next_deadline() is None
    kit.wait(3_600_000_000)
    kit.assert_state(S.FIN_WAIT_2)


@proves(S.FIN_WAIT_2, S.CLOSED)
def test_orphaned_connection_times_out_after_fin_timeout() -> None:
    kit = fin_wait_2(fin_timeout_us=5_000_000)
    kit.conn.orphan(kit.now)
    assert kit.conn.timers == {"fin-wait-2": kit.now + 5_000_000}
    kit.fire("fin-wait-2")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None
    # A late FIN now finds a CLOSED connection.
    seg = kit.segment("FA", seq=1, ack=2)
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack)


def test_fin_before_the_orphan_timeout_still_enters_time_wait() -> None:
    kit = fin_wait_2(fin_timeout_us=5_000_000)
    kit.conn.orphan(kit.now)
    kit.wait(1_000_000)
    kit.recv("FA", seq=1, ack=2)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.TIME_WAIT)
    assert kit.conn.timers == {"time-wait": kit.now + kit.config.time_wait_us}


# -- every kind of arriving segment (3.10.7.4), one at a time ---------------------------------

EVENTS = [
    Event("RST at RCV.NXT", "R", 1, 0, None, S.CLOSED),
    Event("RST,ACK at RCV.NXT", "RA", 1, 2, None, S.CLOSED),
    Event("RST in window", "R", 5, 0, ("A", 2, 1), S.FIN_WAIT_2),
    Event("RST out of window", "R", 0, 0, None, S.FIN_WAIT_2),
    Event("SYN", "S", 5, 0, ("A", 2, 1), S.FIN_WAIT_2),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 2, 1), S.FIN_WAIT_2),
    Event("FIN without ACK", "F", 1, 0, None, S.FIN_WAIT_2),
    Event("FIN,ACK", "FA", 1, 2, ("A", 2, 2), S.TIME_WAIT),
    Event("duplicate ACK", "A", 1, 2, None, S.FIN_WAIT_2),
    Event("old ACK", "A", 1, 1, None, S.FIN_WAIT_2),
    Event("ACK too new", "A", 1, 3, ("A", 2, 1), S.FIN_WAIT_2),
    Event("ACK too old", "A", 1, -70_000, ("A", 2, 1), S.FIN_WAIT_2),
    Event("data in window", "PA", 1, 2, ("A", 2, 4), S.FIN_WAIT_2, b"abc"),
    Event("data out of window", "PA", -5, 2, ("A", 2, 1), S.FIN_WAIT_2, b"abc"),
    Event("data out of order", "PA", 5, 2, ("A", 2, 1), S.FIN_WAIT_2, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(fin_wait_2())
