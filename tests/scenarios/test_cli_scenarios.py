"""The command line: ``synfin scenario list|run``, ``synfin demo`` and ``synfin ss``, run
in-process through ``synfin.cli.main`` (and once as a real subprocess)."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from synfin.cli import main
from synfin.scenarios import SCENARIOS, Options, run_scenario
from synfin.scenarios.catalogue import view_records
from synfin.states import State
from synfin.trace.ladder import render_ladder
from synfin.trace.mermaid import render_mermaid
from synfin.trace.records import LinkEvent, StateChange
from synfin.trace.svg import render_svg

RFC_STATES = {s.value for s in State}
STATE_KEYS = ["t", "host", "conn", "event", "from", "to", "cause"]
CONN = re.compile(r"^\d+\.\d+\.\d+\.\d+:\d+-\d+\.\d+\.\d+\.\d+:\d+$")
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark binary not installed")


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``synfin argv...`` in-process: (exit status, stdout, stderr)."""
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return status, out, err


def tshark_problems(pcap: Path) -> str:
    """What tshark flags as malformed or as an error (bad checksums included)."""
    assert TSHARK is not None
    done = subprocess.run(
        [TSHARK, "-r", str(pcap), "-o", "tcp.check_checksum:TRUE", "-o",
         "ip.check_checksum:TRUE", "-Y", "_ws.malformed || _ws.expert.severity >= error"],
        capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def tshark_count(pcap: Path) -> int:
    assert TSHARK is not None
    done = subprocess.run([TSHARK, "-r", str(pcap)], capture_output=True, text=True,
                          timeout=60, check=True)
    return len(done.stdout.splitlines())


# -- scenario list ------------------------------------------------------------------------------


def test_scenario_list_names_every_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = cli(capsys, "scenario", "list")
    assert (status, err) == (0, "")
    listed = [line.split()[0] for line in out.splitlines() if line and not line[0].isspace()
              and line.split()[0] in SCENARIOS]
    assert listed == list(SCENARIOS)
    assert "--time-wait" in out.splitlines()[-1]
    for name, scenario in SCENARIOS.items():
        line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
        assert scenario.title in line
        for variant in scenario.variants:
            assert variant in line


# -- scenario run: the four files ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["normal-lifecycle", "old-duplicate-syn", "random-loss-transfer",
                                  "close-wait-pileup"])
def test_scenario_run_writes_every_view(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        name: str) -> None:
    files = {kind: tmp_path / f"{name}.{ext}" for kind, ext in
             [("pcap", "pcap"), ("svg", "svg"), ("mermaid", "mmd"), ("trace", "jsonl")]}
    args = [arg for kind, path in files.items() for arg in (f"--{kind}", str(path))]
    status, out, err = cli(capsys, "scenario", "run", name, "--seed", "5", *args)
    assert (status, err) == (0, "")
    assert out.startswith(f"== {name}: {SCENARIOS[name].title}")
    for kind, path in files.items():
        assert path.stat().st_size > 0
        assert f"{kind:8} {path}" in out
    expected = run_scenario(SCENARIOS[name], Options(seed=5))
    links = [r for r in expected.records if isinstance(r, LinkEvent)]

    # pcap: classic libpcap, raw IPv4, one packet per link event.
    data = files["pcap"].read_bytes()
    magic, major, minor, _, _, snaplen, linktype = struct.unpack("<IHHiIII", data[:24])
    assert (magic, major, minor, linktype) == (0xA1B2C3D4, 2, 4, 101)
    assert snaplen >= 1500

    # JSON lines: state records carry exactly the documented fields, RFC state names.
    events = [json.loads(line) for line in files["trace"].read_text().splitlines()]
    assert len(events) == len(expected.records)
    states = [e for e in events if e["event"] == "state"]
    assert states
    for e in states:
        assert list(e) == STATE_KEYS
        assert isinstance(e["t"], int) and e["t"] >= 0
        assert e["host"] in ("10.0.0.1", "10.0.0.2")
        assert CONN.match(e["conn"])
        assert e["from"] in RFC_STATES and e["to"] in RFC_STATES
        assert isinstance(e["cause"], str) and e["cause"]
    assert [e["to"] for e in states] == [
        r.new.value for r in expected.records if isinstance(r, StateChange)]

    # SVG: well-formed XML with an <svg> root; Mermaid: a sequenceDiagram.
    root = ET.fromstring(files["svg"].read_text())
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    assert files["mermaid"].read_text().startswith("sequenceDiagram")

    if TSHARK is not None:
        assert tshark_count(files["pcap"]) == len(links)
        assert tshark_problems(files["pcap"]) == ""


@needs_tshark
def test_tshark_check_would_catch_a_bad_checksum(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    """The tshark filter above can fail: flip one TCP checksum byte and it reports it."""
    pcap = tmp_path / "n.pcap"
    assert cli(capsys, "scenario", "run", "normal-lifecycle", "--no-ladder", "--pcap",
               str(pcap))[0] == 0
    data = bytearray(pcap.read_bytes())
    first_packet = 24 + 16  # global header, then the first record header
    ihl = (data[first_packet] & 0x0F) * 4
    data[first_packet + ihl + 16] ^= 0xFF  # TCP checksum, high byte
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(data))
    assert tshark_problems(bad) != ""


def test_scenario_run_prints_ladder_and_outcome(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = cli(capsys, "scenario", "run", "lost-last-ack")
    assert (status, err) == (0, "")
    assert "re-ACK" in out or "[2MSL timer 60.000s]" in out
    assert ("10.0.0.1:40000-10.0.0.2:80: CLOSED -> SYN-SENT -> ESTABLISHED -> FIN-WAIT-1 -> "
            "FIN-WAIT-2 -> TIME-WAIT -> CLOSED") in out
    assert "lost: staged-drop" in out
    status, quiet, _ = cli(capsys, "scenario", "run", "lost-last-ack", "--no-ladder")
    assert status == 0 and "lost: staged-drop" not in quiet and "Outcome:" in quiet


def test_scenario_run_variant_and_time_wait(capsys: pytest.CaptureFixture[str],
                                            tmp_path: Path) -> None:
    status, out, _ = cli(capsys, "scenario", "run", "old-duplicate-syn", "--variant",
                         "two-way-handshake", "--no-ladder")
    assert status == 0
    assert "(variants: two-way-handshake)" in out
    assert "LISTEN -> SYN-RECEIVED -> ESTABLISHED -> CLOSED" in out
    trace = tmp_path / "tw.jsonl"
    status, out, _ = cli(capsys, "scenario", "run", "normal-lifecycle", "--time-wait", "2.5",
                         "--no-ladder", "--trace", str(trace))
    assert status == 0
    assert "stayed in TIME-WAIT 2.500s" in out
    tw = [e for e in map(json.loads, trace.read_text().splitlines())
          if e["event"] == "timer-start" and e["timer"] == "time-wait"]
    assert [e["deadline"] - e["t"] for e in tw] == [2_500_000]


# -- bad arguments: one line on stderr, no traceback, exit status 2 ----------------------------


@pytest.mark.parametrize("argv", [
    ["scenario", "run", "no-such-scenario"],
    ["scenario", "run", "lost-syn", "--seed", "x"],
    ["scenario", "run", "lost-syn", "--seed", "-1"],
    ["scenario", "run", "lost-syn", "--seed", "1.5"],
    ["scenario", "run", "lost-syn", "--variant", "three-way-wave"],
    ["scenario", "run", "lost-syn", "--time-wait", "soon"],
    ["scenario", "run", "lost-syn", "--time-wait", "-1"],
    ["scenario", "run", "lost-syn", "--pcap", "/no/such/dir/x.pcap"],
    ["scenario", "run", "lost-syn", "--svg", "{tmp}"],
    ["scenario", "run", "lost-syn", "--trace", "{tmp}/missing/t.jsonl"],
    ["scenario"],
    ["scenario", "list", "extra"],
    ["ss", "--trace", "{tmp}/none.jsonl"],
    ["ss", "--trace", "{tmp}/garbage.jsonl"],
    ["ss", "--trace", "{tmp}/ok.jsonl", "--at", "later"],
    ["demo", "--out", "{tmp}/file"],
])
def test_bad_arguments_fail_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        argv: list[str]) -> None:
    (tmp_path / "garbage.jsonl").write_text("this is not json\n")
    (tmp_path / "ok.jsonl").write_text("")
    (tmp_path / "file").write_text("a file where a directory should be")
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    status, out, err = cli(capsys, *args)
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.endswith("\n") and "error" in err
    assert "Traceback" not in err
    assert not (tmp_path / "missing").exists()


def test_unwritable_path_leaves_no_output_behind(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    good = tmp_path / "good.pcap"
    status, _, err = cli(capsys, "scenario", "run", "lost-syn", "--pcap", str(good), "--svg",
                         str(tmp_path / "nope" / "x.svg"))
    assert status == 2 and len(err.splitlines()) == 1
    assert not good.exists() or good.stat().st_size == 0


# -- demo and ss --------------------------------------------------------------------------------


def test_demo_writes_four_files_and_prints_the_ladder(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    status, out, err = cli(capsys, "demo", "--out", str(out_dir))
    assert (status, err) == (0, "")
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["normal-lifecycle.jsonl", "normal-lifecycle.mmd", "normal-lifecycle.pcap",
                     "normal-lifecycle.svg"]
    assert all((out_dir / n).stat().st_size > 0 for n in names)
    # The ladder: the handshake arrows and the states beside them.
    assert re.search(r"SYN-SENT \|-+ SYN seq=0 -+>\|", out)
    assert re.search(r"\|<-+ SYN,ACK seq=0 ack=1 -+\| SYN-RECEIVED", out)
    assert re.search(r"TIME-WAIT \|-+ ACK seq=34 ack=53 -+>\|", out)
    assert "\x1b[" not in out  # not a terminal: no colours
    ET.fromstring((out_dir / "normal-lifecycle.svg").read_text())
    if TSHARK is not None:
        assert tshark_problems(out_dir / "normal-lifecycle.pcap") == ""


def test_ss_prints_the_table_at_a_time(capsys: pytest.CaptureFixture[str],
                                       tmp_path: Path) -> None:
    trace = tmp_path / "n.jsonl"
    assert cli(capsys, "scenario", "run", "normal-lifecycle", "--no-ladder", "--trace",
               str(trace))[0] == 0
    status, out, err = cli(capsys, "ss", "--trace", str(trace), "--at", "0.05")
    assert (status, err) == (0, "")
    rows = [line.split() for line in out.splitlines()]
    assert rows[0][:3] == ["Host", "State", "Recv-Q"]
    assert rows[1:-1] == [
        ["10.0.0.2", "LISTEN", "-", "-", "10.0.0.2:80", "0.0.0.0:*", "0.000"],
        ["10.0.0.1", "FIN-WAIT-1", "-", "-", "10.0.0.1:40000", "10.0.0.2:80", "45.000"],
        ["10.0.0.2", "ESTABLISHED", "-", "-", "10.0.0.2:80", "10.0.0.1:40000", "30.000"],
    ]
    assert out.splitlines()[-1] == "Total: 3 (LISTEN 1, ESTABLISHED 1, FIN-WAIT-1 1)"
    status, out, _ = cli(capsys, "ss", "--trace", str(trace), "--at", "1")
    assert status == 0
    assert out.splitlines()[-1] == "Total: 2 (LISTEN 1, TIME-WAIT 1)"


def test_ss_shows_the_close_wait_pileup(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    trace = tmp_path / "p.jsonl"
    assert cli(capsys, "scenario", "run", "close-wait-pileup", "--no-ladder", "--trace",
               str(trace))[0] == 0
    status, out, _ = cli(capsys, "ss", "--trace", str(trace), "--ss-names")
    assert status == 0
    rows = [line.split() for line in out.splitlines()[1:-1]]
    assert [row[1] for row in rows if row[0] == "10.0.0.2"] == ["LISTEN"] + ["CLOSE-WAIT"] * 5
    assert out.splitlines()[-1] == "Total: 11 (LISTEN 1, FIN-WAIT-2 5, CLOSE-WAIT 5)"


# -- a real process ----------------------------------------------------------------------------


def test_the_installed_command(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("synfin")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "synfin.cli"]
    done = subprocess.run([*command, "scenario", "list"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and done.stderr == ""
    assert all(name in done.stdout for name in SCENARIOS)
    pcap = tmp_path / "x.pcap"
    done = subprocess.run([*command, "scenario", "run", "connect-closed-port", "--pcap",
                           str(pcap)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "error: connection refused" in done.stdout
    assert pcap.stat().st_size > 24
    done = subprocess.run([*command, "scenario", "run", "connect-closed-port", "--seed", "x"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_renders_every_view(name: str) -> None:
    for variants in [frozenset[str](), *(frozenset({v}) for v in SCENARIOS[name].variants)]:
        run = run_scenario(SCENARIOS[name], Options(seed=1, variants=variants))
        shown = view_records(run)  # what the CLI draws (floods: the focus connection)
        root = ET.fromstring(render_svg(shown, title=SCENARIOS[name].title))
        assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
        mermaid = render_mermaid(shown)
        assert mermaid.startswith("sequenceDiagram")
        assert "10.0.0.1" in render_ladder(shown)
