"""A harness for per-state tests: one Connection, a scripted peer, exact segments.

After smoltcp's ``send!``/``recv!`` tests. There is no stack and no simulator: the test plays
the peer by hand. ``kit.recv(...)`` builds a segment from the peer and feeds it to the
connection (SEGMENT ARRIVES); ``kit.expect(...)`` asserts the exact next segment the connection
sends; ``kit.expect_nothing()`` asserts it sends nothing.

Sequence numbers are relative: in ``recv`` the ``seq`` counts from the peer's ISS and the
``ack`` from the connection's ISS; in ``expect`` it is the other way round (``seq`` from the
connection's ISS, ``ack`` from the peer's). So the connection's SYN is ``seq=0`` and its first
data byte ``seq=1``, whichever random ISS it picked. The peer's ISS sits just below the 2**32
wrap so that every test also exercises modular sequence arithmetic.

Options are off by default (no timestamps, SACK or window scaling), so a segment is stated in
full by its flags, numbers and payload; a SYN then carries only the MSS option.

Every state is reached by a real exchange (``to_established()``, ``to_fin_wait_1()``, ...),
never by setting fields. ``@proves(old, new)`` marks a test as the proof of one arrow of
``synfin.states.TRANSITIONS``: the test fails unless a connection in it really took that arrow,
and ``synfin.docs_gen`` reads the markers to list each arrow's tests in docs/state-machine.md.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec

from synfin.config import Config
from synfin.connection import Connection, Outgoing
from synfin.errors import RemoteError
from synfin.isn import IsnGenerator
from synfin.seq import seq_add, seq_diff
from synfin.states import TRANSITIONS, State
from synfin.trace.records import ListSink, SegmentDropped, StateChange
from synfin.wire.flags import Flags
from synfin.wire.segment import MssOption, TcpOption, TcpSegment

S = State

LOCAL_IP = "10.0.0.1"
LOCAL_PORT = 40000
REMOTE_IP = "10.0.0.2"
REMOTE_PORT = 80
#: The peer's initial sequence number: 256 below the wrap.
PEER_ISS = 0xFFFF_FF00
#: The window the scripted peer advertises unless a test says otherwise.
PEER_WINDOW = 65535
#: The window field the connection advertises with the kit's default 256 KiB receive buffer
#: and no window scaling: the 16-bit maximum.
WINDOW = 65535
MSS = 1460
#: What the scripted peer's SYN and SYN,ACK carry in the ``to_*`` exchanges: an MSS of 1460,
#: so both ends send full 1460-byte segments.
PEER_SYN_OPTIONS: tuple[TcpOption, ...] = (MssOption(MSS),)
#: The kit's default settings: options off, immediate ACKs (Config's own default).
KIT_CONFIG = Config(timestamps=False, sack=False, window_scaling=False)

_LETTERS = {
    "F": Flags.FIN,
    "S": Flags.SYN,
    "R": Flags.RST,
    "P": Flags.PSH,
    "A": Flags.ACK,
    "U": Flags.URG,
}


def flags_of(letters: str) -> Flags:
    """``"SA"`` -> SYN|ACK; letters F S R P A U, in any order; ``""`` is no flag."""
    flags = Flags(0)
    for letter in letters:
        flags |= _LETTERS[letter]
    return flags


def letters_of(flags: Flags) -> str:
    """The inverse of :func:`flags_of`, in header order (``"FSRPAU"``)."""
    return "".join(letter for letter, bit in _LETTERS.items() if flags & bit)


#: Every kit made since the start of the run, so that ``@proves`` can look at them.
_KITS: list[Kit] = []


class Kit:
    """One Connection under test and a scripted peer talking to it."""

    def __init__(self, config: Config | None = None, *, peer_iss: int = PEER_ISS,
                 start: int = 1_000_000) -> None:
        self.config = config if config is not None else KIT_CONFIG
        self.sink = ListSink()
        self.conn = Connection(self.config, LOCAL_IP, LOCAL_PORT,
                               isn=IsnGenerator(b"statekit"),
                               sink=self.sink)
        self.now = start
        self.peer_iss = peer_iss
        self.peer_window = PEER_WINDOW
        #: The window field ``expect`` assumes when a test does not name one.
        self.window = WINDOW
        self._pending: deque[Outgoing] = deque()
        _KITS.append(self)

    # -- what the connection is ---------------------------------------------------------

    @property
    def state(self) -> State:
        return self.conn.state

    def assert_state(self, expected: State) -> None:
        """Assert the connection's state (a method, so that type checkers do not narrow)."""
        assert self.conn.state is expected, f"state is {self.conn.state}, expected {expected}"

    @property
    def iss(self) -> int:
        """The connection's ISS (0 before it chose one)."""
        return self.conn.tcb.iss

    def arrows(self) -> list[tuple[State, State]]:
        """Every state change so far, in order, from the trace."""
        return [(r.old, r.new) for r in self.sink.records if isinstance(r, StateChange)]

    def drops(self) -> list[str]:
        """The reasons of every segment the connection discarded, in order."""
        return [r.reason for r in self.sink.records if isinstance(r, SegmentDropped)]

    def last_drop(self) -> str:
        reasons = self.drops()
        assert reasons, "no segment was dropped"
        return reasons[-1]

    # -- the peer's segments ----------------------------------------------------------

    def segment(self, flags: str, seq: int = 0, ack: int = 0, *, payload: bytes = b"",
                window: int | None = None, options: tuple[TcpOption, ...] = (),
                src_port: int = REMOTE_PORT, urgent: int = 0) -> TcpSegment:
        """A segment from the peer: ``seq`` relative to the peer's ISS, ``ack`` relative to
        the connection's ISS (the ack field is 0 when the ACK flag is off)."""
        bits = flags_of(flags)
        return TcpSegment(
            src_port, LOCAL_PORT, seq_add(self.peer_iss, seq),
            seq_add(self.iss, ack) if bits & Flags.ACK else 0, bits,
            self.peer_window if window is None else window, urgent, options, payload,
        )

    def recv(self, flags: str, seq: int = 0, ack: int = 0, *, payload: bytes = b"",
             window: int | None = None, options: tuple[TcpOption, ...] = (),
             src_port: int = REMOTE_PORT) -> None:
        """The connection receives a segment from the peer (SEGMENT ARRIVES)."""
        self.deliver(self.segment(flags, seq, ack, payload=payload, window=window,
                                  options=options, src_port=src_port))

    def deliver(self, seg: TcpSegment) -> None:
        """Feed an already built segment to the connection."""
        self.conn.on_segment(seg, REMOTE_IP, self.now)

    # -- the connection's segments -------------------------------------------------------

    def _next(self) -> Outgoing | None:
        if not self._pending:
            self._pending.extend(self.conn.poll_outgoing(self.now))
        return self._pending.popleft() if self._pending else None

    def expected(self, flags: str, seq: int = 0, ack: int = 0, *, payload: bytes = b"",
                 window: int | None = None, options: tuple[TcpOption, ...] | None = None,
                 dst_port: int = REMOTE_PORT) -> TcpSegment:
        """The segment ``expect`` compares with: ``seq`` relative to the connection's ISS,
        ``ack`` to the peer's; a RST's window defaults to 0, a SYN's options to MSS only."""
        bits = flags_of(flags)
        if window is None:
            window = 0 if bits & Flags.RST else self.window
        if options is None:
            options = (MssOption(self.config.mss),) if bits & Flags.SYN else ()
        return TcpSegment(
            LOCAL_PORT, dst_port, seq_add(self.iss, seq),
            seq_add(self.peer_iss, ack) if bits & Flags.ACK else 0, bits, window, 0,
            options, payload,
        )

    def expect(self, flags: str, seq: int = 0, ack: int = 0, *, payload: bytes = b"",
               window: int | None = None, options: tuple[TcpOption, ...] | None = None,
               dst_port: int = REMOTE_PORT) -> Outgoing:
        """Assert the next segment the connection sends, exactly; return it with its reason."""
        want = self.expected(flags, seq, ack, payload=payload, window=window,
                             options=options, dst_port=dst_port)
        got = self._next()
        assert got is not None, f"expected {self.describe(want)}, but nothing was sent"
        assert got.segment == want, (
            f"expected {self.describe(want)}\n     got {self.describe(got.segment)}"
            f" ({got.reason})"
        )
        return got

    def expect_rst(self, seq_abs: int, ack_abs: int | None = None,
                   dst_port: int = REMOTE_PORT) -> Outgoing:
        """Assert a reset given in absolute numbers (the RFC 9293 3.10.7.1 forms
        ``<SEQ=SEG.ACK><CTL=RST>`` and ``<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>``)."""
        flags = Flags.RST if ack_abs is None else Flags.RST | Flags.ACK
        want = TcpSegment(LOCAL_PORT, dst_port, seq_abs, ack_abs or 0, flags, 0)
        got = self._next()
        assert got is not None, f"expected {want}, but nothing was sent"
        assert got.segment == want, f"expected {want}\n     got {got.segment}"
        return got

    def expect_nothing(self) -> None:
        """Assert the connection has nothing to send now."""
        got = self._next()
        assert got is None, f"expected nothing, got {self.describe(got.segment)} ({got.reason})"

    def sent_all(self) -> list[Outgoing]:
        """Everything the connection sends now (for tests that count rather than match)."""
        out = list(self._pending)
        self._pending.clear()
        out.extend(self.conn.poll_outgoing(self.now))
        return out

    def describe(self, seg: TcpSegment) -> str:
        """A segment from the connection in the kit's relative numbers."""
        seq = seq_diff(seg.seq, self.iss)
        ack = seq_diff(seg.ack, self.peer_iss) if seg.flags & Flags.ACK else seg.ack
        return (f"<{letters_of(seg.flags) or '-'} seq={seq} ack={ack} win={seg.window}"
                f" len={len(seg.payload)} opts={seg.options} payload={seg.payload[:20]!r}>")

    # -- time ------------------------------------------------------------------------------

    def wait(self, us: int) -> None:
        """Let ``us`` microseconds pass and run the timers that fall due."""
        self.now += us
        self.conn.on_timer(self.now)

    def fire(self, timer: str) -> None:
        """Advance the clock to the deadline of ``timer`` (which must be armed) and run it."""
        timers = self.conn.timers
        assert timer in timers, f"timer {timer!r} is not armed (armed: {timers})"
        assert self.conn.next_deadline() == timers[timer], f"{timer!r} is not the next timer"
        self.now = timers[timer]
        self.conn.on_timer(self.now)

    # -- user calls ------------------------------------------------------------------------

    def open_active(self) -> None:
        self.conn.open_active(REMOTE_IP, REMOTE_PORT, now=self.now)

    def open_passive(self) -> None:
        self.conn.open_passive(now=self.now)

    def send(self, data: bytes) -> int:
        return self.conn.send(data, now=self.now)

    def receive(self, max_bytes: int = -1) -> bytes:
        return self.conn.receive(max_bytes, now=self.now)

    def close(self) -> None:
        self.conn.close(now=self.now)

    def abort(self) -> None:
        self.conn.abort(now=self.now)

    def error_text(self) -> str | None:
        err = self.conn.error
        return err.text if isinstance(err, RemoteError) else None

    # -- reaching states by real exchanges -------------------------------------------------

    def to_listen(self) -> Kit:
        """CLOSED -> LISTEN by a passive OPEN."""
        self.open_passive()
        self.expect_nothing()
        self.assert_state(S.LISTEN)
        return self

    def to_syn_sent(self) -> Kit:
        """CLOSED -> SYN-SENT by an active OPEN; the SYN goes out."""
        self.open_active()
        self.expect("S", seq=0)
        self.assert_state(S.SYN_SENT)
        return self

    def to_syn_received(self) -> Kit:
        """LISTEN -> SYN-RECEIVED: the peer's SYN arrives, our SYN,ACK goes out."""
        self.to_listen()
        self.recv("S", seq=0, options=PEER_SYN_OPTIONS)
        self.expect("SA", seq=0, ack=1)
        self.assert_state(S.SYN_RECEIVED)
        return self

    def to_syn_received_active(self) -> Kit:
        """SYN-SENT -> SYN-RECEIVED by a simultaneous open: our SYN crosses theirs."""
        self.to_syn_sent()
        self.recv("S", seq=0, options=PEER_SYN_OPTIONS)
        self.expect("SA", seq=0, ack=1)
        self.assert_state(S.SYN_RECEIVED)
        return self

    def to_established(self) -> Kit:
        """The active three-way handshake: SYN, SYN,ACK, ACK."""
        self.to_syn_sent()
        self.recv("SA", seq=0, ack=1, options=PEER_SYN_OPTIONS)
        self.expect("A", seq=1, ack=1)
        self.assert_state(S.ESTABLISHED)
        return self

    def to_established_passive(self) -> Kit:
        """The passive three-way handshake: SYN in, SYN,ACK out, ACK in."""
        self.to_syn_received()
        self.recv("A", seq=1, ack=1)
        self.expect_nothing()
        self.assert_state(S.ESTABLISHED)
        return self

    def to_fin_wait_1(self) -> Kit:
        """ESTABLISHED -> FIN-WAIT-1 by CLOSE; our FIN (seq 1) goes out."""
        self.to_established()
        self.close()
        self.expect("FA", seq=1, ack=1)
        self.assert_state(S.FIN_WAIT_1)
        return self

    def to_fin_wait_2(self) -> Kit:
        """FIN-WAIT-1 -> FIN-WAIT-2: the peer acknowledges our FIN."""
        self.to_fin_wait_1()
        self.recv("A", seq=1, ack=2)
        self.expect_nothing()
        self.assert_state(S.FIN_WAIT_2)
        return self

    def to_close_wait(self) -> Kit:
        """ESTABLISHED -> CLOSE-WAIT: the peer's FIN arrives and is acknowledged."""
        self.to_established()
        self.recv("FA", seq=1, ack=1)
        self.expect("A", seq=1, ack=2)
        self.assert_state(S.CLOSE_WAIT)
        return self

    def to_closing(self) -> Kit:
        """FIN-WAIT-1 -> CLOSING: the FINs cross (theirs does not acknowledge ours)."""
        self.to_fin_wait_1()
        self.recv("FA", seq=1, ack=1)
        self.expect("A", seq=2, ack=2)
        self.assert_state(S.CLOSING)
        return self

    def to_last_ack(self) -> Kit:
        """CLOSE-WAIT -> LAST-ACK by CLOSE; our FIN (seq 1) goes out."""
        self.to_close_wait()
        self.close()
        self.expect("FA", seq=1, ack=2)
        self.assert_state(S.LAST_ACK)
        return self

    def to_time_wait(self) -> Kit:
        """FIN-WAIT-2 -> TIME-WAIT: the peer's FIN arrives and is acknowledged."""
        self.to_fin_wait_2()
        self.recv("FA", seq=1, ack=2)
        self.expect("A", seq=2, ack=2)
        self.assert_state(S.TIME_WAIT)
        return self


@dataclass(frozen=True, slots=True)
class Event:
    """One SEGMENT ARRIVES event of RFC 9293 3.10.7 and what must follow it: the single
    segment the connection answers with (``reply`` as ``(flags, seq, ack)`` in the kit's
    relative numbers, ``None`` for silence) and the state it is in afterwards."""

    name: str
    flags: str
    seq: int
    ack: int
    reply: tuple[str, int, int] | None
    state: State
    payload: bytes = b""

    def apply(self, kit: Kit) -> None:
        """Deliver the segment to ``kit`` and check the answer and the state."""
        kit.recv(self.flags, self.seq, self.ack, payload=self.payload)
        if self.reply is not None:
            flags, seq, ack = self.reply
            kit.expect(flags, seq=seq, ack=ack)
        kit.expect_nothing()
        kit.assert_state(self.state)


P = ParamSpec("P")


def proves(old: State, new: State) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Mark a test as proving the arrow ``old -> new`` of ``TRANSITIONS``.

    The test fails unless one of the connections it drove really took that arrow. The
    documentation generator finds these markers in the source (see ``synfin.docs_gen``).
    """
    if (old, new) not in TRANSITIONS:
        raise ValueError(f"{old} -> {new} is not in TRANSITIONS")

    def decorate(test: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(test)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            first = len(_KITS)
            test(*args, **kwargs)
            taken = {arrow for kit in _KITS[first:] for arrow in kit.arrows()}
            assert (old, new) in taken, (
                f"{test.__name__} is marked as proving {old} -> {new}, but no connection "
                f"took that arrow (taken: {sorted(f'{a} -> {b}' for a, b in taken)})"
            )

        arrows: list[tuple[State, State]] = [*getattr(test, "proves", []), (old, new)]
        run.proves = arrows  # type: ignore[attr-defined]
        return run

    return decorate
