"""What a file name a program makes must be: one the answer can carry and a client can
save where it means to. The worker refuses such a name when the program makes it
(src/worker/file_system.py); the service shows any other an escaped worker made escaped,
without its content (src/sandbox/workdirs.py). Input files follow stricter rules of their
own (src/input_files.py)."""

from __future__ import annotations

import re
import unicodedata

#: Characters that change how text around them is shown: bidirectional overrides and
#: isolates (``invoice\u202etxt.exe``), line and paragraph separators.
_DISPLAY_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")
#: A first component a client on Windows reads as a drive (``C:/Users/...``, ``D:notes``).
_DRIVE = re.compile(r"^[A-Za-z]:")


def name_problem(text: str) -> str | None:
    """Why ``text`` cannot name a file the answer hands back, or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "the path is not valid UTF-8"
    if "\\" in text:
        return "a backslash is not a path separator here; use '/'"
    if _DRIVE.match(text):
        return "the path starts like a Windows drive"
    for char in text:
        if char in _DISPLAY_CONTROLS or unicodedata.category(char) == "Cc":
            return "the path holds a control character"
    return None
