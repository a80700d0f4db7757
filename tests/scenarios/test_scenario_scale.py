"""The scenarios at scale: ``syn-flood`` (cookies on, the default), ``syn-flood-no-cookies``
and ``time-wait-pileup``: what they measure, and that the CLI's views stay readable (the
diagrams show one legitimate connection, the pcap the whole flood)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from scenariokit import SECOND, C, S, changes, drops, run, segments

from synfin.cli import main
from synfin.cli.scenario_cmd import summary
from synfin.config import Config
from synfin.scenarios import SCENARIOS
from synfin.scenarios.catalogue import (
    FLOOD_RATE,
    FLOOD_US,
    LEGIT_CLIENTS,
    PATIENCE_US,
    PILEUP_BUCKETS,
    PILEUP_CONNECTIONS,
    PILEUP_PORTS,
    PILEUP_RUN_US,
    RESPONSE,
    ProbedWorld,
    incarnations,
    legit_outcomes,
    view_records,
)
from synfin.scenarios.world import CLIENT_PORT, SERVER_PORT
from synfin.states import State
from synfin.trace.ladder import render_ladder
from synfin.trace.records import ConnId, LinkEvent, SegmentSent, StateChange
from synfin.trace.sstable import connection_states
from synfin.wire import Flags

SPOOFED = FLOOD_RATE * FLOOD_US // SECOND
BACKLOG = Config().syn_backlog
TWO_MSL = Config().time_wait_us
FIRST_LEGIT = ConnId(C, CLIENT_PORT, S, SERVER_PORT)
#: A spoofed source address (the flood's note names the block 172.16.0.0/12 itself).
SPOOFED_ADDRESS = re.compile(r"172\.\d+\.\d+\.\d+(?!/)")


def _probed(name: str) -> ProbedWorld:
    world = run(name).world
    assert isinstance(world, ProbedWorld)
    return world


# -- syn-flood --------------------------------------------------------------------------------


def test_flood_with_cookies_serves_every_legitimate_client_at_once() -> None:
    world = _probed("syn-flood")
    assert len(world.spoofed) == SPOOFED == 10_000
    outcomes = legit_outcomes(world)
    assert len(outcomes) == LEGIT_CLIENTS
    assert all(d is not None and d <= PATIENCE_US for d in outcomes)  # 100%
    # Each exchange takes its two round trips (40 ms), as without a flood.
    assert set(outcomes) == {40_000}
    # Every legitimate client arrived while the SYN queue was full: cookies answered it.
    assert world.server.counters == {"syn-cookie-sent": SPOOFED - BACKLOG + LEGIT_CLIENTS,
                                     "syn-cookie-accepted": LEGIT_CLIENTS}
    assert "syn-queue-full" not in world.server.drop_counts
    cookie_causes = {c.cause for c in changes(run("syn-flood").records, S)
                     if c.conn.remote_ip == C and c.new is State.SYN_RECEIVED}
    assert cookie_causes == {"valid SYN cookie ACK (RFC 4987)"}


def test_flood_queue_and_memory_stay_bounded() -> None:
    for name in ("syn-flood", "syn-flood-no-cookies"):
        world = _probed(name)
        samples = world.samples
        assert max(s.syn_queue for s in samples) == BACKLOG  # full ...
        assert all(s.syn_queue <= BACKLOG for s in samples)  # ... and never beyond
        full_from = min(s.t for s in samples if s.syn_queue == BACKLOG)
        assert full_from <= BACKLOG * SECOND // FLOOD_RATE + SECOND // 4
        growth = max(s.held_bytes for s in samples) - samples[0].held_bytes
        assert 0 < growth < 300_000  # 256 records, not 10,000 connections
        assert growth / BACKLOG < 1024  # bytes per half-open record
        # No spoofed SYN ever became a connection: only the legitimate ones did.
        records = run(name).records
        made = {c.conn for c in changes(records, S) if c.new is State.ESTABLISHED}
        assert {cid.remote_ip for cid in made} == {C} and len(made) == LEGIT_CLIENTS
        # The spoofed records die after their SYN,ACK retransmissions (63 s).
        gone = [c for c in changes(records, S) if c.old is State.SYN_RECEIVED
                and c.new is State.CLOSED]
        assert len(gone) == BACKLOG
        assert {c.cause for c in gone} == {"5 SYN,ACK retransmissions unanswered"}


def test_flood_without_cookies_denies_service_until_the_records_time_out() -> None:
    records = run("syn-flood-no-cookies").records
    world = _probed("syn-flood-no-cookies")
    outcomes = legit_outcomes(world)
    assert not any(d is not None and d <= PATIENCE_US for d in outcomes)  # 0% within 3 s
    # Each legitimate SYN and its five retransmissions meet a full queue ...
    for i in range(LEGIT_CLIENTS):
        syns = [s.t for s in segments(records, C) if s.flags == "SYN"
                and s.packet.segment.src_port == CLIENT_PORT + i]
        assert [t - syns[0] for t in syns] == [d * SECOND for d in (0, 1, 3, 7, 15, 31, 63)]
    legit_drops = [d for d in drops(records, S) if d.reason == "syn-queue-full"
                   and d.conn is not None and d.conn.remote_ip == C]
    assert len(legit_drops) == 6 * LEGIT_CLIENTS
    # ... and the seventh, at 63 s, finds the spoofed records gone: all get through late.
    assert all(d is not None and 63 * SECOND < d < 64 * SECOND for d in outcomes)
    assert world.server.counters == {}


def test_cookies_make_the_difference() -> None:
    def on_time(name: str) -> float:
        outcomes = legit_outcomes(run(name).world)
        return sum(1 for d in outcomes if d is not None and d <= PATIENCE_US) / len(outcomes)

    assert on_time("syn-flood") == 1.0
    assert on_time("syn-flood-no-cookies") == 0.0


def test_flood_reports_rate_queue_and_memory_in_the_summary() -> None:
    with_cookies = summary(run("syn-flood"))
    without = summary(run("syn-flood-no-cookies"))
    assert "Legitimate clients answered within 3 s: 10/10 (100%)" in with_cookies
    assert "Legitimate clients answered within 3 s: 0/10 (0%)" in without
    for text in (with_cookies, without):
        assert f"SYN queue (half-open records): peak {BACKLOG} of {BACKLOG}" in text
        assert "Server memory for TCP state:" in text and "B per half-open record" in text
        assert not SPOOFED_ADDRESS.search(text)  # no spoofed connection listed
    assert f"SYN,ACKs with a SYN cookie: {SPOOFED - BACKLOG + LEGIT_CLIENTS}" in with_cookies
    assert f"SYNs dropped, queue full: {SPOOFED - BACKLOG + 6 * LEGIT_CLIENTS}" in without
    # The why texts promise what the runs measure.
    assert "100% within 3 s" in SCENARIOS["syn-flood"].why
    assert "(0%)" in SCENARIOS["syn-flood-no-cookies"].why


def test_flood_diagrams_show_one_legitimate_connection() -> None:
    r = run("syn-flood")
    shown = view_records(r)
    assert len(shown) < len(r.records) // 100
    ladder = render_ladder(shown)
    assert not SPOOFED_ADDRESS.search(ladder)
    assert ladder.count("SYN seq=0") == 1
    assert len(ladder.splitlines()) < 60
    packets = {(rec.packet.src, rec.packet.segment.src_port) for rec in shown
               if isinstance(rec, SegmentSent)}
    assert packets == {(C, CLIENT_PORT), (S, SERVER_PORT)}
    listener_changes = [rec for rec in shown if isinstance(rec, StateChange)
                        and rec.conn.remote_port == 0]
    assert listener_changes  # the server's LISTEN is part of the story


def test_flood_cli_writes_focused_diagrams_and_the_whole_pcap(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    files = {kind: tmp_path / f"flood.{ext}" for kind, ext in
             [("pcap", "pcap"), ("svg", "svg"), ("mermaid", "mmd"), ("trace", "jsonl")]}
    args = [arg for kind, path in files.items() for arg in (f"--{kind}", str(path))]
    status = main(["scenario", "run", "syn-flood", *args])
    out = capsys.readouterr().out
    assert status == 0
    for kind, path in files.items():
        assert f"{kind:8} {path}" in out
    ladder = out.split("Outcome:")[0]
    assert not SPOOFED_ADDRESS.search(ladder) and len(ladder.splitlines()) < 70
    mermaid = files["mermaid"].read_text()
    assert not SPOOFED_ADDRESS.search(mermaid) and 5 < mermaid.count("->>") < 30
    assert not SPOOFED_ADDRESS.search(files["svg"].read_text())
    links = [r for r in run("syn-flood").records if isinstance(r, LinkEvent)]
    pcap = files["pcap"].read_bytes()
    assert len(links) > 2 * SPOOFED  # the flood is all in the pcap: SYNs and SYN,ACKs
    assert len(pcap) > 24 + len(links) * (16 + 40)
    assert len(files["trace"].read_text().splitlines()) == len(run("syn-flood").records)


# -- time-wait-pileup -------------------------------------------------------------------------


def test_pileup_time_wait_is_capped_by_max_tw_buckets() -> None:
    world = _probed("time-wait-pileup")
    counts = [s.time_wait for s in world.samples]
    assert max(counts) == PILEUP_BUCKETS == world.client.config.max_tw_buckets
    assert counts[3:] == [PILEUP_BUCKETS] * (len(counts) - 3)  # full from 30 s on
    assert world.samples[-1].t == PILEUP_RUN_US
    runs = incarnations(world)
    assert len(runs) == PILEUP_CONNECTIONS
    overflowed = [i for i in runs if i.cause == "time wait bucket table overflow "
                                               "(max_tw_buckets)"]
    assert len(overflowed) == world.client.drop_counts["time-wait-bucket-overflow"] > 0
    # An overflowed connection entered TIME-WAIT and left it at the same moment.
    records = run("time-wait-pileup").records
    for inc in overflowed:
        assert inc.closed is not None
        path = [c for c in changes(records, C, inc.conn) if inc.opened <= c.t <= inc.closed]
        assert path[-2].new is State.TIME_WAIT and path[-2].t == path[-1].t
    # Every TIME-WAIT that ended by its timer lasted exactly 2MSL.
    timed_out = [i for i in runs if i.cause.startswith("timeout=2MSL")]
    assert timed_out
    for inc in timed_out:
        (entered,) = [c.t for c in changes(records, C, inc.conn)
                      if c.new is State.TIME_WAIT and inc.opened <= c.t <= (inc.closed or 0)]
        assert inc.closed == entered + TWO_MSL
    # Every client got its answer, with or without a TIME-WAIT record.
    assert all(bytes(p.received) == RESPONSE for p in world.peers)
    assert all(p.error is None for p in world.all_peers())


def test_pileup_ports_are_reused_only_after_time_wait_ends() -> None:
    world = _probed("time-wait-pileup")
    low, high = PILEUP_PORTS
    by_port: dict[int, list[tuple[int, int | None, str]]] = {}
    for inc in incarnations(world):
        assert low <= inc.conn.local_port <= high
        by_port.setdefault(inc.conn.local_port, []).append((inc.opened, inc.closed, inc.cause))
    reuses = {"2msl": 0, "overflow": 0}
    for seq in by_port.values():
        for (_, closed, cause), (opened, _, _) in itertools.pairwise(seq):
            assert closed is not None and closed <= opened  # never while in TIME-WAIT
            reuses["2msl" if cause.startswith("timeout=2MSL") else "overflow"] += 1
    assert reuses["2msl"] > 0 and reuses["overflow"] > 0
    assert len(by_port) < PILEUP_CONNECTIONS
    text = summary(run("time-wait-pileup"))
    assert (f"{reuses['2msl'] + reuses['overflow']} reuses, each only after the port's "
            f"previous connection was gone: {reuses['2msl']} once its TIME-WAIT ended, "
            f"{reuses['overflow']} at once") in text


def test_pileup_ss_view_shows_the_bucket_limit() -> None:
    r = run("time-wait-pileup")
    world = r.world
    rows = [row for row in connection_states(r.records, world.net.now) if row.host == C]
    in_time_wait = {row.conn for row in rows if row.state is State.TIME_WAIT}
    assert len(in_time_wait) == PILEUP_BUCKETS
    # The trace's ss view and the stack's own table agree.
    table = {cid for cid, state in world.client.table() if state is State.TIME_WAIT}
    assert table == in_time_wait
    text = summary(r)
    assert f"Total: {PILEUP_BUCKETS + 1} (LISTEN 1, TIME-WAIT {PILEUP_BUCKETS})" in text
    assert f"... and {PILEUP_BUCKETS + 1 - 6} more rows" in text
    assert "TIME-WAIT records on the client (Stack.table()), every 10 s: 0s 0, 10s 40, " \
           "20s 80, 30s 100" in text


def test_pileup_diagrams_show_the_first_connection_and_its_port_reused() -> None:
    r = run("time-wait-pileup")
    shown = view_records(r)
    first = r.world.conn_ids(C)[0]
    ports = {rec.packet.segment.src_port for rec in shown if isinstance(rec, SegmentSent)
             and rec.host == C}
    assert ports == {first.local_port}
    opens = [c for c in changes(shown, C) if c.new is State.SYN_SENT]
    ends = [c for c in changes(shown, C) if c.old is State.TIME_WAIT]
    # With this seed the first port is picked again at 66.5 s, after its TIME-WAIT ended.
    assert len(opens) == 2
    assert ends[0].new is State.CLOSED and ends[0].cause == "timeout=2MSL / delete TCB"
    assert ends[0].t <= opens[1].t
    assert render_ladder(shown).count("SYN seq=0") == len(opens)
    assert not any(isinstance(rec, SegmentSent) and rec.packet.segment.flags & Flags.RST
                   for rec in shown)
