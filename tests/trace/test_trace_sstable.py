"""The ss-like table: states at chosen instants, CLOSED omitted, per-state counts."""

from __future__ import annotations

from tracefixtures import CONN_A, CONN_B, A, B, lifecycle

from synfin.states import State
from synfin.trace.records import ConnId, Record, StateChange
from synfin.trace.sstable import (
    ConnRow,
    connection_states,
    peer_text,
    render_ss,
    state_counts,
    summary_line,
)


def states_at(at: int | None) -> list[tuple[str, str, str, State, int]]:
    return [
        (r.host, r.local, r.remote, r.state, r.since) for r in connection_states(lifecycle(), at)
    ]


def test_during_the_handshake() -> None:
    assert states_at(6_000) == [
        (B, "10.0.0.2:80", "0.0.0.0:*", State.LISTEN, 0),
        (A, "10.0.0.1:49152", "10.0.0.2:80", State.SYN_SENT, 1_000),
        (B, "10.0.0.2:80", "10.0.0.1:49152", State.SYN_RECEIVED, 6_000),
    ]


def test_half_closed_and_time_wait() -> None:
    assert [r[3] for r in states_at(350_000)] == [State.LISTEN, State.FIN_WAIT_2, State.CLOSE_WAIT]
    assert [r[3] for r in states_at(407_000)] == [State.LISTEN, State.TIME_WAIT, State.LAST_ACK]
    assert [r[3] for r in states_at(60_000_000)] == [State.LISTEN, State.TIME_WAIT]


def test_closed_connections_are_omitted_unless_asked() -> None:
    assert [r[3] for r in states_at(None)] == [State.LISTEN]
    rows = connection_states(lifecycle(), include_closed=True)
    assert [(r.host, r.state, r.since) for r in rows] == [
        (B, State.LISTEN, 0),
        (A, State.CLOSED, 60_405_000),
        (B, State.CLOSED, 410_000),
    ]


def test_before_anything_happened() -> None:
    assert connection_states(lifecycle(), -1) == []
    assert render_ss([]) == (
        "State  Recv-Q  Send-Q  Local Address:Port  Peer Address:Port  Since(ms)\nTotal: 0\n"
    )


def test_host_filter() -> None:
    rows = connection_states(lifecycle(), 20_000, host=A)
    assert [(r.conn, r.state) for r in rows] == [(CONN_A, State.ESTABLISHED)]


def test_rendered_table_at_an_instant() -> None:
    text = render_ss(connection_states(lifecycle(), 350_000))
    assert text == (
        "Host      State       Recv-Q  Send-Q  Local Address:Port  Peer Address:Port  Since(ms)\n"
        "10.0.0.2  LISTEN      -       -       10.0.0.2:80         0.0.0.0:*          0.000\n"
        "10.0.0.1  FIN-WAIT-2  -       -       10.0.0.1:49152      10.0.0.2:80        310.000\n"
        "10.0.0.2  CLOSE-WAIT  -       -       10.0.0.2:80         10.0.0.1:49152     305.000\n"
        "Total: 3 (LISTEN 1, FIN-WAIT-2 1, CLOSE-WAIT 1)\n"
    )


def test_one_host_has_no_host_column_and_ss_names() -> None:
    rows = connection_states(lifecycle(), 20_000, host=A)
    assert render_ss(rows, names="ss") == (
        "State  Recv-Q  Send-Q  Local Address:Port  Peer Address:Port  Since(ms)\n"
        "ESTAB  -       -       10.0.0.1:49152      10.0.0.2:80        11.000\n"
        "Total: 1 (ESTAB 1)\n"
    )


def test_close_wait_pile_up_shows_in_the_summary() -> None:
    records: list[Record] = [
        StateChange(0, B, ConnId(B, 80, "0.0.0.0", 0), State.CLOSED, State.LISTEN, "")
    ]
    for i in range(5):
        conn = ConnId(B, 80, A, 40_000 + i)
        records.append(StateChange(10 * i, B, conn, State.LISTEN, State.SYN_RECEIVED, ""))
        records.append(StateChange(10 * i + 1, B, conn, State.SYN_RECEIVED, State.ESTABLISHED, ""))
        if i < 4:
            records.append(StateChange(100 + i, B, conn, State.ESTABLISHED, State.CLOSE_WAIT, ""))
    rows = connection_states(records)
    assert state_counts(rows) == {State.LISTEN: 1, State.ESTABLISHED: 1, State.CLOSE_WAIT: 4}
    assert render_ss(rows).splitlines()[-1] == "Total: 6 (LISTEN 1, ESTABLISHED 1, CLOSE-WAIT 4)"
    assert render_ss(rows, summary=False).count("\n") == 7


def test_known_queue_lengths_are_printed() -> None:
    row = ConnRow(B, "10.0.0.2:80", "10.0.0.1:49152", State.CLOSE_WAIT, 5, CONN_B, 12, 0)
    assert render_ss([row]).splitlines()[1].split()[:3] == ["CLOSE-WAIT", "12", "0"]
    assert summary_line([row], names="ss") == "Total: 1 (CLOSE-WAIT 1)"


def test_peer_text() -> None:
    assert peer_text(ConnId(B, 80, "0.0.0.0", 0)) == "0.0.0.0:*"
    assert peer_text(ConnId(B, 80, "", 0)) == "0.0.0.0:*"
    assert peer_text(CONN_A) == "10.0.0.2:80"
