"""Run packetdrill-format scripts against synfin, deterministically, in virtual time.

``parse_file`` / ``parse_text`` read a script (raising :class:`ScriptError` naming the file
and line when it is malformed); ``run_script`` runs it against a fresh stack and returns a
:class:`Result` with the first mismatch, if any.
"""

from synfin.pkt.lexer import ScriptError
from synfin.pkt.parser import parse_file, parse_text
from synfin.pkt.runner import Note, Result, run_script

__all__ = ["Note", "Result", "ScriptError", "parse_file", "parse_text", "run_script"]
