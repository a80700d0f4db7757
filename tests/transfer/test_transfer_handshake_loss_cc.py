"""A lost SYN must not poison congestion control (RFC 5681 3.1): the handshake timeout
leaves ssthresh "arbitrarily high", and the initial window becomes one segment."""

from __future__ import annotations

from synfin.config import Config
from synfin.scenarios.apps import CloseWhen, Script
from synfin.scenarios.world import CLIENT_IP, World
from synfin.sim import all_of, flags_exactly, from_host
from synfin.states import State
from synfin.wire import Flags


def established_client(drop_syn: bool) -> tuple[int, int, int]:
    world = World.build(1, Config(), Config())
    world.serve(Script(b"", CloseWhen.NEVER))
    holder = world.open(0, Script(b"", CloseWhen.NEVER))
    if drop_syn:
        world.net.drop(all_of(from_host(CLIENT_IP), flags_exactly(Flags.SYN)), nth=1)
    world.net.run(until=lambda: bool(holder) and holder[0].conn.state is State.ESTABLISHED,
                  max_time_us=10_000_000)
    status = holder[0].conn.status()
    return status.cwnd, status.ssthresh, status.smss


def test_lost_syn_gives_one_segment_initial_window_and_high_ssthresh() -> None:
    cwnd, ssthresh, smss = established_client(drop_syn=True)
    assert cwnd == smss
    assert ssthresh >= 1 << 30


def test_without_loss_the_rfc5681_initial_window_applies() -> None:
    cwnd, ssthresh, smss = established_client(drop_syn=False)
    assert 1095 < smss <= 2190
    assert cwnd == 3 * smss  # RFC 5681 3.1: IW = 3 * SMSS for this SMSS
    assert ssthresh >= 1 << 30
