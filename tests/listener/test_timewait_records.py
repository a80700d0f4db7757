"""Compact TIME-WAIT records and the TIME-WAIT verdict (RFC 9293 3.10.7.4, RFC 1337,
RFC 6191, RFC 7323 5.3)."""

from __future__ import annotations

import pytest

from synfin.timewait import (
    TimeWaitTable,
    TwAction,
    TwVerdict,
    time_wait_key,
    time_wait_verdict,
)
from synfin.wire import Flags, TcpSegment, TimestampsOption

RCV_NXT = 5000
SND_NXT = 777
T = 60_000_000


def seg(flags: Flags, seq: int, ack: int = 0, payload: bytes = b"",
        ts: tuple[int, int] | None = None) -> TcpSegment:
    options = (TimestampsOption(*ts),) if ts else ()
    return TcpSegment(40000, 80, seq, ack, flags, 1000, 0, options, payload)


def verdict(segment: TcpSegment, ts_recent: int | None = None) -> TwVerdict:
    return time_wait_verdict(segment, RCV_NXT, 1000, ts_recent, SND_NXT, 65535)


def test_rst_is_ignored() -> None:
    v = verdict(seg(Flags.RST, RCV_NXT))
    assert v.action is TwAction.DROP and v.reason == "rst-in-time-wait-ignored"


def test_retransmitted_fin_is_acked_and_restarts() -> None:
    v = verdict(seg(Flags.FIN | Flags.ACK, RCV_NXT - 1, 777))
    assert v.action is TwAction.ACK_RESTART


def test_syn_with_higher_seq_reopens_without_timestamps() -> None:
    assert verdict(seg(Flags.SYN, RCV_NXT + 10)).action \
        is TwAction.REUSE
    assert verdict(seg(Flags.SYN, RCV_NXT - 10)).action \
        is TwAction.ACK


def test_syn_judged_by_timestamp_when_both_have_them() -> None:
    newer = seg(Flags.SYN, RCV_NXT - 10, ts=(101, 0))
    older = seg(Flags.SYN, RCV_NXT + 10, ts=(99, 0))
    assert verdict(newer, 100).action is TwAction.REUSE
    assert verdict(older, 100).action is TwAction.ACK


def test_old_data_is_acked_and_paws_rejects_old_timestamps() -> None:
    old = seg(Flags.ACK | Flags.PSH, RCV_NXT - 300, payload=b"x" * 100)
    assert verdict(old).action is TwAction.ACK
    stale = seg(Flags.ACK, RCV_NXT, ts=(5, 0))
    assert verdict(stale, 10).reason == "paws-old-timestamp"


def test_key_distinguishes_tuples() -> None:
    keys = {time_wait_key(ip, lp, rp) for ip in ("10.0.0.1", "10.0.0.2")
            for lp in (80, 81) for rp in (40000, 40001)}
    assert len(keys) == 8


def test_records_expire_exactly_after_2msl_in_order() -> None:
    table = TimeWaitTable(T, 100)
    table.add(1, 10, 20, None, 0, 7, 65535, now=0)
    table.add(2, 11, 21, 99, 5, 0, 65535, now=1_000)
    assert table.get(2) == (11, 21, 99, 5, 0, 65535, T + 1_000)
    assert table.next_deadline() == T
    assert table.expire(T - 1) == []
    assert table.expire(T) == [1]
    assert table.next_deadline() == T + 1_000
    assert table.expire(T + 1_000) == [2]
    assert len(table) == 0 and table.next_deadline() is None


def test_restart_moves_expiry_and_keeps_order_exact() -> None:
    table = TimeWaitTable(T, 100)
    table.add(1, 10, 20, None, 0, 0, 65535, now=0)
    table.add(2, 10, 20, None, 0, 0, 65535, now=10)
    assert table.restart(1, now=500) == T + 500
    assert table.next_deadline() == T + 10
    assert table.expire(T + 10) == [2]
    assert table.next_deadline() == T + 500
    assert table.expire(T + 499) == []
    assert table.expire(T + 500) == [1]


def test_removed_and_readded_key_is_not_confused_by_old_entries() -> None:
    table = TimeWaitTable(T, 100)
    table.add(1, 10, 20, None, 0, 0, 65535, now=0)
    table.restart(1, now=5)
    table.add(2, 10, 20, None, 0, 0, 65535, now=6)
    table.remove(1)
    table.add(1, 30, 40, None, 0, 0, 65535, now=100)
    assert table.next_deadline() == T + 6
    assert table.expire(T + 6) == [2]
    assert table.expire(T + 99) == []
    assert table.expire(T + 100) == [1]


def test_bucket_limit() -> None:
    table = TimeWaitTable(T, 2)
    assert table.add(1, 0, 0, None, 0, 0, 0, 0) and table.add(2, 0, 0, None, 0, 0, 0, 0)
    assert not table.add(3, 0, 0, None, 0, 0, 0, 0)
    assert table.overflows == 1 and 3 not in table


def test_restart_of_unknown_key_raises() -> None:
    with pytest.raises(KeyError):
        TimeWaitTable(T, 1).restart(42, 0)


def test_ack_of_unsent_data_and_too_old_ack_are_answered() -> None:
    new = time_wait_verdict(seg(Flags.ACK, RCV_NXT, SND_NXT + 5), RCV_NXT, 1000, None, SND_NXT,
                            100)
    old = time_wait_verdict(seg(Flags.ACK, RCV_NXT, SND_NXT - 500), RCV_NXT, 1000, None,
                            SND_NXT, 100)
    fine = time_wait_verdict(seg(Flags.ACK, RCV_NXT, SND_NXT), RCV_NXT, 1000, None, SND_NXT, 100)
    assert (new.action, new.reason) == (TwAction.ACK, "ack-of-unsent-data")
    assert (old.action, old.reason) == (TwAction.ACK, "ack-too-old")
    assert fine.action is TwAction.DROP
