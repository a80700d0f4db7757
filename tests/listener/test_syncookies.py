"""SYN cookies (RFC 4987 3.6): round trip, forgery and age rejection, option encoding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from synfin.seq import seq_add
from synfin.syncookies import (
    MAX_AGE_PERIODS,
    MSS_TABLE,
    PERIOD_US,
    decode_cookie,
    decode_ts_options,
    encode_cookie,
    encode_ts_options,
    mss_index,
)

SECRET = b"cookie-secret-16"
TUPLE = ("10.0.0.2", 80, "10.0.0.1", 40000)


def ack_for(cookie: int, peer_isn: int) -> tuple[int, int]:
    """SEG.SEQ and SEG.ACK of the ACK completing the handshake."""
    return seq_add(peer_isn, 1), seq_add(cookie, 1)


@given(peer_isn=st.integers(0, 2**32 - 1), mss=st.integers(536, 9000),
       now=st.integers(0, 10**12))
def test_round_trip_gives_back_the_rounded_mss(peer_isn: int, mss: int, now: int) -> None:
    cookie = encode_cookie(SECRET, TUPLE, peer_isn, mss, now)
    seq, ack = ack_for(cookie, peer_isn)
    got = decode_cookie(SECRET, TUPLE, seq, ack, now + PERIOD_US // 2)
    assert got == MSS_TABLE[mss_index(mss)]
    assert got is not None and got <= max(mss, MSS_TABLE[0])


def test_mss_is_rounded_down_to_the_table() -> None:
    assert MSS_TABLE[mss_index(1460)] == 1460
    assert MSS_TABLE[mss_index(1459)] == 1440
    assert MSS_TABLE[mss_index(100)] == 536
    assert MSS_TABLE[mss_index(65495)] == 1460


def test_forged_cookie_is_rejected() -> None:
    cookie = encode_cookie(SECRET, TUPLE, 1000, 1460, 0)
    seq, ack = ack_for(cookie, 1000)
    assert decode_cookie(SECRET, TUPLE, seq, seq_add(ack, 1), 0) is None
    assert decode_cookie(SECRET, TUPLE, seq_add(seq, 1), ack, 0) is None
    assert decode_cookie(b"another-secret!!", TUPLE, seq, ack, 0) is None
    other = ("10.0.0.2", 80, "10.0.0.9", 40000)
    assert decode_cookie(SECRET, other, seq, ack, 0) is None


def test_blind_guesses_almost_never_pass() -> None:
    accepted = sum(
        decode_cookie(SECRET, TUPLE, 1001, guess, 0) is not None
        for guess in range(0, 2**32, 2**32 // 20000)
    )
    assert accepted <= 1


def test_cookie_expires_after_max_age() -> None:
    cookie = encode_cookie(SECRET, TUPLE, 5, 1460, 0)
    seq, ack = ack_for(cookie, 5)
    assert decode_cookie(SECRET, TUPLE, seq, ack, (MAX_AGE_PERIODS - 1) * PERIOD_US) == 1460
    assert decode_cookie(SECRET, TUPLE, seq, ack, MAX_AGE_PERIODS * PERIOD_US) is None


@given(tsval=st.integers(0, 2**32 - 1), wscale=st.one_of(st.none(), st.integers(0, 14)),
       sack=st.booleans())
def test_timestamp_carries_window_scale_and_sack(tsval: int, wscale: int | None,
                                                 sack: bool) -> None:
    encoded = encode_ts_options(tsval, wscale, sack)
    assert decode_ts_options(encoded) == (wscale, sack)
    # Never ahead of the clock (later TSvals must not look older to the peer's PAWS), and
    # at most 31 ticks behind it.
    assert (tsval - encoded) % 2**32 < 32
