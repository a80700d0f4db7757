"""1 MB each way over a bad network: loss, duplication, reordering and jitter, both ways.

The application must see every byte once and in order (RFC 9293 3.4, 3.10.7.4 text step),
and both ends must finish the close and reach CLOSED, whatever the seed.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from pairkit import CLIENT_IP, MB, SERVER_IP, SERVER_PORT, Pair, Plan, pattern, sha256

from synfin.config import Config
from synfin.isn import IsnGenerator
from synfin.sim import LinkConfig
from synfin.states import State
from synfin.trace.records import LinkEvent, Record

BAD_LINK = LinkConfig(delay_us=10_000, loss=0.10, duplicate=0.05, reorder=0.05,
                      reorder_delay_us=15_000, jitter_us=2_000)
CONFIG = Config().with_(msl_us=500_000)


class FaultCounter:
    """A trace sink for the network that only counts what the links did to packets."""

    enabled = True

    def __init__(self) -> None:
        self.faults: Counter[str] = Counter()

    def emit(self, record: Record) -> None:
        if isinstance(record, LinkEvent) and record.fault:
            self.faults[record.fault] += 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_megabyte_each_way_over_a_lossy_duplicating_reordering_link(seed: int) -> None:
    faults = FaultCounter()
    pair = Pair(seed=seed, client_config=CONFIG, link=BAD_LINK, link_trace=faults, trace=False)
    up, down = pattern(MB, 100 + seed), pattern(MB, 200 + seed)
    pair.start(Plan(up, close_after_send=True),
               Plan(down, close_after_send=True, close_on_eof=True))
    pair.run(pair.both_closed, max_time_us=900_000_000)

    assert pair.client_app.error is None and pair.server_app.error is None
    assert sha256(pair.server_app.received) == sha256(up)
    assert sha256(pair.client_app.received) == sha256(down)
    assert pair.client_conn.state is State.CLOSED and pair.server_conn.state is State.CLOSED
    assert [s for _, s in pair.client_app.states][-2:] == [State.TIME_WAIT, State.CLOSED]
    assert State.TIME_WAIT not in [s for _, s in pair.server_app.states]
    assert not pair.client.connections and not pair.server.connections
    # The network really was that bad, in both directions.
    for link in pair.links:
        assert link.lost > 0.07 * link.sent
        assert link.duplicated > 0.03 * link.sent
    assert faults.faults["random-loss"] > 100 and faults.faults["reorder"] > 50
    assert faults.faults["random-duplicate"] > 50


def test_lossy_transfer_is_deterministic() -> None:
    """Same seed, same run: the simulator and the stacks are deterministic to the byte."""
    def run() -> list[tuple[int, str, bytes]]:
        pair = Pair(seed=9, client_config=CONFIG, link=BAD_LINK)
        pair.start(Plan(pattern(100_000, 1), close_after_send=True),
                   Plan(pattern(50_000, 2), close_after_send=True, close_on_eof=True))
        pair.run(pair.both_closed)
        return [(r.t, r.host, r.packet.segment.payload[:8])
                for h in (CLIENT_IP, SERVER_IP) for r in pair.sent(h)]

    first = run()
    assert len(first) > 100
    assert run() == first


def _secret_for_isn(local: str, local_port: int, remote: str, remote_port: int, now: int,
                    low: int, high: int) -> bytes:
    """A stack secret under which the RFC 6528 ISN of this 4-tuple at ``now`` falls in
    [low, high): a deterministic search, to put sequence wraparound where a test wants it."""
    for i in itertools.count():
        secret = f"wrap-{i}".encode()
        if low <= IsnGenerator(secret).isn(local, local_port, remote, remote_port, now) < high:
            return secret
    raise AssertionError("unreachable")


def test_sequence_numbers_wrap_around_during_a_lossy_transfer() -> None:
    """Both ISNs sit a little below 2**32, so SND/RCV variables wrap mid-transfer, with losses
    and reordering in the way (RFC 9293 3.4: all arithmetic modulo 2**32)."""
    port, top = 40_000, 1 << 32
    client_secret = _secret_for_isn(CLIENT_IP, port, SERVER_IP, SERVER_PORT, 0,
                                    top - 150_000, top - 50_000)
    # The server chooses its ISN when the SYN arrives, one link delay (10 ms) after 0.
    server_secret = _secret_for_isn(SERVER_IP, SERVER_PORT, CLIENT_IP, port, 10_000,
                                    top - 150_000, top - 50_000)
    pair = Pair(seed=5, client_config=CONFIG, link=BAD_LINK,
                client_secret=client_secret, server_secret=server_secret)
    up, down = pattern(400_000, 11), pattern(400_000, 12)
    pair.start(Plan(up, close_after_send=True),
               Plan(down, close_after_send=True, close_on_eof=True), client_port=port)
    pair.run(pair.both_closed)
    assert pair.client_conn.tcb.iss > top - 150_000
    assert pair.server_conn.tcb.iss > top - 150_000
    assert pair.client_conn.tcb.snd_una < 400_000  # wrapped
    assert pair.server_conn.tcb.snd_una < 400_000
    assert sha256(pair.server_app.received) == sha256(up)
    assert sha256(pair.client_app.received) == sha256(down)
    assert pair.client_app.error is None and pair.server_app.error is None
    assert State.TIME_WAIT not in pair.state_path(SERVER_IP)
