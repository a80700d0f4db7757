"""The eleven connection states and the transition table of RFC 9293 section 3.3.2 (Figure 5).

Every state change in synfin goes through :func:`check_transition`, and the documented state
diagram (``docs/state-machine.md``) is generated from :data:`TRANSITIONS`, so the code and the
picture cannot drift apart.
"""

from __future__ import annotations

from enum import Enum


class State(Enum):
    """Connection states, valued by their RFC 9293 names."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    def __str__(self) -> str:
        return self.value


S = State

#: Every allowed transition with the event that causes it, as Figure 5 of RFC 9293 labels it,
#: plus the arrows the RFC text adds (RST, timeouts, ABORT). Keys are (from, to).
TRANSITIONS: dict[tuple[State, State], str] = {
    (S.CLOSED, S.LISTEN): "passive OPEN / create TCB",
    (S.CLOSED, S.SYN_SENT): "active OPEN / snd SYN",
    (S.LISTEN, S.SYN_RECEIVED): "rcv SYN / snd SYN,ACK",
    (S.LISTEN, S.SYN_SENT): "SEND / snd SYN",
    (S.LISTEN, S.CLOSED): "CLOSE / delete TCB",
    (S.SYN_SENT, S.SYN_RECEIVED): "rcv SYN / snd SYN,ACK (simultaneous open)",
    (S.SYN_SENT, S.ESTABLISHED): "rcv SYN,ACK / snd ACK",
    (S.SYN_SENT, S.CLOSED): "CLOSE, rcv RST,ACK or timeout / delete TCB",
    (S.SYN_RECEIVED, S.ESTABLISHED): "rcv ACK of SYN / x",
    (S.SYN_RECEIVED, S.FIN_WAIT_1): "CLOSE / snd FIN",
    (S.SYN_RECEIVED, S.LISTEN): "rcv RST (from passive OPEN)",
    (S.SYN_RECEIVED, S.CLOSED): "rcv RST, ABORT or timeout",
    (S.ESTABLISHED, S.FIN_WAIT_1): "CLOSE / snd FIN",
    (S.ESTABLISHED, S.CLOSE_WAIT): "rcv FIN / snd ACK",
    (S.ESTABLISHED, S.CLOSED): "rcv RST, ABORT or timeout",
    (S.FIN_WAIT_1, S.FIN_WAIT_2): "rcv ACK of FIN / x",
    (S.FIN_WAIT_1, S.CLOSING): "rcv FIN / snd ACK",
    (S.FIN_WAIT_1, S.TIME_WAIT): "rcv FIN,ACK of FIN / snd ACK",
    (S.FIN_WAIT_1, S.CLOSED): "rcv RST, ABORT or timeout",
    (S.FIN_WAIT_2, S.TIME_WAIT): "rcv FIN / snd ACK",
    (S.FIN_WAIT_2, S.CLOSED): "rcv RST, ABORT or FIN-WAIT-2 timeout",
    (S.CLOSE_WAIT, S.LAST_ACK): "CLOSE / snd FIN",
    (S.CLOSE_WAIT, S.CLOSED): "rcv RST, ABORT or timeout",
    (S.CLOSING, S.TIME_WAIT): "rcv ACK of FIN / x",
    (S.CLOSING, S.CLOSED): "rcv RST, ABORT or timeout",
    (S.LAST_ACK, S.CLOSED): "rcv ACK of FIN / delete TCB (or RST, ABORT, timeout)",
    (S.TIME_WAIT, S.CLOSED): "timeout=2MSL / delete TCB (or ABORT)",
}

#: The arrows drawn in RFC 9293 Figure 5 itself (the others come from the RFC's text).
FIGURE_5_ARROWS: frozenset[tuple[State, State]] = frozenset(
    {
        (S.CLOSED, S.LISTEN),
        (S.CLOSED, S.SYN_SENT),
        (S.LISTEN, S.SYN_RECEIVED),
        (S.LISTEN, S.SYN_SENT),
        (S.LISTEN, S.CLOSED),
        (S.SYN_SENT, S.SYN_RECEIVED),
        (S.SYN_SENT, S.ESTABLISHED),
        (S.SYN_SENT, S.CLOSED),
        (S.SYN_RECEIVED, S.ESTABLISHED),
        (S.SYN_RECEIVED, S.FIN_WAIT_1),
        (S.SYN_RECEIVED, S.LISTEN),
        (S.ESTABLISHED, S.FIN_WAIT_1),
        (S.ESTABLISHED, S.CLOSE_WAIT),
        (S.FIN_WAIT_1, S.FIN_WAIT_2),
        (S.FIN_WAIT_1, S.CLOSING),
        (S.FIN_WAIT_2, S.TIME_WAIT),
        (S.CLOSE_WAIT, S.LAST_ACK),
        (S.CLOSING, S.TIME_WAIT),
        (S.LAST_ACK, S.CLOSED),
        (S.TIME_WAIT, S.CLOSED),
    }
)

#: States in which the connection is "synchronized" (RFC 9293 section 3.5.2, case 3).
SYNCHRONIZED: frozenset[State] = frozenset(
    {
        S.ESTABLISHED,
        S.FIN_WAIT_1,
        S.FIN_WAIT_2,
        S.CLOSE_WAIT,
        S.CLOSING,
        S.LAST_ACK,
        S.TIME_WAIT,
    }
)


class IllegalTransition(RuntimeError):
    """A state change not in :data:`TRANSITIONS`: a bug in synfin, never a peer's doing."""


def check_transition(old: State, new: State) -> str:
    """Return the RFC label of ``old -> new`` or raise :class:`IllegalTransition`."""
    try:
        return TRANSITIONS[(old, new)]
    except KeyError:
        raise IllegalTransition(f"{old} -> {new} is not a TCP state transition") from None
