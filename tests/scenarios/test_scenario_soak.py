"""Soak: 1,000 connections in one simulation over a link that loses 10%, duplicates 5% and
reorders 5% of the packets in each direction. Clients open in waves from distinct ports, send a
few KB and close; the server echoes every byte and closes on EOF. Every byte must come back in
order, every connection must reach CLOSED on both ends, and 2MSL later nothing may be left."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field

from synfin.config import Config
from synfin.connection import Connection
from synfin.errors import LocalError, TcpError
from synfin.listener import Listener
from synfin.sim import LinkConfig, Network
from synfin.stack import Stack
from synfin.states import State
from synfin.trace.records import (
    ConnId,
    LinkEvent,
    Record,
    SegmentReceived,
    StateChange,
    TimerFired,
)

CLIENT, SERVER, PORT = "10.0.0.1", "10.0.0.2", 7
CONNECTIONS = 1000
WAVES = 10
WAVE_GAP_US = 100_000
FIRST_PORT = 20_000
MSL_US = 500_000  # TIME-WAIT lasts 1 s: keeps virtual time small
SEED = 20_26


class SoakSink:
    """Keeps state changes and link-fault counts; remembers which connections were touched
    since the last application step, so that only their applications need to run."""

    enabled = True

    def __init__(self) -> None:
        self.changes: list[StateChange] = []
        self.faults: dict[str, int] = {}
        self.touched: set[tuple[str, ConnId]] = set()

    def emit(self, record: Record) -> None:
        if isinstance(record, StateChange):
            self.changes.append(record)
            self.touched.add((record.host, record.conn))
        elif isinstance(record, SegmentReceived | TimerFired) and record.conn is not None:
            self.touched.add((record.host, record.conn))
        elif isinstance(record, LinkEvent) and record.fault:
            self.faults[record.fault] = self.faults.get(record.fault, 0) + 1


@dataclass
class ClientApp:
    """Sends its payload, closes, and reads the echo until the server's FIN."""

    conn: Connection
    payload: bytes
    sent: int = 0
    closed: bool = False
    echo: bytearray = field(default_factory=bytearray)
    eof: bool = False
    error: str | None = None

    def step(self, now: int) -> None:
        try:
            if self.conn.state is State.ESTABLISHED and self.sent < len(self.payload):
                self.sent += self.conn.send(self.payload[self.sent:], now)
            if self.sent == len(self.payload) and not self.closed and \
                    self.conn.state is State.ESTABLISHED:
                self.closed = True
                self.conn.close(now)
            _drain(self.conn, self.echo, now)
        except LocalError:
            self.eof = self.conn.at_eof
        except TcpError as exc:
            self.error = exc.text


@dataclass
class EchoApp:
    """Writes back whatever it reads; closes once the peer's FIN is read and all is written."""

    conn: Connection
    got: bytearray = field(default_factory=bytearray)
    written: int = 0
    closed: bool = False
    error: str | None = None

    def step(self, now: int) -> None:
        try:
            eof = False
            try:
                _drain(self.conn, self.got, now)
            except LocalError:
                eof = self.conn.at_eof
            if self.written < len(self.got) and self.conn.state in (State.ESTABLISHED,
                                                                     State.CLOSE_WAIT):
                self.written += self.conn.send(bytes(self.got[self.written:]), now)
            if eof and self.written == len(self.got) and not self.closed:
                self.closed = True
                self.conn.close(now)
        except TcpError as exc:
            self.error = exc.text


def _drain(conn: Connection, into: bytearray, now: int) -> None:
    while data := conn.receive(now=now):
        into += data


@dataclass
class Soak:
    net: Network
    sink: SoakSink
    client: Stack
    server: Stack
    listener: Listener
    clients: dict[ConnId, ClientApp] = field(default_factory=dict)
    servers: dict[ConnId, EchoApp] = field(default_factory=dict)

    def step(self) -> None:
        now = self.net.now
        while (conn := self.listener.accept()) is not None:
            echo = EchoApp(conn)
            self.servers[conn.conn_id] = echo
            echo.step(now)
        touched, self.sink.touched = self.sink.touched, set()
        for host, cid in touched:
            app: ClientApp | EchoApp | None = (
                self.clients.get(cid) if host == CLIENT else self.servers.get(cid))
            if app is not None:
                app.step(now)

    def open_wave(self, wave: int, payloads: list[bytes]) -> None:
        per_wave = CONNECTIONS // WAVES
        for i in range(wave * per_wave, (wave + 1) * per_wave):
            conn = self.client.connect(SERVER, PORT, self.net.now, FIRST_PORT + i)
            app = ClientApp(conn, payloads[i])
            self.clients[conn.conn_id] = app
            app.step(self.net.now)


def build_soak() -> tuple[Soak, list[bytes]]:
    cfg = Config(msl_us=MSL_US)
    sink = SoakSink()
    net = Network(seed=SEED, sink=sink)
    rng = random.Random(SEED)
    client = Stack(CLIENT, cfg, secret=rng.randbytes(16), rng=net.rng_for("client"), sink=sink)
    server = Stack(SERVER, cfg, secret=rng.randbytes(16), rng=net.rng_for("server"), sink=sink)
    bad = LinkConfig(delay_us=10_000, loss=0.10, duplicate=0.05, reorder=0.05, jitter_us=2_000)
    net.connect(net.add_host(client), net.add_host(server), bad)
    soak = Soak(net, sink, client, server, server.listen(PORT))
    payloads = [rng.randbytes(rng.randrange(2_000, 6_001)) for _ in range(CONNECTIONS)]
    net.on_step(soak.step)
    for wave in range(WAVES):
        net.at(wave * WAVE_GAP_US, functools.partial(soak.open_wave, wave, payloads))
    return soak, payloads


def test_thousand_connections_under_loss_duplication_and_reordering() -> None:
    soak, payloads = build_soak()
    end = soak.net.run(max_time_us=600_000_000)
    assert end < 600_000_000  # it finished: nothing left to do, no timer armed

    # The link really was bad in both directions.
    faults = soak.sink.faults
    assert faults.get("random-loss", 0) > 1_000
    assert faults.get("random-duplicate", 0) > 500
    assert faults.get("reorder", 0) > 500

    # Every byte, in order, both ways, on every connection; no errors anywhere.
    assert len(soak.clients) == len(soak.servers) == CONNECTIONS
    ports = sorted(cid.local_port for cid in soak.clients)
    assert ports == list(range(FIRST_PORT, FIRST_PORT + CONNECTIONS))
    for cid, app in soak.clients.items():
        assert app.error is None, cid
        assert app.sent == len(app.payload)
        assert bytes(app.echo) == app.payload == payloads[cid.local_port - FIRST_PORT], cid
        assert app.eof, cid
        echo = soak.servers[ConnId(SERVER, PORT, CLIENT, cid.local_port)]
        assert echo.error is None and echo.closed
        assert bytes(echo.got) == app.payload

    # Every connection reached CLOSED on both ends, the client through TIME-WAIT.
    last: dict[tuple[str, ConnId], StateChange] = {}
    time_wait: set[ConnId] = set()
    for change in soak.sink.changes:
        if change.conn.remote_ip == "0.0.0.0":
            continue
        last[(change.host, change.conn)] = change
        if change.new is State.TIME_WAIT:
            time_wait.add(change.conn)
    assert len(last) == 2 * CONNECTIONS
    assert {c.new for c in last.values()} == {State.CLOSED}
    assert time_wait == set(soak.clients)
    assert all(app.conn.state is State.CLOSED for app in soak.clients.values())
    assert all(app.conn.state is State.CLOSED for app in soak.servers.values())

    # 2MSL after the last close nothing is left: no connections, no half-open or unaccepted
    # children, no timers.
    final = max(c.t for c in last.values())
    assert end <= final + 2 * MSL_US
    for stack in (soak.client, soak.server):
        assert stack.connections == {}
        assert stack.next_deadline() is None
    assert soak.listener.syn_queue == {}
    assert len(soak.listener.accept_queue) == 0
