"""The sans-IO rule (DESIGN.md): core modules never import clocks, sockets, threads, the OS
or module-level randomness, and never print. This test reads their source, so it fails the
moment someone adds such a line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "synfin"
CORE_PACKAGES = ("wire", "connection")
CORE_MODULES = (
    "seq", "tcb", "buffers", "rto", "congestion", "listener", "stack", "states", "config",
    "errors", "isn", "drops", "reset", "trace/records",
)
BANNED_MODULES = {"time", "socket", "select", "selectors", "threading", "asyncio", "os",
                  "subprocess", "datetime"}


def core_files() -> list[Path]:
    files = [SRC / f"{name}.py" for name in CORE_MODULES]
    for pkg in CORE_PACKAGES:
        files += sorted((SRC / pkg).glob("*.py"))
    return files


def violations(tree: ast.AST) -> list[str]:
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names
                      if a.name.split(".")[0] in BANNED_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in BANNED_MODULES:
                found.append(f"from {node.module} import ...")
            if root == "random" and any(a.name != "Random" for a in node.names):
                found.append("from random import <module-level function>")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "random" and node.attr != "Random"):
            found.append(f"random.{node.attr} (module-level random)")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in {"print", "open", "input"}):
            found.append(f"{node.func.id}() call")
    return found


def test_core_file_list_is_real() -> None:
    files = core_files()
    assert len(files) > 20
    for path in files:
        assert path.exists(), path


@pytest.mark.parametrize("path", core_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_core_module_is_sans_io(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    assert violations(tree) == []


@pytest.mark.parametrize("snippet", [
    "import time", "import socket", "from os import path", "import threading",
    "import asyncio", "import select", "random.random()", "from random import randint",
    "print('x')",
])
def test_checker_catches_violations(snippet: str) -> None:
    assert violations(ast.parse(snippet)) != []


def test_checker_allows_injected_random() -> None:
    assert violations(ast.parse("import random\ndef f(r: random.Random) -> None: ...")) == []
