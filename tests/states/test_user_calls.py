"""The user calls of RFC 9293 3.10.1-3.10.6 in every state: the error text of a wrong-state
call, or the segment and the state that follow an allowed one.

Every state is reached by a real exchange (the kit's ``to_*`` methods)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from statekit import Kit, proves

from synfin.errors import LocalError, RemoteError, TcpError
from synfin.states import State

S = State

#: How to reach each state.
REACH: dict[State, Callable[[Kit], Kit]] = {
    S.CLOSED: lambda kit: kit,
    S.LISTEN: Kit.to_listen,
    S.SYN_SENT: Kit.to_syn_sent,
    S.SYN_RECEIVED: Kit.to_syn_received,
    S.ESTABLISHED: Kit.to_established,
    S.FIN_WAIT_1: Kit.to_fin_wait_1,
    S.FIN_WAIT_2: Kit.to_fin_wait_2,
    S.CLOSE_WAIT: Kit.to_close_wait,
    S.CLOSING: Kit.to_closing,
    S.LAST_ACK: Kit.to_last_ack,
    S.TIME_WAIT: Kit.to_time_wait,
}


def reach(state: State) -> Kit:
    kit = REACH[state](Kit())
    kit.assert_state(state)
    return kit


@dataclass(frozen=True, slots=True)
class Ok:
    """The call succeeds: the state after it, and the one segment it sends (or None)."""

    state: State
    reply: tuple[str, int, int] | None = None
    payload: bytes = b""


@dataclass(frozen=True, slots=True)
class Err:
    """The call raises LocalError with this RFC 9293 text and changes nothing."""

    text: str


Outcome = Ok | Err

DOES_NOT_EXIST = Err("connection does not exist")
CLOSING = Err("connection closing")
EXISTS = Err("connection already exists")


def check(kit: Kit, before: State, outcome: Outcome, call: Callable[[], object]) -> None:
    if isinstance(outcome, Err):
        with pytest.raises(LocalError) as info:
            call()
        assert info.value.text == outcome.text
        kit.assert_state(before)
        kit.expect_nothing()
        return
    call()
    kit.assert_state(outcome.state)
    if outcome.reply is not None:
        flags, seq, ack = outcome.reply
        kit.expect(flags, seq=seq, ack=ack, payload=outcome.payload)
    kit.expect_nothing()


# -- OPEN (3.10.1) ----------------------------------------------------------------------------

ACTIVE_OPEN: dict[State, Outcome] = {
    S.CLOSED: Ok(S.SYN_SENT, ("S", 0, 0)),
    S.LISTEN: Ok(S.SYN_SENT, ("S", 0, 0)),
    **{s: EXISTS for s in State if s not in (S.CLOSED, S.LISTEN)},
}

PASSIVE_OPEN: dict[State, Outcome] = {
    S.CLOSED: Ok(S.LISTEN),
    **{s: EXISTS for s in State if s is not S.CLOSED},
}


@pytest.mark.parametrize("state", list(State), ids=str)
def test_active_open(state: State) -> None:
    kit = reach(state)
    check(kit, state, ACTIVE_OPEN[state], kit.open_active)


@pytest.mark.parametrize("state", list(State), ids=str)
def test_passive_open(state: State) -> None:
    kit = reach(state)
    check(kit, state, PASSIVE_OPEN[state], kit.open_passive)


# -- SEND (3.10.2) ----------------------------------------------------------------------------

SEND: dict[State, Outcome] = {
    S.CLOSED: DOES_NOT_EXIST,
    S.LISTEN: Err("remote socket unspecified"),
    S.SYN_SENT: Ok(S.SYN_SENT),  # queued until ESTABLISHED
    S.SYN_RECEIVED: Ok(S.SYN_RECEIVED),
    S.ESTABLISHED: Ok(S.ESTABLISHED, ("PA", 1, 1), b"data"),
    S.FIN_WAIT_1: CLOSING,
    S.FIN_WAIT_2: CLOSING,
    S.CLOSE_WAIT: Ok(S.CLOSE_WAIT, ("PA", 1, 2), b"data"),
    S.CLOSING: CLOSING,
    S.LAST_ACK: CLOSING,
    S.TIME_WAIT: CLOSING,
}


@pytest.mark.parametrize("state", list(State), ids=str)
def test_send(state: State) -> None:
    kit = reach(state)
    check(kit, state, SEND[state], lambda: kit.send(b"data"))


# -- RECEIVE (3.10.3), with nothing to read ---------------------------------------------------

RECEIVE: dict[State, Outcome] = {
    S.CLOSED: DOES_NOT_EXIST,
    **{s: Ok(s) for s in (S.LISTEN, S.SYN_SENT, S.SYN_RECEIVED, S.ESTABLISHED, S.FIN_WAIT_1,
                          S.FIN_WAIT_2)},
    **{s: CLOSING for s in (S.CLOSE_WAIT, S.CLOSING, S.LAST_ACK, S.TIME_WAIT)},
}


@pytest.mark.parametrize("state", list(State), ids=str)
def test_receive(state: State) -> None:
    kit = reach(state)
    outcome = RECEIVE[state]
    check(kit, state, outcome, kit.receive)
    if isinstance(outcome, Ok):
        assert kit.receive() == b""


# -- CLOSE (3.10.4) ---------------------------------------------------------------------------

CLOSE: dict[State, Outcome] = {
    S.CLOSED: DOES_NOT_EXIST,
    S.LISTEN: Ok(S.CLOSED),
    S.SYN_SENT: Ok(S.CLOSED),
    S.SYN_RECEIVED: Ok(S.FIN_WAIT_1, ("FA", 1, 1)),
    S.ESTABLISHED: Ok(S.FIN_WAIT_1, ("FA", 1, 1)),
    S.FIN_WAIT_1: CLOSING,  # "strictly speaking, this is an error"
    S.FIN_WAIT_2: CLOSING,
    S.CLOSE_WAIT: Ok(S.LAST_ACK, ("FA", 1, 2)),
    S.CLOSING: CLOSING,
    S.LAST_ACK: CLOSING,
    S.TIME_WAIT: CLOSING,
}


@pytest.mark.parametrize("state", list(State), ids=str)
def test_close(state: State) -> None:
    kit = reach(state)
    check(kit, state, CLOSE[state], kit.close)


# -- ABORT (3.10.5) ---------------------------------------------------------------------------

ABORT: dict[State, Outcome] = {
    S.CLOSED: DOES_NOT_EXIST,
    S.LISTEN: Ok(S.CLOSED),
    S.SYN_SENT: Ok(S.CLOSED),
    S.SYN_RECEIVED: Ok(S.CLOSED, ("R", 1, 0)),  # <SEQ=SND.NXT><CTL=RST>
    S.ESTABLISHED: Ok(S.CLOSED, ("R", 1, 0)),
    S.FIN_WAIT_1: Ok(S.CLOSED, ("R", 2, 0)),
    S.FIN_WAIT_2: Ok(S.CLOSED, ("R", 2, 0)),
    S.CLOSE_WAIT: Ok(S.CLOSED, ("R", 1, 0)),
    S.CLOSING: Ok(S.CLOSED),  # "Respond with "ok" and delete the TCB"
    S.LAST_ACK: Ok(S.CLOSED),
    S.TIME_WAIT: Ok(S.CLOSED),
}


@pytest.mark.parametrize("state", list(State), ids=str)
def test_abort(state: State) -> None:
    kit = reach(state)
    check(kit, state, ABORT[state], kit.abort)
    if isinstance(ABORT[state], Ok):
        assert kit.conn.error is None
        assert kit.conn.timers == {}


# -- STATUS (3.10.6) --------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(State), ids=str)
def test_status_reports_the_state(state: State) -> None:
    kit = reach(state)
    status = kit.conn.status()
    assert status.state is state
    assert status.error is None
    kit.expect_nothing()


def test_status_reports_the_sequence_variables() -> None:
    kit = reach(S.ESTABLISHED)
    kit.send(b"abc")
    kit.expect("PA", seq=1, ack=1, payload=b"abc")
    kit.recv("PA", seq=1, ack=1, payload=b"xy")
    status = kit.conn.status()
    assert (status.snd_una, status.snd_nxt) == ((kit.iss + 1) % 2**32, (kit.iss + 4) % 2**32)
    assert status.rcv_nxt == (kit.peer_iss + 3) % 2**32
    assert (status.send_queue, status.recv_queue) == (3, 2)


# -- after the connection failed --------------------------------------------------------------


def reset() -> Kit:
    kit = reach(S.ESTABLISHED)
    kit.recv("R", seq=1)
    return kit


def timed_out() -> Kit:
    kit = Kit(Kit().config.with_(syn_retries=0)).to_syn_sent()
    kit.fire("retransmit")
    return kit


@proves(S.ESTABLISHED, S.CLOSED)
def test_calls_after_a_reset_report_it() -> None:
    kit = reset()
    for call in (lambda: kit.send(b"x"), kit.receive, kit.close):
        with pytest.raises(RemoteError) as info:
            call()
        assert info.value.text == "connection reset"
    with pytest.raises(LocalError, match="connection does not exist"):
        kit.abort()
    with pytest.raises(LocalError, match="connection already exists"):
        kit.open_active()


def test_calls_after_a_timeout_report_it() -> None:
    kit = timed_out()
    kit.assert_state(S.CLOSED)
    for call in (lambda: kit.send(b"x"), kit.receive, kit.close):
        with pytest.raises(TcpError) as info:
            call()
        assert isinstance(info.value, RemoteError)
        assert info.value.text == "connection timed out"
    assert kit.conn.status().error == "connection timed out"


def test_calls_after_an_orderly_close_say_it_does_not_exist() -> None:
    kit = reach(S.LAST_ACK)
    kit.recv("A", seq=2, ack=2)
    kit.assert_state(S.CLOSED)
    for call in (lambda: kit.send(b"x"), kit.receive, kit.close, kit.abort):
        with pytest.raises(LocalError, match="connection does not exist"):
            call()
