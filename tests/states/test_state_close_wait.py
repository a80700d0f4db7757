"""CLOSE-WAIT: the peer's FIN is in; we may still send (RFC 9293 3.10.2-3.10.5, 3.10.7.4,
3.10.8)."""

from __future__ import annotations

import pytest
from statekit import Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError, RemoteError
from synfin.states import State

S = State


def close_wait(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_close_wait()


# -- user calls -------------------------------------------------------------------------------


@proves(S.CLOSE_WAIT, S.LAST_ACK)
def test_close_sends_fin_and_enters_last_ack() -> None:
    kit = close_wait()
    kit.close()
    kit.assert_state(S.LAST_ACK)
    kit.expect("FA", seq=1, ack=2)
    kit.expect_nothing()


@proves(S.CLOSE_WAIT, S.LAST_ACK)
def test_close_after_data_sends_the_fin_behind_it() -> None:
    kit = close_wait()
    kit.send(b"reply")
    kit.close()
    kit.expect("FPA", seq=1, ack=2, payload=b"reply")
    kit.expect_nothing()


def test_with_delayed_ack_a_prompt_close_sends_one_fin_ack() -> None:
    """With delayed ACK on, the ACK of the peer's FIN waits like a data ACK, so a prompt
    CLOSE carries it on our FIN: the three-segment close of Linux captures (deviation)."""
    kit = Kit(Kit().config.with_(delayed_ack_us=40_000)).to_established()
    kit.recv("FA", seq=1, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSE_WAIT)
    kit.close()
    kit.expect("FA", seq=1, ack=2)
    kit.expect_nothing()
    assert "delayed-ack" not in kit.conn.timers


def test_with_delayed_ack_the_fin_is_acknowledged_after_the_delay() -> None:
    kit = Kit(Kit().config.with_(delayed_ack_us=40_000)).to_established()
    kit.recv("FA", seq=1, ack=1)
    kit.fire("delayed-ack")
    kit.expect("A", seq=1, ack=2)


def test_send_still_works() -> None:
    kit = close_wait()
    assert kit.send(b"answer") == 6
    kit.expect("PA", seq=1, ack=2, payload=b"answer")
    kit.recv("A", seq=2, ack=7)
    assert kit.conn.status().send_queue == 0


def test_receive_drains_then_reports_connection_closing() -> None:
    kit = Kit().to_established()
    kit.recv("FPA", seq=1, ack=1, payload=b"rest")
    kit.expect("A", seq=1, ack=6)
    kit.assert_state(S.CLOSE_WAIT)
    assert kit.receive() == b"rest"
    with pytest.raises(LocalError, match="connection closing"):
        kit.receive()


@proves(S.CLOSE_WAIT, S.CLOSED)
def test_abort_sends_rst() -> None:
    kit = close_wait()
    kit.abort()
    kit.expect("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)


# -- SEGMENT ARRIVES --------------------------------------------------------------------------


def test_retransmitted_fin_is_acknowledged_again() -> None:
    kit = close_wait()
    kit.recv("FA", seq=1, ack=1)
    kit.expect("A", seq=1, ack=2)
    kit.assert_state(S.CLOSE_WAIT)


def test_text_after_the_fin_is_ignored() -> None:
    kit = close_wait()
    kit.recv("PA", seq=2, ack=1, payload=b"after fin")
    assert kit.last_drop() == drops.TEXT_IN_CLOSING_STATE
    with pytest.raises(LocalError, match="connection closing"):
        kit.receive()
    assert kit.conn.status().rcv_nxt == (kit.peer_iss + 2) % 2**32


def test_ack_of_our_data_is_processed() -> None:
    kit = close_wait()
    kit.send(b"12345")
    kit.expect("PA", seq=1, ack=2, payload=b"12345")
    kit.recv("A", seq=2, ack=6)
    kit.expect_nothing()
    assert kit.conn.timers == {}


def test_ack_of_unsent_sequence_is_answered() -> None:
    kit = close_wait()
    kit.recv("A", seq=2, ack=50)
    kit.expect("A", seq=1, ack=2)
    assert kit.last_drop() == drops.ACK_TOO_NEW


@proves(S.CLOSE_WAIT, S.CLOSED)
def test_rst_resets_the_connection() -> None:
    kit = close_wait()
    kit.recv("R", seq=2)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection reset"
    with pytest.raises(RemoteError, match="connection reset"):
        kit.close()


def test_rst_at_the_old_fin_is_challenged() -> None:
    """RCV.NXT moved past the FIN: a RST at the FIN's number is outside the window."""
    kit = close_wait()
    kit.recv("R", seq=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSE_WAIT)
    kit.recv("R", seq=3)
    kit.expect("A", seq=1, ack=2)
    kit.assert_state(S.CLOSE_WAIT)


def test_syn_gets_a_challenge_ack() -> None:
    kit = close_wait()
    kit.recv("S", seq=10)
    kit.expect("A", seq=1, ack=2)
    kit.assert_state(S.CLOSE_WAIT)


# -- timeouts ---------------------------------------------------------------------------------


def test_data_is_retransmitted() -> None:
    kit = close_wait()
    kit.send(b"again")
    kit.expect("PA", seq=1, ack=2, payload=b"again")
    kit.fire("retransmit")
    kit.expect("PA", seq=1, ack=2, payload=b"again")


@proves(S.CLOSE_WAIT, S.CLOSED)
def test_gives_up_after_data_retries() -> None:
    kit = close_wait(data_retries=1)
    kit.send(b"x")
    kit.expect("PA", seq=1, ack=2, payload=b"x")
    kit.fire("retransmit")
    kit.expect("PA", seq=1, ack=2, payload=b"x")
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection timed out"


def test_no_timer_without_outstanding_data() -> None:
    kit = close_wait()
    assert kit.conn.next_deadline() is None


# -- every kind of arriving segment (3.10.7.4), one at a time ---------------------------------

EVENTS = [
    Event("RST at RCV.NXT", "R", 2, 0, None, S.CLOSED),
    Event("RST,ACK at RCV.NXT", "RA", 2, 1, None, S.CLOSED),
    Event("RST in window", "R", 5, 0, ("A", 1, 2), S.CLOSE_WAIT),
    Event("RST out of window", "R", 1, 0, None, S.CLOSE_WAIT),
    Event("SYN", "S", 5, 0, ("A", 1, 2), S.CLOSE_WAIT),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 1, 2), S.CLOSE_WAIT),
    Event("FIN again without ACK", "F", 1, 0, ("A", 1, 2), S.CLOSE_WAIT),
    Event("FIN,ACK again", "FA", 1, 1, ("A", 1, 2), S.CLOSE_WAIT),
    Event("duplicate ACK", "A", 2, 1, None, S.CLOSE_WAIT),
    Event("ACK too new", "A", 2, 5, ("A", 1, 2), S.CLOSE_WAIT),
    Event("ACK too old", "A", 2, -70_000, ("A", 1, 2), S.CLOSE_WAIT),
    Event("data in window (after FIN)", "PA", 2, 1, None, S.CLOSE_WAIT, b"abc"),
    Event("data out of window", "PA", -5, 1, ("A", 1, 2), S.CLOSE_WAIT, b"abc"),
    Event("data out of order", "PA", 6, 1, None, S.CLOSE_WAIT, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(close_wait())
