"""Whether a program may touch files: decides whether its execution gets a working
directory when the request sends no files (making one, its Landlock rights, reading it
back and removing it is work a trivial request need not do).

By the source text, conservatively: a program can reach the file functions only by
naming them (the builtin ``open``, the modules that offer file operations) or by naming
the builtins that compile other text (``exec``, ``eval``, ``compile``, ``__import__``),
whose strings appear in the source too unless they are built. Any such word, even in a
string or a comment, gives the program a directory (the source is also read
NFKC-normalised, as the parser reads identifiers); a program without one that reaches a
file function anyway is told there is none.
"""

from __future__ import annotations

import re
import unicodedata

from .catalogue import CATALOGUE

#: The modules whose members read or write files in the sandbox.
FILE_MODULES = frozenset({"os", "pathlib", "shutil", "glob", "tarfile", "zipfile"})

_WORDS = re.compile(
    r"\b(?:" + "|".join(sorted({"open", "exec", "eval", "compile", "__import__", *FILE_MODULES})) + r")\b"
)


def may_use_files(code: str) -> bool:
    # The parser NFKC-normalises identifiers: "os" in fullwidth letters is os.
    return _WORDS.search(code) is not None or _WORDS.search(unicodedata.normalize("NFKC", code)) is not None


assert CATALOGUE.keys() >= FILE_MODULES
