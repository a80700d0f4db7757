"""TCP control bits (RFC 9293 section 3.1, RFC 3168 for ECE/CWR)."""

from enum import IntFlag


class Flags(IntFlag):
    """The control bits of the TCP header, in header bit order.

    ``&`` and ``|`` between flags (or with an int) look the result up in a table of the 256
    possible values instead of going through ``enum``'s generic path, which builds the result
    by calling the class: these operations run several times per segment (profiled in
    bench/NOTES.md). Values outside the eight bits take the generic path.
    """

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80

    def short(self) -> str:
        """Wireshark-style list, e.g. ``"SYN, ACK"``; ``"<none>"`` for no bits."""
        names = [f.name for f in _ORDER if f & self and f.name is not None]
        return ", ".join(names) if names else "<none>"

    def __and__(self, other: int) -> "Flags":
        value = int.__and__(self, other)
        if value.__class__ is int and 0 <= value < 256:
            return _BY_VALUE[value]
        return IntFlag.__and__(self, other)

    __rand__ = __and__

    def __or__(self, other: int) -> "Flags":
        value = int.__or__(self, other)
        if value.__class__ is int and 0 <= value < 256:
            return _BY_VALUE[value]
        return IntFlag.__or__(self, other)

    __ror__ = __or__


_ORDER = (Flags.FIN, Flags.SYN, Flags.RST, Flags.PSH, Flags.ACK, Flags.URG, Flags.ECE, Flags.CWR)
#: Every eight-bit value as a ``Flags``, built once through the generic path.
_BY_VALUE: tuple[Flags, ...] = tuple(Flags(value) for value in range(256))
