"""Run a parsed script against a fresh synfin Stack in virtual time.

The stack under test is at 192.168.0.1, the scripted peer at 192.0.2.1 (packetdrill's
defaults). Inbound lines are injected at their time; outbound lines are checked against what
the stack sent, within the tolerance; system calls go through :mod:`synfin.pkt.sockets`.
Time only moves forward, from one timer deadline to the next, so a segment the stack never
sends makes the script fail once the tolerance has passed, instead of hanging.

Sequence numbers are mapped as packetdrill maps them (like tcpdump's relative numbers): in
segments with SYN they are absolute, in the others relative to each side's ISN; the script's
ISN is what it writes in its SYN, and the stack's ISN becomes what the script writes in the
stack's SYN (usually 0).
"""

from __future__ import annotations

import ast
import operator
import random
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from synfin.config import Config
from synfin.connection import Connection
from synfin.pkt import symbols as sym
from synfin.pkt.lexer import ScriptError
from synfin.pkt.nodes import (
    CodeSpec,
    CommandSpec,
    EllipsisExpr,
    Event,
    Expr,
    ListExpr,
    OptionSpec,
    PacketSpec,
    Script,
    StructExpr,
    SyscallSpec,
    TimeKind,
)
from synfin.pkt.sockets import (
    CallError,
    Outcome,
    Pending,
    SocketLayer,
    describe,
    evaluate,
)
from synfin.stack import Stack
from synfin.states import State
from synfin.trace.records import ConnId
from synfin.wire import (
    EolOption,
    MssOption,
    NopOption,
    Packet,
    SackOption,
    SackPermittedOption,
    TcpOption,
    TcpSegment,
    TimestampsOption,
    UnknownOption,
    WindowScaleOption,
    emit_packet,
    parse_packet,
)
from synfin.wire.flags import Flags

LOCAL_IP = "192.168.0.1"
REMOTE_IP = "192.0.2.1"
BIND_PORT = 8080
CONNECT_PORT = 8080
#: The scripted peer's port when the stack is the server (packetdrill picks an ephemeral one).
REMOTE_PORT = 48879
DEFAULT_TOLERANCE_US = 4000
#: How far ``*`` waits for an outbound segment.
ANY_TIME_LIMIT_US = 600_000_000
_M = 1 << 32
_SECRET = b"synfin packetdrill interpreter"


@dataclass(frozen=True, slots=True)
class Note:
    """A line that was not run as written: skipped, ignored or mapped."""

    line: int
    text: str


@dataclass(slots=True)
class Result:
    path: str
    passed: bool
    line: int | None = None
    message: str = ""
    notes: list[Note] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


class Mismatch(Exception):
    """The stack did not do what the script expects."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


@dataclass(slots=True)
class _Blocked:
    event: Event
    spec: SyscallSpec
    call: Pending
    start: int
    end: int  #: expected return time


def secs(us: int) -> str:
    return f"{us / 1_000_000:.6f}"


#: Linux sysctls with a clear synfin setting: name -> (Config field, scale).
SYSCTLS: dict[str, tuple[str, int]] = {
    "tcp_fin_timeout": ("fin_timeout_us", 1_000_000),
    "tcp_syn_retries": ("syn_retries", 1),
    "tcp_synack_retries": ("synack_retries", 1),
    "tcp_retries2": ("data_retries", 1),
    "tcp_timestamps": ("timestamps", 0),
    "tcp_sack": ("sack", 0),
    "tcp_window_scaling": ("window_scaling", 0),
    "tcp_max_syn_backlog": ("syn_backlog", 1),
}
_SYSCTL_RES = (
    re.compile(r"^sysctl\s+(?:-q\s+|-w\s+)*net\.ipv4\.(\w+)\s*=\s*(\d+)$"),
    re.compile(r"^echo\s+(\d+)\s*>\s*/proc/sys/net/ipv4/(\w+)$"),
)


def map_command(text: str) -> dict[str, object] | None:
    """Config changes for a backtick command made only of known sysctl settings."""
    changes: dict[str, object] = {}
    for part in (p.strip() for p in re.split(r";|&&", text)):
        if not part:
            continue
        m = _SYSCTL_RES[0].match(part)
        if m is not None:
            name, value = m.group(1), int(m.group(2))
        else:
            m = _SYSCTL_RES[1].match(part)
            if m is None:
                return None
            name, value = m.group(2), int(m.group(1))
        if name not in SYSCTLS:
            return None
        field_name, scale = SYSCTLS[name]
        changes[field_name] = bool(value) if scale == 0 else value * scale
    return changes or None


def flags_text(flags: Flags) -> str:
    text = "".join(ch for ch, f in (("F", Flags.FIN), ("S", Flags.SYN), ("R", Flags.RST),
                                    ("P", Flags.PSH), ("E", Flags.ECE), ("W", Flags.CWR),
                                    ("U", Flags.URG)) if flags & f)
    if flags & Flags.ACK:
        text += "."
    return text or "-"


class Interpreter:
    """One run of one script."""

    def __init__(self, script: Script, tolerance_us: int | None = None,
                 verbose: bool = False) -> None:
        self.script = script
        self.verbose = verbose
        self.notes: list[Note] = []
        self.log: list[str] = []
        self.tolerance = DEFAULT_TOLERANCE_US if tolerance_us is None else tolerance_us
        self.ts_tick_us = 0
        self.local_ip, self.remote_ip = LOCAL_IP, REMOTE_IP
        self.bind_port, self.connect_port = BIND_PORT, CONNECT_PORT
        config = self._apply_options(Config())
        self.stack = Stack(self.local_ip, config, secret=_SECRET, rng=random.Random(0))
        self.socks = SocketLayer(self.stack, self.remote_ip, self.bind_port,
                                 self.connect_port)
        self.socks.on_connection = self._on_connection
        self.socks.on_local_port = self._on_local_port
        self.now = 0
        self.last_time = 0
        self.last_line = 0
        self.sent: deque[tuple[int, Packet]] = deque()
        self.local_port = self.bind_port
        self.remote_port = REMOTE_PORT
        self.conn: Connection | None = None
        self.remote_isn = 0
        self.live_local_isn = 0
        self.script_local_isn = 0
        self.syn_mapped_isn: int | None = None
        self.ts_map: dict[int, int] = {}
        self.first_ts: tuple[int, int] | None = None
        self.blocked: _Blocked | None = None

    # -- set-up ---------------------------------------------------------------------------

    def _apply_options(self, config: Config) -> Config:
        for opt in self.script.options:
            name, value = opt.name, opt.value
            try:
                if name == "tolerance_usecs" and value is not None:
                    self.tolerance = int(value)
                elif name == "ip_version":
                    if value != "ipv4":
                        raise ScriptError(self.script.path, opt.line,
                                          f"--ip_version={value} is not supported (IPv4 only)")
                elif name == "mss" and value is not None:
                    config = config.with_(mss=int(value))
                    self._note(opt.line, f"--mss={value} mapped to Config.mss")
                elif name == "tcp_ts_tick_usecs" and value is not None:
                    self.ts_tick_us = int(value)
                elif name in ("local_ip", "remote_ip") and value is not None:
                    setattr(self, name, value)
                elif name in ("bind_port", "connect_port") and value is not None:
                    setattr(self, name, int(value))
                else:
                    self._note(opt.line, f"option --{name} ignored")
            except ValueError:
                raise ScriptError(self.script.path, opt.line,
                                  f"bad value for --{name}: {value}") from None
        return config

    def _note(self, line: int, text: str) -> None:
        self.notes.append(Note(line, text))

    def _on_connection(self, conn: Connection) -> None:
        self.conn = conn
        self.local_port = conn.local_port
        self.remote_port = conn.remote_port

    def _on_local_port(self, port: int) -> None:
        self.local_port = port

    # -- running --------------------------------------------------------------------------

    def run(self) -> Result:
        result = Result(self.script.path, True, notes=self.notes, log=self.log)
        try:
            for line, text in self.script.commands:
                self._command(line, text)
            for ev in self.script.events:
                self._event(ev)
                self.last_line = ev.line
            self._finish()
        except Mismatch as exc:
            result.passed, result.line, result.message = False, exc.line, exc.message
        return result

    def _event(self, ev: Event) -> None:
        action = ev.action
        start, end = self._times(ev)
        if isinstance(action, PacketSpec) and not action.inbound:
            self._expect(ev, action, start, end)
            return
        if isinstance(action, SyscallSpec):
            self._syscall(ev, action, start)
            return
        self._advance_to(start, ev.line)
        self.last_time = start
        if isinstance(action, PacketSpec):
            self._inject(ev, action)
        elif isinstance(action, CommandSpec):
            self._command(ev.line, action.text)
        elif isinstance(action, CodeSpec):
            self._code(ev.line, action.text)

    def _times(self, ev: Event) -> tuple[int, int | None]:
        t, kind = ev.time, ev.time.kind
        if kind is TimeKind.ABSOLUTE:
            return t.start, None
        if kind is TimeKind.RELATIVE:
            return self.last_time + t.start, None
        if kind is TimeKind.ABSOLUTE_RANGE:
            return t.start, t.end
        if kind is TimeKind.RELATIVE_RANGE:
            assert t.end is not None
            return self.last_time + t.start, self.last_time + t.end
        return self.now, None

    def _finish(self) -> None:
        if self.blocked is not None:
            self._wait_blocked()
        if self.sent:
            t, pkt = self.sent[0]
            raise Mismatch(self.last_line, "unexpected outbound packet after the script's last "
                                           f"line: {self._show(pkt)} at {secs(t)}")

    # -- virtual time ---------------------------------------------------------------------

    def _checkpoint(self) -> int | None:
        points = [d for d in (self.stack.next_deadline(),) if d is not None]
        if self.blocked is not None:
            points.append(self.blocked.end + self.tolerance)
            if self.blocked.call.timeout is not None:
                points.append(self.blocked.call.timeout)
        return min(points) if points else None

    def _advance_to(self, target: int, line: int) -> None:
        """Run every timer due up to ``target``, then set the clock to ``target``."""
        for _ in range(1_000_000):
            point = self._checkpoint()
            if point is None or point > target:
                break
            self._step(max(point, self.now))
        else:
            raise Mismatch(line, "the stack's timers do not settle (timer loop)")
        self.now = max(self.now, target)
        self._collect()
        self._retry_blocked()

    def _step(self, when: int) -> None:
        self.now = when
        self.stack.on_timer(when)
        self._collect()
        self._retry_blocked()
        blocked = self.blocked
        if blocked is not None and self.now >= blocked.end + self.tolerance:
            if blocked.spec.end is None:
                raise Mismatch(blocked.event.line,
                               f"{blocked.spec.name}() blocked (a call without ...END must "
                               f"return at once; still blocked at {secs(self.now)})")
            raise Mismatch(blocked.event.line,
                           f"{blocked.spec.name}() was expected to return at "
                           f"{secs(blocked.end)} but was still blocked at {secs(self.now)}")

    def _collect(self) -> None:
        for raw in self.stack.poll_transmit(self.now):
            pkt = parse_packet(raw)
            if pkt.segment.flags & Flags.SYN:
                self.live_local_isn = pkt.segment.seq
            self.sent.append((self.now, pkt))

    # -- inbound --------------------------------------------------------------------------

    def _flow_conn(self) -> Connection | None:
        cid = ConnId(self.local_ip, self.local_port, self.remote_ip, self.remote_port)
        return self.stack.connections.get(cid)

    def _inject(self, ev: Event, spec: PacketSpec) -> None:
        cid = ConnId(self.local_ip, self.local_port, self.remote_ip, self.remote_port)
        before = self.stack.state_of(cid)
        syn = bool(spec.flags & Flags.SYN)
        if syn and (before is None or before in (State.LISTEN, State.SYN_SENT)):
            self.remote_isn = spec.start
        seq = spec.start if syn else (spec.start + self.remote_isn) % _M
        ack_off = (self.live_local_isn - self.script_local_isn) if syn else self.live_local_isn
        ack = spec.ack or 0
        if spec.flags & Flags.ACK:
            ack = (ack + ack_off) % _M
        written = list(spec.options or ())
        while written and written[-1].kind == "eol":
            written.pop()  # trailing EOLs are the zero padding the codec adds anyway
        options = tuple(self._inbound_option(o, ack_off) for o in written)
        seg = TcpSegment(spec.src_port or self.remote_port, spec.dst_port or self.local_port,
                         seq, ack, spec.flags, spec.window or 0, spec.urgent or 0, options,
                         bytes(spec.length))
        try:
            raw = emit_packet(Packet(self.remote_ip, self.local_ip, seg))
        except ValueError as exc:
            raise ScriptError(self.script.path, ev.line, f"cannot build packet: {exc}") from None
        if self.verbose:
            self.log.append(f"{secs(self.now)} {spec}")
        self.stack.on_packet(raw, self.now)
        flow = self._flow_conn()
        if flow is not None:
            self.conn = flow
        self._collect()
        self._retry_blocked()

    def _inbound_option(self, opt: OptionSpec, ack_off: int) -> TcpOption:
        v = opt.values
        if opt.kind == "mss":
            return MssOption(v[0])
        if opt.kind == "wscale":
            return WindowScaleOption(v[0])
        if opt.kind == "sackOK":
            return SackPermittedOption()
        if opt.kind == "sack":
            blocks = tuple(((a + ack_off) % _M, (b + ack_off) % _M)
                           for a, b in zip(v[0::2], v[1::2], strict=True))
            return SackOption(blocks)
        if opt.kind == "TS":
            ecr = v[1]
            if ecr in self.ts_map:
                ecr = self.ts_map[ecr]
            elif self.first_ts is not None:
                ecr = (ecr - self.first_ts[0] + self.first_ts[1]) % _M
            return TimestampsOption(v[0], ecr)
        if opt.kind == "eol":
            return EolOption()
        return NopOption()

    # -- outbound -------------------------------------------------------------------------

    def _expect(self, ev: Event, spec: PacketSpec, start: int, end: int | None) -> None:
        any_time = ev.time.kind is TimeKind.ANY
        low = start - self.tolerance
        high = (self.now + ANY_TIME_LIMIT_US if any_time
                else (end if end is not None else start) + self.tolerance)
        while not self.sent:
            point = self._checkpoint()
            if point is None or point > high:
                break
            self._step(max(point, self.now))
        if not self.sent:
            when = "" if any_time else f" at {secs(start)}"
            raise Mismatch(ev.line, f"expected outbound packet{when} but the stack sent "
                                    f"nothing by {secs(high)}: script: {spec}")
        t, pkt = self.sent.popleft()
        if self.verbose:
            self.log.append(f"{secs(t)} {self._show(pkt)}")
        problem = self._compare(spec, pkt)
        if problem is None and not any_time and not low <= t <= high:
            where = (f"in time range {secs(start)}~{secs(end)}" if end is not None
                     else f"at {secs(start)}")
            problem = (f"timing error: expected outbound packet {where} but happened at "
                       f"{secs(t)}; tolerance {secs(self.tolerance)}")
        if problem is not None:
            raise Mismatch(ev.line, f"{problem}\n    script: {spec}\n"
                                    f"    actual: {self._show(pkt)} at {secs(t)}")
        self.now = max(self.now, t)
        self.last_time = t

    def _to_script(self, seg: TcpSegment) -> tuple[int, int]:
        syn = bool(seg.flags & Flags.SYN)
        seq_off = (self.live_local_isn - self.script_local_isn) if syn else self.live_local_isn
        seq = (seg.seq - seq_off) % _M
        ack = seg.ack
        if seg.flags & Flags.ACK and not syn:
            ack = (ack - self.remote_isn) % _M
        return seq, ack

    def _compare(self, spec: PacketSpec, pkt: Packet) -> str | None:
        seg = pkt.segment
        if seg.flags & Flags.SYN and seg.seq != self.syn_mapped_isn:
            self.script_local_isn, self.syn_mapped_isn = spec.start, seg.seq
            self.live_local_isn = seg.seq
        seq, ack = self._to_script(seg)
        checks: list[tuple[str, object, object]] = [
            ("flags", spec.flags_text, flags_text(seg.flags)),
            ("seq", spec.start, seq),
            ("payload length", spec.length, len(seg.payload)),
        ]
        if spec.flags & Flags.ACK or spec.ack is not None:
            checks.append(("ack", spec.ack or 0, ack))
        if spec.window is not None:
            checks.append(("win", spec.window, seg.window))
        checks.append(("urg", spec.urgent or 0, seg.urgent))
        for name, expected, actual in checks:
            differs = spec.flags != seg.flags if name == "flags" else expected != actual
            if differs:
                return f"{name}: expected {expected} vs actual {actual}"
        problem = self._compare_options(spec, seg)
        if problem is not None:
            return problem
        if seg.payload != bytes(len(seg.payload)):
            return "payload: expected the bytes the script wrote (zeros)"
        return None

    def _compare_options(self, spec: PacketSpec, seg: TcpSegment) -> str | None:
        actual = list(seg.options)
        script = list(spec.options) if spec.options is not None else None
        ts_script = next((o for o in script or () if o.kind == "TS"), None)
        ts_actual = seg.timestamps
        if ts_script is not None and ts_actual is not None:
            if self.first_ts is None:
                self.first_ts = (ts_script.values[0], ts_actual.tsval)
            self.ts_map[ts_script.values[0]] = ts_actual.tsval
        if script is None:
            return None
        while script and script[-1].kind == "eol":
            script.pop()
        while actual and isinstance(actual[-1], EolOption):
            actual.pop()
        shown = self._show_options(seg.options)
        expected = "<" + ",".join(str(o) for o in script) + ">" if script else "none"
        if len(script) != len(actual):
            return f"TCP options: expected {expected} vs actual {shown}"
        for want, got in zip(script, actual, strict=True):
            if not self._option_matches(want, got):
                return f"TCP options: expected {expected} vs actual {shown}"
        return None

    def _option_matches(self, want: OptionSpec, got: TcpOption) -> bool:
        v = want.values
        if want.kind == "nop":
            return isinstance(got, NopOption)
        if want.kind == "eol":
            return isinstance(got, EolOption)
        if want.kind == "mss":
            return isinstance(got, MssOption) and got.mss == v[0]
        if want.kind == "wscale":
            return isinstance(got, WindowScaleOption) and got.shift == v[0]
        if want.kind == "sackOK":
            return isinstance(got, SackPermittedOption)
        if want.kind == "sack":
            if not isinstance(got, SackOption):
                return False
            blocks = tuple(((a - self.remote_isn) % _M, (b - self.remote_isn) % _M)
                           for a, b in got.blocks)
            return blocks == tuple(zip(v[0::2], v[1::2], strict=True))
        if want.kind == "TS":
            if not isinstance(got, TimestampsOption):
                return False
            if self.ts_tick_us and self.first_ts is not None:
                val = (self.first_ts[0] + got.tsval - self.first_ts[1]) % _M
                drift = abs(((val - v[0] + (1 << 31)) % _M) - (1 << 31))
                return drift * self.ts_tick_us <= self.tolerance
            return True
        return False

    def _show_options(self, options: tuple[TcpOption, ...]) -> str:
        parts: list[str] = []
        for opt in options:
            if isinstance(opt, MssOption):
                parts.append(f"mss {opt.mss}")
            elif isinstance(opt, WindowScaleOption):
                parts.append(f"wscale {opt.shift}")
            elif isinstance(opt, SackPermittedOption):
                parts.append("sackOK")
            elif isinstance(opt, SackOption):
                parts.append("sack " + " ".join(
                    f"{(a - self.remote_isn) % _M}:{(b - self.remote_isn) % _M}"
                    for a, b in opt.blocks))
            elif isinstance(opt, TimestampsOption):
                val = opt.tsval
                if self.first_ts is not None:
                    val = (self.first_ts[0] + val - self.first_ts[1]) % _M
                parts.append(f"TS val {val} ecr {opt.tsecr}")
            elif isinstance(opt, NopOption):
                parts.append("nop")
            elif isinstance(opt, EolOption):
                parts.append("eol")
            elif isinstance(opt, UnknownOption):
                parts.append(f"kind {opt.kind}")
        return "<" + ",".join(parts) + ">" if parts else "none"

    def _show(self, pkt: Packet) -> str:
        seg = pkt.segment
        syn = bool(seg.flags & Flags.SYN)
        seq_off = self.live_local_isn - (self.script_local_isn if syn else 0)
        seq = (seg.seq - seq_off) % _M
        ack = seg.ack if syn or not seg.flags & Flags.ACK else (seg.ack - self.remote_isn) % _M
        n = len(seg.payload)
        text = f"> {flags_text(seg.flags)} {seq}:{(seq + n) % _M}({n})"
        if seg.flags & Flags.ACK:
            text += f" ack {ack}"
        text += f" win {seg.window}"
        if seg.urgent:
            text += f" urg {seg.urgent}"
        if seg.options:
            text += " " + self._show_options(seg.options)
        return text

    # -- system calls ---------------------------------------------------------------------

    def _syscall(self, ev: Event, spec: SyscallSpec, start: int) -> None:
        self._advance_to(start, ev.line)
        if self.blocked is not None:
            raise Mismatch(ev.line, f"{spec.name}() called while {self.blocked.spec.name}() "
                                    f"of line {self.blocked.event.line} is still blocked")
        self.last_time = start
        end = start
        if spec.end is not None:
            end = spec.end + (start - ev.time.start if ev.time.kind is TimeKind.RELATIVE
                              else 0)
        try:
            outcome = self.socks.call(spec.name, spec.args, self.now)
        except CallError as exc:
            raise ScriptError(self.script.path, ev.line, f"{spec.name}(): {exc}") from None
        self._collect()
        if isinstance(outcome, Pending):
            self.blocked = _Blocked(ev, spec, outcome, start, end)
            if spec.end is None:
                self._wait_blocked()
            return
        self._finish_call(ev, spec, outcome, end)

    def _wait_blocked(self) -> None:
        blocked = self.blocked
        assert blocked is not None
        limit = blocked.end + self.tolerance
        while self.blocked is blocked:
            point = self._checkpoint()
            if point is None or point > limit:
                what = "blocked" if blocked.spec.end is None else "still blocked"
                raise Mismatch(blocked.event.line,
                               f"{blocked.spec.name}() {what} (expected to return at "
                               f"{secs(blocked.end)}; nothing more happens by {secs(limit)})")
            self._step(max(point, self.now))

    def _retry_blocked(self) -> None:
        blocked = self.blocked
        if blocked is None:
            return
        timeout = blocked.call.timeout
        outcome = blocked.call.retry(self.now, timeout is not None and self.now >= timeout)
        if outcome is None:
            return
        self.blocked = None
        self._collect()
        self._finish_call(blocked.event, blocked.spec, outcome, blocked.end)

    def _finish_call(self, ev: Event, spec: SyscallSpec, outcome: Outcome, end: int) -> None:
        shown = f"{outcome.value}" + (f" {outcome.errno}" if outcome.errno else "")
        if self.verbose:
            args = ", ".join(describe(a) for a in spec.args)
            self.log.append(f"{secs(self.now)} {spec.name}({args}) = {shown}")
        if abs(self.now - end) > self.tolerance:
            raise Mismatch(ev.line, f"timing error: expected {spec.name}() to return at "
                                    f"{secs(end)} but it returned at {secs(self.now)}; "
                                    f"tolerance {secs(self.tolerance)}")
        try:
            expected = evaluate(spec.result)
        except CallError as exc:
            raise ScriptError(self.script.path, ev.line, str(exc)) from None
        if expected is not None and expected != outcome.value:
            raise Mismatch(ev.line, f"{spec.name}(): expected result {expected} but got {shown}")
        if spec.errno is not None:
            if spec.errno not in sym.ERRNO:
                raise ScriptError(self.script.path, ev.line, f"unknown errno {spec.errno}")
            if outcome.errno is None or sym.ERRNO[outcome.errno] != sym.ERRNO[spec.errno]:
                raise Mismatch(ev.line, f"{spec.name}(): expected errno {spec.errno} but got "
                                        f"{shown}")
        elif outcome.errno is not None and expected is not None:
            raise Mismatch(ev.line, f"{spec.name}(): expected {expected} but got {shown}")
        for index, value in outcome.outputs:
            problem = self._compare_output(spec, index, value)
            if problem:
                raise Mismatch(ev.line, f"{spec.name}(): {problem}")

    def _compare_output(self, spec: SyscallSpec, index: int, value: object) -> str | None:
        if index >= len(spec.args):
            return None
        want = spec.args[index]
        try:
            if spec.name == "poll":
                assert isinstance(want, ListExpr) and isinstance(value, tuple)
                for item, got in zip(want.items, value, strict=True):
                    assert isinstance(item, StructExpr)
                    rev = item.get("revents")
                    expected = evaluate(rev) if rev is not None else 0
                    if expected is not None and expected != got:
                        return f"revents: expected {self._poll_names(expected)} vs actual " \
                               f"{self._poll_names(int(got))}"
                return None
            if isinstance(value, tuple):
                return self._compare_struct(want, value)
            expected = evaluate(want)
        except CallError as exc:
            raise ScriptError(self.script.path, 0, str(exc)) from None
        if expected is not None and expected != value:
            return f"option value: expected {expected} vs actual {value}"
        return None

    def _compare_struct(self, want: Expr, value: tuple[object, ...]) -> str | None:
        if isinstance(want, EllipsisExpr):
            return None
        if not isinstance(want, StructExpr):
            return f"expected a structure, not {describe(want)}"
        for (name, expr), got in zip(want.fields, value, strict=False):
            wanted = evaluate(expr)
            if wanted is not None and wanted != got:
                return f"{name}: expected {wanted} vs actual {got}"
        return None

    @staticmethod
    def _poll_names(mask: int) -> str:
        names = [n for n in ("POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL",
                             "POLLRDNORM", "POLLWRNORM", "POLLRDHUP")
                 if mask & sym.SYMBOLS[n]]
        return "|".join(names) if names else "0"

    # -- commands and code ----------------------------------------------------------------

    def _command(self, line: int, text: str) -> None:
        changes = map_command(text)
        if changes is None:
            self._note(line, f"skipped shell command `{text}` (not run)")
            return
        self.stack.config = self.stack.config.with_(**changes)
        settings = ", ".join(f"{k}={v}" for k, v in changes.items())
        self._note(line, f"mapped `{text}` to Config({settings})")

    def tcpi(self) -> dict[str, int]:
        """TCP_INFO-style values of the connection under test."""
        conn = self._flow_conn() or self.conn
        cid = ConnId(self.local_ip, self.local_port, self.remote_ip, self.remote_port)
        kept = self.stack.state_of(cid)
        if kept is not None:
            state = sym.LINUX_STATE[kept]
        elif conn is not None:
            state = sym.LINUX_STATE[conn.state]
        elif self.local_port in self.stack.listeners:
            state = "TCP_LISTEN"
        else:
            state = "TCP_CLOSE"
        values = {"tcpi_state": sym.TCP_STATES[state]}
        if conn is not None:
            smss = max(conn.tcb.smss, 1)
            values.update(tcpi_snd_mss=conn.tcb.smss, tcpi_rto=conn.rto.rto,
                          tcpi_snd_cwnd=conn.cc.cwnd // smss,
                          tcpi_snd_ssthresh=conn.cc.ssthresh // smss,
                          tcpi_snd_wnd=conn.tcb.snd_wnd)
        return values

    def _code(self, line: int, text: str) -> None:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            self._note(line, "skipped %{ code }% that is not Python")
            return
        values = self.tcpi()
        for stmt in tree.body:
            if not isinstance(stmt, ast.Assert):
                self._note(line, f"skipped code statement `{ast.unparse(stmt)}`")
                continue
            try:
                holds = _CodeEval(values).eval(stmt.test)
            except _Unsupported as exc:
                self._note(line, f"skipped assertion `{ast.unparse(stmt.test)}`: {exc}")
                continue
            if not holds:
                used = sorted({n.id for n in ast.walk(stmt.test)
                               if isinstance(n, ast.Name) and n.id in values})
                shown = ", ".join(self._show_value(n, values[n]) for n in used)
                raise Mismatch(line, f"assertion failed: {ast.unparse(stmt.test)}"
                                     + (f" ({shown})" if shown else ""))

    @staticmethod
    def _show_value(name: str, value: int) -> str:
        if name == "tcpi_state":
            names = [k for k, v in sym.TCP_STATES.items() if v == value]
            return f"{name} = {names[0] if names else value}"
        return f"{name} = {value}"


class _Unsupported(Exception):
    pass


_BINOPS: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
}


class _CodeEval:
    """Evaluates the expressions of ``assert`` lines: names, numbers, comparisons,
    ``and``/``or``/``not``, arithmetic."""

    def __init__(self, values: dict[str, int]) -> None:
        self.values = values

    def eval(self, node: ast.expr) -> object:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.values:
                return self.values[node.id]
            if node.id in sym.SYMBOLS:
                return sym.SYMBOLS[node.id]
            raise _Unsupported(f"{node.id} is not known to synfin")
        if isinstance(node, ast.Tuple):
            return tuple(self.eval(e) for e in node.elts)
        if isinstance(node, ast.BoolOp):
            vals = [bool(self.eval(v)) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.UnaryOp):
            operand = self.eval(node.operand)
            if isinstance(node.op, ast.Not):
                return not operand
            if isinstance(node.op, ast.USub) and isinstance(operand, int):
                return -operand
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        raise _Unsupported(f"`{ast.unparse(node)}` is not supported")

    def _binop(self, node: ast.BinOp) -> int:
        left, right = self.eval(node.left), self.eval(node.right)
        if not isinstance(left, int) or not isinstance(right, int):
            raise _Unsupported("arithmetic on non-numbers")
        fn = _BINOPS.get(type(node.op))
        if fn is not None:
            return fn(left, right)
        raise _Unsupported(f"operator in `{ast.unparse(node)}` is not supported")

    def _compare(self, node: ast.Compare) -> bool:
        left = self.eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.eval(comparator)
            if isinstance(op, ast.Eq):
                ok = left == right
            elif isinstance(op, ast.NotEq):
                ok = left != right
            elif isinstance(op, ast.In | ast.NotIn):
                if not isinstance(right, tuple):
                    raise _Unsupported("`in` needs a tuple")
                ok = (left in right) == isinstance(op, ast.In)
            elif isinstance(left, int) and isinstance(right, int):
                ok = {ast.Lt: left < right, ast.LtE: left <= right,
                      ast.Gt: left > right, ast.GtE: left >= right}.get(type(op), False)
            else:
                raise _Unsupported("ordering needs numbers")
            if not ok:
                return False
            left = right
        return True


def run_script(script: Script, tolerance_us: int | None = None,
               verbose: bool = False) -> Result:
    """Run ``script``; a malformed part found while running raises :class:`ScriptError`."""
    return Interpreter(script, tolerance_us, verbose).run()
