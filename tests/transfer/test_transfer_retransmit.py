"""Retransmission with exactly staged faults: SYN backoff and give-up, fast retransmit,
NewReno partial ACKs, RTO backoff with Karn's rule, retry exhaustion and USER TIMEOUT
(RFC 9293 3.8.1 and 3.10.8, RFC 6298, RFC 5681 3.2, RFC 6582 3.2)."""

from __future__ import annotations

import itertools

from pairkit import CLIENT_IP, SERVER_IP, Pair, Plan, pattern

from synfin.config import Config
from synfin.errors import CONNECTION_TIMED_OUT, USER_TIMEOUT
from synfin.seq import seq_diff
from synfin.sim import LinkConfig, all_of, from_host, has_flags, with_payload
from synfin.states import State
from synfin.trace.records import SegmentSent, TimerFired
from synfin.wire.flags import Flags

CLIENT_SYN = all_of(from_host(CLIENT_IP), has_flags(Flags.SYN))
CLIENT_DATA = all_of(from_host(CLIENT_IP), with_payload())
RTT = 20_000  # two 10 ms links


def _reasons(pair: Pair, host: str, word: str) -> list[SegmentSent]:
    return pair.sent(host, lambda r: word in r.reason)


def _retransmit_fired(pair: Pair, host: str) -> list[int]:
    return [r.t for r in pair.sink.records
            if isinstance(r, TimerFired) and r.host == host and r.timer == "retransmit"]


def test_lost_syns_are_resent_after_1_2_4_seconds() -> None:
    pair = Pair(seed=21)
    for nth in (1, 2, 3):
        pair.net.drop(CLIENT_SYN, nth=nth)
    pair.start(Plan(pattern(10_000, 1)), Plan(close_on_eof=True))
    pair.run(lambda: pair.client_app.state is State.ESTABLISHED)
    syns = pair.sent(CLIENT_IP, lambda r: bool(r.packet.segment.flags & Flags.SYN))
    assert [r.t for r in syns] == [0, 1_000_000, 3_000_000, 7_000_000]  # RTO 1 s, doubling
    assert all(r.reason.startswith("SYN retransmission") for r in syns[1:])
    assert pair.entered(CLIENT_IP, State.ESTABLISHED) == [7_000_000 + RTT]
    status = pair.client_conn.status()
    # RFC 5681 3.1: after a lost SYN the initial window is one segment.
    assert status.cwnd == status.smss
    # RFC 6298 5.7: no RTT sample from the handshake (Karn), and the SYN timed out, so the
    # RTO is re-initialized to 3 s for the data phase.
    assert status.srtt_us is None
    assert status.rto_us == 3_000_000
    first_flight = pair.sent(CLIENT_IP, lambda r: r.t == pair.net.now)
    assert [bool(r.packet.segment.payload) for r in first_flight] == [True]
    pair.run(lambda: len(pair.server_app.received) == 10_000)
    pair.client_app.close(pair.net.now)
    pair.run(pair.both_closed)
    assert pair.client_app.error is None


def test_syn_retransmission_gives_up_after_syn_retries() -> None:
    pair = Pair(seed=22)
    for nth in range(1, 20):
        pair.net.drop(CLIENT_SYN, nth=nth)
    pair.start(Plan(b"hello"), Plan())
    pair.run(lambda: pair.client_app.done)
    syns = pair.sent(CLIENT_IP)
    assert [r.t for r in syns] == [0, 1_000_000, 3_000_000, 7_000_000, 15_000_000,
                                   31_000_000, 63_000_000]
    assert len(syns) == 1 + Config().syn_retries
    assert pair.client_app.error == CONNECTION_TIMED_OUT
    assert pair.entered(CLIENT_IP, State.CLOSED) == [127_000_000]
    assert pair.server_app.conn is None and not pair.client.connections


def test_syn_retries_setting_is_honoured() -> None:
    pair = Pair(seed=23, client_config=Config().with_(syn_retries=2, rto_initial_us=500_000))
    for nth in range(1, 10):
        pair.net.drop(CLIENT_SYN, nth=nth)
    pair.start(Plan(b"hello"), Plan())
    pair.run(lambda: pair.client_app.done)
    assert [r.t for r in pair.sent(CLIENT_IP)] == [0, 500_000, 1_500_000]
    assert pair.entered(CLIENT_IP, State.CLOSED) == [3_500_000]
    assert pair.client_app.error == CONNECTION_TIMED_OUT


def test_single_loss_is_repaired_by_fast_retransmit_not_rto() -> None:
    pair = Pair(seed=24)
    lost = pair.net.drop(CLIENT_DATA, nth=10)
    data = pattern(200_000, 2)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert pair.server_app.received == data
    assert lost.fired_at is not None and lost.packet is not None
    retrans = [r for r in pair.sent(CLIENT_IP) if "retransmi" in r.reason]
    [fast] = retrans
    assert fast.reason == "fast retransmit (3 duplicate ACKs)"
    assert fast.packet.segment.seq == lost.packet.segment.seq
    # One round trip after the loss: the third duplicate ACK, long before any RTO.
    assert fast.t == lost.fired_at + RTT
    assert _retransmit_fired(pair, CLIENT_IP) == []
    status = pair.client_conn.status()
    assert status.ssthresh < 1 << 30  # the loss halved the window


def test_newreno_repairs_two_losses_in_one_window_with_a_partial_ack() -> None:
    """Without SACK: the second loss waits for the partial ACK (RFC 6582)."""
    no_sack = Config().with_(sack=False)
    pair = Pair(seed=25, client_config=no_sack, server_config=no_sack)
    first = pair.net.drop(CLIENT_DATA, nth=10)
    second = pair.net.drop(CLIENT_DATA, nth=14)
    data = pattern(200_000, 3)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert pair.server_app.received == data
    assert first.packet is not None and second.packet is not None
    assert first.fired_at == second.fired_at  # both in one flight
    retrans = [r for r in pair.sent(CLIENT_IP) if "retransmi" in r.reason]
    assert [r.reason for r in retrans] == ["fast retransmit (3 duplicate ACKs)",
                                           "retransmission (NewReno partial ACK)"]
    assert [r.packet.segment.seq for r in retrans] == [first.packet.segment.seq,
                                                        second.packet.segment.seq]
    # The partial ACK comes one round trip after the fast retransmit (RFC 6582 3.2 step 3).
    assert retrans[1].t == retrans[0].t + RTT
    assert _retransmit_fired(pair, CLIENT_IP) == []


def test_sack_repairs_the_second_loss_without_waiting_for_the_partial_ack() -> None:
    """With SACK (the default), the duplicate ACKs after the fast retransmit carry the
    receiver's SACK blocks; the hole of the second loss is resent at once (RFC 6675), a round
    trip earlier than NewReno's partial ACK would, and nothing is sent twice."""
    pair = Pair(seed=25)
    first = pair.net.drop(CLIENT_DATA, nth=10)
    second = pair.net.drop(CLIENT_DATA, nth=14)
    data = pattern(200_000, 3)
    pair.start(Plan(data, close_after_send=True), Plan(close_on_eof=True))
    pair.run(pair.both_closed)
    assert pair.server_app.received == data
    assert first.packet is not None and second.packet is not None
    retrans = [r for r in pair.sent(CLIENT_IP) if "retransmi" in r.reason]
    assert [r.reason for r in retrans] == ["fast retransmit (3 duplicate ACKs)",
                                           "retransmission of a SACK hole (RFC 6675)"]
    assert [r.packet.segment.seq for r in retrans] == [first.packet.segment.seq,
                                                        second.packet.segment.seq]
    assert retrans[1].t < retrans[0].t + RTT
    assert _retransmit_fired(pair, CLIENT_IP) == []


def test_rto_backoff_and_karn_no_sample_from_retransmitted_segments() -> None:
    """The only segment of a message is delayed past the RTO, and the first retransmission is
    lost: RTO doubles (200 ms, 400 ms); the ACK of the second retransmission would measure
    620 ms from the original, but Karn's rule takes no sample (RFC 6298 3, 5.5)."""
    pair = Pair(seed=26)
    pair.start(Plan(pattern(30_000, 4)), Plan())
    pair.run(pair.quiet)
    before = pair.client_conn.status()
    assert before.srtt_us == RTT and before.rto_us == 200_000  # Linux RTO min
    t0 = pair.net.now + 1_000
    pair.net.delay(CLIENT_DATA, 1_000_000, nth=1)
    pair.net.drop(CLIENT_DATA, nth=2)
    message = pattern(1_000, 5)
    pair.net.at(t0, lambda: pair.client_conn.send(message, pair.net.now))
    rtos: list[int] = []
    pair.net.at(t0 + 250_000, lambda: rtos.append(pair.client_conn.status().rto_us))
    pair.run(lambda: pair.net.now > t0 and pair.client_conn.status().send_queue == 0)
    sends = [r.t for r in pair.sent(CLIENT_IP, lambda r: bool(r.packet.segment.payload))
             if r.t >= t0]
    assert sends == [t0, t0 + 200_000, t0 + 600_000]
    assert rtos == [400_000]
    after = pair.client_conn.status()
    assert pair.net.now == t0 + 600_000 + RTT
    assert after.srtt_us == before.srtt_us  # no sample from the ambiguous ACK
    assert after.rto_us == before.rto_us  # backoff collapsed on the new ACK
    # The next, unambiguous segment does give a sample again.
    t1 = pair.net.now + 1_000
    pair.net.at(t1, lambda: pair.client_conn.send(message, pair.net.now))
    pair.run(lambda: pair.net.now > t1 and pair.client_conn.status().send_queue == 0)
    assert pair.client_conn.status().srtt_us == RTT


def test_data_retries_exhausted_when_the_peer_vanishes() -> None:
    pair = Pair(seed=27, client_config=Config().with_(data_retries=5))
    pair.start(Plan(pattern(300_000, 6)), Plan())
    pair.run(lambda: len(pair.server_app.received) > 100_000)
    cut = pair.net.now
    pair.net.connect(pair.client_host, pair.server_host, LinkConfig(delay_us=10_000, loss=1.0))
    pair.run(lambda: pair.client_app.done)
    assert pair.client_app.error == CONNECTION_TIMED_OUT
    fired = _retransmit_fired(pair, CLIENT_IP)
    assert len(fired) == 6  # five retransmissions, the sixth expiry gives up
    gaps = [b - a for a, b in itertools.pairwise(fired)]
    assert gaps == [400_000, 800_000, 1_600_000, 3_200_000, 6_400_000]
    assert fired[0] - cut <= 200_000 + RTT
    assert pair.entered(CLIENT_IP, State.CLOSED) == [fired[-1]]
    rto_resends = _reasons(pair, CLIENT_IP, "go-back-N")
    assert [r.t for r in rto_resends] == fired[:5]
    assert len({r.packet.segment.seq for r in rto_resends}) == 1  # always SND.UNA


def test_user_timeout_aborts_exactly_when_data_stays_unacknowledged_that_long() -> None:
    timeout = 2_000_000
    pair = Pair(seed=28, client_config=Config().with_(user_timeout_us=timeout))
    pair.start(Plan(pattern(300_000, 7)), Plan())
    pair.run(lambda: len(pair.server_app.received) > 100_000)
    pair.net.connect(pair.client_host, pair.server_host, LinkConfig(delay_us=10_000, loss=1.0))
    pair.run(lambda: pair.client_app.done)
    assert pair.client_app.error == USER_TIMEOUT
    last_ack = max(r.t for r in pair.received(CLIENT_IP)
                   if seq_diff(r.packet.segment.ack, pair.client_conn.tcb.iss) > 0)
    [closed_at] = pair.entered(CLIENT_IP, State.CLOSED)
    # Data sent after the last ACK was outstanding from that ACK on: abort exactly then + 2 s,
    # not at the next (backed-off) RTO expiry.
    assert closed_at == last_ack + timeout
    assert len(_reasons(pair, CLIENT_IP, "go-back-N")) == 3  # 0.2 + 0.4 + 0.8 s < 2 s
    assert pair.server_conn.state is State.ESTABLISHED  # the server never heard a thing
    assert SERVER_IP not in {r.host for r in pair.sent(SERVER_IP) if r.t > closed_at}
