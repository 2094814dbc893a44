"""``pathlib.Path`` in the sandbox: a pure path with the file operations of
file_system.py, which check every path they are given.

The real ``pathlib.Path`` calls ``os`` and ``io`` itself, with any path. This class keeps
a ``PurePosixPath`` (joining, names, suffixes, parents: pure computation) in a slot the
program cannot read, answers the pure API from it, and makes its file methods go through
the sandbox's checks. It is not a subclass of the real classes, so no library class is
offered (its operators would be sealed for the whole worker) and ``super()`` reaches no
real method; it is what ``pathlib.Path``, ``PosixPath``, ``PurePath`` and
``PurePosixPath`` are in the sandbox. It cannot be subclassed. Not offered: ownership and
modes (``owner``, ``chmod``), links (``symlink_to``, ``readlink``), devices, ``home()``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from . import file_system as fs


class Path:
    """A path inside the program's working directory: ``pathlib.Path``'s pure API (by a
    ``PurePosixPath`` it keeps) and file methods that check every path."""

    __slots__ = ("_pure",)
    _pure: PurePosixPath

    def __init__(self, *segments: Any) -> None:
        parts = [fs.path_text(segment, "Path") for segment in segments]
        object.__setattr__(self, "_pure", PurePosixPath(*parts))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("pathlib.Path cannot be subclassed in the sandbox")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("paths are immutable")

    def _text(self, function: str) -> str:
        return fs.confined(str(self._pure), function)

    def _new(self, pure: PurePosixPath) -> Path:
        made = object.__new__(Path)
        object.__setattr__(made, "_pure", pure)
        return made

    # -- the pure path ----------------------------------------------------------------

    def __str__(self) -> str:
        return str(self._pure)

    def __fspath__(self) -> str:
        return str(self._pure)

    def __repr__(self) -> str:
        return f"PosixPath({str(self._pure)!r})"

    def __hash__(self) -> int:
        return hash(self._pure)

    def __eq__(self, other: object) -> bool:
        return type(other) is Path and self._pure == other._pure

    def __lt__(self, other: Path) -> bool:
        if type(other) is not Path:
            return NotImplemented
        return self._pure < other._pure

    def __le__(self, other: Path) -> bool:
        if type(other) is not Path:
            return NotImplemented
        return self._pure <= other._pure

    def __gt__(self, other: Path) -> bool:
        if type(other) is not Path:
            return NotImplemented
        return self._pure > other._pure

    def __ge__(self, other: Path) -> bool:
        if type(other) is not Path:
            return NotImplemented
        return self._pure >= other._pure

    def __truediv__(self, key: Any) -> Path:
        return self._new(self._pure / fs.path_text(key, "Path"))

    def __rtruediv__(self, key: Any) -> Path:
        return self._new(fs.path_text(key, "Path") / self._pure)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path, (str(self._pure),))

    def joinpath(self, *segments: Any) -> Path:
        return self._new(self._pure.joinpath(*(fs.path_text(s, "joinpath") for s in segments)))

    @property
    def parts(self) -> tuple[str, ...]:
        return self._pure.parts

    @property
    def drive(self) -> str:
        return ""

    @property
    def root(self) -> str:
        return self._pure.root

    @property
    def anchor(self) -> str:
        return self._pure.anchor

    @property
    def name(self) -> str:
        return self._pure.name

    @property
    def stem(self) -> str:
        return self._pure.stem

    @property
    def suffix(self) -> str:
        return self._pure.suffix

    @property
    def suffixes(self) -> list[str]:
        return self._pure.suffixes

    @property
    def parent(self) -> Path:
        return self._new(self._pure.parent)

    @property
    def parents(self) -> tuple[Path, ...]:
        return tuple(self._new(parent) for parent in self._pure.parents)

    def as_posix(self) -> str:
        return self._pure.as_posix()

    def is_absolute(self) -> bool:
        return self._pure.is_absolute()

    def is_relative_to(self, other: Any) -> bool:
        return self._pure.is_relative_to(fs.path_text(other, "is_relative_to"))

    def relative_to(self, other: Any) -> Path:
        return self._new(self._pure.relative_to(fs.path_text(other, "relative_to")))

    def with_name(self, name: str) -> Path:
        return self._new(self._pure.with_name(fs.path_text(name, "with_name")))

    def with_stem(self, stem: str) -> Path:
        return self._new(self._pure.with_stem(fs.path_text(stem, "with_stem")))

    def with_suffix(self, suffix: str) -> Path:
        return self._new(self._pure.with_suffix(fs.path_text(suffix, "with_suffix")))

    def match(self, path_pattern: str) -> bool:
        return self._pure.match(fs.path_text(path_pattern, "match"))

    # -- where -------------------------------------------------------------------

    @classmethod
    def cwd(cls) -> Path:
        """The working directory, which the program knows as ``"."``."""
        return cls(".")

    @classmethod
    def home(cls) -> Path:
        raise PermissionError("Path.home(): there is no home directory in the sandbox; use relative paths")

    def absolute(self) -> Path:
        """The path itself: paths stay relative to the working directory in the sandbox."""
        return Path(fs.abspath(str(self._pure)))

    def resolve(self, strict: bool = False) -> Path:
        """The normalised path, relative to the working directory (there are no links)."""
        return Path(fs.realpath(str(self._pure), strict=strict))

    def expanduser(self) -> Path:
        if str(self._pure).startswith("~"):
            raise PermissionError("Path.expanduser(): there is no home directory in the sandbox")
        return self

    # -- what is there -------------------------------------------------------------

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        return fs.stat_of(self._text("stat"))

    def lstat(self) -> os.stat_result:
        return fs.stat_of(self._text("lstat"))

    def exists(self) -> bool:
        return os.path.exists(self._text("exists"))

    def is_file(self) -> bool:
        return os.path.isfile(self._text("is_file"))

    def is_dir(self) -> bool:
        return os.path.isdir(self._text("is_dir"))

    def is_symlink(self) -> bool:
        return os.path.islink(self._text("is_symlink"))

    def samefile(self, other_path: Any) -> bool:
        return fs.samefile(self._text("samefile"), other_path)

    def iterdir(self) -> Iterator[Path]:
        text = self._text("iterdir")
        for name in os.listdir(text):
            yield self / name

    def glob(self, pattern: str) -> Iterator[Path]:
        """The entries that match ``pattern`` beneath this path (``**`` spans directories)."""
        root = self._text("glob")
        pattern = fs.path_text(pattern, "glob")
        if not pattern:
            raise ValueError(f"Unacceptable pattern: {pattern!r}")
        for name in fs.glob(pattern, root_dir=root, recursive=True, include_hidden=True):
            yield self / name

    def rglob(self, pattern: str) -> Iterator[Path]:
        pattern = fs.path_text(pattern, "rglob")
        return self.glob(f"**/{pattern}")

    # -- reading and writing ----------------------------------------------------------

    def open(
        self,
        mode: str = "r",
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> Any:
        return fs.open(self._text("open"), mode, buffering, encoding, errors, newline)

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        with self.open(encoding=encoding, errors=errors) as file:
            return file.read()  # type: ignore[no-any-return]

    def read_bytes(self) -> bytes:
        with self.open(mode="rb") as file:
            return file.read()  # type: ignore[no-any-return]

    def write_text(
        self, data: str, encoding: str | None = None, errors: str | None = None, newline: str | None = None
    ) -> int:
        if not isinstance(data, str):
            raise TypeError(f"data must be str, not {type(data).__name__}")
        with self.open(mode="w", encoding=encoding, errors=errors, newline=newline) as file:
            return file.write(data)  # type: ignore[no-any-return]

    def write_bytes(self, data: Any) -> int:
        view = memoryview(data)  # what pathlib accepts: any bytes-like object
        with self.open(mode="wb") as file:
            return file.write(view)  # type: ignore[no-any-return]

    def touch(self, mode: int = 0o666, exist_ok: bool = True) -> None:
        text = self._text("touch")
        if os.path.lexists(text):
            if not exist_ok:
                raise FileExistsError(17, "File exists", text)
            fs.before_writing(text, "touch")
            return  # times are not the program's to set (the filter refuses utimensat)
        with fs.open(text, "ab"):
            pass

    # -- changing the tree --------------------------------------------------------------

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        text = self._text("mkdir")
        if parents:
            fs.makedirs(text, exist_ok=exist_ok)
            return
        try:
            fs.mkdir(text)
        except FileExistsError:
            if not exist_ok or not os.path.isdir(text):
                raise

    def rmdir(self) -> None:
        fs.rmdir(self._text("rmdir"))

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            fs.unlink(self._text("unlink"))
        except FileNotFoundError:
            if not missing_ok:
                raise

    def rename(self, target: Any) -> Path:
        fs.rename(self._text("rename"), target)
        return Path(fs.path_text(target, "rename"))

    def replace(self, target: Any) -> Path:
        fs.replace(self._text("replace"), target)
        return Path(fs.path_text(target, "replace"))


# Offered as pathlib.Path (PosixPath, PurePath, PurePosixPath), and shown as CPython shows
# the concrete class of a path on this system (``PosixPath('data.csv')``).
Path.__module__ = "pathlib"
Path.__name__ = Path.__qualname__ = "PosixPath"
