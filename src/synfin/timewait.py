"""TIME-WAIT: the verdict on a segment for a 4-tuple in TIME-WAIT, and compact records.

A connection in TIME-WAIT needs only a few numbers: SND.NXT and RCV.NXT to re-ACK a
retransmitted FIN and to judge old segments, TS.Recent to judge a new SYN (RFC 6191), and when
2MSL ends. :class:`TimeWaitTable` keeps exactly that, packed into ~60 bytes a record, so a
host can hold a million TIME-WAIT connections, as Linux's ``inet_timewait_sock`` does.

:func:`time_wait_verdict` is the one place the TIME-WAIT rules live; both a full
:class:`~synfin.connection.Connection` in TIME-WAIT and the stack's compact records use it.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

from synfin import drops
from synfin.handshake import paws_rejects
from synfin.seq import segment_acceptable, seq_add, seq_gt, seq_lt
from synfin.wire.flags import Flags
from synfin.wire.ipv4 import pack_ip
from synfin.wire.segment import TcpSegment


class TwAction(Enum):
    """What to do with a segment that arrives for a 4-tuple in TIME-WAIT."""

    DROP = "drop"
    #: Send ``<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>``.
    ACK = "ack"
    #: ACK it and restart the 2MSL timer (a retransmitted FIN).
    ACK_RESTART = "ack-restart"
    #: A new SYN that may reopen the 4-tuple: end TIME-WAIT and pass it on.
    REUSE = "reuse"


@dataclass(frozen=True, slots=True)
class TwVerdict:
    action: TwAction
    reason: str


def time_wait_verdict(seg: TcpSegment, rcv_nxt: int, rcv_wnd: int, ts_recent: int | None,
                      snd_nxt: int, max_snd_wnd: int) -> TwVerdict:
    """Judge ``seg`` arriving in TIME-WAIT (``ts_recent`` is ``None`` without timestamps).

    - RST: ignored, against TIME-WAIT assassination (RFC 1337; see docs/deviations.md).
    - SYN: a new incarnation may start when it is provably newer: a larger timestamp
      (RFC 6191 section 2) or, without timestamps, SEG.SEQ > RCV.NXT (RFC 1122 4.2.2.13);
      otherwise, and for any SYN,ACK, a challenge ACK (RFC 5961 section 4).
    - A retransmission of the peer's FIN: ACK it and restart 2MSL (RFC 9293 3.10.7.4).
    - An old timestamp (PAWS, RFC 7323 5.3) or an unacceptable sequence number: ACK.
    - An ACK of data never sent, or older than SND.UNA - MAX.SND.WND: an ACK back (3.10.7.4
      fifth step, RFC 5961 5.2; the second is a challenge ACK). In TIME-WAIT SND.UNA is
      SND.NXT: our FIN has been acknowledged.
    - Anything else acceptable: dropped; text is ignored in TIME-WAIT (3.10.7.4, 7th step).

    ACK verdicts whose reason is ``syn-in-synchronized-state`` or ``ack-too-old`` are RFC 5961
    challenge ACKs, which the caller rate-limits.
    """
    flags = seg.flags
    if flags & Flags.RST:
        return TwVerdict(TwAction.DROP, drops.RST_IN_TIME_WAIT)
    if flags & Flags.SYN:
        if not flags & Flags.ACK and _newer_incarnation(seg, rcv_nxt, ts_recent):
            return TwVerdict(TwAction.REUSE, "syn-reopens-time-wait")
        return TwVerdict(TwAction.ACK, drops.SYN_IN_WINDOW_CHALLENGED)
    if flags & Flags.FIN and seq_add(seg.seq, seg.seg_len) == rcv_nxt:
        return TwVerdict(TwAction.ACK_RESTART, "fin-retransmission-in-time-wait")
    if paws_rejects(seg, ts_recent):
        return TwVerdict(TwAction.ACK, drops.PAWS)
    if not segment_acceptable(seg.seq, seg.seg_len, rcv_nxt, rcv_wnd):
        return TwVerdict(TwAction.ACK, drops.SEQ_UNACCEPTABLE)
    if flags & Flags.ACK and seq_gt(seg.ack, snd_nxt):
        return TwVerdict(TwAction.ACK, drops.ACK_TOO_NEW)
    if flags & Flags.ACK and seq_lt(seg.ack, seq_add(snd_nxt, -max_snd_wnd)):
        return TwVerdict(TwAction.ACK, drops.ACK_TOO_OLD)
    return TwVerdict(TwAction.DROP, drops.TEXT_IN_CLOSING_STATE)


def _newer_incarnation(syn: TcpSegment, rcv_nxt: int, ts_recent: int | None) -> bool:
    """RFC 6191 section 2 (timestamps) or RFC 1122 4.2.2.13 (sequence numbers)."""
    ts = syn.timestamps
    if ts_recent is not None and ts is not None:
        return seq_gt(ts.tsval, ts_recent)
    return seq_gt(syn.seq, rcv_nxt)


#: Verdict reasons that are RFC 5961 challenge ACKs (rate-limited, section 7).
CHALLENGE_REASONS = frozenset({drops.SYN_IN_WINDOW_CHALLENGED, drops.ACK_TOO_OLD})


class TimeWaitRecord(NamedTuple):
    """The fields a TIME-WAIT record keeps (unpacked on demand)."""

    snd_nxt: int
    rcv_nxt: int
    ts_recent: int | None
    ts_offset: int
    rcv_wscale: int
    max_snd_wnd: int
    expires: int


# snd_nxt, rcv_nxt, ts_recent, ts_offset, max_snd_wnd, expires, rcv_wscale, has_ts,
# pending timer entries
_PACK = struct.Struct("!IIIIIqBBH")
_EXPIRES = 5
_PENDING = 8


def time_wait_key(remote_ip: str, local_port: int, remote_port: int) -> int:
    """One int naming a 4-tuple of this host (the local address is the stack's own)."""
    return (int.from_bytes(pack_ip(remote_ip), "big") << 32) | (local_port << 16) | remote_port


class TimeWaitTable:
    """Compact TIME-WAIT records with exact 2MSL expiry and O(1) work per event.

    Every record lasts the same ``time_wait_us`` from its last (re)start, so the order of
    (re)starts is the order of expiry: a FIFO of keys suffices, no heap. A restart appends the
    key again; the record counts its entries in the FIFO so the stale ones are skipped.
    """

    def __init__(self, time_wait_us: int, max_buckets: int) -> None:
        self.time_wait_us = time_wait_us
        self.max_buckets = max_buckets
        self._records: dict[int, bytes] = {}
        self._fifo: deque[int] = deque()
        #: FIFO entries left behind by removed records, per key (rare: reuse, abort).
        self._ghosts: dict[int, int] = {}
        #: Connections that could not get a record because the table was full.
        self.overflows = 0

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, key: int) -> bool:
        return key in self._records

    def add(self, key: int, snd_nxt: int, rcv_nxt: int, ts_recent: int | None, ts_offset: int,
            rcv_wscale: int, max_snd_wnd: int, now: int) -> bool:
        """File a connection entering TIME-WAIT; ``False`` when ``max_buckets`` is reached
        (then it is closed at once, as Linux does on 'time wait bucket table overflow')."""
        if key not in self._records and len(self._records) >= self.max_buckets:
            self.overflows += 1
            return False
        pending = self._pending(key) + 1
        self._records[key] = _PACK.pack(snd_nxt, rcv_nxt, ts_recent or 0, ts_offset,
                                        min(max_snd_wnd, 0xFFFFFFFF), now + self.time_wait_us,
                                        rcv_wscale, ts_recent is not None, pending)
        self._fifo.append(key)
        return True

    def get(self, key: int) -> TimeWaitRecord | None:
        packed = self._records.get(key)
        if packed is None:
            return None
        snd_nxt, rcv_nxt, ts_recent, ts_offset, max_wnd, expires, wscale, has_ts, _ = (
            _PACK.unpack(packed))
        return TimeWaitRecord(snd_nxt, rcv_nxt, ts_recent if has_ts else None, ts_offset,
                              wscale, max_wnd, expires)

    def restart(self, key: int, now: int) -> int:
        """Restart 2MSL for ``key`` (a retransmitted FIN was re-ACKed); the new deadline."""
        rec = self.get(key)
        if rec is None:
            raise KeyError(key)
        self.add(key, rec.snd_nxt, rec.rcv_nxt, rec.ts_recent, rec.ts_offset, rec.rcv_wscale,
                 rec.max_snd_wnd, now)
        return now + self.time_wait_us

    def remove(self, key: int) -> None:
        """Forget ``key`` now (its FIFO entries become stale)."""
        pending = self._pending(key)
        if pending:
            self._ghosts[key] = self._ghosts.get(key, 0) + pending
        self._records.pop(key, None)

    def next_deadline(self) -> int | None:
        self._drop_stale_heads()
        if not self._fifo:
            return None
        packed = self._records[self._fifo[0]]
        return int(_PACK.unpack(packed)[_EXPIRES])

    def expire(self, now: int) -> list[int]:
        """Remove and return every key whose 2MSL has ended by ``now``, oldest first."""
        done: list[int] = []
        while True:
            self._drop_stale_heads()
            if not self._fifo:
                return done
            key = self._fifo[0]
            if _PACK.unpack(self._records[key])[_EXPIRES] > now:
                return done
            self._fifo.popleft()
            del self._records[key]
            done.append(key)

    def __iter__(self) -> Iterator[int]:
        """The keys of the records (a snapshot)."""
        return iter(list(self._records))

    def _pending(self, key: int) -> int:
        packed = self._records.get(key)
        return int(_PACK.unpack(packed)[_PENDING]) if packed is not None else 0

    def _drop_stale_heads(self) -> None:
        """Pop FIFO heads that belong to removed records or were superseded by a restart."""
        fifo, records, ghosts = self._fifo, self._records, self._ghosts
        while fifo:
            key = fifo[0]
            if key in ghosts:
                ghosts[key] -= 1
                if not ghosts[key]:
                    del ghosts[key]
                fifo.popleft()
                continue
            packed = records.get(key)
            if packed is None:
                fifo.popleft()
                continue
            fields = list(_PACK.unpack(packed))
            if fields[_PENDING] <= 1:
                return
            fields[_PENDING] -= 1
            records[key] = _PACK.pack(*fields)
            fifo.popleft()
