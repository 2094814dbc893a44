"""Whether a program may use the data tier (numpy, pandas, matplotlib): decides which
template forks its worker. The data template holds those libraries imported and warmed,
and a bigger address space; every other program keeps the small template and its latency.

By the source text, as ``file_use`` decides on files: a program can import a library only
by naming it, so any of the names, even in a string or a comment, sends it to the data
template (the source is also read NFKC-normalised, as the parser reads identifiers). A
program sent to the small template that imports one anyway gets ModuleNotFoundError, as
for any module the sandbox does not offer there. Such a program also gets a working
directory: the libraries read and write files by name (``read_csv``, ``savefig``).
"""

from __future__ import annotations

import re
import unicodedata

#: The data tier's top-level packages (language/data_catalogue.py offers their modules).
DATA_LIBRARIES = ("numpy", "pandas", "matplotlib")

_WORDS = re.compile(r"\b(?:" + "|".join(DATA_LIBRARIES) + r")\b")


def may_use_data_libraries(code: str) -> bool:
    return _WORDS.search(code) is not None or _WORDS.search(unicodedata.normalize("NFKC", code)) is not None
