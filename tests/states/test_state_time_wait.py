"""TIME-WAIT: both FINs acknowledged; 2MSL of quarantine (RFC 9293 3.10.2-3.10.5, 3.10.7.4,
3.10.8; RFC 1337 for RST)."""

from __future__ import annotations

import pytest
from statekit import Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError
from synfin.states import State

S = State


def time_wait(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_time_wait()


@proves(S.TIME_WAIT, S.CLOSED)
def test_2msl_timeout_deletes_the_tcb() -> None:
    kit = time_wait(msl_us=1_000_000)
    entered = kit.now
    assert kit.conn.timers == {"time-wait": entered + 2_000_000}
    kit.wait(1_999_999)
    kit.assert_state(S.TIME_WAIT)
    kit.wait(1)
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None
    kit.expect_nothing()


def test_retransmitted_fin_is_acknowledged_and_restarts_2msl() -> None:
    kit = time_wait()
    kit.wait(10_000_000)
    kit.recv("FA", seq=1, ack=2)
    out = kit.expect("A", seq=2, ack=2)
    assert "TIME-WAIT" in out.reason
    kit.expect_nothing()
    assert kit.conn.timers == {"time-wait": kit.now + kit.config.time_wait_us}
    kit.assert_state(S.TIME_WAIT)


def test_rst_is_ignored() -> None:
    """RFC 1337 (TIME-WAIT assassination): synfin ignores a RST here, as Linux does; RFC 9293
    would close (a documented deviation)."""
    kit = time_wait()
    kit.recv("R", seq=2)
    kit.recv("RA", seq=2, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.TIME_WAIT)
    assert kit.drops() == [drops.RST_IN_TIME_WAIT] * 2


@pytest.mark.parametrize("seq", [2, 100, 1_000_000])
def test_syn_gets_a_challenge_ack(seq: int) -> None:
    kit = time_wait()
    kit.recv("S", seq=seq)
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.TIME_WAIT)


def test_duplicate_ack_is_dropped_silently() -> None:
    kit = time_wait()
    kit.recv("A", seq=2, ack=2)
    kit.expect_nothing()
    kit.assert_state(S.TIME_WAIT)


def test_out_of_window_segment_is_acknowledged() -> None:
    kit = time_wait()
    kit.recv("PA", seq=-20, ack=2, payload=b"ancient")
    kit.expect("A", seq=2, ack=2)
    kit.assert_state(S.TIME_WAIT)


def test_text_is_ignored() -> None:
    kit = time_wait()
    kit.recv("PA", seq=2, ack=2, payload=b"zombie")
    kit.expect_nothing()
    assert kit.last_drop() == drops.TEXT_IN_CLOSING_STATE


# -- user calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["send", "close", "receive"])
def test_send_close_receive_are_connection_closing(call: str) -> None:
    kit = time_wait()
    with pytest.raises(LocalError, match="connection closing"):
        if call == "send":
            kit.send(b"x")
        elif call == "close":
            kit.close()
        else:
            kit.receive()
    kit.expect_nothing()


@proves(S.TIME_WAIT, S.CLOSED)
def test_abort_deletes_the_tcb_without_a_reset() -> None:
    kit = time_wait()
    kit.abort()
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.conn.timers == {}


def test_time_wait_after_closing_lasts_2msl_from_the_ack() -> None:
    kit = Kit().to_closing()
    kit.wait(300_000)
    kit.recv("A", seq=2, ack=2)
    kit.assert_state(S.TIME_WAIT)
    assert kit.conn.timers == {"time-wait": kit.now + kit.config.time_wait_us}
    kit.fire("time-wait")
    kit.assert_state(S.CLOSED)


# -- every kind of arriving segment (3.10.7.4), one at a time ---------------------------------

EVENTS = [
    Event("RST at RCV.NXT (RFC 1337)", "R", 2, 0, None, S.TIME_WAIT),
    Event("RST,ACK at RCV.NXT (RFC 1337)", "RA", 2, 2, None, S.TIME_WAIT),
    Event("RST in window", "R", 5, 0, None, S.TIME_WAIT),
    Event("RST out of window", "R", 1, 0, None, S.TIME_WAIT),
    Event("SYN", "S", 5, 0, ("A", 2, 2), S.TIME_WAIT),
    Event("SYN,ACK (old)", "SA", 0, 1, ("A", 2, 2), S.TIME_WAIT),
    Event("FIN again without ACK", "F", 1, 0, ("A", 2, 2), S.TIME_WAIT),
    Event("FIN,ACK again", "FA", 1, 2, ("A", 2, 2), S.TIME_WAIT),
    Event("duplicate ACK", "A", 2, 2, None, S.TIME_WAIT),
    Event("ACK too new", "A", 2, 3, ("A", 2, 2), S.TIME_WAIT),
    Event("ACK too old", "A", 2, -70_000, ("A", 2, 2), S.TIME_WAIT),
    Event("data in window (after FIN)", "PA", 2, 2, None, S.TIME_WAIT, b"abc"),
    Event("data out of window", "PA", -5, 2, ("A", 2, 2), S.TIME_WAIT, b"abc"),
    Event("data out of order", "PA", 6, 2, None, S.TIME_WAIT, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(time_wait())
