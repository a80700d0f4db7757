"""The reset segment RFC 9293 section 3.10.7.1 prescribes when no connection matches."""

from __future__ import annotations

from synfin.seq import seq_add
from synfin.wire.flags import Flags
from synfin.wire.segment import TcpSegment


def reset_for(seg: TcpSegment) -> TcpSegment | None:
    """The RST answering ``seg`` when it belongs to no connection, or ``None`` for a RST.

    RFC 9293 3.10.7.1: an incoming RST is discarded; if the ACK bit is off, answer
    ``<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>``; if it is on, ``<SEQ=SEG.ACK><CTL=RST>``.
    """
    if seg.flags & Flags.RST:
        return None
    if seg.flags & Flags.ACK:
        return TcpSegment(seg.dst_port, seg.src_port, seg.ack, 0, Flags.RST, 0)
    return TcpSegment(
        seg.dst_port, seg.src_port, 0, seq_add(seg.seq, seg.seg_len), Flags.RST | Flags.ACK, 0
    )


def reset_for_ack(seg: TcpSegment) -> TcpSegment:
    """``<SEQ=SEG.ACK><CTL=RST>``: the RST for an unacceptable ACK (RFC 9293 3.10.7.2-4)."""
    return TcpSegment(seg.dst_port, seg.src_port, seg.ack, 0, Flags.RST, 0)
