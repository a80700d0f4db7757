"""A two-host world for scenarios: client 10.0.0.1 and server 10.0.0.2 running synfin
stacks over a simulated link, every record collected."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from synfin.config import Config
from synfin.connection import Connection
from synfin.scenarios.apps import Acceptor, Peer, Script
from synfin.sim import Host, LinkConfig, Network
from synfin.stack import Stack
from synfin.states import State
from synfin.trace.records import ConnId, ListSink, Note, StateChange

CLIENT_IP = "10.0.0.1"
SERVER_IP = "10.0.0.2"
SERVER_PORT = 80
CLIENT_PORT = 40000
#: One-way delay of the default link: a 20 ms round trip.
DEFAULT_DELAY_US = 10_000


@dataclass
class World:
    """Two stacks on one simulated network, with applications."""

    net: Network
    sink: ListSink
    client: Stack
    server: Stack
    client_host: Host
    server_host: Host
    peers: list[Peer] = field(default_factory=list)
    acceptors: list[Acceptor] = field(default_factory=list)
    _wakeups: set[int] = field(default_factory=set)

    @classmethod
    def build(cls, seed: int, client_config: Config, server_config: Config,
              link: LinkConfig | None = None, back: LinkConfig | None = None) -> World:
        sink = ListSink()
        net = Network(seed=seed, sink=sink)
        client = Stack(CLIENT_IP, client_config, secret=_secret(seed, "client"),
                       rng=net.rng_for("client"), sink=sink)
        server = Stack(SERVER_IP, server_config, secret=_secret(seed, "server"),
                       rng=net.rng_for("server"), sink=sink)
        ch, sh = net.add_host(client), net.add_host(server)
        net.connect(ch, sh, link or LinkConfig(delay_us=DEFAULT_DELAY_US), back)
        world = cls(net, sink, client, server, ch, sh)
        net.on_step(world._step_apps)
        return world

    def _step_apps(self) -> None:
        now = self.net.now
        for acceptor in self.acceptors:
            acceptor.step(now)
        for peer in self.peers:
            peer.step(now)
        for peer in self.all_peers():
            wake = peer.wake_at()
            if wake is not None and wake > now and wake not in self._wakeups:
                self._wakeups.add(wake)
                self.net.at(wake, _nothing)

    def all_peers(self) -> list[Peer]:
        """Client-side peers and every server-side peer accepted so far."""
        return self.peers + [p for a in self.acceptors for p in a.peers]

    # -- set-up helpers -------------------------------------------------------------------

    def serve(self, script: Script, port: int = SERVER_PORT, stack: Stack | None = None,
              backlog: int | None = None) -> Acceptor:
        """Listen on ``port`` of the server (or ``stack``) and run ``script`` per connection."""
        target = stack or self.server
        acceptor = Acceptor(target.listen(port, backlog, self.net.now), script)
        self.acceptors.append(acceptor)
        return acceptor

    def open(self, at: int, script: Script, *, src: Stack | None = None,
             dst_ip: str = SERVER_IP, dst_port: int = SERVER_PORT,
             local_port: int | None = CLIENT_PORT) -> list[Peer]:
        """At ``at``, actively open from the client (or ``src``) and run ``script``.
        Returns a list that holds the peer once it exists."""
        holder: list[Peer] = []
        stack = src or self.client

        def start() -> None:
            conn = stack.connect(dst_ip, dst_port, self.net.now, local_port)
            peer = Peer(conn, script)
            holder.append(peer)
            self.peers.append(peer)

        self.net.at(at, start)
        return holder

    def note(self, text: str, host: str = "") -> None:
        self.sink.emit(Note(self.net.now, host, text))

    # -- facts for tests and summaries ----------------------------------------------------

    def states(self, host: str, conn: ConnId | None = None) -> list[str]:
        """The state path of the first connection (or ``conn``) seen on ``host``."""
        changes = [r for r in self.sink.records
                   if isinstance(r, StateChange) and r.host == host
                   and r.conn.remote_ip != "0.0.0.0"]
        if not changes:
            return []
        target = conn or changes[0].conn
        path = [c for c in changes if c.conn == target]
        return [path[0].old.value] + [c.new.value for c in path]

    def conn_ids(self, host: str) -> list[ConnId]:
        seen: dict[ConnId, None] = {}
        for r in self.sink.records:
            if (isinstance(r, StateChange) and r.host == host
                    and r.conn.remote_ip != "0.0.0.0"):
                seen.setdefault(r.conn, None)
        return list(seen)

    def live(self, stack: Stack) -> list[Connection]:
        return [c for c in stack.connections.values() if c.state is not State.CLOSED]


def _nothing() -> None:
    return None


def _secret(seed: int, who: str) -> bytes:
    return random.Random(f"{seed}:{who}").randbytes(16)
