"""``shutil`` in the sandbox: copying, moving and removing inside the working directory.

Built on file_system.py's checked operations rather than on the real shutil, which copies
modes and times (``chmod``, ``utimensat``: refused by the worker's system-call filter,
and the program's business nowhere) and takes any path. A copy is the content only.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import Any

from . import file_system as fs

#: Bytes read and written at a time by the copies.
_CHUNK = 1 << 20


def copyfileobj(fsrc: Any, fdst: Any, length: int = 0) -> None:
    """``shutil.copyfileobj``: between two file objects the program holds."""
    shutil.copyfileobj(fsrc, fdst, length or _CHUNK)


def copyfile(src: Any, dst: Any, *, follow_symlinks: bool = True) -> Any:
    source, target = fs.confined(src, "copyfile"), fs.confined(dst, "copyfile")
    if os.path.isdir(source):
        raise IsADirectoryError(21, "Is a directory", source)
    if os.path.exists(target) and os.path.samefile(source, target):
        raise shutil.SameFileError(f"{source!r} and {target!r} are the same file")
    with fs.open(source, "rb") as reading, fs.open(target, "wb") as writing:
        shutil.copyfileobj(reading, writing, _CHUNK)
    return dst


def copy(src: Any, dst: Any, *, follow_symlinks: bool = True) -> Any:
    """``shutil.copy``: into ``dst``, or into the directory ``dst`` under the same name."""
    source, target = fs.confined(src, "copy"), fs.confined(dst, "copy")
    if os.path.isdir(target):
        target = posixpath.join(target, posixpath.basename(source))
        dst = target
    copyfile(source, target)
    return dst


def copy2(src: Any, dst: Any, *, follow_symlinks: bool = True) -> Any:
    """``shutil.copy2``: as copy (the sandbox keeps no modes or times to copy)."""
    return copy(src, dst)


def copytree(src: Any, dst: Any, symlinks: bool = False, ignore: Any = None, dirs_exist_ok: bool = False) -> Any:
    """``shutil.copytree``: the files and directories beneath ``src`` into ``dst``."""
    source, target = fs.confined(src, "copytree"), fs.confined(dst, "copytree")
    names = os.listdir(source)
    ignored = set(ignore(source, list(names))) if ignore is not None else set()
    fs.makedirs(target, exist_ok=bool(dirs_exist_ok))
    for name in names:
        if name in ignored:
            continue
        here, there = posixpath.join(source, name), posixpath.join(target, name)
        if os.path.isdir(here) and not os.path.islink(here):
            copytree(here, there, ignore=ignore, dirs_exist_ok=dirs_exist_ok)
        elif os.path.isfile(here):
            copyfile(here, there)
    return dst


def move(src: Any, dst: Any, copy_function: Any = None) -> Any:
    """``shutil.move``: a rename, into the directory ``dst`` if it is one."""
    source, target = fs.confined(src, "move"), fs.confined(dst, "move")
    if os.path.isdir(target):
        target = posixpath.join(target, posixpath.basename(source.rstrip("/")))
        if os.path.lexists(target):
            raise shutil.Error(f"Destination path '{target}' already exists")
        dst = target
    fs.rename(source, target)
    return dst


def rmtree(path: Any, ignore_errors: bool = False, onerror: Any = None) -> None:
    """``shutil.rmtree`` of a directory inside the working directory."""
    text = fs.confined(path, "rmtree")
    fs.before_writing(text, "rmtree")
    if not posixpath.normpath(text) or posixpath.normpath(text) == ".":
        raise PermissionError(13, "rmtree(): the working directory itself cannot be removed", text)
    shutil.rmtree(text, ignore_errors=bool(ignore_errors), onerror=onerror)
