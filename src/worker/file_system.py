"""The program's file system: its working directory, and nothing else.

The worker's current directory is the execution's working directory (child.py). Every
path a program hands to a file function is checked here, and the real call is then made
with that same text: relative, without ``..``, within the length and depth limits, and
through no link (a link may point anywhere). So the real call resolves inside the
working directory, and a program that names anything else is told why, with a
PermissionError (an OSError, as code that handles a missing file expects). Landlock holds
the same line for the process (isolation/hardening.py): the worker writes nowhere else
and reads nothing else but the interpreter's own files, whatever the language layer let
through.

The limits: RLIMIT_FSIZE stops a file at the size limit (the kernel's SIGXFSZ ends the
worker); the number of files and directories and the bytes in all are counted here
before anything is created, and the worker ends itself with the same signal when a
creation would pass them; the API counts again after the run (sandbox/workdirs.py), which
catches what grew through a file already open.

Paths stay relative for the program: ``os.getcwd()`` and ``Path.cwd()`` are ``"."``, and
``os.path.abspath`` / ``Path.resolve()`` give the normalised relative path, never the
host's. What the program holds of this module is what the catalogue offers (the guarded
``open``, the members of ``os``, ``os.path`` and ``glob``); its helpers are refused by the
membrane like any module-level function of the sandbox that is not offered.
"""

from __future__ import annotations

import builtins
import errno
import glob as _glob
import io
import operator
import os
import posixpath
import resource
import signal
import stat
from collections.abc import Iterator
from typing import Any, Literal, NoReturn

from ..language.file_names import name_problem
from ..protocol import FILES_LIMIT_SIGNAL, FileRules
from .membrane import instances_still_made, made_by_the_sandbox, made_objects, only_instances_made_by_the_sandbox

# The real file objects open() returns pass the membrane, and only those (never the
# worker's own streams); their classes are inert stand-ins (TextIOWrapper(FileIO(fd))
# would reach any descriptor), and a raw FileIO, which holds a descriptor, is never handed
# out (``f.buffer.raw`` is refused). os.stat's results are plain records.
only_instances_made_by_the_sandbox(io.TextIOWrapper, io.BufferedReader, io.BufferedWriter, io.BufferedRandom)
instances_still_made(os.stat_result)


class _State:
    """The job's working directory: its limits (None: there is none) and whether the host
    confines writes to it (Landlock), without which the sandbox allows none."""

    rules: FileRules | None = None
    writable = False


_STATE = _State()

#: Modes that write (or create) a file.
_WRITING_MODES = frozenset("wax+")
#: A directory a program creates is its own to read and remove; the service must be able
#: to read and remove it too (a mode of 0 would keep it from both).
_DIRECTORY_MODE = 0o700


def begin(rules: FileRules | None, writable: bool) -> None:
    """Called by the worker once it is confined, with the job's file limits (None: the job
    has no working directory) and whether writes are confined to it."""
    _STATE.rules = rules
    _STATE.writable = writable and rules is not None


# ----------------------------------------------------------------------------- paths


def path_text(path: object, function: str) -> str:
    """The text of a path argument, read once (a program's ``__fspath__`` is called once,
    and its answer is both what is checked and what is used)."""
    if type(path) is str:
        return path
    if isinstance(path, int):
        raise TypeError(f"{function}() takes a path in the sandbox, not a file descriptor")
    try:
        text = os.fspath(path)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{function}() expects a path (str or pathlib.Path), not {type(path).__name__}") from None
    if not isinstance(text, str):
        raise TypeError(f"{function}(): paths are text (str) in the sandbox, not {type(text).__name__}")
    return str.__str__(text)


def _refused_path(text: str, why: str) -> PermissionError:
    return PermissionError(errno.EACCES, f"{why}; a program reads and writes only its working directory", text)


def current_rules(function: str) -> FileRules:
    rules = _STATE.rules
    if rules is None:
        raise PermissionError(errno.EACCES, f"{function}(): this execution has no working directory")
    return rules


def confined(path: object, function: str) -> str:
    """``path``'s text if it names something inside the working directory; otherwise a
    PermissionError that says why. The text is what the real call is then made with."""
    rules = current_rules(function)
    text = path_text(path, function)
    if "\0" in text:
        raise ValueError(f"{function}(): embedded null character in path")
    problem = name_problem(text)
    if problem is not None:
        raise _refused_path(text, problem)
    if text.startswith("/"):
        raise _refused_path(text, "an absolute path names the host's files; use a relative path")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise _refused_path(text, "'..' leads out of the working directory")
    if len(text) > rules["max_path_chars"]:
        raise _refused_path(text, f"the path is longer than {rules['max_path_chars']} characters")
    if len(parts) > rules["max_path_depth"]:
        raise _refused_path(text, f"the path is more than {rules['max_path_depth']} levels deep")
    prefix = ""
    for part in parts:
        prefix = f"{prefix}/{part}" if prefix else part
        try:
            mode = os.lstat(prefix).st_mode
        except OSError:
            break  # what does not exist yet links nowhere
        if stat.S_ISLNK(mode):
            raise _refused_path(text, "the path goes through a link, which the sandbox does not follow")
    return text


# ----------------------------------------------------------------------------- limits


def before_writing(text: str, function: str) -> None:
    if not _STATE.writable:
        raise PermissionError(
            errno.EROFS,
            f"{function}(): files cannot be written on this host (it lacks Landlock, which confines writes to "
            "the working directory); reading the input files works",
            text,
        )


def before_creating(text: str, function: str, kind: Literal["file", "directory"]) -> None:
    """Check that ``text`` may be written and that the directory is within its limits, with
    one more ``kind`` if it does not exist yet: past them the program ends (the "files"
    limit), as it does at the size limit. Run on every open to write, not only on a new
    file: the bytes in all grow through files that exist."""
    before_writing(text, function)
    exists = os.path.lexists(text)
    rules = current_rules(function)
    files, directories, size = census(rules)
    if not exists and kind == "file" and files >= rules["max_files"]:
        stop_at_the_files_limit()
    if not exists and kind == "directory" and directories >= rules["max_files"] * rules["max_path_depth"]:
        stop_at_the_files_limit()
    if size > rules["max_files_bytes"]:
        stop_at_the_files_limit()


def census(rules: FileRules) -> tuple[int, int, int]:
    """Files, directories and bytes in the working directory, walked to a bound: past it
    the program is over its limits anyway."""
    most = rules["max_files"] * (rules["max_path_depth"] + 1) + 64
    files = directories = size = seen = 0
    pending = ["."]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > most:
                    stop_at_the_files_limit()
                if entry.is_dir(follow_symlinks=False):
                    directories += 1
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    files += 1
                    size += entry.stat(follow_symlinks=False).st_size
    return files, directories, size


def stop_at_the_files_limit() -> NoReturn:
    """End the worker as the kernel does at the size limit: its output is written out
    first (child.py), and the API reports the "files" limit."""
    os.kill(0, FILES_LIMIT_SIGNAL)  # the worker is alone in its process group
    signal.signal(FILES_LIMIT_SIGNAL, signal.SIG_DFL)
    os.kill(0, FILES_LIMIT_SIGNAL)
    os._exit(1)


def flush_open_files() -> None:
    """Write out what the program left in the buffers of files it never closed (CPython
    does as it exits; the worker ends with os._exit). Called once the program has ended:
    these are the real C file objects, whose classes no program can subclass."""
    for kind in (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom):
        for opened in list(made_objects(kind)):
            try:
                if not opened.closed:
                    opened.flush()
            except (OSError, ValueError):
                continue


def close_removed_files() -> None:
    """Close the files the program holds open whose name is gone (removed, or replaced by
    an input file): a session's worker outlives its calls, and the space of a file with no
    name counts in no limit of its directory (attack pass 99: 96 MiB beside a 32 MiB limit).
    Called after a session's call, once its files were flushed. The program finds such a
    file closed in its next call."""
    for kind in (io.TextIOWrapper, io.BufferedReader, io.BufferedWriter, io.BufferedRandom):
        for opened in list(made_objects(kind)):
            try:
                if not opened.closed and os.fstat(opened.fileno()).st_nlink == 0:
                    opened.close()
            except (OSError, ValueError):
                continue
    # Whatever else holds one (an archive opened by its path has a file object of its own,
    # attack pass 100): its descriptor is made /dev/null (descriptor 0), so the object goes
    # on (reads find nothing, writes fail) and no descriptor number is reused under it.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    for fd in range(3, min(soft, 1 << 16)):
        try:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode) and info.st_nlink == 0:
                os.dup2(0, fd)
        except OSError:
            continue


# ----------------------------------------------------------------------------- open


def open(  # noqa: A001, PLR0917 - builtins.open's name and signature
    file: Any,
    mode: str = "r",
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    closefd: bool = True,
    opener: Any = None,
) -> Any:
    """``open``, for paths inside the working directory. Text is UTF-8 unless the program
    names another encoding (CPython's default is the locale's, UTF-8 nearly everywhere)."""
    if opener is not None:
        raise TypeError("open(): the sandbox does not take an opener")
    if not closefd:
        raise ValueError("open(): closefd=False needs a file descriptor, which the sandbox does not take")
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    mode = str.__str__(mode)
    buffering = operator.index(buffering)  # an int subclass's own == never decides
    if buffering == 0:
        raise ValueError("open(): unbuffered files (buffering=0) are not offered in the sandbox")
    text = confined(file, "open")
    if _WRITING_MODES.intersection(mode):
        before_creating(text, "open", "file")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    opened = builtins.open(text, mode, buffering, encoding, errors, newline)  # noqa: SIM115 - the program's to close
    if isinstance(opened, io.TextIOWrapper):
        made_by_the_sandbox(opened.buffer)
    return made_by_the_sandbox(opened)


# ----------------------------------------------------------------------------- os


def getcwd() -> str:
    """``os.getcwd``: the working directory is where every relative path starts, and the
    program knows it by no other name."""
    return "."


def listdir(path: Any = ".") -> list[str]:
    return os.listdir(confined(path, "listdir"))


def mkdir(path: Any, mode: int = 0o777) -> None:
    """``os.mkdir``; the mode is the sandbox's (the service reads and removes the directory)."""
    text = confined(path, "mkdir")
    before_creating(text, "mkdir", "directory")
    os.mkdir(text, _DIRECTORY_MODE)


def makedirs(name: Any, mode: int = 0o777, exist_ok: bool = False) -> None:
    text = confined(name, "makedirs")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        if os.path.isdir(prefix) and not os.path.islink(prefix):
            if depth == len(parts) and not exist_ok:
                raise FileExistsError(errno.EEXIST, "File exists", text)
            continue
        before_creating(prefix, "makedirs", "directory")
        os.mkdir(prefix, _DIRECTORY_MODE)


def remove(path: Any) -> None:
    text = confined(path, "remove")
    before_writing(text, "remove")
    os.remove(text)


def unlink(path: Any) -> None:
    text = confined(path, "unlink")
    before_writing(text, "unlink")
    os.unlink(text)


def rmdir(path: Any) -> None:
    text = confined(path, "rmdir")
    before_writing(text, "rmdir")
    os.rmdir(text)


def rename(src: Any, dst: Any) -> None:
    source, target = confined(src, "rename"), confined(dst, "rename")
    _before_moving(source, target, "rename")
    os.rename(source, target)


def replace(src: Any, dst: Any) -> None:
    source, target = confined(src, "replace"), confined(dst, "replace")
    _before_moving(source, target, "replace")
    os.replace(source, target)


def _before_moving(source: str, target: str, function: str) -> None:
    """A directory moves with everything beneath it: its deepest entry must stay within
    the depth limit at the target (chains of directories hung under each other made a tree
    a thousand levels deep)."""
    before_writing(target, function)
    if not os.path.isdir(source) or os.path.islink(source):
        return
    rules = current_rules(function)
    depth_at_target = len([part for part in target.split("/") if part not in ("", ".")])
    if depth_at_target + _depth_below(source, rules) > rules["max_path_depth"]:
        raise _refused_path(target, f"the tree moved there would be more than {rules['max_path_depth']} levels deep")


def _depth_below(directory: str, rules: FileRules) -> int:
    """How many levels the deepest entry lies beneath ``directory`` (a bounded walk: past
    the limits the program ends anyway)."""
    most = rules["max_files"] * (rules["max_path_depth"] + 1) + 64
    deepest = seen = 0
    pending = [(directory, 0)]
    while pending:
        path, depth = pending.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                seen += 1
                if seen > most:
                    stop_at_the_files_limit()
                deepest = max(deepest, depth + 1)
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, depth + 1))
    return deepest


def stat_of(path: Any) -> os.stat_result:
    """``os.stat``: the entry's size, times and kind (following no link: there are none)."""
    return os.stat(confined(path, "stat"), follow_symlinks=False)


def walk(top: Any = ".", topdown: bool = True, onerror: Any = None, followlinks: bool = False) -> Iterator[Any]:
    """``os.walk``, never following a link. Top-down, it descends only into the names the
    listing gave that the program left in ``dirs`` (the real walk joins any name left
    there: "/etc", ".."), each checked again."""
    start = confined(top, "walk")
    return _walk(start, bool(topdown), onerror)


def _listing(path: str, onerror: Any) -> tuple[list[str], list[str]] | None:
    try:
        with os.scandir(path) as entries:
            found = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    except OSError as error:
        if onerror is not None:
            onerror(error)
        return None
    return [name for name, is_dir in found if is_dir], [name for name, is_dir in found if not is_dir]


def _walk(start: str, topdown: bool, onerror: Any) -> Iterator[tuple[str, list[str], list[str]]]:
    # Iterative: a recursive walk's depth would be the tree's.
    pending: list[tuple[str, list[str], list[str]] | str] = [start]
    while pending:
        item = pending.pop()
        if not isinstance(item, str):
            yield item  # bottom-up: after everything beneath it
            continue
        listed = _listing(item, onerror)
        if listed is None:
            continue
        dirs, files = listed
        offered = set(dirs)
        if topdown:
            yield item, dirs, files
            below = [name for name in dirs if type(name) is str and name in offered]
        else:
            pending.append((item, dirs, files))
            below = list(dirs)
        for name in reversed(below):
            pending.append(confined(posixpath.join(item, name), "walk"))


def getenv(key: str, default: Any = None) -> Any:
    """``os.getenv``: a program has no environment variables of the host."""
    if not isinstance(key, str):
        raise TypeError(f"str expected, not {type(key).__name__}")
    return default


def exists(path: Any) -> bool:
    return os.path.exists(confined(path, "exists"))


def lexists(path: Any) -> bool:
    return os.path.lexists(confined(path, "lexists"))


def isfile(path: Any) -> bool:
    return os.path.isfile(confined(path, "isfile"))


def isdir(path: Any) -> bool:
    return os.path.isdir(confined(path, "isdir"))


def islink(path: Any) -> bool:
    return os.path.islink(confined(path, "islink"))


def getsize(filename: Any) -> int:
    return os.path.getsize(confined(filename, "getsize"))


def getmtime(filename: Any) -> float:
    return os.path.getmtime(confined(filename, "getmtime"))


def getatime(filename: Any) -> float:
    return os.path.getatime(confined(filename, "getatime"))


def getctime(filename: Any) -> float:
    return os.path.getctime(confined(filename, "getctime"))


def abspath(path: Any) -> str:
    """``os.path.abspath``: the normalised path, relative to the working directory (the
    program's root; the host's name for it is not the program's to know)."""
    return confined(posixpath.normpath(path_text(path, "abspath")), "abspath")


def realpath(path: Any, *, strict: bool = False) -> str:
    """``os.path.realpath``: as abspath (there are no links to resolve)."""
    text = confined(posixpath.normpath(path_text(path, "realpath")), "realpath")
    if strict and not os.path.lexists(text):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", text)
    return text


def relpath(path: Any, start: Any = ".") -> str:
    return posixpath.relpath(confined(path, "relpath"), confined(start, "relpath"))


def samefile(f1: Any, f2: Any) -> bool:
    return os.path.samefile(confined(f1, "samefile"), confined(f2, "samefile"))


# ----------------------------------------------------------------------------- glob


def _pattern(pathname: Any, root_dir: Any, dir_fd: Any) -> str:
    if dir_fd is not None:
        raise TypeError("glob(): the sandbox does not take a dir_fd")
    text = confined(pathname, "glob")
    if root_dir is not None:
        root = confined(root_dir, "glob")
        text = posixpath.join(_glob.escape(root), text)
    return text


def glob(
    pathname: Any, *, root_dir: Any = None, dir_fd: Any = None, recursive: bool = False, include_hidden: bool = False
) -> list[str]:
    """``glob.glob`` within the working directory (``root_dir`` too)."""
    text = _pattern(pathname, root_dir, dir_fd)
    found = _glob.glob(text, recursive=bool(recursive), include_hidden=bool(include_hidden))
    if root_dir is None:
        return found
    root = path_text(root_dir, "glob")
    return [posixpath.relpath(name, root) for name in found]


def iglob(
    pathname: Any, *, root_dir: Any = None, dir_fd: Any = None, recursive: bool = False, include_hidden: bool = False
) -> Iterator[str]:
    return iter(glob(pathname, root_dir=root_dir, dir_fd=dir_fd, recursive=recursive, include_hidden=include_hidden))
