"""LISTEN: waiting for a SYN after a passive OPEN (RFC 9293 3.10.1-3.10.5, 3.10.7.2)."""

from __future__ import annotations

import pytest
from statekit import LOCAL_IP, LOCAL_PORT, MSS, PEER_SYN_OPTIONS, REMOTE_IP, Event, Kit, proves

from synfin import drops
from synfin.errors import LocalError
from synfin.isn import IsnGenerator
from synfin.states import State
from synfin.wire.segment import (
    MssOption,
    NopOption,
    SackPermittedOption,
    TimestampsOption,
    WindowScaleOption,
)

S = State


def listening() -> Kit:
    return Kit().to_listen()


# -- SEGMENT ARRIVES (3.10.7.2) ---------------------------------------------------------------


@proves(S.LISTEN, S.SYN_RECEIVED)
def test_syn_is_answered_with_syn_ack_and_enters_syn_received() -> None:
    kit = listening()
    kit.recv("S", seq=0, options=PEER_SYN_OPTIONS)
    # <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, RCV.NXT = SEG.SEQ+1
    out = kit.expect("SA", seq=0, ack=1)
    assert "SYN,ACK" in out.reason
    kit.expect_nothing()
    kit.assert_state(S.SYN_RECEIVED)
    assert kit.conn.remote_ip == REMOTE_IP
    assert kit.iss == IsnGenerator(b"statekit").isn(LOCAL_IP, LOCAL_PORT, REMOTE_IP, 80,
                                                     kit.now)
    assert kit.conn.timers == {"retransmit": kit.now + 1_000_000}


def test_syn_ack_echoes_only_the_options_the_syn_offered() -> None:
    """RFC 7323 1.3 / RFC 2018 2: no timestamps in the SYN, none in the SYN,ACK; the MSS
    settles at the smaller of the two (RFC 9293 3.7.1), the shifts both ways."""
    kit = Kit(Kit().config.with_(timestamps=True, sack=True, window_scaling=True))
    kit.to_listen()
    kit.recv("S", seq=0, options=(MssOption(1000), SackPermittedOption(), NopOption(),
                                  WindowScaleOption(7)))
    kit.expect("SA", seq=0, ack=1,
               options=(MssOption(MSS), SackPermittedOption(), NopOption(),
                        WindowScaleOption(3)))
    kit.recv("A", seq=1, ack=1, window=100)  # 100 << 7 = 12800 bytes
    kit.assert_state(S.ESTABLISHED)
    assert kit.conn.status().snd_wnd == 12800
    kit.send(bytes(2500))
    kit.window = (256 * 1024) >> 3  # our window field is scaled by 3 from now on
    kit.expect("A", seq=1, ack=1, payload=bytes(1000))
    kit.expect("A", seq=1001, ack=1, payload=bytes(1000))
    kit.expect_nothing()  # Nagle (RFC 1122 4.2.3.4) holds the short tail while data is out
    kit.recv("A", seq=1, ack=2001, window=100)
    kit.expect("PA", seq=2001, ack=1, payload=bytes(500))
    kit.expect_nothing()


def test_syn_with_timestamps_gets_them_back() -> None:
    kit = Kit(Kit().config.with_(timestamps=True))
    kit.to_listen()
    kit.recv("S", seq=0, options=(MssOption(MSS), TimestampsOption(4242, 0)))
    seg = kit.conn.poll_transmit(kit.now)[0]
    ts = seg.timestamps
    assert ts is not None and ts.tsecr == 4242  # TSecr echoes the SYN's TSval (RFC 7323 3.2)
    assert seg.mss == MSS


def test_data_on_a_syn_is_not_acknowledged() -> None:
    """Like Linux without TCP Fast Open (a documented deviation): the SYN,ACK acknowledges
    the SYN only, and the peer sends the data again."""
    kit = listening()
    kit.recv("S", seq=0, payload=b"early", options=PEER_SYN_OPTIONS)
    kit.expect("SA", seq=0, ack=1)
    kit.recv("PA", seq=1, ack=1, payload=b"early")
    kit.expect("A", seq=1, ack=6)
    assert kit.receive() == b"early"


def test_rst_is_ignored() -> None:
    kit = listening()
    kit.recv("R", seq=3)
    kit.recv("RA", seq=3, ack=8)
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)
    assert kit.drops() == [drops.RST_IN_LISTEN] * 2


@pytest.mark.parametrize("flags", ["A", "SA", "FA", "PA"])
def test_anything_with_ack_is_reset_at_seg_ack(flags: str) -> None:
    kit = listening()
    seg = kit.segment(flags, seq=4, ack=1234, payload=b"x" if "P" in flags else b"")
    kit.deliver(seg)
    kit.expect_rst(seq_abs=seg.ack)  # <SEQ=SEG.ACK><CTL=RST>
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)
    assert kit.last_drop() == drops.ACK_IN_LISTEN


@pytest.mark.parametrize(("flags", "payload"), [("F", b""), ("", b"text"), ("P", b"text")])
def test_other_control_or_text_is_dropped(flags: str, payload: bytes) -> None:
    kit = listening()
    kit.recv(flags, seq=1, payload=payload)
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)
    assert kit.last_drop() == drops.LISTEN_NOT_SYN


def test_still_listening_after_a_reset_answer_a_syn_works() -> None:
    kit = listening()
    kit.recv("A", seq=4, ack=99)
    kit.expect_rst(seq_abs=99)
    kit.recv("S", seq=0, options=PEER_SYN_OPTIONS)
    kit.expect("SA", seq=0, ack=1)
    kit.assert_state(S.SYN_RECEIVED)


# -- user calls (3.10.1-3.10.5) ---------------------------------------------------------------


@proves(S.LISTEN, S.SYN_SENT)
def test_active_open_turns_the_listening_tcb_active() -> None:
    """3.10.1 OPEN in LISTEN: an active OPEN with a foreign socket sends a SYN, SYN-SENT."""
    kit = listening()
    kit.open_active()
    kit.assert_state(S.SYN_SENT)
    kit.expect("S", seq=0)
    kit.recv("SA", seq=0, ack=1, options=PEER_SYN_OPTIONS)
    kit.expect("A", seq=1, ack=1)
    kit.assert_state(S.ESTABLISHED)


def test_send_without_a_foreign_socket_is_an_error() -> None:
    kit = listening()
    with pytest.raises(LocalError, match="remote socket unspecified"):
        kit.send(b"hello")
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)


def test_receive_waits_for_the_connection() -> None:
    kit = listening()
    assert kit.receive() == b""
    kit.assert_state(S.LISTEN)


def test_passive_open_again_is_connection_already_exists() -> None:
    kit = listening()
    with pytest.raises(LocalError, match="connection already exists"):
        kit.open_passive()


@proves(S.LISTEN, S.CLOSED)
def test_close_deletes_the_tcb_silently() -> None:
    kit = listening()
    kit.close()
    kit.assert_state(S.CLOSED)
    assert kit.conn.error is None
    kit.expect_nothing()
    with pytest.raises(LocalError, match="connection does not exist"):
        kit.close()


@proves(S.LISTEN, S.CLOSED)
def test_abort_deletes_the_tcb_without_a_reset() -> None:
    kit = listening()
    kit.abort()
    kit.assert_state(S.CLOSED)
    kit.expect_nothing()


def test_no_timer_runs_in_listen() -> None:
    kit = listening()
    assert kit.conn.next_deadline() is None
    kit.wait(600_000_000)
    kit.expect_nothing()
    kit.assert_state(S.LISTEN)


# -- every kind of arriving segment, one at a time --------------------------------------------

EVENTS = [
    Event("RST", "R", 0, 0, None, S.LISTEN),
    Event("RST,ACK", "RA", 0, 50, None, S.LISTEN),
    Event("SYN", "S", 0, 0, ("SA", 0, 1), S.SYN_RECEIVED),
    Event("SYN,ACK", "SA", 0, 50, ("R", 50, 0), S.LISTEN),
    Event("FIN", "F", 1, 0, None, S.LISTEN),
    Event("FIN,ACK", "FA", 1, 50, ("R", 50, 0), S.LISTEN),
    Event("ACK", "A", 1, 50, ("R", 50, 0), S.LISTEN),
    Event("data without ACK", "P", 1, 0, None, S.LISTEN, b"abc"),
    Event("data with ACK", "PA", 1, 50, ("R", 50, 0), S.LISTEN, b"abc"),
]


@pytest.mark.parametrize("event", EVENTS, ids=[e.name for e in EVENTS])
def test_segment_arrives(event: Event) -> None:
    event.apply(listening())
