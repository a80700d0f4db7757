"""Counterfactual protocol variants for teaching (``Config.variants``).

Each one removes a piece of real TCP so that a scenario can show the failure that piece
prevents. None is on by default; none should ever be used to talk to real hosts.

- ``two-way-handshake``: the passive end counts the connection ESTABLISHED as soon as it
  sends its SYN,ACK, and the active end sends no third segment. An old duplicate SYN then
  opens a connection nobody wants, and a lost SYN,ACK leaves the two ends disagreeing.
- ``no-time-wait``: the active closer deletes its TCB right after ACKing the peer's FIN,
  instead of waiting 2MSL. A lost last ACK leaves the peer in LAST-ACK, and old segments of
  the previous incarnation can be taken as data of a new one.
"""

from __future__ import annotations

TWO_WAY_HANDSHAKE = "two-way-handshake"
NO_TIME_WAIT = "no-time-wait"

KNOWN: dict[str, str] = {
    TWO_WAY_HANDSHAKE: "establish on SYN,ACK; no third segment (what the 3rd step prevents)",
    NO_TIME_WAIT: "skip TIME-WAIT: CLOSED right after the last ACK (what 2MSL prevents)",
}


def check_variants(names: frozenset[str]) -> None:
    """Raise ``ValueError`` naming any unknown variant."""
    unknown = sorted(names - KNOWN.keys())
    if unknown:
        raise ValueError(f"unknown variant {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(KNOWN))})")
