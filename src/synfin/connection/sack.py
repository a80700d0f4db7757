"""The sender's SACK scoreboard (RFC 2018, RFC 6675 section 3): which octets beyond SND.UNA
the receiver reported holding, so that recovery resends the holes instead of waiting for a
retransmission timeout."""

from __future__ import annotations

from synfin.seq import seq_diff, seq_gt, seq_lt, seq_max, seq_min


class SackScoreboard:
    """SACKed ranges ``[start, end)`` beyond SND.UNA, sorted and disjoint."""

    __slots__ = ("_blocks",)

    def __init__(self) -> None:
        self._blocks: list[tuple[int, int]] = []

    def __bool__(self) -> bool:
        return bool(self._blocks)

    @property
    def blocks(self) -> tuple[tuple[int, int], ...]:
        return tuple(self._blocks)

    def update(self, blocks: tuple[tuple[int, int], ...], snd_una: int, snd_max: int) -> bool:
        """Merge reported blocks; returns whether they told something new (RFC 6675's
        DupAck test). Blocks outside (SND.UNA, SND.MAX] are ignored (RFC 2018 section 5:
        a D-SACK or a forged block says nothing about what is outstanding)."""
        new = False
        for start, end in blocks:
            start, end = seq_max(start, snd_una), seq_min(end, snd_max)
            if not seq_lt(start, end):
                continue
            if self._covers(start, end, snd_una):
                continue
            self._insert(start, end, snd_una)
            new = True
        return new

    def advance(self, snd_una: int) -> None:
        """SND.UNA moved: forget what lies below it (nothing to do on the common path)."""
        if not self._blocks:
            return
        kept = []
        for start, end in self._blocks:
            if seq_gt(end, snd_una):
                kept.append((seq_max(start, snd_una), end))
        self._blocks = kept

    def clear(self) -> None:
        self._blocks = []

    def next_hole(self, after: int, snd_una: int) -> tuple[int, int] | None:
        """The first un-SACKed range at or after ``after`` that lies below the highest
        SACKed octet (RFC 6675 NextSeg rule 1), or ``None``."""
        cursor = seq_max(after, snd_una)
        for start, end in self._blocks:
            if seq_lt(cursor, start):
                return cursor, start
            cursor = seq_max(cursor, end)
        return None

    def _covers(self, start: int, end: int, base: int) -> bool:
        return any(seq_diff(s, base) <= seq_diff(start, base)
                   and seq_diff(end, base) <= seq_diff(e, base) for s, e in self._blocks)

    def _insert(self, start: int, end: int, base: int) -> None:
        merged: list[tuple[int, int]] = []
        for s, e in self._blocks:
            if seq_lt(e, start) or seq_lt(end, s):
                merged.append((s, e))
            else:
                start, end = seq_min(start, s), seq_max(end, e)
        merged.append((start, end))
        merged.sort(key=lambda block: seq_diff(block[0], base))
        self._blocks = merged
