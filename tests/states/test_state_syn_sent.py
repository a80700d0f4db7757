"""SYN-SENT: our SYN is out, waiting for the peer's (RFC 9293 3.10.1-3.10.5, 3.10.7.3, 3.10.8)."""

from __future__ import annotations

import pytest
from statekit import PEER_SYN_OPTIONS, Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError, RemoteError
from synfin.states import State

S = State


def syn_sent(**config: object) -> Kit:
    kit = Kit(Kit().config.with_(**config)) if config else Kit()
    return kit.to_syn_sent()


# -- SYN,ACK and SYN (fourth step) ------------------------------------------------------------


@proves(S.SYN_SENT, S.ESTABLISHED)
def test_acceptable_syn_ack_establishes_and_is_acknowledged() -> None:
    kit = syn_sent()
    kit.recv("SA", seq=0, ack=1, options=PEER_SYN_OPTIONS)
    # <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
    out = kit.expect("A", seq=1, ack=1)
    assert "handshake" in out.reason
    kit.expect_nothing()
    kit.assert_state(S.ESTABLISHED)
    assert kit.arrows() == [(S.CLOSED, S.SYN_SENT), (S.SYN_SENT, S.ESTABLISHED)]
    assert kit.conn.timers == {}  # nothing outstanding: the retransmission timer stopped


def test_syn_ack_sets_the_send_window() -> None:
    """SND.WND <- SEG.WND (3.10.7.3): only 100 bytes may go before the window moves."""
    kit = syn_sent()
    kit.recv("SA", seq=0, ack=1, window=100, options=PEER_SYN_OPTIONS)
    kit.expect("A", seq=1, ack=1)
    kit.send(bytes(300))
    kit.expect("A", seq=1, ack=1, payload=bytes(100))
    kit.expect_nothing()
    kit.recv("A", seq=1, ack=101, window=1000)
    kit.expect("PA", seq=101, ack=1, payload=bytes(200))


def test_rtt_of_the_handshake_is_measured() -> None:
    kit = syn_sent()
    kit.now += 50_000
    kit.recv("SA", seq=0, ack=1, options=PEER_SYN_OPTIONS)
    assert kit.conn.status().srtt_us == 50_000


def test_syn_ack_carrying_data_delivers_it() -> None:
    kit = syn_sent()
    kit.recv("SA", seq=0, ack=1, payload=b"banner", options=PEER_SYN_OPTIONS)
    kit.expect("A", seq=1, ack=7)
    kit.expect_nothing()
    assert kit.receive() == b"banner"


@proves(S.ESTABLISHED, S.CLOSE_WAIT)
def test_syn_ack_carrying_fin_establishes_then_closes_the_peer_side() -> None:
    kit = syn_sent()
    kit.recv("SFA", seq=0, ack=1, payload=b"bye", options=PEER_SYN_OPTIONS)
    kit.expect("A", seq=1, ack=5)
    assert kit.arrows()[-2:] == [(S.SYN_SENT, S.ESTABLISHED), (S.ESTABLISHED, S.CLOSE_WAIT)]
    assert kit.receive() == b"bye"
    with pytest.raises(LocalError, match="connection closing"):
        kit.receive()


def test_data_queued_before_the_handshake_rides_on_the_third_segment() -> None:
    kit = syn_sent()
    assert kit.send(b"GET /") == 5
    kit.expect_nothing()  # nothing but the SYN until the peer answers
    kit.recv("SA", seq=0, ack=1, options=PEER_SYN_OPTIONS)
    kit.expect("PA", seq=1, ack=1, payload=b"GET /")
    kit.expect_nothing()


@proves(S.SYN_SENT, S.SYN_RECEIVED)
def test_syn_without_ack_is_a_simultaneous_open() -> None:
    kit = syn_sent()
    kit.recv("S", seq=0, options=PEER_SYN_OPTIONS)
    # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
    kit.expect("SA", seq=0, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.SYN_RECEIVED)
    kit.recv("SA", seq=0, ack=1)  # the peer's SYN,ACK completes it (RFC 9293 Figure 7)
    kit.assert_state(S.ESTABLISHED)


def test_simultaneous_open_completes_with_the_peers_ack() -> None:
    kit = syn_sent()
    kit.recv("S", seq=0, options=PEER_SYN_OPTIONS)
    kit.expect("SA", seq=0, ack=1)
    kit.recv("A", seq=1, ack=1)
    kit.assert_state(S.ESTABLISHED)
    kit.expect_nothing()


# -- ACK check (first step) -------------------------------------------------------------------


@pytest.mark.parametrize("ack", [0, -1000, 2, 5000])
def test_unacceptable_ack_is_reset(ack: int) -> None:
    """SEG.ACK =< ISS or SEG.ACK > SND.NXT: <SEQ=SEG.ACK><CTL=RST>, stay in SYN-SENT."""
    kit = syn_sent()
    seg = kit.segment("SA", seq=0, ack=ack)
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack)
    kit.expect_nothing()
    kit.assert_state(S.SYN_SENT)
    assert kit.last_drop() == drops.ACK_UNACCEPTABLE


def test_plain_ack_with_unacceptable_number_is_reset() -> None:
    kit = syn_sent()
    seg = kit.segment("A", seq=1, ack=7)
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack)
    kit.assert_state(S.SYN_SENT)


def test_rst_with_unacceptable_ack_is_dropped_silently() -> None:
    kit = syn_sent()
    kit.recv("RA", seq=0, ack=5)
    kit.expect_nothing()
    kit.assert_state(S.SYN_SENT)


# -- RST (second step) ------------------------------------------------------------------------


@proves(S.SYN_SENT, S.CLOSED)
def test_rst_with_acceptable_ack_refuses_the_connection() -> None:
    """Reported as "connection refused" (ECONNREFUSED, as Linux and BSD; RFC 9293 says
    "connection reset" here, see docs/deviations.md)."""
    kit = syn_sent()
    kit.recv("RA", seq=0, ack=1)
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection refused"
    with pytest.raises(RemoteError, match="connection refused"):
        kit.send(b"x")


def test_rst_without_ack_is_dropped() -> None:
    kit = syn_sent()
    kit.recv("R", seq=0)
    kit.expect_nothing()
    kit.assert_state(S.SYN_SENT)
    assert kit.last_drop() == drops.RST_WITHOUT_ACK_IN_SYN_SENT


# -- neither SYN nor RST (fifth step) ---------------------------------------------------------


@pytest.mark.parametrize(("flags", "payload"), [("A", b""), ("FA", b""), ("PA", b"data"),
                                                ("", b"data"), ("F", b"")])
def test_segment_without_syn_or_rst_is_dropped(flags: str, payload: bytes) -> None:
    kit = syn_sent()
    kit.recv(flags, seq=1, ack=1, payload=payload)
    kit.expect_nothing()
    kit.assert_state(S.SYN_SENT)
    assert kit.last_drop() == drops.SYN_SENT_NO_SYN


# -- user calls -------------------------------------------------------------------------------


def test_receive_before_the_connection_is_open_returns_nothing() -> None:
    kit = syn_sent()
    assert kit.receive() == b""


@proves(S.SYN_SENT, S.CLOSED)
def test_close_deletes_the_tcb_without_a_segment() -> None:
    kit = syn_sent()
    kit.send(b"queued")
    kit.close()
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None
    kit.expect_nothing()
    # The peer's late SYN,ACK now meets a CLOSED connection: <SEQ=SEG.ACK><CTL=RST>.
    seg = kit.segment("SA", seq=0, ack=1)
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack)


@proves(S.SYN_SENT, S.CLOSED)
def test_abort_deletes_the_tcb_without_a_reset() -> None:
    kit = syn_sent()
    kit.abort()
    kit.assert_state(S.CLOSED)
    kit.expect_nothing()


# -- timeouts (3.10.8) ------------------------------------------------------------------------


def test_syn_is_retransmitted_with_exponential_backoff() -> None:
    kit = syn_sent()
    opened = kit.now
    kit.fire("retransmit")
    assert kit.now == opened + 1_000_000
    out = kit.expect("S", seq=0)
    assert "retransmission" in out.reason
    kit.expect_nothing()
    assert kit.conn.timers == {"retransmit": kit.now + 2_000_000}  # RFC 6298 5.5
    kit.fire("retransmit")
    kit.expect("S", seq=0)
    assert kit.conn.timers == {"retransmit": kit.now + 4_000_000}


def test_syn_ack_after_a_retransmission_gives_no_rtt_sample() -> None:
    """Karn's algorithm (RFC 6298 3): the SYN,ACK may answer either SYN."""
    kit = syn_sent()
    kit.fire("retransmit")
    kit.expect("S", seq=0)
    kit.now += 10_000
    kit.recv("SA", seq=0, ack=1, options=PEER_SYN_OPTIONS)
    kit.expect("A", seq=1, ack=1)
    assert kit.conn.status().srtt_us is None


@proves(S.SYN_SENT, S.CLOSED)
def test_user_timeout_applies_to_the_handshake() -> None:
    """3.10.8 USER TIMEOUT, "for any state": the SYN's retransmissions stop at it."""
    kit = syn_sent(user_timeout_us=1_500_000)
    opened = kit.now
    kit.fire("retransmit")
    kit.expect("S", seq=0)
    assert kit.conn.timers == {"retransmit": opened + 1_500_000}  # not 2 s after the resend
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection aborted due to user timeout"


@proves(S.SYN_SENT, S.CLOSED)
def test_gives_up_after_syn_retries() -> None:
    kit = syn_sent(syn_retries=2)
    kit.fire("retransmit")
    kit.expect("S", seq=0)
    kit.fire("retransmit")
    kit.expect("S", seq=0)
    kit.assert_state(S.SYN_SENT)
    kit.fire("retransmit")
    kit.expect_nothing()
    kit.assert_state(S.CLOSED)
    assert kit.error_text() == "connection timed out"
    assert kit.conn.timers == {}
    with pytest.raises(RemoteError, match="connection timed out"):
        kit.receive()


# -- every kind of arriving segment, one at a time --------------------------------------------

EVENTS = [
    Event("RST", "R", 0, 0, None, S.SYN_SENT),
    Event("RST,ACK acceptable", "RA", 0, 1, None, S.CLOSED),
    Event("RST,ACK unacceptable", "RA", 0, 5, None, S.SYN_SENT),
    Event("SYN", "S", 0, 0, ("SA", 0, 1), S.SYN_RECEIVED),
    Event("SYN,ACK", "SA", 0, 1, ("A", 1, 1), S.ESTABLISHED),
    Event("SYN,ACK of ISS", "SA", 0, 0, ("R", 0, 0), S.SYN_SENT),
    Event("SYN,ACK too new", "SA", 0, 2, ("R", 2, 0), S.SYN_SENT),
    Event("FIN", "F", 0, 0, None, S.SYN_SENT),
    Event("FIN,ACK", "FA", 0, 1, None, S.SYN_SENT),
    Event("ACK", "A", 0, 1, None, S.SYN_SENT),
    Event("ACK too new", "A", 0, 2, ("R", 2, 0), S.SYN_SENT),
    Event("data", "PA", 0, 1, None, S.SYN_SENT, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(syn_sent())
