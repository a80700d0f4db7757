"""TCP control bits (RFC 9293 section 3.1, RFC 3168 for ECE/CWR)."""

from enum import IntFlag


class Flags(IntFlag):
    """The control bits of the TCP header, in header bit order."""

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


_ORDER = (Flags.FIN, Flags.SYN, Flags.RST, Flags.PSH, Flags.ACK, Flags.URG, Flags.ECE, Flags.CWR)
