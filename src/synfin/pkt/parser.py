"""A recursive-descent parser for packetdrill scripts (the grammar of packetdrill's
``parser.y``, the TCP and IPv4 parts of it), with packetdrill's semantic checks."""

from __future__ import annotations

from synfin.pkt.lexer import ScriptError, Token, preprocess, tokenize
from synfin.pkt.nodes import (
    Action,
    CallExpr,
    CodeSpec,
    CommandSpec,
    EllipsisExpr,
    Event,
    Expr,
    IntExpr,
    ListExpr,
    OptionSpec,
    OrExpr,
    PacketSpec,
    Script,
    ScriptOption,
    StringExpr,
    StructExpr,
    SyscallSpec,
    TimeKind,
    TimeSpec,
    WordExpr,
)
from synfin.wire.flags import Flags

#: Flag letters of a TCP line (packetdrill's tcpdump-like spelling).
FLAG_LETTERS: dict[str, Flags] = {
    "F": Flags.FIN, "S": Flags.SYN, "R": Flags.RST, "P": Flags.PSH, ".": Flags.ACK,
    "E": Flags.ECE, "W": Flags.CWR, "U": Flags.URG,
}

#: System calls the interpreter knows.
SYSCALLS = frozenset({
    "socket", "bind", "listen", "accept", "connect", "close", "shutdown", "read", "write",
    "send", "recv", "setsockopt", "getsockopt", "fcntl", "poll",
})

_U32 = 1 << 32
_MAX_OPTION_BYTES = 40


def parse_file(path: str, defines: dict[str, str] | None = None) -> Script:
    """Read and parse the script at ``path``; raises :class:`ScriptError` when malformed."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(path, 0, f"cannot read script: {exc}") from None
    return parse_text(text, path, defines)


def parse_text(text: str, path: str = "<script>",
               defines: dict[str, str] | None = None) -> Script:
    defines = defines or {}
    tokens = tokenize(preprocess(text, path, defines), path, defines)
    return _Parser(tokens, path).script()


def _seconds_to_us(text: str) -> int:
    return round(float(text) * 1_000_000)


class _Parser:
    def __init__(self, tokens: list[Token], path: str) -> None:
        self.toks = tokens
        self.pos = 0
        self.path = path

    # -- token helpers -------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> Token | None:
        i = self.pos + ahead
        return self.toks[i] if i < len(self.toks) else None

    def line(self) -> int:
        tok = self.peek()
        if tok is not None:
            return tok.line
        return self.toks[-1].line if self.toks else 1

    def error(self, message: str, line: int | None = None) -> ScriptError:
        tok = self.peek()
        where = f" at '{tok.text}'" if tok is not None and line is None else ""
        if tok is None and line is None:
            where = " at end of file"
        return ScriptError(self.path, line if line is not None else self.line(),
                           f"parse error{where}: {message}")

    def at(self, kind: str, text: str | None = None, ahead: int = 0) -> bool:
        tok = self.peek(ahead)
        return tok is not None and tok.kind == kind and (text is None or tok.text == text)

    def punct(self, text: str, ahead: int = 0) -> bool:
        return self.at("PUNCT", text, ahead) or (text == "..." and self.at("ELLIPSIS",
                                                                          ahead=ahead))

    def take(self, kind: str | None = None, text: str | None = None,
             what: str = "") -> Token:
        tok = self.peek()
        if tok is None or (kind is not None and tok.kind != kind) or (
                text is not None and tok.text != text):
            raise self.error(f"expected {what or text or kind}")
        self.pos += 1
        return tok

    def integer(self, what: str) -> int:
        tok = self.peek()
        if tok is not None and tok.kind in ("INT", "HEX"):
            self.pos += 1
            return int(tok.text, 0)
        raise self.error(f"expected {what}")

    # -- script ---------------------------------------------------------------------------

    def script(self) -> Script:
        script = Script(self.path)
        while self.at("OPTION"):
            script.options.append(self.option())
        while self.at("BACKQUOTED"):
            tok = self.take()
            script.commands.append((tok.line, tok.text[1:-1]))
        while self.peek() is not None:
            if self.at("BACKQUOTED") and self._only_commands_left():
                tok = self.take()
                script.commands.append((tok.line, tok.text[1:-1]))
                continue
            script.events.append(self.event())
        self.check_times(script)
        return script

    def _only_commands_left(self) -> bool:
        return all(t.kind == "BACKQUOTED" for t in self.toks[self.pos:])

    def option(self) -> ScriptOption:
        tok = self.take("OPTION")
        name = tok.text[2:]
        if not self.punct("="):
            return ScriptOption(tok.line, name, None)
        self.pos += 1
        parts: list[str] = []
        value = self.peek()
        if value is None or value.line != tok.line:
            raise self.error(f"option --{name} needs a value", tok.line)
        while (value := self.peek()) is not None and value.line == tok.line \
                and value.kind != "OPTION":
            parts.append(value.text)
            self.pos += 1
        return ScriptOption(tok.line, name, "".join(parts))

    def check_times(self, script: Script) -> None:
        """packetdrill's checks: the first event at 0; absolute times never go back."""
        events = script.events
        if events and (events[0].time.kind is TimeKind.ANY or events[0].time.start != 0):
            raise ScriptError(self.path, events[0].line, "first event should be at time 0")
        last: int | None = None
        for ev in events:
            if ev.time.kind in (TimeKind.ABSOLUTE, TimeKind.ABSOLUTE_RANGE):
                if last is not None and ev.time.start < last:
                    raise ScriptError(self.path, ev.line,
                                      f"time goes backward in script from {last} usec to "
                                      f"{ev.time.start} usec")
                last = ev.time.start
            else:
                last = None

    # -- events ---------------------------------------------------------------------------

    def event(self) -> Event:
        line = self.line()
        time = self.time_spec()
        action = self.action(line)
        outbound_packet = isinstance(action, PacketSpec) and not action.inbound
        if time.kind is TimeKind.ANY and not outbound_packet:
            raise ScriptError(self.path, line,
                              "event time <star> can only be used with outbound packets")
        if time.kind in (TimeKind.ABSOLUTE_RANGE, TimeKind.RELATIVE_RANGE):
            if not outbound_packet:
                raise ScriptError(self.path, line,
                                  "event time range can only be used with outbound packets")
            if time.end is not None and time.end < time.start:
                raise ScriptError(self.path, line, "time range is backwards")
        return Event(line, time, action)

    def time_value(self) -> int:
        tok = self.peek()
        if tok is None or tok.kind not in ("INT", "FLOAT"):
            raise self.error("expected a time")
        self.pos += 1
        if tok.text.startswith("-"):
            raise ScriptError(self.path, tok.line, "negative time")
        return _seconds_to_us(tok.text)

    def time_spec(self) -> TimeSpec:
        if self.punct("*"):
            self.pos += 1
            return TimeSpec(TimeKind.ANY)
        if self.punct("+"):
            self.pos += 1
            start = self.time_value()
            if self.punct("~"):
                self.pos += 1
                self.take("PUNCT", "+", "'+' after '~' in a relative range")
                return TimeSpec(TimeKind.RELATIVE_RANGE, start, self.time_value())
            return TimeSpec(TimeKind.RELATIVE, start)
        start = self.time_value()
        if self.punct("~"):
            self.pos += 1
            return TimeSpec(TimeKind.ABSOLUTE_RANGE, start, self.time_value())
        return TimeSpec(TimeKind.ABSOLUTE, start)

    def action(self, line: int) -> Action:
        if self.punct("<") or self.punct(">"):
            return self.packet(line)
        if self.at("BACKQUOTED"):
            return CommandSpec(self.take().text[1:-1])
        if self.at("CODE"):
            text = self.take().text[2:-2].strip()
            return CodeSpec(text)
        if self.at("ELLIPSIS") or self.at("WORD"):
            return self.syscall(line)
        raise self.error("expected a packet, a system call, a `command` or %{ code }%")

    # -- packets --------------------------------------------------------------------------

    def packet(self, line: int) -> PacketSpec:
        """``< flags start:end(len) [ack N] [win N] [urg N] [<options>]`` (or ``>``)."""
        inbound = self.take().text == "<"
        self.reject_non_tcp(line)
        src_port = dst_port = None
        if self.at("INT") and self.punct(">", 1):
            src_port = self.port(self.integer("source port"))
            self.pos += 1
            dst_port = self.port(self.integer("destination port"))
        flags_text = self.flags()
        flags = self.flag_bits(flags_text, line)
        start, end, length = self.sequence_range(line)
        ack = window = urgent = None
        if self.at("WORD", "ack"):
            self.pos += 1
            ack = self.ranged(self.integer("ack number"), _U32, "TCP ack sequence number", line)
        if self.at("WORD", "win"):
            self.pos += 1
            window = self.ranged(self.integer("window"), 1 << 16, "TCP window value", line)
        if self.at("WORD", "urg"):
            self.pos += 1
            urgent = self.ranged(self.integer("urgent pointer"), 1 << 16, "urg_ptr value",
                                 line)
        options: tuple[OptionSpec, ...] | None = ()
        if self.punct("<"):
            options = self.option_list(line)
        if inbound and window is None:
            raise ScriptError(self.path, line, "window must be specified for inbound packets")
        if inbound and options is None:
            raise ScriptError(self.path, line,
                              "<...> for TCP options can only be used with outbound packets")
        self.check_option_size(options, line)
        return PacketSpec(inbound, flags, flags_text or "-", start, end, length, ack, window,
                          urgent, options, src_port, dst_port)

    def reject_non_tcp(self, line: int) -> None:
        for unsupported in ("udp", "icmp", "ipv6", "ipv4", "gre", "mpls"):
            if self.at("WORD", unsupported):
                raise ScriptError(self.path, line,
                                  f"{unsupported} packets are not supported (TCP over IPv4 "
                                  "only)")
        if self.punct("(") or self.punct("["):
            raise ScriptError(self.path, line, "IP header details (ecn, tos, ttl, flowlabel) "
                                               "are not supported")

    def flag_bits(self, flags_text: str, line: int) -> Flags:
        flags = Flags(0)
        for ch in flags_text:
            if ch not in FLAG_LETTERS:
                raise ScriptError(self.path, line, f"Invalid TCP flag: '{ch}'")
            flags |= FLAG_LETTERS[ch]
        return flags

    def sequence_range(self, line: int) -> tuple[int, int, int]:
        """``start:end(length)``, checked for range and consistency."""
        start = self.integer("start sequence number")
        self.take("PUNCT", ":", "':' in start:end(length)")
        end = self.integer("end sequence number")
        self.take("PUNCT", "(", "'(' in start:end(length)")
        length = self.integer("payload length")
        self.take("PUNCT", ")", "')' in start:end(length)")
        for value, what in ((start, "start"), (end, "end")):
            if not 0 <= value < _U32:
                raise ScriptError(self.path, line, f"TCP {what} sequence number out of range")
        if not 0 <= length <= 0xFFFF:
            raise ScriptError(self.path, line, "TCP payload size out of range")
        if end != (start + length) % _U32:
            raise ScriptError(self.path, line,
                              "inconsistent TCP sequence numbers and payload size")
        return start, end, length

    def check_option_size(self, options: tuple[OptionSpec, ...] | None, line: int) -> None:
        if not options:
            return
        size = sum(o.length for o in options)
        if size % 4:
            raise ScriptError(self.path, line,
                              "TCP options are not padded correctly to ensure TCP header "
                              f"is a multiple of 4 bytes: {size % 4} excess bytes")
        if size > _MAX_OPTION_BYTES:
            raise ScriptError(self.path, line, "TCP option list too long")

    def port(self, value: int) -> int:
        if not 0 <= value <= 0xFFFF:
            raise self.error("port out of range")
        return value

    def ranged(self, value: int, limit: int, what: str, line: int) -> int:
        if not 0 <= value < limit:
            raise ScriptError(self.path, line, f"{what} out of range")
        return value

    def flags(self) -> str:
        if self.punct("."):
            self.pos += 1
            return "."
        if self.punct("-"):
            self.pos += 1
            return ""
        if self.at("WORD"):
            text = self.take().text
            if self.punct("."):
                self.pos += 1
                text += "."
            return text
        raise self.error("expected TCP flags")

    def option_list(self, line: int) -> tuple[OptionSpec, ...] | None:
        self.take("PUNCT", "<")
        if self.at("ELLIPSIS"):
            self.pos += 1
            self.take("PUNCT", ">", "'>' after <...")
            return None
        opts = [self.tcp_option(line)]
        while self.punct(","):
            self.pos += 1
            opts.append(self.tcp_option(line))
        self.take("PUNCT", ">", "',' or '>' in the option list")
        return tuple(opts)

    def tcp_option(self, line: int) -> OptionSpec:
        tok = self.take("WORD", what="a TCP option")
        name = tok.text
        if name in ("nop", "eol", "sackOK"):
            return OptionSpec(name)
        if name == "mss":
            return OptionSpec("mss", (self.ranged(self.integer("mss value"), 1 << 16,
                                                  "mss value", line),))
        if name == "wscale":
            return OptionSpec("wscale", (self.ranged(self.integer("shift count"), 256,
                                                     "window scale shift count", line),))
        if name == "sack":
            values: list[int] = []
            while self.at("INT") and self.punct(":", 1):
                left = self.ranged(self.integer("SACK left edge"), _U32,
                                   "TCP SACK left sequence number", line)
                self.pos += 1
                right = self.ranged(self.integer("SACK right edge"), _U32,
                                    "TCP SACK right sequence number", line)
                values += [left, right]
            if not values:
                raise self.error("expected SACK blocks a:b")
            return OptionSpec("sack", tuple(values))
        if name == "TS":
            self.take("WORD", "val", "'val'")
            val = self.ranged(self.integer("TS val"), _U32, "ts val", line)
            self.take("WORD", "ecr", "'ecr'")
            ecr = self.ranged(self.integer("TS ecr"), _U32, "ecr val", line)
            return OptionSpec("TS", (val, ecr))
        if name in ("FO", "FOEXP", "md5"):
            raise ScriptError(self.path, line, f"TCP option {name} is not supported")
        raise ScriptError(self.path, tok.line, f"parse error at '{name}': unknown TCP option")

    # -- system calls ---------------------------------------------------------------------

    def syscall(self, line: int) -> SyscallSpec:
        end = None
        if self.at("ELLIPSIS"):
            self.pos += 1
            end = self.time_value()
        name_tok = self.take("WORD", what="a system call name")
        if name_tok.text not in SYSCALLS:
            raise ScriptError(self.path, name_tok.line,
                              f"unknown or unsupported system call '{name_tok.text}'")
        self.take("PUNCT", "(", "'(' after the system call name")
        args: list[Expr] = []
        if not self.punct(")"):
            args.append(self.expr())
            while self.punct(","):
                self.pos += 1
                args.append(self.expr())
        self.take("PUNCT", ")", "',' or ')' in the argument list")
        self.take("PUNCT", "=", "'=' and the expected result")
        result = self.expr()
        errno = note = None
        if self.at("WORD"):
            errno = self.take().text
        if self.punct("("):
            note = self.note()
        return SyscallSpec(name_tok.text, tuple(args), result, errno, note, end)

    def note(self) -> str:
        self.take("PUNCT", "(")
        words: list[str] = []
        depth = 1
        while True:
            tok = self.peek()
            if tok is None:
                raise self.error("unclosed '(' in the note")
            self.pos += 1
            if tok.text == "(":
                depth += 1
            elif tok.text == ")":
                depth -= 1
                if depth == 0:
                    return " ".join(words)
            words.append(tok.text)

    def expr(self) -> Expr:
        left = self.primary()
        while self.punct("|"):
            self.pos += 1
            left = OrExpr(left, self.primary())
        return left

    def expr_list(self, close: str, expected: str) -> tuple[Expr, ...]:
        """Comma-separated expressions up to ``close`` (which is consumed)."""
        items: list[Expr] = []
        if not self.punct(close):
            items.append(self.expr())
            while self.punct(","):
                self.pos += 1
                items.append(self.expr())
        self.take("PUNCT", close, expected)
        return tuple(items)

    def primary(self) -> Expr:
        tok = self.peek()
        if tok is None:
            raise self.error("expected an expression")
        if tok.kind == "ELLIPSIS":
            self.pos += 1
            return EllipsisExpr()
        if tok.kind in ("INT", "HEX"):
            self.pos += 1
            return IntExpr(int(tok.text, 0))
        if tok.kind == "STRING":
            text = ""
            while self.at("STRING"):
                text += self.take().text[1:-1]
            open_ended = self.at("ELLIPSIS")
            if open_ended:
                self.pos += 1
            return StringExpr(text, open_ended)
        if tok.kind == "WORD":
            self.pos += 1
            if self.punct("("):
                self.pos += 1
                args = self.expr_list(")", "')' after the arguments")
                return CallExpr(tok.text, args)
            return WordExpr(tok.text)
        if self.punct("["):
            self.pos += 1
            return ListExpr(self.expr_list("]", "',' or ']' in the array"))
        if self.punct("{"):
            return self.struct()
        raise self.error("expected an expression")

    def struct(self) -> StructExpr:
        self.take("PUNCT", "{")
        fields: list[tuple[str, Expr]] = []
        items: list[Expr] = []
        while not self.punct("}"):
            if self.at("WORD") and self.punct("=", 1):
                name = self.take().text
                self.pos += 1
                fields.append((name, self.expr()))
            else:
                items.append(self.expr())
            if not self.punct(","):
                break
            self.pos += 1
        self.take("PUNCT", "}", "',' or '}' in the structure")
        return StructExpr(tuple(fields), tuple(items))
