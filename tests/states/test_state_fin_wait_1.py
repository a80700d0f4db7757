"""FIN-WAIT-1: our FIN is out and not yet acknowledged (RFC 9293 3.10.2-3.10.5, 3.10.7.4,
3.10.8). The peer may still send data."""

from __future__ import annotations

import pytest
from statekit import MSS, Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError, RemoteError
from synfin.states import State

S = State


def fin_wait_1(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_fin_wait_1()


# -- ACK --------------------------------------------------------------------------------------


@proves(S.FIN_WAIT_1, S.FIN_WAIT_2)
def test_ack_of_fin_enters_fin_wait_2() -> None:
    kit = fin_wait_1()
    kit.recv("A", seq=1, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_2)
    assert kit.conn.timers == {}  # not orphaned: FIN-WAIT-2 may last forever


@proves(S.FIN_WAIT_1, S.FIN_WAIT_2)
def test_ack_of_data_and_fin_together() -> None:
    kit = Kit().to_established()
    kit.send(bytes(MSS + 10))
    kit.close()
    kit.expect("A", seq=1, ack=1, payload=bytes(MSS))
    kit.expect_nothing()  # Nagle holds the 10-byte tail (and the FIN behind it)
    kit.recv("A", seq=1, ack=1 + MSS)
    kit.expect("FPA", seq=1 + MSS, ack=1, payload=bytes(10))
    kit.assert_state(S.FIN_WAIT_1)
    kit.recv("A", seq=1, ack=MSS + 12)
    kit.assert_state(S.FIN_WAIT_2)


def test_ack_short_of_the_fin_keeps_fin_wait_1() -> None:
    kit = Kit().to_established()
    kit.send(b"data")
    kit.close()
    kit.expect("FPA", seq=1, ack=1, payload=b"data")
    kit.recv("A", seq=1, ack=5)  # the data, not the FIN
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_1)
    assert "retransmit" in kit.conn.timers


def test_duplicate_ack_keeps_fin_wait_1() -> None:
    kit = fin_wait_1()
    kit.recv("A", seq=1, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_1)


def test_ack_of_unsent_sequence_is_answered() -> None:
    kit = fin_wait_1()
    kit.recv("A", seq=1, ack=3)  # beyond our FIN
    kit.expect("A", seq=2, ack=1)
    kit.assert_state(S.FIN_WAIT_1)
    assert kit.last_drop() == drops.ACK_TOO_NEW


def test_orphaned_connection_arms_the_fin_wait_2_timer_on_entry() -> None:
    kit = fin_wait_1()
    kit.conn.orphan(kit.now)
    kit.recv("A", seq=1, ack=2)
    assert kit.conn.timers == {"fin-wait-2": kit.now + 60_000_000}


# -- FIN --------------------------------------------------------------------------------------


@proves(S.FIN_WAIT_1, S.CLOSING)
def test_fin_not_acknowledging_ours_enters_closing() -> None:
    kit = fin_wait_1()
    kit.recv("FA", seq=1, ack=1)
    kit.expect("A", seq=2, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.CLOSING)


@proves(S.FIN_WAIT_1, S.TIME_WAIT)
def test_fin_acknowledging_ours_enters_time_wait_directly() -> None:
    """Eighth step: "If our FIN has been ACKed (perhaps in this segment), then enter
    TIME-WAIT, start the time-wait timer, turn off the other timers"."""
    kit = fin_wait_1()
    kit.recv("FA", seq=1, ack=2)
    kit.expect("A", seq=2, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.TIME_WAIT)
    assert kit.arrows()[-1] == (S.FIN_WAIT_1, S.TIME_WAIT)
    assert kit.conn.timers == {"time-wait": kit.now + kit.config.time_wait_us}


def test_fin_with_data_acknowledging_ours_enters_time_wait() -> None:
    kit = fin_wait_1()
    kit.recv("FPA", seq=1, ack=2, payload=b"bye too")
    kit.expect("A", seq=2, ack=9)
    kit.assert_state(S.TIME_WAIT)
    assert kit.receive() == b"bye too"


def test_out_of_order_fin_acknowledging_ours_waits_in_fin_wait_2() -> None:
    kit = fin_wait_1()
    kit.recv("FA", seq=5, ack=2)  # the peer's FIN beyond a 4-byte hole
    kit.expect("A", seq=2, ack=1)
    kit.assert_state(S.FIN_WAIT_2)
    kit.recv("A", seq=1, ack=2, payload=b"gap!")
    kit.expect("A", seq=2, ack=6)
    kit.assert_state(S.TIME_WAIT)


# -- data -------------------------------------------------------------------------------------


def test_data_is_still_received() -> None:
    kit = fin_wait_1()
    kit.recv("PA", seq=1, ack=1, payload=b"more")
    kit.expect("A", seq=2, ack=5)
    kit.assert_state(S.FIN_WAIT_1)
    assert kit.receive() == b"more"


def test_data_outside_the_window_is_acknowledged() -> None:
    kit = fin_wait_1()
    kit.recv("PA", seq=-10, ack=1, payload=b"old")
    kit.expect("A", seq=2, ack=1)
    assert kit.receive() == b""


# -- RST and SYN ------------------------------------------------------------------------------


@proves(S.FIN_WAIT_1, S.CLOSED)
def test_rst_resets_the_connection() -> None:
    kit = fin_wait_1()
    kit.recv("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection reset"
    assert kit.conn.timers == {}


def test_in_window_rst_gets_a_challenge_ack() -> None:
    kit = fin_wait_1()
    kit.recv("R", seq=9)
    kit.expect("A", seq=2, ack=1)
    kit.assert_state(S.FIN_WAIT_1)


def test_out_of_window_rst_is_dropped() -> None:
    kit = fin_wait_1()
    kit.recv("RA", seq=-3, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_1)


def test_syn_gets_a_challenge_ack() -> None:
    kit = fin_wait_1()
    kit.recv("S", seq=7)
    kit.expect("A", seq=2, ack=1)
    kit.assert_state(S.FIN_WAIT_1)


# -- user calls -------------------------------------------------------------------------------


def test_send_is_connection_closing() -> None:
    kit = fin_wait_1()
    with pytest.raises(LocalError, match="connection closing"):
        kit.send(b"x")
    kit.expect_nothing()


def test_close_again_is_connection_closing_and_sends_no_second_fin() -> None:
    kit = fin_wait_1()
    with pytest.raises(LocalError, match="connection closing"):
        kit.close()
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_1)


@proves(S.FIN_WAIT_1, S.CLOSED)
def test_abort_sends_rst_after_the_fin() -> None:
    kit = fin_wait_1()
    kit.abort()
    kit.expect("R", seq=2)  # SND.NXT is past the FIN
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)


# -- timeouts ---------------------------------------------------------------------------------


def test_fin_is_retransmitted() -> None:
    kit = fin_wait_1()
    kit.fire("retransmit")
    out = kit.expect("FA", seq=1, ack=1)
    assert out.reason == "FIN retransmission"
    kit.expect_nothing()
    kit.assert_state(S.FIN_WAIT_1)
    kit.recv("A", seq=1, ack=2)
    kit.assert_state(S.FIN_WAIT_2)


@proves(S.FIN_WAIT_1, S.CLOSED)
def test_gives_up_after_data_retries() -> None:
    kit = fin_wait_1(data_retries=1)
    kit.fire("retransmit")
    kit.expect("FA", seq=1, ack=1)
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection timed out"
    with pytest.raises(RemoteError, match="connection timed out"):
        kit.receive()


# -- every kind of arriving segment (3.10.7.4), one at a time ---------------------------------

EVENTS = [
    Event("RST at RCV.NXT", "R", 1, 0, None, S.CLOSED),
    Event("RST,ACK at RCV.NXT", "RA", 1, 2, None, S.CLOSED),
    Event("RST in window", "R", 5, 0, ("A", 2, 1), S.FIN_WAIT_1),
    Event("RST out of window", "R", 0, 0, None, S.FIN_WAIT_1),
    Event("SYN", "S", 5, 0, ("A", 2, 1), S.FIN_WAIT_1),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 2, 1), S.FIN_WAIT_1),
    Event("FIN without ACK", "F", 1, 0, None, S.FIN_WAIT_1),
    Event("FIN,ACK not of our FIN", "FA", 1, 1, ("A", 2, 2), S.CLOSING),
    Event("FIN,ACK of our FIN", "FA", 1, 2, ("A", 2, 2), S.TIME_WAIT),
    Event("ACK of FIN", "A", 1, 2, None, S.FIN_WAIT_2),
    Event("duplicate ACK", "A", 1, 1, None, S.FIN_WAIT_1),
    Event("ACK too new", "A", 1, 3, ("A", 2, 1), S.FIN_WAIT_1),
    Event("ACK too old", "A", 1, -70_000, ("A", 2, 1), S.FIN_WAIT_1),
    Event("data in window", "PA", 1, 1, ("A", 2, 4), S.FIN_WAIT_1, b"abc"),
    Event("data out of window", "PA", -5, 1, ("A", 2, 1), S.FIN_WAIT_1, b"abc"),
    Event("data out of order", "PA", 5, 1, ("A", 2, 1), S.FIN_WAIT_1, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(fin_wait_1())
