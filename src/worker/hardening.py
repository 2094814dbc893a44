"""OS-level confinement a worker applies to itself before it looks at the program.

One function per layer, applied in a fixed order by ``harden``. A layer that fails to
apply raises ``HardeningError`` and the worker exits without running anything (fail
closed): running weaker than configured is never an option.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal

from ..protocol import Limits

MIB = 1024 * 1024
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4


class HardeningError(Exception):
    """A confinement layer could not be applied."""


# Looked up once in the template, not in every forked worker.
_libc = ctypes.CDLL(None, use_errno=True)
_libc_prctl = _libc.prctl
_libc_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
_libc_prctl.restype = ctypes.c_int


def _prctl(option: int, arg: int) -> None:
    if _libc_prctl(option, arg, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise HardeningError(f"prctl({option}) failed: {os.strerror(errno)}")


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies: no worker outlives its template,
    no template outlives the API server. Checks for a parent that died already."""
    parent = os.getppid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def detach_process_group() -> None:
    """Own process group, so the parent can kill the worker and anything it started."""
    os.setpgid(0, 0)


def set_rlimits(limits: Limits) -> None:
    """Memory, CPU time, no file writes, few descriptors, no new processes, no core dumps."""
    memory = limits["memory_mb"] * MIB
    cpu = limits["cpu_s"]
    table = (
        # Address space: a MemoryError inside Python instead of the host's OOM killer.
        (resource.RLIMIT_AS, memory, memory),
        # CPU seconds: SIGXCPU at the soft limit, SIGKILL a second later if it is ignored.
        (resource.RLIMIT_CPU, cpu, cpu + 1),
        # No file may grow: writing a regular file fails with EFBIG (pipes are unaffected).
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_NOFILE, limits["max_open_files"], limits["max_open_files"]),
        # No new processes for this uid (not enforced for root: seccomp covers that).
        (resource.RLIMIT_NPROC, 0, 0),
        (resource.RLIMIT_CORE, 0, 0),
    )
    try:
        for which, soft, hard in table:
            resource.setrlimit(which, (soft, hard))
    except (OSError, ValueError) as exc:
        raise HardeningError(f"setrlimit failed: {exc}") from exc


def set_alarm(limits: Limits) -> None:
    """SIGALRM (default action: terminate) once the job's wall-clock budget is spent.
    The parent kills the worker at the deadline; this bounds a worker whose parent is
    gone (nothing in the sandbox can install a handler for it)."""
    if "wall_s" in limits:
        signal.alarm(max(1, limits["wall_s"]))


def harden(limits: Limits) -> None:
    """All layers, in order. Raises HardeningError if any fails."""
    set_rlimits(limits)
    set_alarm(limits)
