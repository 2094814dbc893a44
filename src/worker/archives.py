"""``zipfile`` and ``tarfile`` in the sandbox: archives in the working directory, read,
written and extracted there.

The real ``ZipFile`` and ``TarFile`` open paths of their own (``write``, ``add``,
``extractall``'s destination, ``TarFile.open``) and hand out records whose methods read
any path (``ZipInfo.from_file``, ``TarFile.gettarinfo``). The program holds neither: it
holds these classes, each of which keeps the real archive in a slot the program cannot
read (a private name), checks every path it is given (file_system.py), and answers with
bytes, strings, in-memory files and read-only records. Extraction:

* names are cleaned by the library (zipfile drops ``..`` and leading ``/``; tarfile runs
  the ``data`` filter, the only one offered, which refuses links out, absolute names,
  devices and special modes), and the destination is checked like any path;
* before anything is written, the members' declared sizes and their number are added to
  what the directory holds: past the limits the program ends with the "files" limit (a
  member cannot write more than it declares: the libraries stop there), and RLIMIT_FSIZE
  bounds each file whatever an archive claims.
"""

from __future__ import annotations

import bz2  # noqa: F401 - the compressions tarfile and zipfile import on first use: here, in the template
import contextlib
import gzip  # noqa: F401
import io
import lzma  # noqa: F401
import os
import posixpath
import tarfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from . import file_system as fs
from .membrane import shown_as

# ----------------------------------------------------------------------------- records


class ZipInfo:
    """One member of a zip archive, read-only: what ``infolist()`` and ``getinfo()`` give."""

    __slots__ = ("CRC", "comment", "compress_size", "date_time", "file_size", "filename")
    CRC: int
    comment: bytes
    compress_size: int
    date_time: tuple[int, ...]
    file_size: int
    filename: str

    def __init__(self, info: zipfile.ZipInfo) -> None:
        for name, value in (
            ("filename", str(info.filename)),
            ("file_size", int(info.file_size)),
            ("compress_size", int(info.compress_size)),
            ("date_time", tuple(info.date_time)),
            ("CRC", int(info.CRC)),
            ("comment", bytes(info.comment)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("archive records are read-only in the sandbox")

    def is_dir(self) -> bool:
        return self.filename.endswith("/")

    def __repr__(self) -> str:
        return f"<ZipInfo filename={self.filename!r} file_size={self.file_size}>"


class TarInfo:
    """One member of a tar archive, read-only: what ``getmembers()`` and ``getmember()`` give."""

    __slots__ = ("linkname", "mode", "mtime", "name", "size", "type")
    linkname: str
    mode: int
    mtime: int
    name: str
    size: int
    type: bytes

    def __init__(self, info: tarfile.TarInfo) -> None:
        for name, value in (
            ("name", str(info.name)),
            ("size", int(info.size)),
            ("mtime", int(info.mtime)),
            ("mode", int(info.mode)),
            ("type", bytes(info.type)),
            ("linkname", str(info.linkname)),
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("archive records are read-only in the sandbox")

    @property
    def path(self) -> str:
        return self.name

    def isfile(self) -> bool:
        return self.type in tarfile.REGULAR_TYPES

    isreg = isfile

    def isdir(self) -> bool:
        return self.type == tarfile.DIRTYPE

    def issym(self) -> bool:
        return self.type == tarfile.SYMTYPE

    def islnk(self) -> bool:
        return self.type == tarfile.LNKTYPE

    def __repr__(self) -> str:
        return f"<TarInfo {self.name!r}>"


for _record, _module in ((ZipInfo, "zipfile"), (TarInfo, "tarfile")):
    shown_as(_record, _module)  # made only by the archives: the class is an inert stand-in


def _within_limits(members: Iterable[tuple[bool, int]], destination: str, implied_directories: int = 0) -> None:
    """End the program (the "files" limit) if writing these members (each: whether it is a
    directory, its declared size) into ``destination`` would pass the directory's limits.
    Every member that is not a directory counts as a file (a link becomes a copy: the
    sandbox makes no links)."""
    rules = fs.current_rules("extract")
    files, directories, size = fs.census(rules)
    members = list(members)
    new_directories = max(implied_directories, sum(1 for is_dir, _ in members if is_dir))
    # A tar header may declare a negative size (base-256): it writes nothing and must not
    # cancel what the others write.
    sizes = [max(0, member_size) for is_dir, member_size in members if not is_dir]
    if (
        files + len(sizes) > rules["max_files"]
        or directories + new_directories > rules["max_files"] * rules["max_path_depth"]
        or size + sum(sizes) > rules["max_files_bytes"]
        or any(member_size > rules["max_file_bytes"] for member_size in sizes)
    ):
        fs.stop_at_the_files_limit()
    fs.before_writing(destination, "extract")


def _source(file: Any, function: str, writing: bool) -> Any:
    """A path checked (and, to be written, counted), or a file object the program holds.
    Nothing else reaches the libraries: they open bytes as a path and an int as a
    descriptor (the worker's reply channel among them)."""
    if isinstance(file, (str, os.PathLike)):
        text = fs.confined(file, function)
        if writing:
            fs.before_creating(text, function, "file")
        return text
    return _file_object(file, function)


def _file_object(file: Any, function: str) -> Any:
    if (
        isinstance(file, (int, bytes, bytearray, memoryview))
        or hasattr(type(file), "__index__")  # builtins.open takes one as a descriptor
        or not (hasattr(file, "read") or hasattr(file, "write"))
    ):
        raise TypeError(f"{function}() takes a path (str or pathlib.Path) or a file object, not {type(file).__name__}")
    return file


# ----------------------------------------------------------------------------- zipfile


class ZipFile:
    """``zipfile.ZipFile`` over a path in the working directory or a file object."""

    __slots__ = ("_archive",)
    _archive: zipfile.ZipFile

    def __init__(
        self,
        file: Any,
        mode: str = "r",
        compression: int = zipfile.ZIP_STORED,
        allowZip64: bool = True,
        compresslevel: int | None = None,
        *,
        strict_timestamps: bool = True,
    ) -> None:
        if mode not in ("r", "w", "a", "x"):
            raise ValueError("ZipFile requires mode 'r', 'w', 'x', or 'a'")
        if hasattr(self, "_archive"):
            raise TypeError("ZipFile is already open")
        source = _source(file, "ZipFile", mode != "r")
        archive = zipfile.ZipFile(  # type: ignore[call-overload]  # mode is checked above, at run time
            source, mode, compression, allowZip64, compresslevel, strict_timestamps=strict_timestamps
        )
        object.__setattr__(self, "_archive", archive)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ZipFile's fields are read-only in the sandbox")

    def __reduce_ex__(self, protocol: object) -> Any:
        # copy would otherwise copy the real archive it keeps (and deepcopy's memo hand it out).
        raise TypeError("ZipFile objects cannot be copied")

    def __enter__(self) -> ZipFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<zipfile.ZipFile mode={self._archive.mode!r}>"

    @property
    def filename(self) -> str | None:
        name = self._archive.filename
        return name if isinstance(name, str) else None

    @property
    def mode(self) -> str:
        return self._archive.mode

    @property
    def comment(self) -> bytes:
        return bytes(self._archive.comment)

    def close(self) -> None:
        self._archive.close()

    def namelist(self) -> list[str]:
        return self._archive.namelist()

    def infolist(self) -> list[ZipInfo]:
        return [ZipInfo(info) for info in self._archive.infolist()]

    def getinfo(self, name: Any) -> ZipInfo:
        return ZipInfo(self._archive.getinfo(_member_name(name)))

    def read(self, name: Any, pwd: bytes | None = None) -> bytes:
        return self._archive.read(_member_name(name), pwd)

    def open(self, name: Any, mode: str = "r", pwd: bytes | None = None) -> io.BytesIO:
        """A member's content as an in-memory binary file (reading only; write members
        with writestr)."""
        if mode != "r":
            raise ValueError("ZipFile.open(): only mode 'r' in the sandbox; write members with writestr()")
        return io.BytesIO(self._archive.read(_member_name(name), pwd))

    def testzip(self) -> str | None:
        return self._archive.testzip()

    def setpassword(self, pwd: bytes) -> None:
        self._archive.setpassword(pwd)

    def writestr(
        self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None, compresslevel: int | None = None
    ) -> None:
        self._archive.writestr(_member_name(zinfo_or_arcname), data, compress_type, compresslevel)

    def write(
        self, filename: Any, arcname: Any = None, compress_type: int | None = None, compresslevel: int | None = None
    ) -> None:
        text = fs.confined(filename, "write")
        name = None if arcname is None else fs.path_text(arcname, "write")
        self._archive.write(text, name, compress_type, compresslevel)

    def mkdir(self, zinfo_or_directory_name: Any, mode: int = 0o777) -> None:
        self._archive.mkdir(_member_name(zinfo_or_directory_name), mode)

    def extract(self, member: Any, path: Any = None, pwd: bytes | None = None) -> str:
        destination = fs.confined("." if path is None else path, "extract")
        info = self._archive.getinfo(_member_name(member))
        _check_depth(destination, [info.filename])
        _within_limits([(info.is_dir(), info.file_size)], destination, _directories_of([info.filename]))
        return posixpath.normpath(self._archive.extract(info, destination, pwd))

    def extractall(self, path: Any = None, members: Any = None, pwd: bytes | None = None) -> None:
        destination = fs.confined("." if path is None else path, "extractall")
        names = self._archive.namelist() if members is None else [_member_name(m) for m in members]
        infos = [self._archive.getinfo(name) for name in names]
        _check_depth(destination, names)
        _within_limits(
            [(False, info.file_size) for info in infos if not info.is_dir()], destination, _directories_of(names)
        )
        self._archive.extractall(destination, names, pwd)  # noqa: S202 - zipfile cleans the names; destination checked

    def printdir(self) -> None:
        self._archive.printdir()


def _member_name(member: Any) -> str:
    if isinstance(member, (ZipInfo, TarInfo)):
        return member.filename if isinstance(member, ZipInfo) else member.name
    if not isinstance(member, str):
        raise TypeError(f"a member is named by a str (or the archive's record), not {type(member).__name__}")
    return str.__str__(member)


def _check_depth(destination: str, names: Iterable[str]) -> None:
    """Every member's path, as the libraries clean it on this system (split on "/" only),
    must pass the path checks: depth, length, UTF-8, no backslash or control character."""
    for name in names:
        parts = [part for part in name.split("/") if part not in ("", ".", "..")]
        if parts:
            fs.confined(posixpath.join(destination, *parts), "extract")


def _directories_of(names: Iterable[str]) -> int:
    """How many directories extracting ``names`` may make: every parent of every member
    (the libraries make them as they go), and the members that are directories."""
    made: set[str] = set()
    for name in names:
        parts = [part for part in name.split("/") if part not in ("", ".", "..")]
        made.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
        if name.endswith("/") and parts:
            made.add("/".join(parts))
    return len(made)


def is_zipfile(filename: Any) -> bool:
    return zipfile.is_zipfile(_source(filename, "is_zipfile", writing=False))


# ----------------------------------------------------------------------------- tarfile


class TarFile:
    """A tar archive opened by ``tarfile.open`` over a path in the working directory or a
    file object."""

    __slots__ = ("_archive",)
    _archive: tarfile.TarFile

    def __init__(self, archive: tarfile.TarFile) -> None:
        object.__setattr__(self, "_archive", archive)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("TarFile's fields are read-only in the sandbox")

    def __reduce_ex__(self, protocol: object) -> Any:
        # copy would otherwise copy the real archive it keeps (and deepcopy's memo hand it out).
        raise TypeError("TarFile objects cannot be copied")

    def __enter__(self) -> TarFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Any:
        return iter(self.getmembers())

    def __repr__(self) -> str:
        return "<tarfile.TarFile>"

    @property
    def name(self) -> str | None:
        """The archive's path in the working directory; None for a file object's, or one
        outside it (tarfile keeps an absolute name)."""
        name = self._archive.name
        if not isinstance(name, str):
            return None
        relative = posixpath.relpath(name)
        return None if relative == ".." or relative.startswith("../") else relative

    def close(self) -> None:
        self._archive.close()

    def getnames(self) -> list[str]:
        return self._archive.getnames()

    def getmembers(self) -> list[TarInfo]:
        return [TarInfo(info) for info in self._archive.getmembers()]

    def getmember(self, name: Any) -> TarInfo:
        return TarInfo(self._archive.getmember(_member_name(name)))

    def extractfile(self, member: Any) -> io.BytesIO | None:
        """A member's content as an in-memory binary file; None for what is not a file."""
        reading = self._archive.extractfile(_member_name(member))
        if reading is None:
            return None
        with reading:
            return io.BytesIO(reading.read())

    def extract(self, member: Any, path: Any = "", set_attrs: bool = True, *, filter: Any = None) -> None:  # noqa: A002
        _data_filter_only(filter)
        destination = fs.confined(path or ".", "extract")
        info = self._archive.getmember(_member_name(member))
        _check_depth(destination, [info.name])
        _within_limits([(info.isdir(), info.size)], destination, _directories_of(_tar_names([info])))
        with _errors_without_host_paths():
            self._archive.extract(info, destination, set_attrs=False, filter=_data_without_links)

    def extractall(
        self,
        path: Any = ".",
        members: Any = None,
        *,
        numeric_owner: bool = False,
        filter: Any = None,  # noqa: A002 - tarfile's name
    ) -> None:
        _data_filter_only(filter)
        destination = fs.confined(path or ".", "extractall")
        infos = (
            self._archive.getmembers()
            if members is None
            else [self._archive.getmember(_member_name(member)) for member in members]
        )
        _check_depth(destination, [info.name for info in infos])
        files = [(False, info.size) for info in infos if not info.isdir()]
        _within_limits(files, destination, _directories_of(_tar_names(infos)))
        with _errors_without_host_paths():
            self._archive.extractall(destination, infos, filter=_data_without_links)  # noqa: S202 - filtered

    def add(self, name: Any, arcname: Any = None, recursive: bool = True, *, filter: Any = None) -> None:  # noqa: A002
        if filter is not None:
            raise TypeError("TarFile.add(): the sandbox does not take a filter")
        text = fs.confined(name, "add")
        self._archive.add(text, None if arcname is None else fs.path_text(arcname, "add"), bool(recursive))

    def list(self, verbose: bool = True, *, members: Any = None) -> None:
        self._archive.list(bool(verbose))


def _tar_names(infos: Iterable[tarfile.TarInfo]) -> list[str]:
    """Member names as _directories_of reads them: tarfile drops a directory's trailing "/"."""
    return [f"{info.name}/" if info.isdir() else info.name for info in infos]


def _data_without_links(member: tarfile.TarInfo, destination: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter, and no links: the sandbox makes none (the system-call
    filter refuses them), and tarfile would write a full copy of the target for each one
    in its place, uncounted."""
    if member.islnk() or member.issym():
        raise tarfile.FilterError(f"{member.name!r} is a link; the sandbox does not make links")
    return tarfile.data_filter(member, destination)


@contextlib.contextmanager
def _errors_without_host_paths() -> Iterator[None]:
    """tarfile's errors name the destination by its host path: the program's is relative."""
    try:
        yield
    except tarfile.TarError as error:
        kind = type(error)
        if getattr(kind, "__module__", None) != "tarfile":
            raise  # the program's own (raised from its file object): its text is its own
        message = BaseException.__str__(error)
        message = str.__str__(message) if isinstance(message, str) else ""
        here = os.getcwd()
        # The execution's directory, the service's, and the files root above them.
        parent = os.path.dirname(here)
        for prefix, shown in ((here, "."), (parent, ".."), (os.path.dirname(parent), "../..")):
            message = message.replace(prefix + "/", shown + "/").replace(prefix, shown)
        plain = kind.__new__(kind)
        plain.args = (message,)
        raise plain from None


def _data_filter_only(filter: Any) -> None:  # noqa: A002
    if filter not in (None, "data"):
        raise ValueError(
            "tarfile: only the 'data' extraction filter is offered in the sandbox (it refuses links out of the "
            "destination, absolute names and special files)"
        )


_MODES = (
    frozenset(f"{kind}{sep}{how}" for kind in "rwax" for sep in ":|" for how in ("", "gz", "bz2", "xz"))
    | frozenset(("r:*", "r|*"))
    | frozenset("rwax")
)


def open(  # noqa: A001 - tarfile.open's name
    name: Any = None, mode: str = "r", fileobj: Any = None, bufsize: int = tarfile.RECORDSIZE, **kwargs: Any
) -> TarFile:
    """``tarfile.open`` over a path in the working directory or a file object."""
    if not isinstance(mode, str) or str.__str__(mode) not in _MODES or mode.startswith("a|"):
        raise ValueError(f"tarfile.open(): unsupported mode {mode!r}")
    mode = str.__str__(mode)
    unknown = set(kwargs) - {"format", "encoding", "errors", "compresslevel", "preset"}
    if unknown:
        raise TypeError(f"tarfile.open(): the sandbox does not take {', '.join(sorted(unknown))}")
    writing = mode[0] != "r"
    source = None if name is None else _source(name, "tarfile.open", writing)
    if source is None and fileobj is None:
        raise ValueError("tarfile.open(): nothing to open (give a name or a fileobj)")
    if fileobj is not None:
        fileobj = _file_object(fileobj, "tarfile.open")
        if source is None:
            # Not None: tarfile would read the file object's own name and join it to the
            # host's working directory (a str subclass's __radd__ received that path).
            source = ""
    opened = tarfile.open(source, mode, fileobj, bufsize, **kwargs)  # type: ignore[call-overload]  # noqa: SIM115
    return TarFile(opened)


def is_tarfile(name: Any) -> bool:
    return tarfile.is_tarfile(_source(name, "is_tarfile", writing=False))


# Made only by tarfile.open: the class is an inert stand-in, its instances pass.
shown_as(TarFile, "tarfile")
# Offered as zipfile.ZipFile: shown as the module it stands for.
ZipFile.__module__ = "zipfile"
