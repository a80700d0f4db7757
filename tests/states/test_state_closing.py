"""CLOSING: the FINs crossed; waiting for the ACK of ours (RFC 9293 3.10.2-3.10.5, 3.10.7.4,
3.10.8)."""

from __future__ import annotations

import pytest
from statekit import Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError
from synfin.states import State

S = State


def closing(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_closing()


@proves(S.CLOSING, S.TIME_WAIT)
def test_ack_of_fin_enters_time_wait() -> None:
    kit = closing()
    kit.recv("A", seq=2, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.TIME_WAIT)
    assert kit.conn.timers == {"time-wait": kit.now + kit.config.time_wait_us}


def test_ack_not_covering_our_fin_is_ignored() -> None:
    kit = closing()
    kit.recv("A", seq=2, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSING)
    assert "retransmit" in kit.conn.timers


def test_ack_of_unsent_sequence_is_answered() -> None:
    kit = closing()
    kit.recv("A", seq=2, ack=3)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.CLOSING)
    assert kit.last_drop() == drops.ACK_TOO_NEW


def test_retransmitted_peer_fin_is_acknowledged_again() -> None:
    kit = closing()
    kit.recv("FA", seq=1, ack=1)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.CLOSING)


def test_text_is_ignored() -> None:
    kit = closing()
    kit.recv("PA", seq=2, ack=2, payload=b"late")
    kit.assert_state(S.TIME_WAIT)  # the ACK in it still counts
    assert drops.TEXT_IN_CLOSING_STATE in kit.drops()


@proves(S.CLOSING, S.CLOSED)
def test_rst_closes_without_an_error() -> None:
    """3.10.7.4 second step, CLOSING: "enter the CLOSED state, delete the TCB, and return"."""
    kit = closing()
    kit.recv("R", seq=2)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None
    assert kit.conn.timers == {}


def test_in_window_rst_gets_a_challenge_ack() -> None:
    kit = closing()
    kit.recv("R", seq=40)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.CLOSING)


def test_syn_gets_a_challenge_ack() -> None:
    kit = closing()
    kit.recv("S", seq=2)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.CLOSING)


# -- user calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["send", "close", "receive"])
def test_send_close_receive_are_connection_closing(call: str) -> None:
    kit = closing()
    with pytest.raises(LocalError, match="connection closing"):
        if call == "send":
            kit.send(b"x")
        elif call == "close":
            kit.close()
        else:
            kit.receive()
    kit.expect_nothing()
    kit.assert_state(S.CLOSING)


@proves(S.CLOSING, S.CLOSED)
def test_abort_closes_without_a_reset() -> None:
    """3.10.5: in CLOSING, LAST-ACK and TIME-WAIT, ABORT just deletes the TCB."""
    kit = closing()
    kit.abort()
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)


# -- timeouts ---------------------------------------------------------------------------------


def test_fin_is_retransmitted() -> None:
    kit = closing()
    kit.fire("retransmit")
    out = kit.expect("FA", seq=1, ack=2)
    assert out.reason == "FIN retransmission"
    kit.recv("A", seq=2, ack=2)
    kit.assert_state(S.TIME_WAIT)


@proves(S.CLOSING, S.CLOSED)
def test_gives_up_after_data_retries() -> None:
    kit = closing(data_retries=1)
    kit.fire("retransmit")
    kit.expect("FA", seq=1, ack=2)
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection timed out"


# -- every kind of arriving segment (3.10.7.4), one at a time ---------------------------------

EVENTS = [
    Event("RST at RCV.NXT", "R", 2, 0, None, S.CLOSED),
    Event("RST,ACK at RCV.NXT", "RA", 2, 1, None, S.CLOSED),
    Event("RST in window", "R", 5, 0, ("A", 2, 2), S.CLOSING),
    Event("RST out of window", "R", 1, 0, None, S.CLOSING),
    Event("SYN", "S", 5, 0, ("A", 2, 2), S.CLOSING),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 2, 2), S.CLOSING),
    Event("FIN again without ACK", "F", 1, 0, ("A", 2, 2), S.CLOSING),
    Event("FIN,ACK again", "FA", 1, 1, ("A", 2, 2), S.CLOSING),
    Event("ACK of FIN", "A", 2, 2, None, S.TIME_WAIT),
    Event("duplicate ACK", "A", 2, 1, None, S.CLOSING),
    Event("ACK too new", "A", 2, 3, ("A", 2, 2), S.CLOSING),
    Event("ACK too old", "A", 2, -70_000, ("A", 2, 2), S.CLOSING),
    Event("data in window (after FIN)", "PA", 2, 1, None, S.CLOSING, b"abc"),
    Event("data out of window", "PA", -5, 1, ("A", 2, 2), S.CLOSING, b"abc"),
    Event("data out of order", "PA", 6, 1, None, S.CLOSING, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(closing())
