"""OS limits a worker puts on itself, checked in a forked child of the test process.

Every check runs after ``os.fork()``: the child applies the limits, tests one thing and
reports it through its exit status (0 = as expected), so the test process itself is
never limited. Limits are sized from the child's current state (address space already
mapped, descriptors already open), so that each one is what stops the attack.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
from collections.abc import Callable
from pathlib import Path

import pytest

from src.protocol import Limits
from src.worker.isolation.hardening import MIB, HardeningError, detach_process_group, harden, set_rlimits
from tests.support.forked import OK, in_child

HEADROOM_MB = 64


def mapped_mb() -> int:
    """Address space this process has mapped already, in MiB (rounded up)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) // 1024 + 1
    raise RuntimeError("no VmSize in /proc/self/status")


def highest_open_fd() -> int:
    return max(int(name) for name in os.listdir("/proc/self/fd"))


def child_limits() -> Limits:
    """Limits just above what this process already uses: tight, but not already exceeded."""
    return {
        "memory_mb": mapped_mb() + HEADROOM_MB,
        "cpu_s": 5,
        "max_open_files": highest_open_fd() + 8,
        "max_result_bytes": 65536,
        "max_error_chars": 2000,
    }


# --------------------------------------------------------------------------- memory


def test_allocation_larger_than_the_memory_limit_raises_memory_error() -> None:
    def check() -> bool:
        limits = child_limits()
        set_rlimits(limits)
        try:
            bytearray(limits["memory_mb"] * MIB)
        except MemoryError:
            return True
        return False

    assert in_child(check) == OK


def test_allocation_within_the_memory_limit_works() -> None:
    def check() -> bool:
        set_rlimits(child_limits())
        block = bytearray(HEADROOM_MB // 4 * MIB)
        return len(block) == HEADROOM_MB // 4 * MIB

    assert in_child(check) == OK


def test_memory_limit_is_the_configured_size() -> None:
    def check() -> bool:
        limits = child_limits()
        set_rlimits(limits)
        return resource.getrlimit(resource.RLIMIT_AS) == (limits["memory_mb"] * MIB, limits["memory_mb"] * MIB)

    assert in_child(check) == OK


# --------------------------------------------------------------------------- files


def test_writing_a_byte_to_a_file_fails_with_efbig(tmp_path: Path) -> None:
    target = tmp_path / "written"

    def check() -> bool:
        set_rlimits(child_limits())
        with open(target, "wb", buffering=0) as f:
            try:
                f.write(b"x")
            except OSError as exc:
                return exc.errno == errno.EFBIG
        return False

    assert in_child(check) == OK


def test_write_refused_leaves_the_file_empty(tmp_path: Path) -> None:
    target = tmp_path / "written"

    def check() -> bool:
        set_rlimits(child_limits())
        with open(target, "wb", buffering=0) as f, contextlib.suppress(OSError):
            f.write(b"x")
        return True

    assert in_child(check) == OK
    assert target.read_bytes() == b""


def test_opening_a_file_for_writing_still_works(tmp_path: Path) -> None:
    target = tmp_path / "opened"

    def check() -> bool:
        set_rlimits(child_limits())
        with open(target, "wb"):
            return True

    assert in_child(check) == OK


def test_writing_to_a_pipe_still_works() -> None:
    def check() -> bool:
        set_rlimits(child_limits())
        read_fd, write_fd = os.pipe()
        written = os.write(write_fd, b"output")
        return written == 6 and os.read(read_fd, 6) == b"output"

    assert in_child(check) == OK


def test_opening_more_files_than_the_limit_fails_with_emfile() -> None:
    def check() -> bool:
        limits = child_limits()
        set_rlimits(limits)
        try:
            for _ in range(limits["max_open_files"] + 1):
                os.open("/dev/null", os.O_RDONLY)
        except OSError as exc:
            return exc.errno == errno.EMFILE
        return False

    assert in_child(check) == OK


def test_opening_files_below_the_limit_works() -> None:
    def check() -> bool:
        set_rlimits(child_limits())
        fd = os.open("/dev/null", os.O_RDONLY)
        os.close(fd)
        return True

    assert in_child(check) == OK


# --------------------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        pytest.param(resource.RLIMIT_AS, lambda lim: (lim["memory_mb"] * MIB, lim["memory_mb"] * MIB), id="as"),
        pytest.param(resource.RLIMIT_CPU, lambda lim: (lim["cpu_s"], lim["cpu_s"] + 1), id="cpu"),
        pytest.param(resource.RLIMIT_FSIZE, lambda lim: (0, 0), id="fsize"),
        pytest.param(resource.RLIMIT_NOFILE, lambda lim: (lim["max_open_files"], lim["max_open_files"]), id="nofile"),
        pytest.param(resource.RLIMIT_NPROC, lambda lim: (0, 0), id="nproc"),
        pytest.param(resource.RLIMIT_CORE, lambda lim: (0, 0), id="core"),
    ],
)  # fmt: skip
def test_set_rlimits_sets_each_limit(which: int, expected: Callable[[Limits], tuple[int, int]]) -> None:
    def check() -> bool:
        limits = child_limits()
        set_rlimits(limits)
        return resource.getrlimit(which) == expected(limits)

    assert in_child(check) == OK


def test_harden_applies_the_rlimits() -> None:
    def check() -> bool:
        limits = child_limits()
        harden(limits)
        return resource.getrlimit(resource.RLIMIT_FSIZE) == (0, 0)

    assert in_child(check) == OK


def test_limit_the_kernel_refuses_raises_hardening_error() -> None:
    nr_open = int(Path("/proc/sys/fs/nr_open").read_text())

    def check() -> bool:
        limits = child_limits()
        limits["max_open_files"] = nr_open + 1
        try:
            set_rlimits(limits)
        except HardeningError:
            return True
        return False

    assert in_child(check) == OK


# --------------------------------------------------------------------------- process group


def test_detach_process_group_makes_the_child_a_group_leader() -> None:
    def check() -> bool:
        detach_process_group()
        return os.getpgid(0) == os.getpid()

    assert in_child(check) == OK
