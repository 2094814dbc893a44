"""Each execution's private working directory, on the API server's side.

One directory per service process (``sandboxed-executor-<random>``, mode 0700) beneath
``files_root`` (the system's temporary directory by default), which the process keeps
locked (flock on the directory itself, not on a file in it: a temporary-file cleaner
that removes old files cannot make a live directory look abandoned) for its lifetime; in
it, one directory per execution, made before the program runs with the request's input
files, and removed after it, whatever happened to the worker. A process that died without
removing its directory (killed, a crash, a host restart) leaves a directory whose lock
nobody holds: the next service process to start beneath the same root removes it
(``sweep``).

Nothing here follows a symbolic link: directories are made and files written with
``O_NOFOLLOW`` beneath a directory made the moment before, and removal does not follow
them either (``shutil.rmtree``'s own rule).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import itertools
import json
import logging
import mimetypes
import os
import posixpath
import secrets
import stat
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ..language.file_names import name_problem

log = logging.getLogger(__name__)

#: The name of each service process's directory begins with this.
PREFIX = "sandboxed-executor-"
#: A directory younger than this is never swept: a process may be making it (and not yet
#: hold its lock).
_UNLOCKED_GRACE_S = 60.0
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class DecodedFile:
    """An input file as it will be written: its path, checked (input_files.py), and its bytes."""

    path: str
    data: bytes


@dataclass(frozen=True)
class OutputFile:
    """A file the program created or changed, as the answer gives it (schemas.OutputFile)."""

    path: str
    size: int
    encoding: str
    content: str
    media_type: str
    truncated: bool = False


@dataclass(frozen=True)
class WorkDirectory:
    """One execution's directory and what was placed in it."""

    path: Path
    #: The input files' paths with (inode, size, modification time in ns) as written.
    inputs: dict[str, tuple[int, int, int]]


class WorkDirectories:
    """The directories of this service process's executions."""

    def __init__(self, files_root: Path | None) -> None:
        # The system's temporary directory when no root is set; a host without a usable one
        # (a read-only container with no tmpfs) runs without working directories: start()
        # fails with OSError, and requests with files get 503.
        try:
            parent = files_root if files_root is not None else Path(tempfile.gettempdir())
        except OSError:
            parent = Path("/nonexistent-temporary-directory")
        self.parent = Path(os.path.realpath(parent))
        #: This process's directory: named now (the template's Landlock rule needs it
        #: before any execution), made by ``start``.
        self.root = self.parent / f"{PREFIX}{secrets.token_hex(8)}"
        self._lock_fd: int | None = None

    @property
    def started(self) -> bool:
        return self._lock_fd is not None

    def start(self) -> None:
        """Make this process's directory, after removing those of processes that are gone.
        Raises OSError when it cannot be made (the files root is not writable)."""
        self.parent.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
        swept = sweep(self.parent)
        if swept:
            log.info("removed %d working directories left by service processes that are gone", swept)
        self.root.mkdir(mode=_DIRECTORY_MODE)
        lock_fd = os.open(self.root, _DIRECTORY_FLAGS)
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._lock_fd = lock_fd

    def stop(self) -> None:
        """Remove this process's directory and every execution's in it."""
        if self._lock_fd is not None:
            remove_tree(self.root)
            os.close(self._lock_fd)
            self._lock_fd = None

    def create(self, files: Sequence[DecodedFile]) -> WorkDirectory:
        """A new, empty directory for one execution, with ``files`` written in it (their
        paths already checked: input_files.py). Removed again if a write fails."""
        path = self.root / secrets.token_hex(12)
        path.mkdir(mode=_DIRECTORY_MODE)
        try:
            inputs = {file.path: _write(path, file) for file in files}
        except BaseException:
            remove_tree(path)
            raise
        return WorkDirectory(path, inputs)

    @staticmethod
    def add(directory: WorkDirectory, files: Sequence[DecodedFile]) -> WorkDirectory:
        """``files`` written into a session's directory, each replacing a file of the same
        path; the directory with its new inputs. All or none: every path is checked before
        any is written, and NotADirectoryError or IsADirectoryError is raised when one
        cannot be (a directory, a link or a file in its way, in the directory or among
        ``files`` themselves), leaving the directory as it was (attack pass 98: the files
        before the one refused stayed, uncounted). Called between two calls of the session,
        while none of its code runs."""
        _check_placeable(directory.path, [file.path for file in files])
        inputs = dict(directory.inputs)
        for file in files:
            inputs[file.path] = _write(directory.path, file, replace=True)
        return WorkDirectory(directory.path, inputs)

    @staticmethod
    def remove(directory: WorkDirectory) -> None:
        remove_tree(directory.path)


@dataclass(frozen=True)
class FileLimits:
    """What a working directory may hold, and what an answer carries of it."""

    max_files: int
    max_file_bytes: int
    max_files_bytes: int
    max_path_depth: int
    max_returned_bytes: int


@dataclass
class Collected:
    """What the program left in its working directory."""

    #: Files created or changed, in path order.
    files: list[OutputFile] = field(default_factory=list)
    #: Why the directory is past its limits (the "files" limit), or None.
    over_limit: str | None = None
    #: Whether some file's content was left out of the answer (its budget, or the limits).
    truncated: bool = False
    #: With ``rebase``: every regular file as it is now (marked unchanged), the baseline
    #: the next call of a session is compared with.
    baseline: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def collect(directory: WorkDirectory, limits: FileLimits, rebase: bool = False) -> Collected:
    """The files the program created or changed (an input file counts as changed when its
    inode, size or modification time differs from when it was written), in path order,
    each as UTF-8 text when it decodes as such and as base64 otherwise, while the answer's
    budget lasts; past it, or past the directory's limits, a file is listed without its
    content. Only regular files count; a link or any other kind of entry is not followed
    and not listed. The walk stops at the limits, whatever the program left.

    ``rebase`` (a session's call): then every file is given the old modification time
    input files get (``Collected.baseline``), so that the next call reports only what it
    wrote, however fast."""
    found: list[tuple[str, os.stat_result]] = []
    regular: list[tuple[str, os.stat_result]] = []
    total_files = total_bytes = 0
    over_limit: str | None = None
    pending: list[tuple[str, int]] = [("", 1)]
    # Bounded whatever an escaped program made: at most as many entries as the limits let
    # files and their directories be (each file's path makes at most max_path_depth - 1),
    # and directories to the depth limit. A walk cut short says so: never a silent stop.
    max_entries = limits.max_files * (limits.max_path_depth + 1) + 64
    entries_seen = 0
    while pending and over_limit is None:
        relative, depth = pending.pop()
        try:
            entries = _listing(directory.path / relative if relative else directory.path, max_entries - entries_seen)
        except OSError:
            continue
        if entries is None:
            over_limit = f"the working directory holds more than {max_entries} files and directories"
            break
        for entry in entries:
            entries_seen += 1
            name = f"{relative}/{entry.name}" if relative else entry.name
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(info.st_mode):
                if depth < limits.max_path_depth:
                    pending.append((name, depth + 1))
                elif _holds_anything(directory.path / name):
                    # A directory at the last level is allowed; anything in it is one too deep.
                    over_limit = over_limit or f"a directory is nested more than {limits.max_path_depth} levels deep"
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            total_files += 1
            total_bytes += info.st_size
            if rebase:
                regular.append((name, info))
            if info.st_size > limits.max_file_bytes:
                over_limit = (
                    over_limit or f"the file {name!r} is {info.st_size:,} bytes; the limit is {limits.max_file_bytes:,}"
                )
            if directory.inputs.get(name) != (info.st_ino, info.st_size, info.st_mtime_ns):
                found.append((name, info))
    if total_files > limits.max_files:
        over_limit = over_limit or f"the working directory holds {total_files} files; the limit is {limits.max_files}"
    if total_bytes > limits.max_files_bytes:
        over_limit = over_limit or (
            f"the files are {total_bytes:,} bytes in all; the limit is {limits.max_files_bytes:,}"
        )
    collected = Collected(over_limit=over_limit)
    budget = limits.max_returned_bytes if over_limit is None else 0
    for name, info in sorted(found):
        shown = _shown_name(name)
        data = _read(directory.path / name, info.st_size) if info.st_size <= budget and shown == name else None
        content, encoding = _encoded(data) if data is not None else ("", "utf-8")
        # What it costs in the answer, as JSON (a control character is six bytes there).
        cost = len(content) if encoding == "base64" else _json_bytes(content)
        if data is None or cost > budget:
            collected.truncated = True
            collected.files.append(
                OutputFile(shown, info.st_size, "utf-8", "", _media_type(name, None), truncated=True)
            )
            continue
        budget -= cost
        collected.files.append(
            OutputFile(
                path=name,
                size=len(data),
                encoding=encoding,
                content=content,
                media_type=_media_type(name, encoding),
            )
        )
    for name, _ in regular:
        marked = _mark_unchanged(directory.path, name)
        if marked is not None:
            collected.baseline[name] = marked
    return collected


def _mark_unchanged(directory: Path, name: str) -> tuple[int, int, int] | None:
    """Give a file the old modification time (as ``_write`` does), following no link; its
    (inode, size, modification time in ns), or None when it is gone or not a file."""
    try:
        fd = os.open(directory / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        os.utime(fd, ns=(0, 0))
        info = os.fstat(fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    return info.st_ino, info.st_size, info.st_mtime_ns


def _encoded(data: bytes) -> tuple[str, str]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def _holds_anything(path: Path) -> bool:
    try:
        with os.scandir(path) as entries:
            return next(entries, None) is not None
    except OSError:
        return True  # unreadable: what it holds cannot be known, so it is not trusted


def _json_bytes(text: str) -> int:
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")) - 2


def _shown_name(name: str) -> str:
    """A name as the answer can carry it: one the language layer would refuse (which only
    an escaped worker can make: not UTF-8, a backslash, a control character...) is shown
    escaped, and its content is left out (never a reply that fails to encode, nor a name a
    client saves outside its folder)."""
    if name_problem(name) is None:
        return name
    return quote(name.encode("utf-8", "surrogateescape"), safe="/")  # percent-encoded: %5C, %1B, %FF


def _listing(path: Path, most: int) -> list[os.DirEntry[str]] | None:
    """A directory's entries, read one by one; None past ``most`` of them (a directory of a
    million entries is never read whole)."""
    entries: list[os.DirEntry[str]] = []
    with os.scandir(path) as reading:
        for entry in reading:
            if len(entries) == most:
                return None
            entries.append(entry)
    return entries


def _read(path: Path, size: int) -> bytes | None:
    """A regular file's bytes, at most ``size`` of them, following no link and never
    waiting (a FIFO in its place is not read); None if it is not one any more."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks, left = [], size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _media_type(path: str, encoding: str | None) -> str:
    # By the extension alone: guess_type reads a whole name as a URL ("data:text/html,x.png").
    guessed, _ = mimetypes.guess_type("file" + posixpath.splitext(path)[1], strict=False)
    if guessed is not None:
        return guessed
    return "text/plain" if encoding == "utf-8" else "application/octet-stream"


def _check_placeable(directory: Path, paths: Sequence[str]) -> None:
    """Raise unless each of ``paths`` can be written beneath ``directory``: each of its
    parents a directory (or absent, and no file of ``paths``), itself a regular file or
    absent (and no parent of another of ``paths``). Links are never followed (lstat)."""
    files = set(paths)
    for path in paths:
        *parents, _ = path.split("/")
        for depth in range(1, len(parents) + 1):
            parent = "/".join(parents[:depth])
            if parent in files:
                raise NotADirectoryError(f"{parent} is both a file and a directory of the request")
            try:
                info = os.lstat(directory / parent)
            except FileNotFoundError:
                break  # made by _write, as are the levels below it
            if not stat.S_ISDIR(info.st_mode):
                raise NotADirectoryError(f"{parent} is not a directory")
        try:
            info = os.lstat(directory / path)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            raise IsADirectoryError(f"{path} is not a regular file")


def _write(directory: Path, file: DecodedFile, replace: bool = False) -> tuple[int, int, int]:
    """Write one file beneath ``directory``, making its parent directories, following no
    link; its (inode, size, modification time in ns). ``replace``: a file already at the
    path is replaced (written beside it, then renamed over it)."""
    parent = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        *parents, name = file.path.split("/")
        for part in parents:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, _DIRECTORY_MODE, dir_fd=parent)
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            os.close(parent)
            parent = below
        written_as = f".input-{secrets.token_hex(8)}" if replace else name
        fd = os.open(written_as, _WRITE_FLAGS, _FILE_MODE, dir_fd=parent)
        try:
            view = memoryview(file.data)
            while view:
                view = view[os.write(fd, view) :]
            # An old time, which only the service can set (the worker's filter refuses
            # utimensat): any write of the program's gives the file a new one, whatever the
            # clock's granularity (a same-size rewrite within one tick kept the old mtime).
            os.utime(fd, ns=(0, 0))
            written = os.fstat(fd)
        finally:
            os.close(fd)
        if replace:
            try:
                # Over a file, or into the name's place; never over a directory.
                os.rename(written_as, name, src_dir_fd=parent, dst_dir_fd=parent)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(written_as, dir_fd=parent)
                raise
    finally:
        os.close(parent)
    return written.st_ino, written.st_size, written.st_mtime_ns


def remove_tree(path: Path) -> None:
    """Remove ``path`` and everything beneath it, whatever a program left there: without
    recursion (a tree a thousand levels deep exhausts ``shutil.rmtree``'s stack), without
    following a link, and with two descriptors open at a time (one per level would exhaust
    them): each directory found inside is moved up beside the others, directly beneath
    ``path``, and emptied there. Never raises; what cannot be removed is logged."""
    try:
        top = os.open(path, _DIRECTORY_FLAGS)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.error("a working directory could not be removed: %s", exc.strerror)
        return
    try:
        _empty(top)
        os.rmdir(path)
    except OSError as exc:
        log.error("a working directory could not be removed completely: %s", exc.strerror)
    finally:
        os.close(top)


def _empty(top: int) -> None:
    """Empty the directory open as ``top`` (see remove_tree). Another removal may be
    emptying part of the same tree (a shutdown while an execution's directory goes): what
    it took first is skipped, never an error."""
    prefix = f".removing-{secrets.token_hex(6)}-"
    moved = itertools.count()
    pending = [entry.name for entry in os.scandir(top)]
    while pending:
        name = pending.pop()
        try:
            info = os.stat(name, dir_fd=top, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                os.unlink(name, dir_fd=top)
                continue
            inner = _open_directory(name, top, info.st_mode)
        except FileNotFoundError:
            continue
        try:
            with os.scandir(inner) as entries:
                children = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
            for child, is_directory in children:
                with contextlib.suppress(FileNotFoundError):
                    if is_directory:
                        # Up, beside the others: its depth is never more than one.
                        up = f"{prefix}{next(moved)}"
                        os.rename(child, up, src_dir_fd=inner, dst_dir_fd=top)
                        pending.append(up)
                    else:
                        os.unlink(child, dir_fd=inner)
        finally:
            os.close(inner)
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(name, dir_fd=top)


def _open_directory(name: str, top: int, mode: int) -> int:
    """``name`` beneath ``top``, opened to list; one its maker left unreadable (an escaped
    worker's mkdir(mode=0)) is made readable first, through a descriptor of that very
    directory: a name swapped for a link in between (the files root may be a shared /tmp)
    never turns the chmod onto another file."""
    if mode & 0o700 != 0o700 and os.geteuid() != 0:
        pinned = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=top)
        try:
            os.chmod(f"/proc/self/fd/{pinned}", 0o700)
        finally:
            os.close(pinned)
    return os.open(name, _DIRECTORY_FLAGS, dir_fd=top)


def sweep(parent: Path) -> int:
    """Remove the directories beneath ``parent`` of service processes that are gone (their
    lock is free); how many. Never one whose lock is held, nor a young one (a process
    making it right now)."""
    removed = 0
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime < _UNLOCKED_GRACE_S:
                continue
            lock_fd = os.open(entry.path, _DIRECTORY_FLAGS)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live process's
            remove_tree(Path(entry.path))
            removed += 1
        finally:
            os.close(lock_fd)
    return removed
