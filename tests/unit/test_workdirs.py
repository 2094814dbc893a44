"""Working directories on the API server's side (src/sandbox/workdirs.py): made with the
input files, read back for what the program created or changed, removed, and swept when
the service process that made them is gone."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from src.sandbox.workdirs import (
    PREFIX,
    DecodedFile,
    FileLimits,
    WorkDirectories,
    WorkDirectory,
    collect,
    sweep,
)

LIMITS = FileLimits(max_files=8, max_file_bytes=1000, max_files_bytes=2000, max_path_depth=4, max_returned_bytes=1500)


@pytest.fixture
def workdirs(tmp_path: Path) -> Iterator[WorkDirectories]:
    directories = WorkDirectories(tmp_path)
    directories.start()
    yield directories
    directories.stop()


def test_a_directory_of_its_own_per_process_and_per_execution(workdirs: WorkDirectories, tmp_path: Path) -> None:
    assert workdirs.root.parent == tmp_path.resolve() and workdirs.root.name.startswith(PREFIX)
    assert (workdirs.root.stat().st_mode & 0o777) == 0o700
    first, second = workdirs.create([]), workdirs.create([])
    assert first.path != second.path and first.path.parent == workdirs.root
    assert (first.path.stat().st_mode & 0o777) == 0o700


def test_input_files_are_written_with_their_directories(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([DecodedFile("a.txt", b"hello"), DecodedFile("d/e/f.bin", b"\x00\x01")])
    assert (directory.path / "a.txt").read_bytes() == b"hello"
    assert (directory.path / "d/e/f.bin").read_bytes() == b"\x00\x01"
    assert set(directory.inputs) == {"a.txt", "d/e/f.bin"}
    assert collect(directory, LIMITS).files == []  # nothing created or changed


def test_removal_takes_everything_and_stop_takes_the_process_directory(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([DecodedFile("d/x", b"1")])
    WorkDirectories.remove(directory)
    assert not directory.path.exists()
    root = workdirs.root
    workdirs.create([])
    workdirs.stop()
    assert not root.exists()


def test_created_and_changed_files_come_back_in_path_order(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([DecodedFile("in.txt", b"old"), DecodedFile("same.txt", b"same")])
    (directory.path / "in.txt").write_bytes(b"new content")
    (directory.path / "out").mkdir()
    (directory.path / "out/report.txt").write_text("total: 3\n")
    (directory.path / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (directory.path / "data.unknownext").write_bytes(b"\xff\xfe")
    collected = collect(directory, LIMITS)
    assert collected.over_limit is None and not collected.truncated
    shown = [(f.path, f.size, f.encoding, f.media_type) for f in collected.files]
    assert shown == [
        ("chart.png", 9, "base64", "image/png"),
        ("data.unknownext", 2, "base64", "application/octet-stream"),
        ("in.txt", 11, "utf-8", "text/plain"),
        ("out/report.txt", 9, "utf-8", "text/plain"),
    ]
    assert collected.files[3].content == "total: 3\n"


def test_links_and_other_entries_are_neither_followed_nor_listed(workdirs: WorkDirectories, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("do not return me")
    directory = workdirs.create([])
    (directory.path / "link").symlink_to(secret)
    (directory.path / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(directory.path / "fifo")
    assert collect(directory, LIMITS).files == []


def test_past_the_answers_budget_files_are_listed_without_content(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([])
    for name in ("a", "b", "c"):
        (directory.path / name).write_bytes(b"x" * 600)
    collected = collect(directory, LIMITS)
    assert [(f.path, len(f.content), f.truncated) for f in collected.files] == [
        ("a", 600, False),
        ("b", 600, False),
        ("c", 0, True),
    ]
    assert collected.truncated and collected.over_limit is None


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda d: [(d / f"f{i}").write_bytes(b"") for i in range(9)], "holds 9 files; the limit is 8"),
        (lambda d: (d / "big").write_bytes(b"x" * 1001), "'big' is 1,001 bytes; the limit is 1,000"),
        (lambda d: [(d / f"f{i}").write_bytes(b"x" * 900) for i in range(3)], "2,700 bytes in all; the limit is 2,000"),
        (lambda d: (d / "a/b/c/d/e").mkdir(parents=True), "nested more than 4 levels deep"),
    ],
)
def test_past_a_limit_the_files_limit_is_reached_and_no_content_returned(
    workdirs: WorkDirectories, make: object, why: str
) -> None:
    directory = workdirs.create([])
    make(directory.path)  # type: ignore[operator]
    collected = collect(directory, LIMITS)
    assert collected.over_limit is not None and why in collected.over_limit
    assert all(f.content == "" for f in collected.files)


def test_the_walk_is_bounded_whatever_the_directory_holds(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([])
    for i in range(500):
        (directory.path / f"f{i}").write_bytes(b"")
    collected = collect(directory, LIMITS)
    assert collected.over_limit is not None
    assert len(collected.files) <= 4 * LIMITS.max_files + 64


def _left_behind(parent: Path, name: str, age_s: float = 3600) -> Path:
    """A service process's directory as one that died leaves it: unlocked, not young."""
    left = parent / f"{PREFIX}{name}"
    (left / "x").mkdir(parents=True)
    (left / "x/file").write_text("left behind")
    old = time.time() - age_s
    os.utime(left, (old, old))
    return left


def test_a_directory_whose_process_is_gone_is_swept(tmp_path: Path) -> None:
    left = _left_behind(tmp_path, "dead")
    directories = WorkDirectories(tmp_path)
    directories.start()
    try:
        assert not left.exists()
        assert directories.root.exists()
    finally:
        directories.stop()


def test_a_live_processs_directory_is_not_swept_even_if_its_files_are_cleaned(tmp_path: Path) -> None:
    live = _left_behind(tmp_path, "live")
    holding = (
        "import fcntl, os, sys, time\nfd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)"
    )
    # Another process holds the directory's lock, as a running service does; nothing in the
    # directory is needed for that (a tmp cleaner may have removed any file of it).
    with subprocess.Popen([sys.executable, "-c", holding, str(live)], stdout=subprocess.PIPE) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
            assert sweep(tmp_path) == 0
            assert (live / "x/file").exists()
        finally:
            holder.kill()
    assert sweep(tmp_path) == 1
    assert not live.exists()


def test_a_young_directory_is_left_alone(tmp_path: Path) -> None:
    young = _left_behind(tmp_path, "young", age_s=0)
    assert sweep(tmp_path) == 0 and young.exists()
    old = time.time() - 3600
    os.utime(young, (old, old))
    assert sweep(tmp_path) == 1 and not young.exists()


def test_anything_else_in_the_root_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / f"{PREFIX}file").write_text("not a directory")
    assert sweep(tmp_path) == 0
    assert (tmp_path / "other").exists() and (tmp_path / f"{PREFIX}file").exists()


def test_the_process_holds_its_own_lock(workdirs: WorkDirectories) -> None:
    fd = os.open(workdirs.root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


DEEP = FileLimits(
    max_files=64, max_file_bytes=1 << 20, max_files_bytes=8 << 20, max_path_depth=8, max_returned_bytes=1 << 20
)


def _deep(prefix: str, index: int, name: str) -> str:
    return "/".join([f"{prefix}{index}_{level}" for level in range(7)] + [name])


def test_valid_input_files_alone_are_never_over_a_limit(workdirs: WorkDirectories) -> None:
    # 41 files, 39 of them on 8-level paths: their directories counted against the files'
    # budget, a walk ended early and said "limit: files" (attack pass 91, F4).
    files = [DecodedFile(_deep("s", i, "f.txt"), b"x") for i in range(39)]
    files += [DecodedFile(_deep("t", 0, "a.txt"), b"x"), DecodedFile(_deep("t", 0, "b.txt"), b"x")]
    directory = workdirs.create(files)
    assert collect(directory, DEEP).over_limit is None


def test_a_walk_cut_short_says_so(workdirs: WorkDirectories) -> None:
    # The walk used to stop silently when its budget ran out at the end of a listing: the
    # files past it were neither returned nor counted (attack pass 91, F4).
    directory = workdirs.create([DecodedFile(_deep("d", i, f"f{i}.txt"), b"x") for i in range(64)])
    for i in range(64):  # what a program that may write leaves
        (directory.path / _deep("d", i, f"new{i}.bin")).write_bytes(b"y")
    assert collect(directory, DEEP).over_limit is not None


def test_a_tree_deeper_than_any_stack_is_removed(workdirs: WorkDirectories) -> None:
    # Attack pass 92, F5: a program hung directory chains under each other (renames, tar
    # directories) and shutil.rmtree's recursion failed: the directory stayed for good, and
    # the next start's sweep failed with it.
    directory = workdirs.create([DecodedFile("a.txt", b"a")])
    fd = os.open(directory.path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(3000):
            os.mkdir("d", dir_fd=fd)
            below = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = below
        with open(os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), "w") as deep:
            deep.write("x")
    finally:
        os.close(fd)
    (directory.path / "locked").mkdir(mode=0)  # unreadable, as an escaped worker may leave one
    WorkDirectories.remove(directory)
    assert not directory.path.exists()


def test_removing_a_directory_that_is_already_gone_says_nothing(
    workdirs: WorkDirectories, caplog: pytest.LogCaptureFixture
) -> None:
    WorkDirectories.remove(WorkDirectory(workdirs.root / "gone", {}))  # already gone: nothing to say
    assert caplog.records == []


def test_a_name_that_is_not_utf8_is_listed_escaped_without_its_content(workdirs: WorkDirectories) -> None:
    # Attack pass 92, F1: such a name made the reply fail to encode (a 500).
    directory = workdirs.create([])
    (directory.path / "caf\udce9.txt").write_bytes(b"latin-1 name")
    (collected,) = [collect(directory, LIMITS).files]
    assert [(f.path, f.truncated, f.content) for f in collected] == [("caf%E9.txt", True, "")]
    assert collected[0].path.encode("utf-8")


def test_the_answers_budget_counts_what_a_file_costs_as_json(workdirs: WorkDirectories) -> None:
    # Attack pass 93, F18: a control character is six bytes in the answer, one on disk.
    directory = workdirs.create([])
    (directory.path / "a.txt").write_bytes(b"\x01" * 300)  # 1800 bytes as JSON, over the 1500
    (directory.path / "b.txt").write_bytes(b"x" * 300)
    files = collect(directory, LIMITS).files
    assert [(f.path, f.truncated) for f in files] == [("a.txt", True), ("b.txt", False)]


def test_a_directory_at_the_deepest_level_is_allowed_and_anything_in_it_is_not(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([])
    (directory.path / "a/b/c/d").mkdir(parents=True)  # LIMITS: 4 levels
    assert collect(directory, LIMITS).over_limit is None
    (directory.path / "a/b/c/d/e").write_text("x")
    assert collect(directory, LIMITS).over_limit == "a directory is nested more than 4 levels deep"


def test_an_input_file_rewritten_at_once_with_the_same_size_counts_as_changed(workdirs: WorkDirectories) -> None:
    # Attack pass 93: (inode, size, mtime) missed a same-size rewrite within one tick of a
    # coarse clock; inputs are given an old time that only the service can set.
    directory = workdirs.create([DecodedFile("a.txt", b"aaaa")])
    assert (directory.path / "a.txt").stat().st_mtime_ns == 0
    (directory.path / "a.txt").write_bytes(b"bbbb")
    assert [(f.path, f.content) for f in collect(directory, LIMITS).files] == [("a.txt", "bbbb")]


def test_the_media_type_is_the_extensions_never_a_url_in_the_name(workdirs: WorkDirectories) -> None:
    # Attack pass 94, F7: guess_type read "data:text/html,chart.png" as a data: URL.
    directory = workdirs.create([])
    (directory.path / "data:text").mkdir()
    (directory.path / "data:text" / "html,chart.png").write_bytes(b"\x89PNG")
    (file,) = collect(directory, LIMITS).files
    assert (file.path, file.media_type) == ("data:text/html,chart.png", "image/png")


def test_a_name_a_client_could_not_save_safely_is_shown_percent_encoded(workdirs: WorkDirectories) -> None:
    # Attack pass 94, F8: an escaped worker's names went out as they were.
    directory = workdirs.create([])
    (directory.path / "..\\evil.bat").write_text("x")
    (directory.path / "\x1b]0;t\x07.txt").write_text("y")
    files = collect(directory, LIMITS).files
    assert sorted((f.path, f.truncated) for f in files) == [("%1B%5D0%3Bt%07.txt", True), ("..%5Cevil.bat", True)]


# --------------------------------------------------------------------------- a session's directory


def test_a_sessions_input_file_replaces_the_file_of_its_path_and_joins_the_others(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([DecodedFile("data.csv", b"a\n")])
    (directory.path / "made.txt").write_text("by the program")
    added = WorkDirectories.add(directory, [DecodedFile("data.csv", b"b\n"), DecodedFile("new/x.txt", b"x")])
    assert (added.path / "data.csv").read_bytes() == b"b\n"
    assert (added.path / "made.txt").read_text() == "by the program"
    assert (added.path / "new" / "x.txt").read_bytes() == b"x"
    assert set(added.inputs) == {"data.csv", "new/x.txt"}
    assert not [name for name in os.listdir(added.path) if name.startswith(".input-")]


def test_an_input_file_is_never_written_over_a_directory_or_through_a_link(
    workdirs: WorkDirectories, tmp_path: Path
) -> None:
    directory = workdirs.create([])
    (directory.path / "taken").mkdir()
    (directory.path / "out").symlink_to(tmp_path)
    with pytest.raises(OSError):
        WorkDirectories.add(directory, [DecodedFile("taken", b"x")])
    with pytest.raises(OSError):
        WorkDirectories.add(directory, [DecodedFile("out/escape.txt", b"x")])
    assert not (tmp_path / "escape.txt").exists()
    assert not [name for name in os.listdir(directory.path) if name.startswith(".input-")]


def test_rebasing_reports_only_what_the_next_call_writes_even_a_same_size_rewrite(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([])
    (directory.path / "a.txt").write_text("one")
    first = collect(directory, LIMITS, rebase=True)
    assert [file.path for file in first.files] == ["a.txt"]
    assert set(first.baseline) == {"a.txt"}
    rebased = WorkDirectory(directory.path, first.baseline)
    assert collect(rebased, LIMITS, rebase=True).files == []
    # The same size, at once (within the clock's tick): still seen, since the baseline's
    # time is one no write of the program's can have.
    (directory.path / "a.txt").write_text("two")
    assert [file.path for file in collect(rebased, LIMITS, rebase=True).files] == ["a.txt"]


def test_a_request_whose_files_cannot_all_be_placed_places_none(workdirs: WorkDirectories) -> None:
    directory = workdirs.create([])
    (directory.path / "taken").mkdir()
    for refused in (
        [DecodedFile("first.txt", b"1"), DecodedFile("taken", b"x")],  # a directory in the way
        [DecodedFile("first.txt", b"1"), DecodedFile("first.txt/below.txt", b"x")],  # one of its own
        [DecodedFile("first.txt", b"1"), DecodedFile("taken/x.txt", b"ok"), DecodedFile("taken", b"x")],
    ):
        with pytest.raises(OSError):
            WorkDirectories.add(directory, refused)
        assert sorted(os.listdir(directory.path)) == ["taken"]
        assert os.listdir(directory.path / "taken") == []
