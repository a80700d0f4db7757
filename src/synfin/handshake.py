"""What a SYN says and what the handshake settles (RFC 9293 3.7.1 MSS, RFC 7323 window scale
and timestamps, RFC 2018 SACK-permitted), as pure functions shared by connections and by the
listener's half-open records and SYN cookies."""

from __future__ import annotations

from dataclasses import dataclass

from synfin.config import Config
from synfin.seq import SEQ_MOD, seq_lt
from synfin.wire.flags import Flags
from synfin.wire.segment import (
    MssOption,
    NopOption,
    SackPermittedOption,
    TcpOption,
    TcpSegment,
    TimestampsOption,
    WindowScaleOption,
)

#: RFC 7323 section 2.3: the largest shift count.
MAX_WSCALE = 14
#: Bytes the timestamps option takes in every segment once negotiated (with two NOPs).
TIMESTAMPS_OPTION_LEN = 12
_MAX_WINDOW_FIELD = 0xFFFF


def tsval_at(now: int, offset: int) -> int:
    """TSval: a 1 ms clock plus a secret offset (RFC 7323 section 5.4)."""
    return (now // 1000 + offset) % SEQ_MOD


def timestamps_options(tsval: int, tsecr: int) -> tuple[TcpOption, ...]:
    """The timestamps option of a non-SYN segment, NOP-padded to 12 bytes (RFC 7323
    Appendix A layout)."""
    return (NopOption(), NopOption(), TimestampsOption(tsval, tsecr))


def paws_rejects(seg: TcpSegment, ts_recent: int | None) -> bool:
    """RFC 7323 5.3 R1 (PAWS): with timestamps in use (``ts_recent`` not ``None``), a
    non-RST segment whose TSval is older than TS.Recent is an old duplicate."""
    ts = seg.timestamps
    return (ts_recent is not None and ts is not None and not seg.flags & Flags.RST
            and seq_lt(ts.tsval, ts_recent))


def window_shift_for(buffer_size: int) -> int:
    """The smallest RFC 7323 shift that lets a 16-bit field cover ``buffer_size``."""
    shift = 0
    while shift < MAX_WSCALE and (_MAX_WINDOW_FIELD << shift) < buffer_size:
        shift += 1
    return shift


@dataclass(frozen=True, slots=True)
class PeerSyn:
    """The peer's SYN (or SYN,ACK): its ISN, window and the options it offered."""

    isn: int
    window: int
    mss: int | None = None
    wscale: int | None = None
    sack: bool = False
    tsval: int | None = None

    @classmethod
    def from_segment(cls, seg: TcpSegment) -> PeerSyn:
        ts = seg.timestamps
        return cls(seg.seq, seg.window, seg.mss, seg.wscale, seg.sack_permitted,
                   ts.tsval if ts is not None else None)


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What both ends agreed on."""

    smss: int  #: effective send MSS, options excluded (RFC 6691)
    ws_ok: bool
    snd_wscale: int
    rcv_wscale: int
    ts_ok: bool
    sack_ok: bool


def negotiate(config: Config, peer: PeerSyn) -> Negotiated:
    """An option counts only when both ends sent it (RFC 7323 1.3, RFC 2018 2); a shift
    above 14 is taken as 14 (RFC 7323 2.3); without an MSS option the peer's MSS is 536
    (RFC 9293 3.7.1); the send MSS leaves room for timestamps (RFC 6691)."""
    ws_ok = config.window_scaling and peer.wscale is not None
    ts_ok = config.timestamps and peer.tsval is not None
    peer_mss = peer.mss if peer.mss is not None else config.default_peer_mss
    return Negotiated(
        smss=min(peer_mss, config.mss) - (TIMESTAMPS_OPTION_LEN if ts_ok else 0),
        ws_ok=ws_ok,
        snd_wscale=min(peer.wscale or 0, MAX_WSCALE) if ws_ok else 0,
        rcv_wscale=window_shift_for(config.recv_buffer) if ws_ok else 0,
        ts_ok=ts_ok,
        sack_ok=config.sack and peer.sack,
    )


def syn_options(config: Config, negotiated: Negotiated | None, tsval: int,
                tsecr: int) -> tuple[TcpOption, ...]:
    """Options of our SYN (``negotiated`` is ``None``: offer everything configured) or of our
    SYN,ACK (echo only what the SYN offered). MSS, SACK-permitted, timestamps, window scale,
    in Linux's order."""
    offering = negotiated is None
    opts: list[TcpOption] = [MssOption(config.mss)]
    if config.sack and (offering or (negotiated is not None and negotiated.sack_ok)):
        opts.append(SackPermittedOption())
    if config.timestamps and (offering or (negotiated is not None and negotiated.ts_ok)):
        opts.append(TimestampsOption(tsval, tsecr))
    if config.window_scaling and (offering or (negotiated is not None and negotiated.ws_ok)):
        opts += [NopOption(), WindowScaleOption(window_shift_for(config.recv_buffer))]
    return tuple(opts)
