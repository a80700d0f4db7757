"""Parsing every construct of the packetdrill language, and malformed scripts."""

from __future__ import annotations

import pytest

from synfin.pkt import ScriptError, parse_text
from synfin.pkt.nodes import (
    CallExpr,
    CodeSpec,
    CommandSpec,
    EllipsisExpr,
    IntExpr,
    ListExpr,
    OptionSpec,
    OrExpr,
    PacketSpec,
    StringExpr,
    StructExpr,
    SyscallSpec,
    TimeKind,
    WordExpr,
)
from synfin.wire.flags import Flags


def test_options_commands_comments_and_times() -> None:
    script = parse_text("""--tolerance_usecs=10000
--ip_version=ipv4
--define=X=1
`../common/defaults.sh`
// a comment
/* a comment
   over lines */
0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3   // trailing comment
+.25 close(3) = 0
1.5 > . 1:1(0) ack 1
* > . 1:1(0) ack 1
2~3 > . 1:1(0) ack 1
+0.1~+0.2 > . 1:1(0) ack 1
`cleanup.sh`
""")
    assert [(o.line, o.name, o.value) for o in script.options] == [
        (1, "tolerance_usecs", "10000"), (2, "ip_version", "ipv4"), (3, "define", "X=1")]
    assert script.commands == [(4, "../common/defaults.sh"), (14, "cleanup.sh")]
    times = [(e.line, e.time.kind, e.time.start, e.time.end) for e in script.events]
    assert times == [
        (8, TimeKind.ABSOLUTE, 0, None), (9, TimeKind.RELATIVE, 250_000, None),
        (10, TimeKind.ABSOLUTE, 1_500_000, None), (11, TimeKind.ANY, 0, None),
        (12, TimeKind.ABSOLUTE_RANGE, 2_000_000, 3_000_000),
        (13, TimeKind.RELATIVE_RANGE, 100_000, 200_000)]


def test_packet_lines() -> None:
    script = parse_text("""0 < S 0:0(0) win 32792 <mss 1000,sackOK,TS val 7 ecr 0,nop,wscale 7>
+0 > S. 0:0(0) ack 1 <...>
+0 < 40000>8080 FPU. 1:11(10) ack 1 win 257 urg 3 <nop,nop,sack 1:2 3:4>
+0 > - 1:1(0)
+0 < EW 1:1(0) win 1 <eol,eol,eol,eol>
""")
    syn, synack, data, bare, ecn = (e.action for e in script.events)
    assert isinstance(syn, PacketSpec) and syn.inbound and syn.flags == Flags.SYN
    assert syn.options == (OptionSpec("mss", (1000,)), OptionSpec("sackOK"),
                           OptionSpec("TS", (7, 0)), OptionSpec("nop"),
                           OptionSpec("wscale", (7,)))
    assert isinstance(synack, PacketSpec) and not synack.inbound
    assert synack.options is None and synack.ack == 1 and synack.window is None
    assert isinstance(data, PacketSpec)
    assert (data.src_port, data.dst_port) == (40000, 8080)
    assert data.flags == Flags.FIN | Flags.PSH | Flags.URG | Flags.ACK
    assert (data.start, data.end, data.length, data.urgent) == (1, 11, 10, 3)
    assert data.options is not None and data.options[2] == OptionSpec("sack", (1, 2, 3, 4))
    assert str(data) == "< FPU. 1:11(10) ack 1 win 257 urg 3 <nop,nop,sack 1:2 3:4>"
    assert isinstance(bare, PacketSpec) and bare.flags == Flags(0)
    assert isinstance(ecn, PacketSpec) and ecn.flags == Flags.ECE | Flags.CWR


def test_syscall_lines() -> None:
    script = parse_text("""0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0...0.2 read(4, ..., 1000) = -1 EAGAIN (Resource temporarily unavailable)
+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1
+0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = ...
+0 write(4, "ab" "cd"..., 4) = 4
+0 fcntl(3, F_GETFL) = 0x802
+0 %{ assert tcpi_state == TCP_ESTABLISHED }%
+0 `sysctl -q net.ipv4.tcp_fin_timeout=5`
""")
    actions = [e.action for e in script.events]
    linger, read, poll, connect, write, fcntl, code, command = actions
    assert isinstance(linger, SyscallSpec)
    assert linger.args[3] == StructExpr((("onoff", IntExpr(1)), ("linger", IntExpr(0))))
    assert isinstance(read, SyscallSpec) and read.end == 200_000
    assert (read.result, read.errno, read.note) == (
        IntExpr(-1), "EAGAIN", "Resource temporarily unavailable")
    assert read.args[1] == EllipsisExpr()
    assert isinstance(poll, SyscallSpec) and isinstance(poll.args[0], ListExpr)
    pollfd = poll.args[0].items[0]
    assert isinstance(pollfd, StructExpr)
    assert pollfd.get("events") == OrExpr(WordExpr("POLLIN"), WordExpr("POLLOUT"))
    assert isinstance(connect, SyscallSpec) and connect.result == EllipsisExpr()
    addr = connect.args[1]
    assert isinstance(addr, StructExpr)
    assert addr.get("sin_port") == CallExpr("htons", (IntExpr(8080),))
    assert isinstance(write, SyscallSpec) and write.args[1] == StringExpr("abcd", True)
    assert isinstance(fcntl, SyscallSpec) and fcntl.result == IntExpr(0x802)
    assert code == CodeSpec("assert tcpi_state == TCP_ESTABLISHED")
    assert command == CommandSpec("sysctl -q net.ipv4.tcp_fin_timeout=5")


def test_ifdef_selects_by_define_and_keeps_line_numbers() -> None:
    text = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
#ifdef BIG
+0 write(3, ..., 1000) = 1000
#else
+0 write(3, ..., 10) = 10
#endif
#ifndef BIG
+0 close(3) = 0
#endif
+0 write(3, ..., SIZE) = SIZE
"""
    plain = parse_text(text, "t.pkt", {"SIZE": "7"})
    big = parse_text(text, "t.pkt", {"BIG": "", "SIZE": "7"})
    assert [e.line for e in plain.events] == [1, 5, 8, 10]
    assert [e.line for e in big.events] == [1, 3, 10]
    last = plain.events[-1].action
    assert isinstance(last, SyscallSpec) and last.result == IntExpr(7)


@pytest.mark.parametrize(("text", "line", "words"), [
    ("0 < S 0:0(0) win 1\n+0 < Q 0:0(0) win 1\n", 2, "Invalid TCP flag: 'Q'"),
    ("0 < S 0:5(0) win 1\n", 1, "inconsistent TCP sequence numbers"),
    ("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 < S 0:0(0)\n", 2, "window must be"),
    ("0 < S 0:0(0) win 1 <...>\n", 1, "<...> for TCP options"),
    ("0 < S 0:0(0) win 1 <mss 1000,nop>\n", 1, "not padded correctly"),
    ("0 frobnicate(3) = 0\n", 1, "unknown or unsupported system call"),
    ("0 close(3) = 0\n#ifdef X\n+0 close(3) = 0\n", 2, "#ifdef without #endif"),
    ("0 close(3) = 0\n#endif\n", 2, "#endif without #ifdef"),
    ("1 close(3) = 0\n", 1, "first event should be at time 0"),
    ("0 close(3) = 0\n2 close(3) = 0\n1 close(3) = 0\n", 3, "time goes backward"),
    ("0 close(3) = 0\n* < . 1:1(0) ack 1 win 1\n", 2, "<star> can only be used"),
    ("0 close(3) = 0\n+0 %{ assert 1\n", 2, "parse error"),
    ("0 close(3) = 0\n+0 < S 0:0(0) win 1 <bogus 3>\n", 2, "unknown TCP option"),
    ("0 close(3)\n", 1, "expected '=' and the expected result"),
    ("0 close(3) = 0\n+0 > S. 0:0(0) ack 1 win 70000\n", 2, "TCP window value out of range"),
    ("0 close(3) = 0\n+0 < udp (10)\n", 2, "not supported"),
    ("0~1 close(3) = 0\n", 1, "time range can only be used"),
])
def test_malformed_scripts_name_file_and_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_text(text, "bad.pkt")
    assert info.value.line == line
    assert words in info.value.message
    assert str(info.value).startswith(f"bad.pkt:{line}: ")
