"""The Internet checksum (RFC 1071) and the TCP pseudo-header sum (RFC 9293 section 3.1).

The 16-bit one's complement sum is computed without a per-word loop. Because
``2**16 == 1 (mod 0xFFFF)``, a byte string read as one big-endian integer is congruent modulo
``0xFFFF`` to the sum of its 16-bit words, and the end-around-carry sum of RFC 1071 is exactly
that sum reduced modulo ``0xFFFF`` (RFC 1071 section 2, "(B) Associative"). One bignum
conversion and one modulo, both done in C, replace the loop.

The only subtlety is that one's complement arithmetic has two zeros. Adding words with
end-around carry never yields ``0x0000`` once any word is non-zero, so a non-zero total that is a
multiple of ``0xFFFF`` folds to ``0xFFFF`` (minus zero), and only all-zero data folds to ``0``.
This matches the reference loop of RFC 1071 section 4.1 bit for bit.
"""

from __future__ import annotations

_MOD = 0xFFFF


def word_sum(data: bytes) -> int:
    """An integer congruent (mod ``0xFFFF``) to the sum of the 16-bit words of ``data``.

    An odd trailing octet is padded on the right with a zero octet (RFC 9293 section 3.1,
    "Checksum"); shifting left by 8 bits does that without copying the data.
    """
    value = int.from_bytes(data, "big")
    return value << 8 if len(data) & 1 else value


def fold(total: int) -> int:
    """Reduce a non-negative word sum to its 16-bit one's complement value (RFC 1071 section 2).

    Returns ``0`` only for a zero total; any other multiple of ``0xFFFF`` is ``0xFFFF``.
    """
    if total == 0:
        return 0
    rest = total % _MOD
    return rest if rest else _MOD


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """The Internet checksum of ``data`` (RFC 1071): the one's complement of the one's
    complement sum of its 16-bit words.

    ``initial`` is a partial sum to include, such as :func:`pseudo_header_sum`; any
    non-negative integer congruent to the words' sum works, folded or not. Over data that
    already carries a correct checksum the result is ``0``.
    """
    return _MOD ^ fold(initial + word_sum(data))


def pseudo_header_sum(src: bytes, dst: bytes, protocol: int, length: int) -> int:
    """The word sum of the IPv4 pseudo-header (RFC 9293 section 3.1, "Checksum").

    The pseudo-header is source address, destination address, a zero octet, the protocol
    number and the TCP length (header plus data, in octets). The value is unfolded and
    meant as ``initial`` for :func:`internet_checksum`.
    """
    return int.from_bytes(src + dst, "big") + protocol + length
