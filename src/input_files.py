"""The request's input files, checked against the settings and decoded, before anything is
written anywhere.

A path is relative and "/"-separated, of ordinary parts only: not absolute, no ``..``,
``.`` or empty part (``a//b``, a trailing ``/``), no backslash, NUL or other control
character, each part at most 255 bytes (the file system's limit), at most
``max_path_chars`` characters and ``max_path_depth`` parts in all. Two files may not have
the same path, nor may one be a directory of another (``a`` and ``a/b``). Refusals name the
file by its place in the list and its path: 422 for a path or content the rules refuse
(content marked base64 that is not), 413 for more bytes than allowed (one file, or all).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from .errors import InvalidRequest, PayloadTooLarge
from .sandbox.workdirs import DecodedFile
from .schemas import InputFile
from .settings import Settings

#: The longest name of one directory entry the kernel takes (NAME_MAX), in bytes.
MAX_PART_BYTES = 255
#: How much of a refused path a message quotes.
_QUOTED_CHARS = 80


def _quoted(path: str) -> str:
    shown = path if len(path) <= _QUOTED_CHARS else path[:_QUOTED_CHARS] + "..."
    return repr(shown)


def path_problem(path: str, max_chars: int, max_depth: int) -> str | None:
    """Why ``path`` cannot name an input file, or None."""
    if not path:
        return "the path is empty"
    if len(path) > max_chars:
        return f"the path is {len(path)} characters long; at most {max_chars} are allowed"
    if path.startswith("/"):
        return "the path is absolute; give it relative to the working directory"
    if "\\" in path:
        return 'the path holds a backslash; separate its parts with "/"'
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        return "the path holds a control character"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "the path is not valid Unicode"
    parts = path.split("/")
    if ".." in parts:
        return 'the path holds ".."; every file stays inside the working directory'
    if "" in parts or "." in parts:
        return 'the path holds an empty or "." part (a "//", or a leading or trailing "/")'
    if len(parts) > max_depth:
        return f"the path has {len(parts)} levels; at most {max_depth} are allowed"
    if any(len(part.encode("utf-8")) > MAX_PART_BYTES for part in parts):
        return f"a part of the path is longer than {MAX_PART_BYTES} bytes"
    return None


def _refusal(index: int, field: str, message: str, kind: str) -> dict[str, object]:
    return {"loc": ["body", "files", index, field], "msg": message, "type": kind}


def decode_input_files(files: Sequence[InputFile], settings: Settings) -> list[DecodedFile]:
    """The files as they will be written, in the order given. Raises InvalidRequest (422)
    listing every file whose path or content is refused, or PayloadTooLarge (413)."""
    if len(files) > settings.max_files:
        raise InvalidRequest(
            [
                {
                    "loc": ["body", "files"],
                    "msg": f"{len(files)} files were sent; at most {settings.max_files} are allowed",
                    "type": "too_many_files",
                }
            ]
        )
    refusals: list[dict[str, object]] = []
    decoded: list[DecodedFile] = []
    seen: dict[str, int] = {}
    directories: dict[str, int] = {}
    for index, file in enumerate(files):
        problem = path_problem(file.path, settings.max_path_chars, settings.max_path_depth)
        if problem is not None:
            refusals.append(_refusal(index, "path", f"file {_quoted(file.path)}: {problem}", "file_path"))
            continue
        if file.path in seen:
            message = f"file {_quoted(file.path)}: the same path as file {seen[file.path]}"
            refusals.append(_refusal(index, "path", message, "file_path"))
            continue
        seen[file.path] = index
        parts = file.path.split("/")
        for depth in range(1, len(parts)):
            directories.setdefault("/".join(parts[:depth]), index)
        try:
            data = (
                base64.b64decode(file.content, validate=True)
                if file.encoding == "base64"
                else file.content.encode("utf-8")
            )
        except (binascii.Error, ValueError):
            what = "not base64" if file.encoding == "base64" else "not valid Unicode"
            refusals.append(
                _refusal(index, "content", f"file {_quoted(file.path)}: the content is {what}", "file_content")
            )
            continue
        decoded.append(DecodedFile(file.path, data))
    for path, index in seen.items():
        if path in directories:
            message = f"file {_quoted(path)}: file {directories[path]} needs it to be a directory"
            refusals.append(_refusal(index, "path", message, "file_path"))
    if refusals:
        raise InvalidRequest(sorted(refusals, key=lambda refusal: refusal["loc"][2]))
    total = 0
    for placed in decoded:
        if len(placed.data) > settings.max_file_bytes:
            raise PayloadTooLarge(
                f"file {_quoted(placed.path)} is {len(placed.data):,} bytes; the limit is {settings.max_file_bytes:,}"
            )
        total += len(placed.data)
    if total > settings.max_files_bytes:
        raise PayloadTooLarge(f"the files are {total:,} bytes in all; the limit is {settings.max_files_bytes:,}")
    return decoded
