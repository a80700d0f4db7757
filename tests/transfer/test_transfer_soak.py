"""Randomized soak: many seeded combinations of settings, links and ways to close.

Each seed draws both stacks' settings (buffers, MSS, Nagle, delayed ACK, options), a link
(delay, bandwidth, loss, duplication, reordering, jitter), payload sizes and a close pattern;
every run must deliver both byte streams intact and end with both connections CLOSED and
no error. A failure names its seed, so it replays exactly.
"""

from __future__ import annotations

import random

import pytest
from pairkit import CLIENT_IP, SERVER_IP, Pair, Plan, pattern, sha256

from synfin.config import Config
from synfin.sim import LinkConfig
from synfin.states import State

SEEDS = range(1000, 1040)


def _config(rng: random.Random) -> Config:
    return Config().with_(
        msl_us=500_000,
        delayed_ack_us=rng.choice([None, 40_000, 200_000]),
        nagle=rng.random() < 0.5,
        recv_buffer=rng.choice([8 * 1024, 64 * 1024, 256 * 1024, 1 << 20]),
        send_buffer=rng.choice([8 * 1024, 64 * 1024, 256 * 1024]),
        window_scaling=rng.random() < 0.7,
        timestamps=rng.random() < 0.7,
        sack=rng.random() < 0.7,
        mss=rng.choice([536, 1000, 1460]),
    )


def _link(rng: random.Random) -> LinkConfig:
    return LinkConfig(
        delay_us=rng.choice([1_000, 10_000, 50_000]),
        bandwidth_bps=rng.choice([None, 2_000_000, 50_000_000]),
        loss=rng.choice([0.0, 0.02, 0.1]),
        duplicate=rng.choice([0.0, 0.05]),
        reorder=rng.choice([0.0, 0.05, 0.2]),
        reorder_delay_us=rng.choice([5_000, 30_000]),
        jitter_us=rng.choice([0, 3_000]),
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_random_scenario(seed: int) -> None:
    rng = random.Random(seed)
    pair = Pair(seed=seed, client_config=_config(rng), server_config=_config(rng),
                link=_link(rng), back_link=_link(rng), app_first=rng.random() < 0.5)
    up = pattern(rng.choice([0, 1, 1_000, 40_000, 150_000]), seed)
    down = pattern(rng.choice([0, 1, 1_000, 40_000, 150_000]), seed + 1)
    mode = rng.choice(["client", "server", "both", "request-reply", "simultaneous"])
    if mode == "client":
        pair.start(Plan(up, close_after_send=True),
                   Plan(down, close_after_send=True, close_on_eof=True))
    elif mode == "server":
        pair.start(Plan(up, close_after_send=True, close_on_eof=True),
                   Plan(down, close_after_send=True))
    elif mode == "both":
        pair.start(Plan(up, close_after_send=True), Plan(down, close_after_send=True))
    elif mode == "request-reply":
        pair.start(Plan(up, close_after_send=True),
                   Plan(down, send_after_eof=True, close_after_send=True))
    else:
        pair.start(Plan(up), Plan(down))
        pair.run(lambda: pair.server_app.conn is not None and pair.quiet())
        pair.close_both_at(pair.net.now + rng.randrange(1, 5_000))
    pair.run(pair.both_closed, max_time_us=2_000_000_000)

    assert pair.client_app.error is None and pair.server_app.error is None, mode
    assert sha256(pair.server_app.received) == sha256(up)
    assert sha256(pair.client_app.received) == sha256(down)
    assert pair.both_closed()
    assert not pair.client.connections and not pair.server.connections
    if mode in ("client", "request-reply"):
        assert State.TIME_WAIT not in pair.state_path(SERVER_IP)
    if mode == "server":
        assert State.TIME_WAIT not in pair.state_path(CLIENT_IP)
