"""Writing a run's views to files: pcap, SVG, Mermaid, JSON lines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from synfin.cli.args import UsageError
from synfin.trace.jsonl import write_jsonl
from synfin.trace.mermaid import render_mermaid
from synfin.trace.pcap import pcap_bytes
from synfin.trace.records import Record
from synfin.trace.svg import render_svg


def write_views(records: Sequence[Record], *, pcap: str | None = None, svg: str | None = None,
                mermaid: str | None = None, trace: str | None = None,
                title: str | None = None) -> list[str]:
    """Write each requested view; returns ``"kind: path"`` lines. An unwritable path raises
    :class:`UsageError` before anything is half-written."""
    jobs: list[tuple[str, str, bytes]] = []
    if pcap:
        jobs.append(("pcap", pcap, pcap_bytes(records)))
    if svg:
        jobs.append(("svg", svg, render_svg(records, title=title).encode()))
    if mermaid:
        jobs.append(("mermaid", mermaid, render_mermaid(records).encode()))
    if trace:
        jobs.append(("trace", trace, b""))
    for _, path, _ in jobs:
        _check_writable(path)
    written = []
    for kind, path, data in jobs:
        if kind == "trace":
            write_jsonl(records, path)
        else:
            Path(path).write_bytes(data)
        written.append(f"{kind:8} {path}")
    return written


def check_writable(*paths: str | None) -> None:
    """Raise :class:`UsageError` for the first path that cannot be written."""
    for path in paths:
        if path:
            _check_writable(path)


def _check_writable(path: str) -> None:
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise UsageError(f"cannot write {path}: no such directory {parent}")
    try:
        with target.open("ab"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
