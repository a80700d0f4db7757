"""Congestion control seen from outside, on a bandwidth-limited link: slow start, a loss,
congestion avoidance, and the collapse to one segment after a retransmission timeout
(RFC 5681 3.1, 3.2; RFC 6582; RFC 6298 5.5)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from pairkit import CLIENT_IP, MB, Pair, Plan, pattern, sha256

from synfin.config import Config
from synfin.congestion import INFINITE_SSTHRESH
from synfin.seq import seq_diff
from synfin.sim import LinkConfig, all_of, from_host, with_payload
from synfin.trace.records import TimerFired

BANDWIDTH = 10_000_000  # 10 Mbit/s
LINK = LinkConfig(delay_us=10_000, bandwidth_bps=BANDWIDTH)
BIG = Config().with_(recv_buffer=MB, send_buffer=MB)


@dataclass(frozen=True, slots=True)
class Sample:
    t: int
    acked: int  # SND.UNA - ISS - 1
    cwnd: int
    ssthresh: int
    flight: int  # SND.MAX - SND.UNA


def _sampler(pair: Pair) -> list[Sample]:
    """Record the client's (acked, cwnd, ssthresh, flight) after every step where one
    changed."""
    samples: list[Sample] = []

    def sample() -> None:
        conn = pair.client_app.conn
        if conn is None or not conn.tcb.snd_una:
            return
        s = conn.status()
        acked = seq_diff(s.snd_una, conn.tcb.iss) - 1
        if acked < 0:
            return
        new = Sample(pair.net.now, acked, s.cwnd, s.ssthresh, conn.flight_size())
        last = samples[-1] if samples else None
        if last is None or (last.acked, last.cwnd, last.ssthresh, last.flight) != (
                new.acked, new.cwnd, new.ssthresh, new.flight):
            samples.append(new)
    pair.net.on_step(sample)
    return samples


def test_slow_start_then_loss_then_congestion_avoidance() -> None:
    pair = Pair(seed=51, client_config=BIG, link=LINK)
    samples = _sampler(pair)
    lost = pair.net.drop(all_of(from_host(CLIENT_IP), with_payload()), nth=80)
    data = pattern(2 * MB, 1)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert sha256(pair.server_app.received) == sha256(data)
    smss = pair.client_conn.status().smss
    iw = 3 * smss  # RFC 5681 3.1 (RFC 3390) for 1095 < SMSS <= 2190
    assert lost.fired_at is not None

    slow = [s for s in samples if s.ssthresh == INFINITE_SSTHRESH]
    # Slow start: every ACK of one full segment adds one SMSS (RFC 5681 eq. 2), so cwnd is
    # the initial window plus the bytes acknowledged, and it more than quadruples.
    assert slow[0].cwnd == iw
    assert all(s.cwnd == iw + s.acked for s in slow)
    assert slow[-1].cwnd > 4 * iw

    # The loss: fast retransmit, ssthresh = FlightSize / 2 (RFC 5681 eq. 4).
    after = [s for s in samples if s.ssthresh != INFINITE_SSTHRESH]
    ssthresh = after[0].ssthresh
    assert ssthresh >= 2 * smss
    assert all(s.ssthresh == ssthresh for s in after)
    # Recovery ends with cwnd = ssthresh (RFC 6582 3.2 step 3); from there congestion
    # avoidance adds exactly one SMSS per cwnd of acknowledged bytes (RFC 5681 3.1).
    start = next(i for i, s in enumerate(after) if s.cwnd == ssthresh)
    avoidance = after[start:]
    growth = [(a, b) for a, b in itertools.pairwise(avoidance) if b.cwnd != a.cwnd]
    assert len(growth) >= 5
    assert all(b.cwnd - a.cwnd == smss for a, b in growth)
    bumps = [b for _, b in growth]
    for prev, cur in itertools.pairwise(bumps):
        assert cur.acked - prev.acked >= prev.cwnd - smss  # byte counting: a window per SMSS
        assert cur.acked - prev.acked <= prev.cwnd + 2 * smss
    # The link, not TCP, is the bottleneck: the transfer cannot beat 10 Mbit/s.
    assert pair.client_app.closed_at is not None
    assert pair.net.now > len(data) * 8 * 1_000_000 // BANDWIDTH


def test_cwnd_is_one_segment_after_a_retransmission_timeout() -> None:
    pair = Pair(seed=52, client_config=BIG, link=LINK)
    samples = _sampler(pair)
    data = pattern(MB, 2)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.run(lambda: len(pair.server_app.received) > 300_000)
    before = pair.client_conn.status()
    assert before.cwnd > 20 * before.smss
    # The path goes dark for 700 ms: every segment in flight and the first retransmissions
    # are lost, so the retransmission timer must fire.
    cut = pair.net.now
    dark = LinkConfig(delay_us=10_000, bandwidth_bps=BANDWIDTH, loss=1.0)
    pair.net.connect(pair.client_host, pair.server_host, dark)
    pair.net.at(cut + 700_000,
                lambda: pair.net.connect(pair.client_host, pair.server_host, LINK))
    pair.run(pair.both_closed)
    assert sha256(pair.server_app.received) == sha256(data)
    rtos = [r.t for r in pair.sink.records if isinstance(r, TimerFired)
            and r.host == CLIENT_IP and r.timer == "retransmit"]
    assert rtos and rtos[0] > cut
    smss = before.smss

    def at(t: int) -> Sample:
        return [s for s in samples if s.t <= t][-1]

    first = at(rtos[0])
    assert first.cwnd == smss  # loss window LW = 1 SMSS (RFC 5681 3.1)
    assert first.ssthresh == max(first.flight // 2, 2 * smss)  # RFC 5681 eq. 4
    # Repeated timeouts of the same data keep ssthresh and cwnd = 1 SMSS ...
    assert len(rtos) >= 2
    for t in rtos:
        assert at(t).cwnd == smss and at(t).ssthresh == first.ssthresh
    # ... and the gaps between them double (RFC 6298 5.5).
    gaps = [b - a for a, b in itertools.pairwise(rtos)]
    assert all(b == 2 * a for a, b in itertools.pairwise(gaps))
    # Once ACKs return, slow start regrows the window from one segment.
    final = pair.client_conn.status()
    assert final.cwnd > 4 * smss
