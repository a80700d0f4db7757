"""32-bit sequence number arithmetic, RFC 9293 section 3.4.

Sequence numbers live in the space ``0 .. 2**32 - 1`` and all arithmetic on them is done modulo
``2**32``.  "a < b" means "a comes before b" on the circle: the signed distance ``a - b`` taken
modulo ``2**32`` and folded into ``[-2**31, 2**31)`` is negative.  Two numbers exactly ``2**31``
apart are ambiguous; by this folding each compares *less than* the other, so callers must never
let a window reach half the space (TCP windows are far smaller, RFC 7323 section 2.3).

These are plain functions on ``int`` rather than a wrapper class because they sit on the hot path
of every segment.
"""

from __future__ import annotations

#: Size of the sequence space (RFC 9293 section 3.4: "arithmetic modulo 2**32").
SEQ_MOD = 1 << 32
_MASK = SEQ_MOD - 1
_HALF = 1 << 31


def seq_add(a: int, n: int) -> int:
    """Return ``a + n`` modulo 2**32 (``n`` may be negative), RFC 9293 section 3.4."""
    return (a + n) & _MASK


def seq_diff(a: int, b: int) -> int:
    """Return the signed distance ``a - b`` folded into ``[-2**31, 2**31)``, RFC 9293 3.4."""
    return ((a - b + _HALF) & _MASK) - _HALF


def seq_lt(a: int, b: int) -> bool:
    """Return True when ``a`` comes strictly before ``b`` (RFC 9293 3.4 "<")."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    """Return True when ``a`` comes before or equals ``b`` (RFC 9293 3.4 "=<")."""
    return seq_diff(a, b) <= 0


def seq_gt(a: int, b: int) -> bool:
    """Return True when ``a`` comes strictly after ``b`` (RFC 9293 3.4 ">")."""
    return seq_diff(a, b) > 0


def seq_ge(a: int, b: int) -> bool:
    """Return True when ``a`` comes after or equals ``b`` (RFC 9293 3.4 ">=")."""
    return seq_diff(a, b) >= 0


def seq_max(a: int, b: int) -> int:
    """Return whichever of ``a`` and ``b`` comes later in sequence space (RFC 9293 3.4)."""
    return a if seq_diff(a, b) >= 0 else b


def seq_min(a: int, b: int) -> int:
    """Return whichever of ``a`` and ``b`` comes earlier in sequence space (RFC 9293 3.4)."""
    return a if seq_diff(a, b) <= 0 else b


def seq_in_window(x: int, start: int, size: int) -> bool:
    """Return True when ``start =< x < start + size`` modulo 2**32, RFC 9293 section 3.4.

    An empty window (``size == 0``) contains nothing.  ``size`` must be below 2**32.
    """
    return ((x - start) & _MASK) < size


def segment_acceptable(seg_seq: int, seg_len: int, rcv_nxt: int, rcv_wnd: int) -> bool:
    """Apply the segment acceptability test of RFC 9293 section 3.10.7.4.

    ====  ====  ==========================================================
    LEN   WND   test
    ====  ====  ==========================================================
    0     0     SEG.SEQ = RCV.NXT
    0     >0    RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
    >0    0     not acceptable
    >0    >0    RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
                or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
    ====  ====  ==========================================================

    ``seg_len`` counts SYN and FIN as one octet each, as SEG.LEN does in the RFC.
    """
    if seg_len == 0:
        if rcv_wnd == 0:
            return seg_seq == rcv_nxt
        return seq_in_window(seg_seq, rcv_nxt, rcv_wnd)
    if rcv_wnd == 0:
        return False
    return seq_in_window(seg_seq, rcv_nxt, rcv_wnd) or seq_in_window(
        (seg_seq + seg_len - 1) & _MASK, rcv_nxt, rcv_wnd
    )


def ack_acceptable(snd_una: int, seg_ack: int, snd_nxt: int) -> bool:
    """Return True when ``SND.UNA < SEG.ACK =< SND.NXT`` (RFC 9293 section 3.4 / 3.10.7.4)."""
    return seq_lt(snd_una, seg_ack) and seq_le(seg_ack, snd_nxt)
