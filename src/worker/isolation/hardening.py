"""OS-level confinement a worker applies to itself before it looks at the program.

One function per layer, applied in a fixed order. What depends on the host (is there
Landlock, which ABI, can libseccomp build the filter, may we have a network namespace)
is decided once, in the template, by ``prepare_confinement``. The template then
confines itself (``confine_template``: network namespace, capabilities dropped,
no_new_privs, Landlock, seccomp) and every worker inherits that; a worker adds what
depends on its job (``harden``: rlimits, alarm) and what only a worker may not do (its
own Landlock domain, no new process, no new limit). Doing the job-independent part once
keeps it off the request path: a seccomp filter costs the kernel about 0.2 ms to take.

A layer that fails to apply raises ``HardeningError`` and the worker exits without
running anything (fail closed): running weaker than the template announced is never an
option. A layer the host lacks is announced as missing, and /health says so.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import resource
import signal
from dataclasses import dataclass

from ...protocol import DISABLEABLE_LAYERS, Limits
from . import landlock, namespaces, syscall_filter

MIB = 1024 * 1024
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
#: Descriptor number the Landlock ruleset has in a worker (after stdin/out/err and the
#: channel, see template._fork_worker); closed once enforced.
LANDLOCK_FD = 4
_HIGH_FD = 100


class HardeningError(Exception):
    """A confinement layer could not be applied."""


# Looked up once in the template, not in every forked worker.
_libc = ctypes.CDLL(None, use_errno=True)
_libc_prctl = _libc.prctl
_libc_prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
_libc_prctl.restype = ctypes.c_int
_libc.capset.argtypes = (ctypes.c_void_p, ctypes.c_void_p)
_libc.capset.restype = ctypes.c_int


def _prctl(option: int, arg: int) -> None:
    if _libc_prctl(option, arg, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise HardeningError(f"prctl({option}) failed: {os.strerror(errno)}")


def die_with_parent(parent: int | None = None) -> None:
    """SIGKILL this process when its parent dies: no worker outlives its template,
    no template outlives the API server. Checks for a parent that died already
    (``parent``: the pid it must have, when the caller knew it before forking)."""
    parent = os.getppid() if parent is None else parent
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def detach_process_group() -> None:
    """Own process group, so the parent can kill the worker and anything it started."""
    os.setpgid(0, 0)


#: See set_rlimits. Linux leaves at least 128 MiB below the main thread's stack for it
#: to grow into, whatever the limit was when the process started.
STACK_BYTES = 64 * MIB


def set_rlimits(limits: Limits, file_bytes: int = 0) -> None:
    """Memory, CPU time, files of at most ``file_bytes``, few descriptors, no new
    processes, no core dumps, and room for the C stack that the recursion limit allows."""
    memory = limits["memory_mb"] * MIB
    cpu = limits["cpu_s"]
    _, stack_hard = resource.getrlimit(resource.RLIMIT_STACK)
    stack = STACK_BYTES if stack_hard == resource.RLIM_INFINITY else min(STACK_BYTES, stack_hard)
    table = (
        # The main thread's stack may grow this far (within the address space above):
        # recursion through C code costs up to ~3.5 KB of C stack per level, and a
        # program may raise the recursion limit to sys_stand_in.RECURSION_LIMIT_CAP.
        (resource.RLIMIT_STACK, stack, stack_hard),
        # Address space: a MemoryError inside Python instead of the host's OOM killer.
        (resource.RLIMIT_AS, memory, memory),
        # CPU seconds: SIGXCPU at the soft limit, SIGKILL at the hard one (a second later
        # unless a session's worker, whose soft limit the API process moves per call).
        (resource.RLIMIT_CPU, cpu, limits.get("cpu_hard_s", cpu + 1)),
        # No file may grow past file_bytes (0 without a writable working directory): the
        # write that would is refused and SIGXFSZ ends the worker (the "files" limit).
        # Pipes are unaffected.
        (resource.RLIMIT_FSIZE, file_bytes, file_bytes),
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
    The parent kills the worker at the deadline; this is a backstop. The worker's seccomp
    stage refuses alarm and setitimer afterwards, and a program that got past the
    language layer and ignores SIGALRM still dies with its template (parent-death
    signal, set at fork)."""
    if "wall_s" in limits:
        signal.alarm(max(1, limits["wall_s"]))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32))


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


# Built at import (in the template): a worker only makes the call.
_EMPTY_CAPS = (ctypes.byref(_CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)), (_CapData * 2)())


def drop_capabilities() -> None:
    """Empty the effective, permitted and inheritable capability sets (the ambient set
    empties with them). A worker of a service started as root keeps uid 0, so that it
    can still read an interpreter installed under a root-only home, but it can no
    longer override file permissions, raise its own limits, trace or signal others.
    Without root, this is a no-op that confirms there is nothing to drop."""
    if _libc.capset(*_EMPTY_CAPS) != 0:
        raise HardeningError(f"capset failed: {os.strerror(ctypes.get_errno())}")


def set_no_new_privs() -> None:
    """No setuid binary, file capability or LSM transition can give this process more
    rights later; a precondition of unprivileged Landlock and seccomp."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if _libc_prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
        raise HardeningError("no_new_privs did not stick")


def apply_landlock(ruleset_fd: int) -> None:
    try:
        landlock.restrict_self(ruleset_fd)
    except landlock.LandlockError as exc:
        raise HardeningError(str(exc)) from exc


def apply_landlock_with(confinement: Confinement, workdir: str) -> None:
    """A domain of the worker's own: the interpreter's paths read-only, and its working
    directory to read and write (the template's domain allows the executions' directories;
    this one narrows that to this execution's)."""
    try:
        ruleset = landlock.build_ruleset(confinement.landlock_abi, confinement.readable, [workdir])
    except (landlock.LandlockError, OSError) as exc:
        raise HardeningError(f"the working directory's Landlock ruleset failed: {exc}") from exc
    try:
        apply_landlock(ruleset)
    finally:
        os.close(ruleset)


def apply_seccomp(program: syscall_filter.LoadedProgram) -> None:
    try:
        program.install()
    except syscall_filter.SeccompError as exc:
        raise HardeningError(str(exc)) from exc


@dataclass(frozen=True)
class Confinement:
    """What the template and every worker it forks apply: decided once, in the template."""

    #: Layers switched off by a test (protocol.DISABLEABLE_LAYERS); empty in the service.
    disabled: frozenset[str]
    landlock_abi: int
    #: The ruleset a worker enforces when its job has no working directory: read-only
    #: access to the interpreter's paths (in the template; a worker has it as LANDLOCK_FD).
    landlock_fd: int | None
    #: seccomp, in two stages (see syscall_filter.build_program).
    template_filter: syscall_filter.LoadedProgram | None
    worker_filter: syscall_filter.LoadedProgram | None
    network_namespace: bool
    #: The template's own ruleset: the workers' paths and the executions' working
    #: directories (files_root), which each worker then narrows to its own.
    template_landlock_fd: int | None = None
    #: The paths every worker may read (the interpreter's), for a worker's own ruleset.
    readable: tuple[str, ...] = ()
    #: Whether a worker may write its working directory: only where Landlock confines
    #: writes to it (the seccomp filter refuses every write elsewhere).
    writes: bool = False

    @property
    def active(self) -> frozenset[str]:
        layers = {"no_new_privs"} | ({"rlimits", "capabilities"} - self.disabled)
        if self.landlock_fd is not None:
            layers.add("landlock")
        if self.template_filter is not None and self.worker_filter is not None:
            layers.add("seccomp")
        if self.network_namespace:
            layers.add("network_namespace")
        return frozenset(layers)


def _high_ruleset(abi: int, readable: list[str], working: list[str] | None = None) -> int:
    """A ruleset of read-only access beneath ``readable`` (and working rights beneath
    ``working``), its descriptor moved out of the way of the low numbers a worker's
    descriptors are moved to."""
    try:
        built = landlock.build_ruleset(abi, readable, working or ())
        ruleset = fcntl.fcntl(built, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
        os.close(built)
    except (landlock.LandlockError, OSError) as exc:
        raise HardeningError(f"Landlock ABI {abi} is offered but the ruleset failed: {exc}") from exc
    return ruleset


def prepare_confinement(disabled: frozenset[str], files_root: str | None = None) -> Confinement:
    """In the template, before anything else: probe the host and build what it applies.
    ``files_root``: the executions' working directories are beneath it (workers read
    their own, protocol.Job.workdir).

    A layer the host lacks is simply not active (and reported); a layer the host has but
    that cannot be built is an error that stops the template, since the service would
    otherwise run weaker than the host allows without saying so.
    """
    unknown = disabled - DISABLEABLE_LAYERS
    if unknown:
        raise HardeningError(f"these layers cannot be disabled: {sorted(unknown)}")
    netns = "network_namespace" not in disabled and namespaces.enter_network_namespace()
    abi = landlock.abi_version()
    readable = landlock.interpreter_paths()
    ruleset = template_ruleset = None
    if abi and "landlock" not in disabled:
        ruleset = template_ruleset = _high_ruleset(abi, readable)
        if files_root is not None and os.path.isdir(files_root):
            template_ruleset = _high_ruleset(abi, readable, [os.path.realpath(files_root)])
    # Writes are allowed only where Landlock confines them to a working directory.
    writes = template_ruleset is not None and template_ruleset != ruleset
    template_filter = worker_filter = None
    if "seccomp" not in disabled and syscall_filter.kernel_supports_filters():
        try:
            template_filter = syscall_filter.LoadedProgram(syscall_filter.build_program("template", writes=writes))
            worker_filter = syscall_filter.LoadedProgram(syscall_filter.build_program("worker"))
        except syscall_filter.SeccompUnavailable:
            pass  # no libseccomp on this host: reported as unavailable
        except syscall_filter.SeccompError as exc:
            raise HardeningError(str(exc)) from exc
    return Confinement(
        disabled, abi, ruleset, template_filter, worker_filter, netns, template_ruleset, tuple(readable), writes
    )


def confine_template(confinement: Confinement) -> None:
    """In the template, once it has imported and built everything and before it forks:
    the layers that do not depend on a job, inherited by every worker. The template is
    confined by them too: it never needs more than its workers, except fork."""
    if "capabilities" not in confinement.disabled:
        drop_capabilities()
    set_no_new_privs()
    # Not dumpable: /proc/<pid>/fd, mem and environ of the template and of every worker
    # (which inherit the flag) need CAP_SYS_PTRACE, which nobody here has. Otherwise a
    # worker could open /proc/<template>/fd/1 and write forged events to the server.
    _prctl(PR_SET_DUMPABLE, 0)
    if confinement.template_landlock_fd is not None:
        apply_landlock(confinement.template_landlock_fd)
        if confinement.template_landlock_fd != confinement.landlock_fd:
            os.close(confinement.template_landlock_fd)
    if confinement.template_filter is not None:
        apply_seccomp(confinement.template_filter)


def harden(
    limits: Limits, confinement: Confinement | None = None, workdir: str | None = None, file_bytes: int = 0
) -> None:
    """In a worker, once it has its job: the layers that depend on the job or on being
    a worker, in order. Raises HardeningError if any fails.

    The limits first, while the process may still set them; then a Landlock domain of
    its own (nested in the template's: no signal to, and no abstract socket of, its
    siblings or the template; with a working directory, read and write access to it
    and to no other execution's), then the seccomp stage that forbids new processes and
    new limits, last because it refuses what the steps before it used."""
    disabled = confinement.disabled if confinement is not None else frozenset()
    if "rlimits" not in disabled:
        set_rlimits(limits, file_bytes if workdir is not None else 0)
    set_alarm(limits)
    if confinement is None:
        return
    if confinement.landlock_fd is not None:
        try:
            if workdir is None:
                apply_landlock(LANDLOCK_FD)
            else:
                apply_landlock_with(confinement, workdir)
        finally:
            os.close(LANDLOCK_FD)
    if confinement.worker_filter is not None:
        apply_seccomp(confinement.worker_filter)
