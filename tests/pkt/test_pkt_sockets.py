"""The interpreter's socket layer returns what Linux returns, errno names included."""

from __future__ import annotations

import pytest
from pktkit import SERVER, run

CLIENT = """0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
+0 fcntl(3, F_GETFL) = 0x802
+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
+0 > S 0:0(0) <...>
"""

# ABORT sends <SEQ=SND.NXT><CTL=RST> (RFC 9293 3.10.5); Linux would send RST,ACK.
CASES = {
    "bad fd": "0 close(9) = -1 EBADF (Bad file descriptor)\n"
              "+0 read(9, ..., 1) = -1 EBADF\n",
    "not connected": "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                     "+0 read(3, ..., 10) = -1 ENOTCONN\n"
                     "+0 write(3, ..., 10) = -1 EPIPE\n"
                     "+0 shutdown(3, SHUT_WR) = -1 ENOTCONN\n"
                     "+0 accept(3, ..., ...) = -1 EINVAL\n",
    "address in use": "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                      "+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
                      "+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n"
                      "+0 bind(4, ..., ...) = -1 EADDRINUSE (Address already in use)\n"
                      "+0 bind(3, ..., ...) = -1 EINVAL\n",
    "nonblocking accept": "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                          "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n"
                          "+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n"
                          "+0 accept(3, ..., ...) = -1 EAGAIN\n"
                          "+0 poll([{fd=3, events=POLLIN, revents=0}], 1, 0) = 0\n",
    "socket options": "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
                      "+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n"
                      "+0 getsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], [4]) = 0\n"
                      "+0 setsockopt(3, SOL_SOCKET, SO_RCVBUF, [4096], 4) = 0\n"
                      "+0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [8192], [4]) = 0\n"
                      "+0 setsockopt(3, IPPROTO_TCP, TCP_NODELAY, [1], 4) = 0\n"
                      "+0 getsockopt(3, IPPROTO_TCP, TCP_NODELAY, [1], [4]) = 0\n"
                      "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"
                      "+0 getsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, [8]) = 0\n"
                      "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n"
                      "+0 setsockopt(3, SOL_SOCKET, 999, [1], 4) = -1 ENOPROTOOPT\n",
    "refused, nonblocking": CLIENT + "+.1 < R. 0:0(0) ack 1 win 0\n"
                            "+0 poll([{fd=3, events=POLLOUT, revents=POLLOUT|POLLERR|POLLHUP}],"
                            " 1, 0) = 1\n"
                            "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0\n"
                            "+0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0\n",
    "reset: error once, then end of stream / EPIPE": SERVER
        + "+.1 < R 1:1(0) win 0\n+0 read(4, ..., 10) = -1 ECONNRESET\n"
          "+0 read(4, ..., 10) = 0\n+0 write(4, ..., 10) = -1 EPIPE\n",
    "reset seen by write first": SERVER
        + "+.1 < R 1:1(0) win 0\n+0 write(4, ..., 10) = -1 ECONNRESET\n"
          "+0 write(4, ..., 10) = -1 EPIPE (Broken pipe)\n",
    "write after shutdown": SERVER + "+0 shutdown(4, SHUT_WR) = 0\n+0 > F. 1:1(0) ack 1\n"
                                     "+0 write(4, ..., 10) = -1 EPIPE\n",
    "close with unread data resets (RFC 1122 4.2.2.13)": SERVER
        + "+0 < P. 1:11(10) ack 1 win 10000\n+0 > . 1:1(0) ack 11\n"
          "+0 close(4) = 0\n+0 > R 1:1(0)\n",
    "SO_LINGER 0 close resets": SERVER
        + "+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0\n"
          "+0 close(4) = 0\n+0 > R 1:1(0)\n",
    "poll waits, then times out": SERVER
        + "+0...0.05 poll([{fd=4, events=POLLIN, revents=0}], 1, 50) = 0\n"
          "+.05...0.25 poll([{fd=4, events=POLLIN, revents=POLLIN}], 1, 1000) = 1\n"
          "+.2 < P. 1:11(10) ack 1 win 10000\n+0 > . 1:1(0) ack 11\n",
    "poll sees end of stream": SERVER
        + "+0 < F. 1:1(0) ack 1 win 10000\n+0 > . 1:1(0) ack 2\n"
          "+0 poll([{fd=4, events=POLLIN|POLLRDHUP, revents=POLLIN|POLLRDHUP}], 1, 0) = 1\n",
    "nonblocking partial write": SERVER.replace("listen(3, 1) = 0",
                                                "setsockopt(3, SOL_SOCKET, SO_SNDBUF, [100], 4)"
                                                " = 0\n+0 listen(3, 1) = 0")
        + "+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n+0 write(4, ..., 150) = 100\n"
          "+0 > P. 1:101(100) ack 1\n+0 write(4, ..., 10) = -1 EAGAIN\n",
    "listener close resets queued connections": SERVER.replace(
        "   +0 accept(3, ..., ...) = 4\n", "") + "+0 close(3) = 0\n+0 > R 1:1(0)\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_linux_results(name: str) -> None:
    result = run(CASES[name])
    assert result.passed, f"line {result.line}: {result.message}"


def test_errno_mismatch_is_reported() -> None:
    result = run(SERVER + "+.1 < R 1:1(0) win 0\n+0 read(4, ..., 10) = -1 EPIPE\n")
    assert not result.passed
    assert result.message == "read(): expected errno EPIPE but got -1 ECONNRESET"


def test_getsockopt_value_mismatch_is_reported() -> None:
    result = run(CASES["refused, nonblocking"].replace("[ECONNREFUSED]", "[ETIMEDOUT]"))
    assert not result.passed
    assert result.message == "getsockopt(): option value: expected 110 vs actual 111"


def test_poll_revents_mismatch_is_reported() -> None:
    result = run(SERVER + "+0 poll([{fd=4, events=POLLIN|POLLOUT, revents=POLLIN}], 1, 0) = 1\n")
    assert not result.passed
    assert result.message == "poll(): revents: expected POLLIN vs actual POLLOUT"
