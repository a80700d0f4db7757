"""Two synfin stacks in the simulator with small application drivers.

``10.0.0.1`` is the client, ``10.0.0.2`` the server (listening on port 80). Each side gets an
:class:`App` that writes its payload as send space allows, reads everything it can into a
bytearray, and calls CLOSE at the moment its :class:`Plan` says: once the whole payload was
handed to TCP, once the peer's FIN was read (EOF), both, or at a given virtual time.

Apps react at the same virtual microsecond as the event that gave them work. With
``app_first`` (the default) each stack sits behind an :class:`AppHost` that runs its app right
after a packet or timer and *before* the stack's output is collected, like an event loop that
reads a socket before the kernel sends its ACK: an app that closes on EOF then gets its FIN
onto the ACK of the peer's FIN (the three-segment close). Without it the apps run after every
simulator step (``Network.on_step``), after the ACK went out (the four-segment close).

Both stacks write into one :class:`ListSink`; the helpers at the bottom read the trace (state
changes, segments sent and received) so tests assert on what really happened on the wire.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from synfin.config import Config
from synfin.connection import Connection
from synfin.errors import LocalError, RemoteError
from synfin.listener import Listener
from synfin.sim import LinkConfig, Network
from synfin.sim.host import Host
from synfin.stack import Stack
from synfin.states import State
from synfin.trace.records import (
    NULL_SINK,
    ListSink,
    SegmentReceived,
    SegmentSent,
    StateChange,
    TraceSink,
)
from synfin.wire.segment import TcpSegment

CLIENT_IP = "10.0.0.1"
SERVER_IP = "10.0.0.2"
SERVER_PORT = 80
MB = 1 << 20

#: States in which SEND is allowed (RFC 9293 3.10.2).
_CAN_SEND = frozenset({State.ESTABLISHED, State.CLOSE_WAIT})
#: States reached once the handshake completed.
_OPEN = frozenset(State) - {State.CLOSED, State.LISTEN, State.SYN_SENT, State.SYN_RECEIVED}


def sha256(data: bytes | bytearray) -> str:
    """Hex digest, to compare large payloads in one readable assertion."""
    return hashlib.sha256(data).hexdigest()


def pattern(size: int, seed: int) -> bytes:
    """``size`` pseudo-random bytes, reproducible from ``seed`` (a payload that would reveal
    any reordering or duplication, unlike a constant fill)."""
    return random.Random(seed).randbytes(size)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one application does.

    CLOSE is called once every enabled condition holds: ``close_after_send`` (the whole
    payload was taken by SEND) and ``close_on_eof`` (the peer's FIN was read); with neither
    enabled, only ``close_at`` (a virtual time) closes. ``read`` off leaves received data
    unread (a receiver that does not read fills its window) until :meth:`App.start_reading`.
    """

    payload: bytes = b""
    close_after_send: bool = False
    close_on_eof: bool = False
    close_at: int | None = None
    read: bool = True
    #: Hold the payload back until the peer's FIN was read (a server answering a request).
    send_after_eof: bool = False
    orphan_on_close: bool = False


@dataclass(slots=True)
class App:
    """One side's application: writer, reader, closer, and a log of what it saw."""

    name: str
    plan: Plan
    conn: Connection | None = None
    sent: int = 0
    received: bytearray = field(default_factory=bytearray)
    reading: bool = True
    eof_at: int | None = None
    closed_at: int | None = None
    error: str | None = None
    #: (time, state) each time a pump saw a new state.
    states: list[tuple[int, State]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reading = self.plan.read

    @property
    def state(self) -> State | None:
        """The connection's state (``None`` before connect or accept)."""
        return self.conn.state if self.conn is not None else None

    @property
    def all_sent(self) -> bool:
        return self.sent == len(self.plan.payload)

    @property
    def done(self) -> bool:
        """The connection is over (CLOSED) from this side's point of view."""
        return self.conn is not None and self.conn.state is State.CLOSED

    def start_reading(self, now: int) -> None:
        self.reading = True
        self.pump(now)

    def close(self, now: int) -> None:
        """CLOSE now (once), if the connection still exists."""
        conn = self.conn
        if conn is None or self.closed_at is not None or conn.state is State.CLOSED:
            return
        self.closed_at = now
        conn.close(now)
        if self.plan.orphan_on_close:
            conn.orphan(now)

    def pump(self, now: int) -> None:
        """Do whatever the application can do at ``now``."""
        conn = self.conn
        if conn is None:
            return
        self._note_state(now)
        if conn.state is State.CLOSED:
            if conn.error is not None and self.error is None:
                self.error = conn.error.text
            return
        if self.reading:
            self._read(conn, now)
        self._write(conn, now)
        if self._should_close():
            self.close(now)
        self._note_state(now)

    def _note_state(self, now: int) -> None:
        assert self.conn is not None
        state = self.conn.state
        if not self.states or self.states[-1][1] is not state:
            self.states.append((now, state))

    def _write(self, conn: Connection, now: int) -> None:
        payload = self.plan.payload
        if self.all_sent or self.closed_at is not None or conn.state not in _CAN_SEND:
            return
        if self.plan.send_after_eof and self.eof_at is None:
            return
        space = conn.send_space()
        if space > 0:
            self.sent += conn.send(payload[self.sent:self.sent + space], now)

    def _read(self, conn: Connection, now: int) -> None:
        while True:
            try:
                data = conn.receive(now=now)
            except LocalError as exc:
                if exc.text != "connection closing":
                    raise
                if self.eof_at is None:
                    self.eof_at = now
                return
            except RemoteError as exc:
                self.error = exc.text
                return
            if not data:
                return
            self.received += data

    def _should_close(self) -> bool:
        plan = self.plan
        if self.closed_at is not None or not (plan.close_after_send or plan.close_on_eof):
            return False
        if self.conn is None or self.conn.state not in _OPEN:
            return False  # an app closes a connection it has; CLOSE in SYN-SENT would abort
        if plan.close_after_send and not self.all_sent:
            return False
        if plan.send_after_eof and self.eof_at is None:
            return False  # a reply is "all sent" only once it could start
        return not (plan.close_on_eof and self.eof_at is None)


class AppHost:
    """A :class:`Stack` as the simulator sees it, with its application run after every input
    (packet or timer) and before output is collected."""

    def __init__(self, stack: Stack, pump: Callable[[int], None]) -> None:
        self.stack = stack
        self._pump = pump

    @property
    def address(self) -> str:
        return self.stack.address

    def on_packet(self, data: bytes, now: int) -> None:
        self.stack.on_packet(data, now)
        self._pump(now)

    def on_timer(self, now: int) -> None:
        self.stack.on_timer(now)
        self._pump(now)

    def poll_transmit(self, now: int) -> list[bytes]:
        out = self.stack.poll_transmit(now)
        # A connection reaches the accept queue only once its output was taken (Stack._settle):
        # let the app accept it and act, then collect what that produced.
        self._pump(now)
        return out + self.stack.poll_transmit(now)

    def next_deadline(self) -> int | None:
        return self.stack.next_deadline()


class Pair:
    """Client and server stacks joined by one simulated link, each with an :class:`App`."""

    def __init__(
        self,
        *,
        seed: int = 1,
        client_config: Config | None = None,
        server_config: Config | None = None,
        link: LinkConfig | None = None,
        back_link: LinkConfig | None = None,
        trace: bool = True,
        app_first: bool = True,
        link_trace: TraceSink = NULL_SINK,
        client_secret: bytes = b"client-secret",
        server_secret: bytes = b"server-secret",
    ) -> None:
        self.sink = ListSink()
        stack_sink: TraceSink = self.sink if trace else NULL_SINK
        self.net = Network(seed=seed, sink=link_trace)
        self.client_config = client_config or Config()
        self.server_config = server_config or self.client_config
        self.client = Stack(CLIENT_IP, self.client_config, secret=client_secret,
                            rng=self.net.rng_for("client"), sink=stack_sink)
        self.server = Stack(SERVER_IP, self.server_config, secret=server_secret,
                            rng=self.net.rng_for("server"), sink=stack_sink)
        if app_first:
            self.client_host: Host = self.net.add_host(AppHost(self.client, self._pump_client))
            self.server_host: Host = self.net.add_host(AppHost(self.server, self._pump_server))
        else:
            self.client_host = self.net.add_host(self.client)
            self.server_host = self.net.add_host(self.server)
            self.net.on_step(self._pump)
        self.links = self.net.connect(self.client_host, self.server_host,
                                      link or LinkConfig(delay_us=10_000), back_link)
        self.listener: Listener = self.server.listen(SERVER_PORT)
        self.client_app = App("client", Plan())
        self.server_app = App("server", Plan())
        self._client_port: int | None = None

    # -- setting up -----------------------------------------------------------------------

    def start(self, client: Plan | None = None, server: Plan | None = None, *,
              at: int = 0, client_port: int | None = None) -> None:
        """Give each side its plan and make the client connect at ``at`` (from an ephemeral
        port unless ``client_port`` is given)."""
        self._client_port = client_port
        self.client_app = App("client", client or Plan())
        self.server_app = App("server", server or Plan())
        for app in (self.client_app, self.server_app):
            if app.plan.close_at is not None:
                self.net.at(app.plan.close_at, self._closer(app))
        self.net.at(at, self._connect)

    def _connect(self) -> None:
        now = self.net.now
        self.client_app.conn = self.client.connect(SERVER_IP, SERVER_PORT, now,
                                                   local_port=self._client_port)
        self.client_app.pump(now)

    def _closer(self, app: App) -> Callable[[], None]:
        return lambda: app.close(self.net.now)

    def close_both_at(self, t: int) -> None:
        """Both applications call CLOSE at the same virtual time ``t`` (one event)."""
        def both() -> None:
            now = self.net.now
            self.client_app.close(now)
            self.server_app.close(now)
        self.net.at(t, both)

    def _pump_client(self, now: int) -> None:
        self.client_app.pump(now)

    def _pump_server(self, now: int) -> None:
        if self.server_app.conn is None:
            self.server_app.conn = self.listener.accept()
        self.server_app.pump(now)

    def _pump(self) -> None:
        self._pump_client(self.net.now)
        self._pump_server(self.net.now)

    # -- running --------------------------------------------------------------------------

    def run(self, until: Callable[[], bool] | None = None,
            max_time_us: int = 600_000_000) -> int:
        """Run until ``until()`` holds or nothing is left to do (by default: to the end)."""
        return self.net.run(until, max_time_us=max_time_us)

    def both_closed(self) -> bool:
        return self.client_app.done and self.server_app.done

    def transferred(self) -> bool:
        """Each side has received the other's whole payload."""
        c, s = self.client_app, self.server_app
        return (len(c.received) == len(s.plan.payload)
                and len(s.received) == len(c.plan.payload))

    def quiet(self) -> bool:
        """Everything transferred and acknowledged both ways (nothing in flight)."""
        return (self.transferred() and self.client_conn.status().send_queue == 0
                and self.server_conn.status().send_queue == 0)

    @property
    def client_conn(self) -> Connection:
        assert self.client_app.conn is not None
        return self.client_app.conn

    @property
    def server_conn(self) -> Connection:
        assert self.server_app.conn is not None
        return self.server_app.conn

    # -- reading the trace ----------------------------------------------------------------

    def state_changes(self, host: str) -> list[StateChange]:
        """State changes of ``host``'s connection (the listener's own are left out)."""
        return [r for r in self.sink.records
                if isinstance(r, StateChange) and r.host == host and r.conn.remote_port != 0]

    def state_path(self, host: str) -> list[State]:
        """The states ``host``'s connection went through, from its first one."""
        changes = self.state_changes(host)
        if not changes:
            return []
        return [changes[0].old] + [c.new for c in changes]

    def entered(self, host: str, state: State) -> list[int]:
        """Times at which ``host``'s connection entered ``state``."""
        return [c.t for c in self.state_changes(host) if c.new is state]

    def sent(self, host: str,
             match: Callable[[SegmentSent], bool] | None = None) -> list[SegmentSent]:
        """Segments ``host`` sent (optionally only those ``match`` accepts), in order."""
        return [r for r in self.sink.records
                if isinstance(r, SegmentSent) and r.host == host
                and (match is None or match(r))]

    def segments(self, host: str) -> Iterator[TcpSegment]:
        for rec in self.sent(host):
            yield rec.packet.segment

    def received(self, host: str) -> list[SegmentReceived]:
        """Segments ``host``'s stack accepted for processing, in order."""
        return [r for r in self.sink.records
                if isinstance(r, SegmentReceived) and r.host == host]

    def time_wait_lengths(self, host: str) -> list[int]:
        """For each stay of ``host``'s connection in TIME-WAIT: CLOSED time minus entry."""
        out: list[int] = []
        entered: int | None = None
        for change in self.state_changes(host):
            if change.new is State.TIME_WAIT:
                entered = change.t
            elif change.old is State.TIME_WAIT and entered is not None:
                out.append(change.t - entered)
        return out


def run_transfer(pair: Pair, client: Plan, server: Plan,
                 max_time_us: int = 600_000_000) -> None:
    """Start ``pair`` with the plans and run it until both connections are CLOSED."""
    pair.start(client, server)
    pair.run(pair.both_closed, max_time_us=max_time_us)
