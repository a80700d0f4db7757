"""SYN cookies (RFC 4987 section 3.6): a listener under a SYN flood keeps no state for a
SYN; the state it needs later is encoded in the ISS of its SYN,ACK and checked when the
handshake ACK comes back.

Layout of the 32-bit cookie (the ISS), after Bernstein's original design::

    | 31 .. 27 | 26 .. 24  | 23 ................ 0 |
    | t mod 32 | MSS index | MAC(secret, 4-tuple, t, peer ISN) |

``t`` counts 64-second periods of the driver's clock; a cookie is accepted for
``MAX_AGE_PERIODS`` periods. Only eight MSS values fit, so the peer's MSS is rounded down to
:data:`MSS_TABLE`. When both ends use timestamps, the low bits of our TSval carry the window
scale and SACK-permitted options (as Linux does), and the peer's TSecr brings them back.

Pure functions: the secret and the time are parameters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from synfin.seq import SEQ_MOD, seq_add

#: MSS values a cookie can carry (index = 3 bits), ascending.
MSS_TABLE: tuple[int, ...] = (536, 1024, 1220, 1300, 1360, 1400, 1440, 1460)
PERIOD_US = 64_000_000
#: A cookie older than this many periods (2 to 3 minutes) is refused.
MAX_AGE_PERIODS = 2
_MAC_MASK = (1 << 24) - 1
#: Low TSval bits used for options: 4 bits window scale (0xF: none), 1 bit SACK.
TS_OPTION_BITS = 5
_TS_WSCALE_NONE = 0xF
_TS_SACK = 0x10


@dataclass(frozen=True, slots=True)
class CookieOptions:
    """What a valid cookie ACK tells about the original SYN."""

    mss: int
    wscale: int | None = None
    sack: bool = False


def _mac(secret: bytes, four_tuple: tuple[str, int, str, int], period: int, peer_isn: int) -> int:
    lip, lport, rip, rport = four_tuple
    data = f"{lip}|{lport}|{rip}|{rport}|{period}|{peer_isn}".encode()
    digest = hashlib.blake2s(data, key=secret, digest_size=4).digest()
    return int.from_bytes(digest, "big") & _MAC_MASK


def mss_index(mss: int) -> int:
    """The largest table entry not above ``mss`` (the first entry if ``mss`` is smaller)."""
    index = 0
    for i, value in enumerate(MSS_TABLE):
        if value <= mss:
            index = i
    return index


def encode_cookie(secret: bytes, four_tuple: tuple[str, int, str, int], peer_isn: int,
                  mss: int, now: int) -> int:
    """The ISS to put in a SYN,ACK instead of keeping state (``four_tuple`` is local ip,
    local port, remote ip, remote port; ``peer_isn`` is the SYN's SEG.SEQ)."""
    period = now // PERIOD_US
    return ((period % 32) << 27) | (mss_index(mss) << 24) | _mac(secret, four_tuple, period,
                                                                   peer_isn)


def decode_cookie(secret: bytes, four_tuple: tuple[str, int, str, int], seg_seq: int,
                  seg_ack: int, now: int) -> int | None:
    """Check the ACK completing a cookie handshake: the MSS it carries, or ``None`` when the
    cookie is forged or too old (RFC 4987 3.6). ``seg_seq``/``seg_ack`` are the ACK's."""
    cookie = seq_add(seg_ack, -1)
    peer_isn = seq_add(seg_seq, -1)
    period_now = now // PERIOD_US
    for age in range(MAX_AGE_PERIODS):
        period = period_now - age
        if period < 0 or period % 32 != cookie >> 27:
            continue
        if _mac(secret, four_tuple, period, peer_isn) == cookie & _MAC_MASK:
            return MSS_TABLE[(cookie >> 24) & 0x7]
    return None


def encode_ts_options(tsval: int, wscale: int | None, sack: bool) -> int:
    """``tsval`` with its low bits replaced by the SYN's window scale and SACK-permitted,
    rounded down (as Linux's ``cookie_init_timestamp``): the TSval of every later segment is
    ``tsval`` or more, so the peer's PAWS (RFC 7323 5.3) never finds it older than the
    SYN,ACK's."""
    bits = (_TS_WSCALE_NONE if wscale is None else min(wscale, 14)) | (_TS_SACK if sack else 0)
    base = tsval & ~((1 << TS_OPTION_BITS) - 1)
    if base | bits > tsval:
        base -= 1 << TS_OPTION_BITS
    return (base | bits) % SEQ_MOD


def decode_ts_options(tsecr: int) -> tuple[int | None, bool]:
    """Window scale (or ``None``) and SACK-permitted carried back in a TSecr."""
    wscale = tsecr & 0xF
    return (None if wscale == _TS_WSCALE_NONE else wscale), bool(tsecr & _TS_SACK)
