"""The scenario catalogue: every situation of the seed documents, reproducible by name.

Each scenario builds a :class:`~synfin.scenarios.world.World` (client 10.0.0.1, server
10.0.0.2, 10 ms each way), stages its faults, and runs. ``why`` says what the run shows and
why TCP does it that way; the ladder diagram shows it happening.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import BuiltinFunctionType, FunctionType, ModuleType

from synfin.config import Config
from synfin.scenarios.apps import CloseWhen, Script
from synfin.scenarios.world import (
    CLIENT_IP,
    CLIENT_PORT,
    DEFAULT_DELAY_US,
    SERVER_IP,
    SERVER_PORT,
    World,
)
from synfin.sim import LinkConfig, all_of, flags_exactly, from_host, has_flags, with_payload
from synfin.sim.faults import Match
from synfin.stack import Stack
from synfin.states import State
from synfin.trace.records import (
    ConnId,
    LinkEvent,
    Note,
    Record,
    SegmentDropped,
    SegmentReceived,
    SegmentSent,
    StateChange,
)
from synfin.variants import NO_TIME_WAIT, TWO_WAY_HANDSHAKE, check_variants
from synfin.wire import Flags, MssOption, Packet, TcpSegment

REQUEST = b"GET / HTTP/1.0\r\nHost: synfin\r\n\r\n"
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello, world"
GREETING = b"220 synfin ready\r\n"
SECOND = 1_000_000


@dataclass(frozen=True)
class Options:
    """How to run a scenario: seed, counterfactual variants, TIME-WAIT length."""

    seed: int = 1
    variants: frozenset[str] = frozenset()
    time_wait_us: int | None = None

    def config(self, **changes: object) -> Config:
        check_variants(self.variants)
        cfg = Config(variants=self.variants)
        if self.time_wait_us is not None:
            cfg = cfg.with_(msl_us=self.time_wait_us // 2)
        return cfg.with_(**changes) if changes else cfg


@dataclass(frozen=True)
class Scenario:
    """A named, reproducible situation."""

    name: str
    title: str
    why: str
    build: Callable[[Options], World]
    #: Virtual time to run for at most.
    max_time_us: int = 200 * SECOND
    #: Variants that change this scenario's outcome (shown in ``scenario list``).
    variants: tuple[str, ...] = ()
    #: The one connection the diagrams (ladder, SVG, Mermaid) show, from the client's side,
    #: when the run has too many to draw (floods, pile-ups); ``None`` shows them all.
    focus: Callable[[World], ConnId | None] | None = None
    #: Extra summary lines computed from the finished world (rates, queue sizes, memory).
    report: Callable[[World], list[str]] | None = None


@dataclass
class ScenarioRun:
    """The outcome of one run: the world (stacks, apps) and every trace record."""

    scenario: Scenario
    options: Options
    world: World
    records: list[Record] = field(default_factory=list)


def run_scenario(scenario: Scenario, options: Options) -> ScenarioRun:
    """Build and run ``scenario`` to completion (or its time limit)."""
    world = scenario.build(options)
    world.net.run(max_time_us=scenario.max_time_us + _extra_time_wait(options))
    return ScenarioRun(scenario, options, world, list(world.sink.records))


def view_records(run: ScenarioRun) -> list[Record]:
    """The records the diagrams show: every record, or only those of the scenario's focus
    connection (both ends, their listener, the packets between them) and the notes."""
    focus = run.scenario.focus(run.world) if run.scenario.focus is not None else None
    if focus is None:
        return run.records
    ends = {(focus.local_ip, focus.local_port), (focus.remote_ip, focus.remote_port)}
    return [r for r in run.records if _concerns(r, ends)]


def _concerns(record: Record, ends: set[tuple[str, int]]) -> bool:
    if isinstance(record, Note):
        return True
    if isinstance(record, LinkEvent):
        return _packet_ends(record) == ends
    conn = record.conn
    if conn is not None:
        local = (conn.local_ip, conn.local_port)
        if conn.remote_port == 0:  # a listener: its own state changes
            return local in ends
        return {local, (conn.remote_ip, conn.remote_port)} == ends
    if isinstance(record, SegmentSent | SegmentReceived | SegmentDropped):
        return record.packet is not None and _packet_ends(record) == ends
    return False


def _packet_ends(record: LinkEvent | SegmentSent | SegmentReceived | SegmentDropped
                 ) -> set[tuple[str, int]] | None:
    packet = record.packet
    if packet is None:
        return None
    seg = packet.segment
    return {(packet.src, seg.src_port), (packet.dst, seg.dst_port)}


def _extra_time_wait(options: Options) -> int:
    """How much longer than the default 2MSL a ``--time-wait`` asks TIME-WAIT to last: the
    time limits were chosen for the default, and a longer TIME-WAIT must still be seen to end."""
    default = Config().time_wait_us
    if options.time_wait_us is None:
        return 0
    return max(0, options.time_wait_us - default)


# -- building blocks -------------------------------------------------------------------------


def _world(opts: Options, *, client: Config | None = None, server: Config | None = None,
           link: LinkConfig | None = None) -> World:
    return World.build(opts.seed, client or opts.config(), server or opts.config(), link)


def _request_response(opts: Options, *, client_close: CloseWhen = CloseWhen.AFTER_SEND,
                       server_close: CloseWhen = CloseWhen.ON_EOF, delay_us: int = 5_000,
                       client: Config | None = None, server: Config | None = None,
                       link: LinkConfig | None = None) -> World:
    """The client sends a request and the server answers; who closes first is a choice."""
    world = _world(opts, client=client, server=server, link=link)
    world.serve(Script(RESPONSE, server_close, send_after_receiving=len(REQUEST),
                       close_delay_us=delay_us))
    world.open(0, Script(REQUEST, client_close, close_after_receiving=len(RESPONSE),
                         close_delay_us=delay_us))
    return world


def _first_after(trigger: Match, target: Match) -> Match:
    """Matches the first ``target`` packet seen after a ``trigger`` packet went by."""
    seen = [False]

    def match(packet: Packet, sender: str) -> bool:
        if seen[0] and target(packet, sender):
            return True
        if trigger(packet, sender):
            seen[0] = True
        return False

    return match


PURE_ACK = all_of(flags_exactly(Flags.ACK))
FROM_CLIENT = from_host(CLIENT_IP)
FROM_SERVER = from_host(SERVER_IP)


def _pure_ack_without_payload() -> Match:
    def match(packet: Packet, sender: str) -> bool:
        return PURE_ACK(packet, sender) and not packet.segment.payload

    return match


# -- the scenarios ---------------------------------------------------------------------------


def normal_lifecycle(opts: Options) -> World:
    return _request_response(opts)


def server_closes_first(opts: Options) -> World:
    return _request_response(opts, client_close=CloseWhen.ON_EOF,
                             server_close=CloseWhen.AFTER_SEND)


def half_close(opts: Options) -> World:
    world = _world(opts)
    body = bytes(range(256)) * 80  # 20 KB the server keeps sending in CLOSE-WAIT
    # The server closes only once its data is through (~100 ms), so that the data really
    # flows while it is in CLOSE-WAIT rather than queued ahead of an immediate FIN.
    world.serve(Script(body, CloseWhen.AFTER_SEND, send_after_receiving=len(REQUEST),
                       close_after_receiving=len(REQUEST), close_delay_us=150_000))
    world.open(0, Script(REQUEST, CloseWhen.AFTER_SEND))
    return world


def fin_ack_close(opts: Options) -> World:
    delayed = opts.config(delayed_ack_us=40_000)
    return _request_response(opts, server=delayed, delay_us=0)


def simultaneous_open(opts: Options) -> World:
    world = _world(opts)
    script = Script(b"hi", CloseWhen.AT_TIME, close_at=SECOND)
    world.open(0, script, src=world.client, dst_ip=SERVER_IP, dst_port=6000, local_port=5000)
    world.open(0, script, src=world.server, dst_ip=CLIENT_IP, dst_port=5000, local_port=6000)
    return world


def simultaneous_close(opts: Options) -> World:
    world = _world(opts)
    world.serve(Script(b"bye", CloseWhen.AT_TIME, close_at=SECOND))
    world.open(0, Script(b"bye", CloseWhen.AT_TIME, close_at=SECOND))
    return world


def lost_syn(opts: Options) -> World:
    world = _request_response(opts)
    world.net.drop(all_of(FROM_CLIENT, flags_exactly(Flags.SYN)), nth=1)
    return world


def _greeting_exchange(opts: Options) -> World:
    """The server speaks first (a greeting, as SMTP); the client answers and closes."""
    world = _world(opts)
    world.serve(Script(GREETING, CloseWhen.ON_EOF))
    world.open(0, Script(b"QUIT\r\n", CloseWhen.AFTER_SEND, send_after_receiving=len(GREETING),
                         close_after_receiving=len(GREETING)))
    return world


def lost_syn_ack(opts: Options) -> World:
    world = _greeting_exchange(opts)
    world.net.drop(all_of(FROM_SERVER, flags_exactly(Flags.SYN | Flags.ACK)), nth=1)
    return world


def lost_handshake_ack(opts: Options) -> World:
    world = _greeting_exchange(opts)
    world.net.drop(all_of(FROM_CLIENT, _pure_ack_without_payload()), nth=1)
    return world


def lost_first_fin(opts: Options) -> World:
    world = _request_response(opts)
    world.net.drop(all_of(FROM_CLIENT, has_flags(Flags.FIN)), nth=1)
    return world


def lost_ack_of_fin(opts: Options) -> World:
    world = _request_response(opts, delay_us=2 * SECOND)
    client_fin = all_of(FROM_CLIENT, has_flags(Flags.FIN))
    world.net.drop(_first_after(client_fin, all_of(FROM_SERVER, _pure_ack_without_payload())))
    return world


def lost_last_ack(opts: Options) -> World:
    world = _request_response(opts)
    server_fin = all_of(FROM_SERVER, has_flags(Flags.FIN))
    world.net.drop(_first_after(server_fin, all_of(FROM_CLIENT, _pure_ack_without_payload())))
    if NO_TIME_WAIT in opts.variants:
        # The client reconnects from the same port while the server is still in LAST-ACK.
        world.open(2 * SECOND // 10, Script(REQUEST, CloseWhen.AFTER_SEND,
                                            close_after_receiving=len(RESPONSE)))
    return world


def old_duplicate_syn(opts: Options) -> World:
    world = _world(opts)
    world.serve(Script(GREETING, CloseWhen.ON_EOF))
    stale = TcpSegment(CLIENT_PORT + 1, SERVER_PORT, 123_456_789, 0, Flags.SYN, 64240)
    world.net.inject(0, CLIENT_IP, Packet(CLIENT_IP, SERVER_IP, stale))
    world.net.note("an old duplicate SYN from a connection long gone reaches the server")
    return world


def old_segment_in_time_wait(opts: Options) -> World:
    """The client downloads ~55 KB of numbered lines, closes first and sits in TIME-WAIT; a
    copy of one server segment is held in the network and arrives later.

    Under no-time-wait the client reconnects from the same port at once, and the numbers are
    chosen so that the old copy lands inside the new connection's receive window: the ISN
    clock (RFC 6528) advances one per 4 us, far slower than the old download moved SND.NXT,
    so the copy of old byte ``k`` sits ``k - reconnect_us / 4`` bytes into the new stream,
    here exactly where the new page's fifth segment belongs. Timestamps are off, as in the
    seeds' captures, so that PAWS (RFC 7323) plays no part: TIME-WAIT alone protects.
    """
    old_download = b"".join(b"line %05d of the old download\n" % i for i in range(1800))
    new_page = b"".join(b"line %05d of the new page\n" % i for i in range(300))
    cfg = opts.config(timestamps=False)
    mss = cfg.mss  # no timestamps option: every full segment carries exactly this much
    copied = 36  # the 36th server data segment: old bytes 35*1460 .. 36*1460
    lands_at = 4 * mss  # where the copy falls in the new connection's stream
    reconnect_at = (((copied - 1) * mss) - lands_at) * cfg.isn_tick_us  # 181.04 ms
    world = _world(opts, client=cfg, server=cfg)
    acceptor = world.serve(Script(old_download, CloseWhen.ON_EOF,
                                  send_after_receiving=len(REQUEST)))
    world.open(0, Script(REQUEST, CloseWhen.AFTER_SEND, close_after_receiving=len(old_download),
                         close_delay_us=5_000))
    # The original leaves at 90 ms; its copy arrives 30 ms after the client reconnects (when
    # the new connection is ESTABLISHED and the new page's second flight is still on its way).
    world.net.duplicate(all_of(FROM_SERVER, with_payload()), nth=copied,
                        copy_delay_us=reconnect_at + 30_000 - 90_000 - DEFAULT_DELAY_US)
    if NO_TIME_WAIT in opts.variants:
        # The same 4-tuple is reused at once, and the server now serves a different page.
        def reconnect() -> None:
            acceptor.script = Script(new_page, CloseWhen.ON_EOF,
                                     send_after_receiving=len(REQUEST))

        world.net.at(reconnect_at, reconnect)
        world.open(reconnect_at, Script(REQUEST, CloseWhen.AFTER_SEND,
                                        close_after_receiving=len(new_page),
                                        close_delay_us=5_000))
    return world


def connect_closed_port(opts: Options) -> World:
    world = _world(opts)
    world.open(0, Script(REQUEST), dst_port=81)
    return world


def rst_in_established(opts: Options) -> World:
    world = _world(opts)
    world.serve(Script(b"x" * 4000, CloseWhen.AT_TIME, close_at=100_000, abort=True))
    world.open(0, Script(REQUEST, CloseWhen.NEVER))
    return world


def peer_vanishes_fin_wait_2(opts: Options) -> World:
    world = _world(opts)
    world.serve(Script(RESPONSE, CloseWhen.NEVER, send_after_receiving=len(REQUEST)))
    world.open(0, Script(REQUEST, CloseWhen.AFTER_SEND, close_after_receiving=len(RESPONSE)))

    def vanish() -> None:
        world.net.connect(world.client_host, world.server_host, LinkConfig(loss=1.0))
        world.net.note("the server host disappears from the network", SERVER_IP)

    world.net.at(SECOND // 2, vanish)
    return world


def close_wait_pileup(opts: Options) -> World:
    world = _world(opts)
    world.serve(Script(RESPONSE, CloseWhen.NEVER, send_after_receiving=len(REQUEST)))
    for i in range(5):
        world.open(i * 200_000, Script(REQUEST, CloseWhen.AFTER_SEND,
                                       close_after_receiving=len(RESPONSE)),
                   local_port=CLIENT_PORT + i)
    return world


def random_loss_transfer(opts: Options) -> World:
    faults = LinkConfig(delay_us=10_000, loss=0.10, duplicate=0.05, reorder=0.05,
                        jitter_us=2_000)
    world = _world(opts, link=faults)
    up = bytes((i * 7) % 251 for i in range(100_000))
    down = bytes((i * 13) % 251 for i in range(100_000))
    world.serve(Script(down, CloseWhen.ON_EOF))
    world.open(0, Script(up, CloseWhen.AFTER_SEND, close_after_receiving=len(down)))
    return world


# -- at scale: SYN flood and TIME-WAIT pile-up --------------------------------------------------

#: The flood: spoofed SYNs from random addresses of 172.16.0.0/12, this many a second ...
FLOOD_RATE = 2_000
#: ... for this long, from t=0.
FLOOD_US = 5 * SECOND
#: Legitimate clients (10.0.0.1, ports 40000..), one every 450 ms from 300 ms on (all
#: during the flood), each sending a request and reading the response.
LEGIT_CLIENTS = 10
LEGIT_FROM_US = 300_000
LEGIT_EVERY_US = 450_000
#: A legitimate exchange counts as a success when its response is complete this soon after
#: its OPEN (a user gives up later; the no-cookies clients do get through, after a minute).
PATIENCE_US = 3 * SECOND
#: The pile-up: this many short connections, one every 250 ms, ...
PILEUP_CONNECTIONS = 280
PILEUP_EVERY_US = 250_000
#: ... from 200 ephemeral ports, with room for 100 TIME-WAIT records on the client.
PILEUP_PORTS = (40000, 40199)
PILEUP_BUCKETS = 100
PILEUP_RUN_US = 70 * SECOND

_OPAQUE = (type, ModuleType, FunctionType, BuiltinFunctionType)


def held_bytes(stack: Stack) -> int:
    """Bytes of everything ``stack`` holds (connections, half-open and TIME-WAIT records,
    queues, timers), by walking the references from it; the trace sink, modules, classes and
    functions excluded, each object counted once."""
    seen = {id(stack.sink)}
    todo: list[object] = [stack]
    total = 0
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        todo.extend(gc.get_referents(obj))
    return total


@dataclass(frozen=True)
class Sample:
    """A stack's queues at one moment (from ``Stack.table()`` and its listener)."""

    t: int
    syn_queue: int
    accept_queue: int
    connections: int
    time_wait: int
    held_bytes: int


@dataclass
class ProbedWorld(World):
    """A world whose scenario samples one stack's queues as it runs, and remembers what it
    injected."""

    samples: list[Sample] = field(default_factory=list)
    #: (time, source address) of every spoofed SYN.
    spoofed: list[tuple[int, str]] = field(default_factory=list)

    def probe(self, stack: Stack, every_us: int, until_us: int, *, memory: bool) -> None:
        """Sample ``stack`` every ``every_us`` from 0 to ``until_us`` (memory is costly)."""
        def take() -> None:
            self.samples.append(_sample(stack, self.net.now, memory))

        for t in range(0, until_us + 1, every_us):
            self.net.at(t, take, hosts=())


def _sample(stack: Stack, now: int, memory: bool) -> Sample:
    table = stack.table()
    listener = stack.listeners.get(SERVER_PORT)
    return Sample(now, len(listener.syn_queue) if listener else 0,
                  len(listener.accept_queue) if listener else 0, len(stack.connections),
                  sum(1 for _, state in table if state is State.TIME_WAIT),
                  held_bytes(stack) if memory else 0)


def _probed(opts: Options, client: Config, server: Config) -> ProbedWorld:
    world = ProbedWorld.build(opts.seed, client, server)
    assert isinstance(world, ProbedWorld)
    return world


def _flood(opts: Options, server: Config) -> World:
    world = _probed(opts, opts.config(), server)
    world.serve(Script(RESPONSE, CloseWhen.ON_EOF, send_after_receiving=len(REQUEST)))
    rng = world.net.rng_for("flood")
    for i in range(FLOOD_RATE * FLOOD_US // SECOND):
        t = i * SECOND // FLOOD_RATE
        src = f"172.{16 + rng.randrange(16)}.{rng.randrange(256)}.{1 + rng.randrange(254)}"
        seg = TcpSegment(1024 + rng.randrange(64512), SERVER_PORT, rng.randrange(2**32), 0,
                         Flags.SYN, 64240, 0, (MssOption(1460),))
        world.net.inject(t, src, Packet(src, SERVER_IP, seg))
        world.spoofed.append((t, src))
    world.note(f"SYN flood: {FLOOD_RATE} spoofed SYNs a second from random addresses of "
               f"172.16.0.0/12 for {FLOOD_US // SECOND} s", SERVER_IP)
    for i in range(LEGIT_CLIENTS):
        world.open(LEGIT_FROM_US + i * LEGIT_EVERY_US,
                   Script(REQUEST, CloseWhen.AFTER_SEND, close_after_receiving=len(RESPONSE)),
                   local_port=CLIENT_PORT + i)
    world.probe(world.server, SECOND // 4, FLOOD_US + 2 * SECOND, memory=True)
    return world


def syn_flood(opts: Options) -> World:
    return _flood(opts, opts.config())


def syn_flood_no_cookies(opts: Options) -> World:
    return _flood(opts, opts.config(syn_cookies="off"))


def first_legit_connection(world: World) -> ConnId | None:
    """The first legitimate client's connection (the one the flood diagrams show)."""
    return ConnId(CLIENT_IP, CLIENT_PORT, SERVER_IP, SERVER_PORT)


def legit_outcomes(world: World) -> list[int | None]:
    """For each legitimate client: how long from its OPEN until it had the whole response
    (it closes at that moment), or ``None`` if it never did."""
    opened: dict[ConnId, int] = {}
    closed: dict[ConnId, int] = {}
    for r in world.sink.records:
        if isinstance(r, StateChange) and r.host == CLIENT_IP:
            if r.new is State.SYN_SENT:
                opened.setdefault(r.conn, r.t)
            elif r.new is State.FIN_WAIT_1:
                closed.setdefault(r.conn, r.t)
    outcomes: list[int | None] = []
    for peer in world.peers[:LEGIT_CLIENTS]:
        cid = peer.conn.conn_id
        complete = bytes(peer.received) == RESPONSE and cid in closed and cid in opened
        outcomes.append(closed[cid] - opened[cid] if complete else None)
    return outcomes


def _kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def _established(world: World, host: str) -> int:
    return sum(1 for r in world.sink.records if isinstance(r, StateChange) and r.host == host
               and r.new is State.ESTABLISHED)


def flood_report(world: World) -> list[str]:
    """Legitimate success rate, SYN queue sizes and the server's memory under the flood."""
    assert isinstance(world, ProbedWorld)
    cfg = world.server.config
    outcomes = legit_outcomes(world)
    on_time = sum(1 for d in outcomes if d is not None and d <= PATIENCE_US)
    done = [d for d in outcomes if d is not None]
    samples = world.samples
    peak_queue = max(s.syn_queue for s in samples)
    base, peak = samples[0].held_bytes, max(s.held_bytes for s in samples)
    counters, dropped = world.server.counters, world.server.drop_counts
    last = f", the last {max(done) / SECOND:.3f}s after its OPEN" if done else ""
    return [
        f"SYN flood: {len(world.spoofed)} spoofed SYNs from "
        f"{len({src for _, src in world.spoofed})} addresses, {FLOOD_RATE}/s for "
        f"{FLOOD_US / SECOND:.0f} s; server syn_cookies={cfg.syn_cookies}, "
        f"syn_backlog={cfg.syn_backlog}",
        f"Legitimate clients answered within {PATIENCE_US / SECOND:.0f} s: {on_time}/"
        f"{len(outcomes)} ({100 * on_time // len(outcomes)}%); answered at all: "
        f"{len(done)}/{len(outcomes)}{last}",
        f"SYN queue (half-open records): peak {peak_queue} of {cfg.syn_backlog}; SYN,ACKs "
        f"with a SYN cookie: {counters.get('syn-cookie-sent', 0)}, cookie ACKs accepted: "
        f"{counters.get('syn-cookie-accepted', 0)}; SYNs dropped, queue full: "
        f"{dropped.get('syn-queue-full', 0)}",
        f"Server memory for TCP state: {_kb(base)} before the flood, peak {_kb(peak)} "
        f"(+{_kb(peak - base)}, about {(peak - base) // max(peak_queue, 1)} B per half-open "
        f"record); full connections made: {_established(world, SERVER_IP)}, all for "
        f"completed handshakes",
    ]


def time_wait_pileup(opts: Options) -> World:
    client = opts.config(max_tw_buckets=PILEUP_BUCKETS, ephemeral_ports=PILEUP_PORTS)
    world = _probed(opts, client, opts.config())
    world.serve(Script(RESPONSE, CloseWhen.ON_EOF, send_after_receiving=len(REQUEST)))
    for i in range(PILEUP_CONNECTIONS):
        world.open(i * PILEUP_EVERY_US, Script(REQUEST, CloseWhen.AFTER_SEND,
                                               close_after_receiving=len(RESPONSE)),
                   local_port=None)
    world.probe(world.client, 10 * SECOND, PILEUP_RUN_US, memory=False)
    return world


def first_client_connection(world: World) -> ConnId | None:
    conns = world.conn_ids(CLIENT_IP)
    return conns[0] if conns else None


@dataclass(frozen=True)
class Incarnation:
    """One connection of the client over a 4-tuple: when it opened and when (and how) its
    end was deleted (``None``: still there when the run stopped)."""

    conn: ConnId
    opened: int
    closed: int | None
    cause: str


def incarnations(world: World) -> list[Incarnation]:
    """Every client connection in the order they opened."""
    out: list[Incarnation] = []
    current: dict[ConnId, tuple[int, int]] = {}  # conn -> (opened, index in out)
    for r in world.sink.records:
        if not isinstance(r, StateChange) or r.host != CLIENT_IP or r.conn.remote_port == 0:
            continue
        if r.new is State.SYN_SENT:
            current[r.conn] = (r.t, len(out))
            out.append(Incarnation(r.conn, r.t, None, ""))
        elif r.new is State.CLOSED and r.conn in current:
            opened, index = current.pop(r.conn)
            out[index] = Incarnation(r.conn, opened, r.t, r.cause)
    return out


def pileup_report(world: World) -> list[str]:
    """TIME-WAIT counts over time, the bucket overflow, and port reuse."""
    assert isinstance(world, ProbedWorld)
    cfg = world.client.config
    runs = incarnations(world)
    by_port: dict[int, list[Incarnation]] = {}
    for inc in runs:
        by_port.setdefault(inc.conn.local_port, []).append(inc)
    after_2msl = after_overflow = 0
    for seq in by_port.values():
        for old in seq[:-1]:
            if old.cause.startswith("timeout=2MSL"):
                after_2msl += 1
            elif "overflow" in old.cause:
                after_overflow += 1
    low, high = cfg.ephemeral_ports
    counts = ", ".join(f"{s.t // SECOND}s {s.time_wait}" for s in world.samples)
    return [
        f"TIME-WAIT pile-up: {len(runs)} short connections, one every "
        f"{PILEUP_EVERY_US // 1000} ms, from ports {low}-{high} ({high - low + 1} ephemeral "
        f"ports); client max_tw_buckets={cfg.max_tw_buckets}, TIME-WAIT "
        f"{cfg.time_wait_us / SECOND:.0f} s",
        f"TIME-WAIT records on the client (Stack.table()), every 10 s: {counts}",
        f"Bucket overflow: {world.client.drop_counts.get('time-wait-bucket-overflow', 0)} "
        f"connections closed at once instead of waiting in TIME-WAIT "
        f"(time-wait-bucket-overflow)",
        f"Ports: {len(by_port)} distinct for {len(runs)} connections; "
        f"{after_2msl + after_overflow} reuses, each only after the port's previous "
        f"connection was gone: {after_2msl} once its TIME-WAIT ended, {after_overflow} at once "
        f"because an overflow had closed it",
    ]


SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    Scenario("normal-lifecycle", "Three-way handshake, a request and a response, four-way close",
             "Both ends start CLOSED; the server listens. SYN (seq=x), SYN,ACK (seq=y, ack=x+1), "
             "ACK (ack=y+1): each side learns the other's initial sequence number and that its "
             "own was received. The client closes first: FIN, ACK (CLOSE-WAIT: the server may "
             "still send), the server's FIN, the last ACK; the client waits 2MSL in TIME-WAIT.",
             normal_lifecycle),
    Scenario("server-closes-first", "The server closes first and waits in TIME-WAIT",
             "Either side may close first. The active closer is the one that goes through "
             "TIME-WAIT: here the server, as an HTTP/1.0 server does after its response.",
             server_closes_first),
    Scenario("half-close", "Half-close: data keeps flowing in CLOSE-WAIT",
             "A FIN only says 'I will send no more'. The client closes after its request; the "
             "server, in CLOSE-WAIT, keeps sending 20 KB that the client, in FIN-WAIT-2, still "
             "receives and ACKs. Only then does the server close. This is why the close takes "
             "four segments: the passive side may have data left.",
             half_close),
    Scenario("fin-ack-close", "Three-segment close: ACK and FIN travel together",
             "When the passive side has nothing left to send and closes at once, its ACK of the "
             "FIN can wait (delayed ACK) and ride on its own FIN: FIN / FIN,ACK / ACK, and the "
             "active closer goes FIN-WAIT-1 -> TIME-WAIT directly.",
             fin_ack_close),
    Scenario("simultaneous-open", "Simultaneous open: both ends send SYN at once",
             "Two active OPENs cross: each side in SYN-SENT receives a SYN without ACK, goes to "
             "SYN-RECEIVED and sends SYN,ACK. Each SYN,ACK acknowledges the other's SYN, but "
             "its own SYN is by then old: RFC 9293's sequence check (3.10.7.4, first step) "
             "drops it and answers with an ACK, and that ACK completes the other side. (The "
             "RFC's Figure 8, and Linux, let the SYN,ACK itself complete the handshake.)",
             simultaneous_open),
    Scenario("simultaneous-close", "Simultaneous close through CLOSING",
             "Both applications close at the same moment: each side in FIN-WAIT-1 receives the "
             "other's FIN before the ACK of its own, enters CLOSING, then TIME-WAIT. Both ends "
             "wait 2MSL.",
             simultaneous_close),
    Scenario("lost-syn", "The first SYN is lost",
             "No SYN,ACK comes back, so the client's retransmission timer (initial RTO 1 s, RFC "
             "6298) fires and the SYN is sent again with the same ISN.",
             lost_syn),
    Scenario("lost-syn-ack", "The SYN,ACK is lost",
             "The client retransmits its SYN after 1 s; the server, still in SYN-RECEIVED, sends "
             "its SYN,ACK again. Under --variant two-way-handshake the server believes it is "
             "ESTABLISHED and sends data the client (still SYN-SENT) ignores, while the "
             "client's SYN retransmissions get bare ACKs: the two ends disagree for the whole "
             "run (the client gives up after 127 s; only then does a RST end the server's "
             "side).",
             lost_syn_ack, 60 * SECOND, (TWO_WAY_HANDSHAKE,)),
    Scenario("lost-handshake-ack", "The third handshake segment (ACK) is lost",
             "The server stays in SYN-RECEIVED (the only time one sees that state) and "
             "retransmits its SYN,ACK; the client, already ESTABLISHED, ACKs it again.",
             lost_handshake_ack),
    Scenario("lost-first-fin", "The first FIN is lost",
             "The FIN occupies a sequence number, so it is retransmitted like data until ACKed.",
             lost_first_fin),
    Scenario("lost-ack-of-fin", "The ACK of the first FIN is lost",
             "The client stays in FIN-WAIT-1 and retransmits its FIN; the server, in CLOSE-WAIT, "
             "sees an old FIN and ACKs it again; the client moves to FIN-WAIT-2.",
             lost_ack_of_fin),
    Scenario("lost-last-ack", "The last ACK is lost: why TIME-WAIT exists (reason 1)",
             "The server in LAST-ACK retransmits its FIN. The client, still in TIME-WAIT, ACKs it "
             "again and restarts its 2MSL timer. Under --variant no-time-wait the client has "
             "forgotten the connection and opens a new one from the same port 200 ms later, "
             "before the FIN is retransmitted: its SYN meets the old connection, still in "
             "LAST-ACK, which answers with an ACK of the old numbers instead of a SYN,ACK (RFC "
             "5961 challenge ACK; the seeds, after RFC 793, say RST). The client resets the old "
             "connection with that ACK's number, and only its SYN retransmission one second "
             "later opens the new connection.",
             lost_last_ack, 200 * SECOND, (NO_TIME_WAIT,)),
    Scenario("old-duplicate-syn", "An old duplicate SYN reaches a listener: why three steps",
             "A SYN from a connection long gone arrives. The server answers SYN,ACK and waits in "
             "SYN-RECEIVED; the client has no such connection and answers RST; the server drops "
             "the half-open connection. Under --variant two-way-handshake the server opens a "
             "connection nobody wants and hands it to its application.",
             old_duplicate_syn, 60 * SECOND, (TWO_WAY_HANDSHAKE,)),
    Scenario("old-segment-in-time-wait", "A delayed old segment meets TIME-WAIT (reason 2)",
             "The client downloads 55 KB and closes first. A copy of one server segment (old "
             "seq 51101) is held in the network for 111 ms. It arrives while the client's end "
             "of the 4-tuple is in TIME-WAIT: its sequence number is old, so it is only "
             "re-ACKed (the server, long CLOSED, answers that ACK with RST, which TIME-WAIT "
             "ignores, RFC 1337). Under --variant no-time-wait the client reconnects from the "
             "same port at once. The new ISN is only 45260 ahead of the old one (the RFC 6528 "
             "clock ticks once per 4 us), far behind the old download's numbers, so the old "
             "copy lands inside the new receive window as seq 5841: it is held and SACKed, the "
             "real segment with those numbers is then dropped as a duplicate, and the "
             "application reads 1460 bytes of the old download in the middle of the new page. "
             "Timestamps are off here, so PAWS (RFC 7323) plays no part.",
             old_segment_in_time_wait, 200 * SECOND, (NO_TIME_WAIT,)),
    Scenario("connect-closed-port", "Connecting to a port nobody listens on",
             "A SYN to a port with no listener is answered RST,ACK (RFC 9293 3.10.7.1); the "
             "client reports 'connection refused'.",
             connect_closed_port),
    Scenario("rst-in-established", "A connection is reset in ESTABLISHED",
             "The server's application aborts: a RST with the exact next sequence number. The "
             "client enters CLOSED at once and reports 'connection reset'; no TIME-WAIT.",
             rst_in_established),
    Scenario("peer-vanishes-fin-wait-2", "The peer vanishes while we wait in FIN-WAIT-2",
             "The protocol puts no timeout on FIN-WAIT-2. The server ACKed the client's FIN and "
             "then disappeared; the orphaned client connection times out after tcp_fin_timeout "
             "(60 s, as Linux) instead of waiting forever.",
             peer_vanishes_fin_wait_2),
    Scenario("close-wait-pileup", "An application that never closes: CLOSE-WAIT piles up",
             "Five clients close their connections; the server application never calls close(), "
             "so each server connection stays in CLOSE-WAIT for good: a resource leak one sees "
             "in ss as many CLOSE-WAIT lines.",
             close_wait_pileup, 30 * SECOND),
    Scenario("random-loss-transfer", "100 KB each way over a bad link",
             "10% loss, 5% duplication and reordering in both directions. Retransmission, "
             "reassembly and duplicate detection deliver every byte in order.",
             random_loss_transfer, 600 * SECOND),
    Scenario("syn-flood", "A SYN flood with SYN cookies: legitimate clients get through",
             "Spoofed SYNs from thousands of addresses (2000 a second for 5 s) fill the "
             "listener's SYN queue (256 half-open records, each a few hundred bytes, never a "
             "full connection) within 130 ms. From then on the server answers every SYN with "
             "a SYN cookie (RFC 4987) and keeps nothing: a legitimate client's ACK carries the "
             "cookie back and makes the connection. Every legitimate client is answered at "
             "once (100% within 3 s), the SYN queue never grows past its bound and the "
             "server's memory stays flat. The spoofed records time out after 5 SYN,ACK "
             "retransmissions (63 s). The diagrams show the first legitimate connection; the "
             "pcap has the whole flood.",
             syn_flood, focus=first_legit_connection, report=flood_report),
    Scenario("syn-flood-no-cookies", "The same SYN flood without SYN cookies: a denial of service",
             "The same flood against syn_cookies=off (Linux tcp_syncookies=0). Once the 256 "
             "half-open records are taken, every further SYN is dropped (syn-queue-full), the "
             "legitimate ones too: none of the legitimate clients is answered within 3 s (0%). "
             "Their SYN retransmissions (1, 3, 7, 15, 31 s) all meet a full queue until the "
             "spoofed records time out after 63 s; only then do they connect. Memory is as "
             "bounded as with cookies: the bound is the SYN queue, what cookies add is "
             "service. The diagrams show the first legitimate connection.",
             syn_flood_no_cookies, focus=first_legit_connection, report=flood_report),
    Scenario("time-wait-pileup", "Many short connections: TIME-WAIT piles up on the client",
             "The client opens and closes 280 short connections to port 80, four a second, "
             "from 200 ephemeral ports, closing first each time: each of its ends waits 60 s "
             "in TIME-WAIT as a compact record. With max_tw_buckets=100 (Linux "
             "tcp_max_tw_buckets) the 101st and later are closed at once instead (drop reason "
             "time-wait-bucket-overflow) until the first records expire at 60 s. A port is "
             "reused only once its previous connection is gone: its TIME-WAIT ended, or it "
             "never had one. The ss view at the end (70 s) shows the pile-up; the diagrams "
             "show the first connection.",
             time_wait_pileup, PILEUP_RUN_US, focus=first_client_connection,
             report=pileup_report),
]}
