"""The sender's SACK scoreboard (RFC 2018, RFC 6675 section 3)."""

from __future__ import annotations

from synfin.connection.sack import SackScoreboard

UNA = 2**32 - 1000  # near the wrap, so every comparison is modulo 2^32
MAX = (UNA + 20_000) % 2**32


def at(offset: int) -> int:
    return (UNA + offset) % 2**32


def test_new_information_is_reported_once() -> None:
    board = SackScoreboard()
    assert board.update(((at(3000), at(4000)),), UNA, MAX)
    assert not board.update(((at(3000), at(4000)),), UNA, MAX)
    assert not board.update(((at(3200), at(3900)),), UNA, MAX)
    assert board.update(((at(3500), at(5000)),), UNA, MAX)
    assert board.blocks == ((at(3000), at(5000)),)


def test_blocks_outside_the_window_are_ignored() -> None:
    board = SackScoreboard()
    assert not board.update(((at(-500), at(0)),), UNA, MAX)  # below SND.UNA (D-SACK)
    assert not board.update(((at(30_000), at(31_000)),), UNA, MAX)  # beyond SND.MAX
    assert not board


def test_holes_are_found_in_order_and_below_the_highest_sack() -> None:
    board = SackScoreboard()
    board.update(((at(2000), at(3000)), (at(5000), at(6000))), UNA, MAX)
    assert board.next_hole(UNA, UNA) == (UNA, at(2000))
    assert board.next_hole(at(2000), UNA) == (at(3000), at(5000))
    assert board.next_hole(at(4000), UNA) == (at(4000), at(5000))
    assert board.next_hole(at(6000), UNA) is None


def test_advance_forgets_acknowledged_ranges() -> None:
    board = SackScoreboard()
    board.update(((at(2000), at(3000)), (at(5000), at(6000))), UNA, MAX)
    board.advance(at(2500))
    assert board.blocks == ((at(2500), at(3000)), (at(5000), at(6000)))
    board.advance(at(7000))
    assert not board
