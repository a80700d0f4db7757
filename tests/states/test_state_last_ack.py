"""LAST-ACK: both FINs sent, ours not yet acknowledged (RFC 9293 3.10.2-3.10.5, 3.10.7.4,
3.10.8)."""

from __future__ import annotations

import pytest
from statekit import Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError
from synfin.states import State

S = State


def last_ack(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_last_ack()


@proves(S.LAST_ACK, S.CLOSED)
def test_ack_of_fin_closes() -> None:
    kit = last_ack()
    kit.recv("A", seq=2, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None
    assert kit.conn.timers == {}
    with pytest.raises(LocalError, match="connection does not exist"):
        kit.receive()


def test_ack_short_of_the_fin_keeps_waiting() -> None:
    kit = Kit().to_close_wait()
    kit.send(b"data")
    kit.close()
    kit.expect("FPA", seq=1, ack=2, payload=b"data")
    kit.recv("A", seq=2, ack=5)
    kit.expect_nothing()
    kit.assert_state(S.LAST_ACK)
    kit.recv("A", seq=2, ack=6)
    kit.assert_state(S.CLOSED)


def test_ack_of_unsent_sequence_is_answered() -> None:
    kit = last_ack()
    kit.recv("A", seq=2, ack=4)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.LAST_ACK)


def test_retransmitted_peer_fin_is_acknowledged_again() -> None:
    kit = last_ack()
    kit.recv("FA", seq=1, ack=1)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.LAST_ACK)


def test_text_is_ignored() -> None:
    kit = last_ack()
    kit.recv("PA", seq=2, ack=1, payload=b"??")
    kit.expect_nothing()
    assert kit.last_drop() == drops.TEXT_IN_CLOSING_STATE
    kit.assert_state(S.LAST_ACK)


@proves(S.LAST_ACK, S.CLOSED)
def test_rst_closes_without_an_error() -> None:
    kit = last_ack()
    kit.recv("R", seq=2)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None


def test_in_window_rst_gets_a_challenge_ack() -> None:
    kit = last_ack()
    kit.recv("R", seq=3)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.LAST_ACK)


def test_out_of_window_rst_is_dropped() -> None:
    kit = last_ack()
    kit.recv("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.LAST_ACK)


def test_syn_gets_a_challenge_ack() -> None:
    kit = last_ack()
    kit.recv("S", seq=100)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.LAST_ACK)


# -- user calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["send", "close", "receive"])
def test_send_close_receive_are_connection_closing(call: str) -> None:
    kit = last_ack()
    with pytest.raises(LocalError, match="connection closing"):
        if call == "send":
            kit.send(b"x")
        elif call == "close":
            kit.close()
        else:
            kit.receive()
    kit.expect_nothing()


@proves(S.LAST_ACK, S.CLOSED)
def test_abort_closes_without_a_reset() -> None:
    kit = last_ack()
    kit.abort()
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)


# -- timeouts ---------------------------------------------------------------------------------


def test_fin_is_retransmitted_with_backoff() -> None:
    kit = last_ack()
    first = kit.conn.timers["retransmit"] - kit.now
    kit.fire("retransmit")
    kit.expect("FA", seq=1, ack=2)
    assert kit.conn.timers == {"retransmit": kit.now + 2 * first}


@proves(S.LAST_ACK, S.CLOSED)
def test_gives_up_after_data_retries() -> None:
    kit = last_ack(data_retries=2)
    for _ in range(2):
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
    Event("RST in window", "R", 5, 0, ("A", 2, 2), S.LAST_ACK),
    Event("RST out of window", "R", 1, 0, None, S.LAST_ACK),
    Event("SYN", "S", 5, 0, ("A", 2, 2), S.LAST_ACK),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 2, 2), S.LAST_ACK),
    Event("FIN again without ACK", "F", 1, 0, ("A", 2, 2), S.LAST_ACK),
    Event("FIN,ACK again", "FA", 1, 1, ("A", 2, 2), S.LAST_ACK),
    Event("ACK of FIN", "A", 2, 2, None, S.CLOSED),
    Event("duplicate ACK", "A", 2, 1, None, S.LAST_ACK),
    Event("ACK too new", "A", 2, 3, ("A", 2, 2), S.LAST_ACK),
    Event("ACK too old", "A", 2, -70_000, ("A", 2, 2), S.LAST_ACK),
    Event("data in window (after FIN)", "PA", 2, 1, None, S.LAST_ACK, b"abc"),
    Event("data out of window", "PA", -5, 1, ("A", 2, 2), S.LAST_ACK, b"abc"),
    Event("data out of order", "PA", 6, 1, None, S.LAST_ACK, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(last_ack())
