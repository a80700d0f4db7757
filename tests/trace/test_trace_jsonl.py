"""The JSON-lines format: exact keys, stable values, round trip, streaming sink."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tracefixtures import CONN_A, ISS_A, SYN_OPTIONS, A, B, lifecycle, packet

from synfin.states import State
from synfin.trace.jsonl import JsonlSink, read_jsonl, record_to_json, write_jsonl
from synfin.trace.records import (
    LinkEvent,
    Note,
    Record,
    SegmentDropped,
    SegmentSent,
    StateChange,
    TimerFired,
    TimerStarted,
    TimerStopped,
    TraceSink,
    UserCall,
)
from synfin.trace.relative import RelativeNumbers
from synfin.wire.flags import Flags


def test_state_change_has_exactly_the_documented_keys() -> None:
    record = StateChange(
        11_000, A, CONN_A, State.SYN_SENT, State.ESTABLISHED, "rcv SYN,ACK / snd ACK"
    )
    obj = record_to_json(record)
    assert obj == {
        "t": 11_000,
        "host": "10.0.0.1",
        "conn": "10.0.0.1:49152-10.0.0.2:80",
        "event": "state",
        "from": "SYN-SENT",
        "to": "ESTABLISHED",
        "cause": "rcv SYN,ACK / snd ACK",
    }
    assert list(obj) == ["t", "host", "conn", "event", "from", "to", "cause"]


def test_send_carries_packet_fields_and_reason() -> None:
    syn = packet(A, ISS_A, 0, Flags.SYN, window=64240)
    obj = record_to_json(SegmentSent(1_000, A, CONN_A, syn, "connect"), RelativeNumbers())
    assert obj == {
        "t": 1_000,
        "host": A,
        "conn": "10.0.0.1:49152-10.0.0.2:80",
        "event": "send",
        "src": "10.0.0.1:49152",
        "dst": "10.0.0.2:80",
        "flags": "SYN",
        "seq": ISS_A,
        "ack": 0,
        "len": 0,
        "win": 64240,
        "options": {},
        "rel_seq": 0,
        "rel_ack": None,
        "reason": "connect",
    }


def test_every_event_name() -> None:
    syn = packet(A, ISS_A, 0, Flags.SYN)
    records: list[Record] = [
        TimerStarted(1, A, CONN_A, "retransmit", 1_000_001),
        TimerStopped(2, A, CONN_A, "retransmit"),
        TimerFired(3, A, CONN_A, "time-wait"),
        UserCall(4, A, CONN_A, "CLOSE"),
        LinkEvent(5, A, B, syn, "lose", None, "drop-syn"),
        SegmentDropped(6, B, None, syn, "no-listener", "port 80"),
        SegmentDropped(7, B, None, None, "bad-checksum"),
        Note(8, A, "hello; #1"),
    ]
    objs = [record_to_json(r) for r in records]
    assert [o["event"] for o in objs] == [
        "timer-start",
        "timer-stop",
        "timer-fire",
        "call",
        "link",
        "drop",
        "drop",
        "note",
    ]
    assert objs[0]["deadline"] == 1_000_001 and objs[0]["timer"] == "retransmit"
    assert objs[4]["kind"] == "lose" and objs[4]["t_arrive"] is None
    assert objs[4]["fault"] == "drop-syn" and objs[4]["conn"] == "10.0.0.1:49152-10.0.0.2:80"
    assert objs[5]["reason"] == "no-listener" and objs[5]["flags"] == "SYN"
    assert objs[5]["conn"] is None
    assert "flags" not in objs[6] and objs[6]["reason"] == "bad-checksum"
    assert objs[7] == {"t": 8, "host": A, "conn": None, "event": "note", "text": "hello; #1"}


def test_options_are_named() -> None:
    syn = packet(A, ISS_A, 0, Flags.SYN, options=SYN_OPTIONS)
    obj = record_to_json(SegmentSent(0, A, CONN_A, syn, ""))
    assert obj["options"] == {"mss": 1460, "sack_perm": True, "wscale": 7}


def test_file_round_trip_with_relative_numbers(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    records = lifecycle()
    assert write_jsonl(records, path) == len(records)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(records)
    objs = read_jsonl(path)
    assert objs == [json.loads(line) for line in lines]
    states = [(o["host"], o["from"], o["to"]) for o in objs if o["event"] == "state"]
    assert states[-1] == (A, "TIME-WAIT", "CLOSED")
    fins = [o for o in objs if o["event"] == "link" and "FIN" in o["flags"]]
    assert [(o["rel_seq"], o["rel_ack"]) for o in fins] == [(101, 1), (1, 102)]
    lost = [o for o in objs if o["event"] == "link" and o["kind"] == "lose"]
    assert [(o["fault"], o["len"]) for o in lost] == [("drop-data", 100)]


def test_without_relative_numbers() -> None:
    out = io.StringIO()
    write_jsonl(lifecycle(), out, relative=False)
    objs = read_jsonl(io.StringIO(out.getvalue()))
    assert all("rel_seq" not in o for o in objs)


def test_sink_streams_one_flushed_line_per_record() -> None:
    class Recorder(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Recorder.flushes += 1
            super().flush()

    stream = Recorder()
    sink: TraceSink = JsonlSink(stream)
    assert sink.enabled
    records = lifecycle()[:5]
    for r in records:
        sink.emit(r)
    assert len(stream.getvalue().splitlines()) == 5
    assert Recorder.flushes >= 5
    numbers = RelativeNumbers()
    expected = [record_to_json(r, numbers) for r in records]
    assert read_jsonl(io.StringIO(stream.getvalue())) == expected


def test_non_ascii_notes_stay_readable() -> None:
    out = io.StringIO()
    write_jsonl([Note(0, A, "进入TIME-WAIT状态")], out)
    assert "进入TIME-WAIT状态" in out.getvalue()
