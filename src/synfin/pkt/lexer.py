"""Tokens of the packetdrill language, with line numbers, after ``#ifdef`` selection.

The token classes follow packetdrill's scanner: the longest match wins, ties go to the
earlier rule. Comments (``//`` to the end of the line, ``/* ... */``) and white space are
dropped; ``%{ ... }%`` code and backtick commands are single tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class ScriptError(Exception):
    """A malformed script: the message names the file and line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  #: INT FLOAT HEX WORD STRING BACKQUOTED CODE OPTION ELLIPSIS IPV4 PUNCT
    text: str
    line: int


_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("SPACE", re.compile(r"[ \t\r\n]+")),
    ("COMMENT", re.compile(r"//[^\n]*")),
    ("COMMENT", re.compile(r"/\*(?:[^*]|\*(?!/))*\*/")),
    ("CODE", re.compile(r"%\{(?:[^}]|\}(?!%))*\}%")),
    ("ELLIPSIS", re.compile(r"\.\.\.")),
    ("OPTION", re.compile(r"--[a-zA-Z0-9_]+")),
    ("IPV4", re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")),
    ("FLOAT", re.compile(r"-?[0-9]*\.[0-9]+")),
    ("INT", re.compile(r"-?[0-9]+")),
    ("HEX", re.compile(r"0x[0-9a-fA-F]+")),
    ("WORD", re.compile(r"[a-zA-Z0-9_]+")),
    ("STRING", re.compile(r'"(?:\\.|[^"\\])*"')),
    ("BACKQUOTED", re.compile(r"`(?:\\.|[^`\\])*`")),
    ("PUNCT", re.compile(r"[^ \t\r\n]")),
)


def preprocess(text: str, path: str, defines: dict[str, str]) -> str:
    """Apply ``#ifdef NAME`` / ``#ifndef NAME`` / ``#else`` / ``#endif``: lines left out
    become empty, so line numbers stay those of the file."""
    out: list[str] = []
    stack: list[tuple[int, bool, bool]] = []  # (line, this branch on, parent on)
    active = True
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        directive = stripped.split()[0] if stripped.startswith("#") and stripped[1:2] != "!" \
            else ""
        if directive in ("#ifdef", "#ifndef"):
            parts = stripped.split()
            if len(parts) != 2:
                raise ScriptError(path, number, f"{directive} needs exactly one name")
            on = (parts[1] in defines) == (directive == "#ifdef")
            stack.append((number, on, active))
            active = active and on
            out.append("")
        elif directive == "#else":
            if not stack:
                raise ScriptError(path, number, "#else without #ifdef")
            start, on, parent = stack.pop()
            stack.append((start, not on, parent))
            active = parent and not on
            out.append("")
        elif directive == "#endif":
            if not stack:
                raise ScriptError(path, number, "#endif without #ifdef")
            _, _, active = stack.pop()
            out.append("")
        elif directive:
            raise ScriptError(path, number, f"unknown directive {directive}")
        else:
            out.append(line if active else "")
    if stack:
        raise ScriptError(path, stack[-1][0], "#ifdef without #endif")
    return "\n".join(out)


def tokenize(text: str, path: str, defines: dict[str, str] | None = None) -> list[Token]:
    """The tokens of ``text``. A word named by ``-D NAME=VALUE`` is replaced by the tokens
    of VALUE (as packetdrill's ``--define``)."""
    defines = defines or {}
    tokens: list[Token] = []
    pos, line = 0, 1
    while pos < len(text):
        best_kind, best_len = "", 0
        for kind, rule in _RULES:
            m = rule.match(text, pos)
            if m is not None and m.end() - pos > best_len:
                best_kind, best_len = kind, m.end() - pos
        chunk = text[pos:pos + best_len]
        if best_kind not in ("SPACE", "COMMENT"):
            if best_kind == "WORD" and defines.get(chunk):
                tokens += [Token(t.kind, t.text, line)
                           for t in tokenize(defines[chunk], path)]
            else:
                tokens.append(Token(best_kind, chunk, line))
        line += chunk.count("\n")
        pos += best_len
    return tokens
