"""The interpreter: mismatches fail with a clear message, missing segments fail (not hang),
timing and tolerance, blocking calls, skipped and mapped lines, code assertions."""

from __future__ import annotations

import time

from pktkit import SERVER, failure, run


def test_a_matching_script_passes() -> None:
    result = run(SERVER + """
   +0 write(4, ..., 10) = 10
   +0 > P. 1:11(10) ack 1
 +.01 < . 1:1(0) ack 11 win 10000
""")
    assert result.passed, result.message


def test_wrong_ack_names_line_field_expected_and_actual() -> None:
    message = failure(SERVER + """
   +0 write(4, ..., 10) = 10
   +0 > P. 1:11(10) ack 2
""")
    assert message.startswith("line 11: ack: expected 2 vs actual 1")
    assert "script: > P. 1:11(10) ack 2" in message
    assert "actual: > P. 1:11(10) ack 1 win 65535 at 0.100000" in message


def test_wrong_flags_seq_length_window_and_options_are_each_reported() -> None:
    cases = {
        "> . 1:11(10) ack 1": "flags: expected . vs actual P.",
        "> P. 2:12(10) ack 1": "seq: expected 2 vs actual 1",
        "> P. 1:6(5) ack 1": "payload length: expected 5 vs actual 10",
        "> P. 1:11(10) ack 1 win 100": "win: expected 100 vs actual 65535",
        "> P. 1:11(10) ack 1 <nop,nop,TS val 1 ecr 2>":
            "TCP options: expected <nop,nop,TS val 1 ecr 2> vs actual none",
    }
    for line, words in cases.items():
        message = failure(SERVER + f"   +0 write(4, ..., 10) = 10\n   +0 {line}\n")
        assert words in message, message


def test_syn_options_are_compared_exactly_unless_wildcard() -> None:
    client = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
"""
    assert run(client + "+0 > S 0:0(0) <...>\n").passed
    assert run(client + "+0 > S 0:0(0) <mss 1460,sackOK,TS val 5 ecr 0,nop,wscale 3>\n").passed
    message = failure(client + "+0 > S 0:0(0) <mss 1000,sackOK,TS val 5 ecr 0,nop,wscale 3>\n")
    assert "TCP options: expected <mss 1000," in message
    assert "vs actual <mss 1460,sackOK,TS val" in message


def test_a_segment_never_sent_fails_after_the_tolerance_instead_of_hanging() -> None:
    started = time.monotonic()
    message = failure(SERVER + "+.5 > F. 1:1(0) ack 1\n")
    assert message.startswith("line 9: expected outbound packet at 0.600000 but the stack "
                              "sent nothing by 0.604000")
    message = failure(SERVER + "* > F. 1:1(0) ack 1\n")
    assert "expected outbound packet but the stack sent nothing" in message
    assert time.monotonic() - started < 5


def test_timing_is_checked_within_the_tolerance() -> None:
    script = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
{when} > S 0:0(0) <...>
"""
    # The SYN is retransmitted after the initial RTO of 1 s.
    assert run(script.format(when="+1.003")).passed
    assert "timing error: expected outbound packet at 1.003000 but happened at 1.000000" in \
        failure(script.format(when="+1.003"), tolerance_us=1000)
    assert run(script.format(when="0.9~1.1")).passed
    assert "in time range 1.100000~1.200000 but happened at 1.000000" in \
        failure(script.format(when="1.1~1.2"))
    assert run("--tolerance_usecs=10000\n" + script.format(when="+1.008")).passed


def test_a_segment_sent_early_is_a_timing_error() -> None:
    message = failure(SERVER + "   +0 write(4, ..., 10) = 10\n +.2 > P. 1:11(10) ack 1\n")
    assert "expected outbound packet at 0.300000 but happened at 0.100000" in message


def test_an_unexpected_segment_at_the_end_fails() -> None:
    message = failure(SERVER + "   +0 write(4, ..., 10) = 10\n")
    assert message.startswith("line 9: unexpected outbound packet after the script's last "
                              "line: > P. 1:11(10) ack 1")


def test_blocking_calls_return_at_their_end_time() -> None:
    body = SERVER + "{call}\n +.2 < P. 1:11(10) ack 1 win 10000\n   +0 > . 1:1(0) ack 11\n"
    assert run(body.format(call="   +0...0.2 read(4, ..., 100) = 10")).passed
    message = failure(body.format(call="   +0...0.1 read(4, ..., 100) = 10"))
    assert "read() was expected to return at 0.200000 but was still blocked at 0.204000" \
        in message
    message = failure(body.format(call="   +0...0.3 read(4, ..., 100) = 10"))
    assert "timing error: expected read() to return at 0.400000 but it returned at 0.300000" \
        in message
    message = failure(SERVER + "   +0 read(4, ..., 100) = 10\n")
    assert message.startswith("line 9: read() blocked")


def test_wrong_results_and_errnos() -> None:
    assert "expected result 5 but got 10" in failure(SERVER + "+0 write(4, ..., 10) = 5\n"
                                                     "+0 > P. 1:11(10) ack 1\n")
    message = failure(SERVER + "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
                               "+0 read(4, ..., 10) = -1 ENOTCONN\n")
    assert "read(): expected errno ENOTCONN but got -1 EAGAIN" in message
    assert run(SERVER + "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
                        "+0 read(4, ..., 10) = -1 EWOULDBLOCK (Resource temporarily "
                        "unavailable)\n").passed


def test_code_assertions_check_the_connection_state() -> None:
    assert run(SERVER + "+0 %{ assert tcpi_state == TCP_ESTABLISHED }%\n").passed
    message = failure(SERVER + "+0 %{ assert tcpi_state == TCP_TIME_WAIT, tcpi_state }%\n")
    assert message == ("line 9: assertion failed: tcpi_state == TCP_TIME_WAIT "
                       "(tcpi_state = TCP_ESTABLISHED)")
    assert run(SERVER + "+0 %{ assert tcpi_snd_mss == 1000 and tcpi_state in "
                        "(TCP_ESTABLISHED, TCP_CLOSE_WAIT) }%\n").passed
    result = run(SERVER + "+0 %{ assert tcpi_reordering == 3 }%\n")
    assert result.passed
    assert [n.text for n in result.notes] == [
        "skipped assertion `tcpi_reordering == 3`: tcpi_reordering is not known to synfin"]


def test_backtick_lines_are_reported_skipped_or_mapped_never_silently_passed() -> None:
    result = run("`../common/defaults.sh`\n0 `sysctl -q net.ipv4.tcp_fin_timeout=5`\n"
                 "+0 `tc qdisc add dev tun0 root netem delay 10ms`\n"
                 "+0 `echo 3 > /proc/sys/net/ipv4/tcp_syn_retries`\n")
    assert result.passed
    assert [(n.line, n.text) for n in result.notes] == [
        (1, "skipped shell command `../common/defaults.sh` (not run)"),
        (2, "mapped `sysctl -q net.ipv4.tcp_fin_timeout=5` to Config(fin_timeout_us=5000000)"),
        (3, "skipped shell command `tc qdisc add dev tun0 root netem delay 10ms` (not run)"),
        (4, "mapped `echo 3 > /proc/sys/net/ipv4/tcp_syn_retries` to Config(syn_retries=3)"),
    ]


def test_unknown_options_are_reported_ignored() -> None:
    result = run("--mss=1000\n--some_flag=7\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    assert [n.text for n in result.notes] == ["--mss=1000 mapped to Config.mss",
                                              "option --some_flag ignored"]


def test_inbound_sequence_numbers_are_relative_to_each_isn() -> None:
    # The script's ISN is 1000 here: later segments are numbered relative to it.
    result = run("""0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 1000:1000(0) win 10000 <mss 1000>
+0 > S. 0:0(0) ack 1001 <mss 1460>
+0 < . 1:1(0) ack 1 win 10000
+0 < P. 1:3(2) ack 1 win 10000
+0 > . 1:1(0) ack 3
""")
    assert result.passed, result.message


def test_sack_blocks_are_mapped_both_ways() -> None:
    # The peer offers SACK; data beyond a hole is SACKed in script numbers.
    result = run("""0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 5000:5000(0) win 10000 <mss 1000,sackOK,eol,eol>
+0 > S. 0:0(0) ack 5001 <mss 1460,sackOK,eol,eol>
+0 < . 1:1(0) ack 1 win 10000
+0 < P. 11:21(10) ack 1 win 10000
+0 > . 1:1(0) ack 1 <nop,nop,sack 11:21>
""")
    assert result.passed, result.message


def test_verbose_logs_every_event() -> None:
    from synfin.pkt import parse_text, run_script
    result = run_script(parse_text(SERVER), verbose=True)
    assert result.log[0] == "0.000000 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3"
    assert "0.000000 > S. 0:0(0) ack 1 win 65535 <mss 1460>" in result.log
