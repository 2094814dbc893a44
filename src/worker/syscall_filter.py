"""The worker's seccomp filter: system calls a confined program has no business making.

Built with libseccomp (through ``pyseccomp``, a ctypes binding that mirrors libseccomp's
own Python API) once, in the template, and exported as a BPF program. Each worker then
installs those bytes with one ``seccomp`` system call: libseccomp's own ``seccomp_load``
regenerates the program on every call, which costs a worker about 0.4 ms of CPU for
nothing.

Why a deny list and not an allow list: the program is ordinary Python calling into the
whole standard library, and an allow list that misses one harmless call breaks ordinary
code in ways nobody can predict. Every call that reaches outside the process (network,
processes, signals, files, mounts, keyrings, kernel modules, shared memory that outlives
the worker) is refused here; the container profile (seccomp.json) is the allow list
around the whole service, and Landlock takes the filesystem and TCP away on top.

Refused calls fail with EPERM (the program sees a PermissionError), except ``clone3``,
which fails with ENOSYS so that the C library falls back to ``clone``, whose flags a
filter can read. A call from a foreign architecture (the 32-bit ABI on x86_64) kills the
process: libseccomp's default for architectures the filter was not built for.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Mapping
from typing import Literal


def _group(why: str, names: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), why)


#: Refused to the template and to every worker: name -> why. A name the running
#: architecture does not have (``fork`` on aarch64) is skipped: nothing to refuse.
DENIED: Mapping[str, str] = {
    # The worker talks only through the descriptors it inherited.
    **_group("network", "socket socketpair connect bind listen accept accept4"),
    # New programs. (The C library forks with clone, which the worker filter refuses.)
    **_group("process creation", "execve execveat fork vfork"),
    # Other processes: debugging, memory, descriptors, signals (kill is filtered below).
    **_group(
        "other processes", "ptrace process_vm_readv process_vm_writev process_madvise kcmp pidfd_open pidfd_getfd"
    ),
    **_group("signals to other processes", "tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal"),
    **_group(
        "namespaces and mounts",
        """unshare setns mount umount2 pivot_root chroot open_tree move_mount fsopen fsconfig fsmount fspick
        mount_setattr""",
    ),
    # Kernel attack surface an ordinary program never needs.
    **_group(
        "kernel attack surface",
        """keyctl add_key request_key bpf perf_event_open userfaultfd personality io_uring_setup io_uring_enter
        io_uring_register kexec_load kexec_file_load init_module finit_module delete_module reboot swapon swapoff
        acct syslog quotactl quotactl_fd lookup_dcookie fanotify_init name_to_handle_at open_by_handle_at
        settimeofday clock_settime clock_adjtime adjtimex iopl ioperm vhangup uselib mbind set_mempolicy
        migrate_pages move_pages memfd_secret""",
    ),
    # Whatever identity the process was given, it keeps, and it gets no capability back.
    **_group("identity", "setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups capset"),
    # Writing to the filesystem in any form (RLIMIT_FSIZE=0 only stops file growth).
    **_group(
        "filesystem writes",
        """creat unlink unlinkat rename renameat renameat2 mkdir mkdirat rmdir link linkat symlink symlinkat chmod
        fchmod fchmodat fchmodat2 chown fchown lchown fchownat truncate ftruncate mknod mknodat utime utimes
        utimensat futimesat setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr openat2""",
    ),
    # Shared memory and message queues outlive the process: the next worker could read them.
    **_group(
        "state that outlives the worker",
        """shmget shmat shmctl shmdt msgget msgsnd msgrcv msgctl semget semop semctl semtimedop mq_open mq_unlink
        mq_timedsend mq_timedreceive mq_notify mq_getsetattr""",
    ),
}

#: Refused to workers only, by a second filter each worker adds after its RLIMITs: the
#: template forks (clone), and a worker sets its limits, before these are refused.
WORKER_DENIED: Mapping[str, str] = _group("limits", "setrlimit")

_CLONE_THREAD = 0x00010000
#: open flags that write or create: O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND.
_WRITE_OPEN_FLAGS = (os.O_WRONLY, os.O_RDWR, os.O_CREAT, os.O_TRUNC, os.O_APPEND)

_SOCK_FILTER_SIZE = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k


class SeccompError(Exception):
    pass


Stage = Literal["template", "worker"]


def build_program(stage: Stage) -> bytes:
    """One stage of the filter as a BPF program for this architecture (raises
    SeccompError when libseccomp is missing or refuses a rule).

    ``template``: installed once in the template and inherited by every worker; the long
    list (kernel JIT cost about 0.2 ms, paid once). ``worker``: a few instructions a
    worker adds on top after setting its limits: no new process, no limit raised.
    """
    try:
        import pyseccomp as sc  # noqa: PLC0415 - optional at import time: a host may lack libseccomp
    except (ImportError, OSError) as exc:
        raise SeccompError(f"libseccomp is not available: {exc}") from exc

    arch = sc.system_arch()
    deny = sc.ERRNO(errno.EPERM)
    try:
        flt = sc.SyscallFilter(sc.ALLOW)

        def known(name: str) -> bool:
            try:
                return int(sc.resolve_syscall(arch, name)) >= 0
            except (ValueError, OSError):
                return False

        def rule(action: int, name: str, *args: object) -> None:
            if known(name):
                flt.add_rule(action, name, *args)

        if stage == "template":
            for name in DENIED:
                rule(deny, name)
            # ENOSYS, so that the C library falls back to clone, whose flags are readable.
            rule(sc.ERRNO(errno.ENOSYS), "clone3")
            # Signals: only kill(0, sig), the caller's own process group. The template
            # and each worker made a group of their own, and a worker cannot fork.
            rule(deny, "kill", sc.Arg(0, sc.NE, 0))
            # Opening for writing or creation, whatever the path.
            for flag in _WRITE_OPEN_FLAGS:
                rule(deny, "open", sc.Arg(1, sc.MASKED_EQ, flag, flag))
                rule(deny, "openat", sc.Arg(2, sc.MASKED_EQ, flag, flag))
            # Another process's limits.
            rule(deny, "prlimit64", sc.Arg(0, sc.NE, 0))
        else:
            for name in WORKER_DENIED:
                rule(deny, name)
            # A process, not a thread: clone without CLONE_THREAD.
            rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_THREAD, 0))
            # Setting a limit (reading one, new_limit NULL, stays allowed).
            rule(deny, "prlimit64", sc.Arg(2, sc.NE, 0))
        fd = os.memfd_create("seccomp-bpf", os.MFD_CLOEXEC)
        try:
            with os.fdopen(os.dup(fd), "wb") as sink:
                flt.export_bpf(sink)
            program = os.pread(fd, 1 << 20, 0)
        finally:
            os.close(fd)
    except (OSError, ValueError, RuntimeError) as exc:
        raise SeccompError(f"the seccomp filter could not be built: {exc}") from exc
    return program


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277, "arm64": 277}.get(os.uname().machine, -1)
_SECCOMP_SET_MODE_FILTER = 1


class LoadedProgram:
    """A BPF program ready for the kernel, built in the template: a worker's install is
    one system call, with no allocation and nothing for copy-on-write to copy first."""

    def __init__(self, program: bytes) -> None:
        if not program or len(program) % _SOCK_FILTER_SIZE:
            raise SeccompError("libseccomp exported a malformed program")
        self.instructions = len(program) // _SOCK_FILTER_SIZE
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(self.instructions, ctypes.cast(self._buffer, ctypes.c_void_p))
        self._fprog_ref = ctypes.byref(self._fprog)
        self._args = (ctypes.c_long(_SECCOMP_SET_MODE_FILTER), ctypes.c_long(0), self._fprog_ref)

    def install(self) -> None:
        """Load the program into this process for good. Needs no_new_privs (or
        CAP_SYS_ADMIN) first."""
        if _SYS_SECCOMP < 0:
            raise SeccompError("no seccomp system call number for this architecture")
        if _syscall(_SYS_SECCOMP, *self._args) != 0:
            raise SeccompError(f"seccomp(SECCOMP_SET_MODE_FILTER) failed: {os.strerror(ctypes.get_errno())}")


def kernel_supports_filters() -> bool:
    """PR_GET_SECCOMP answers 0, or 2 when a filter is installed already (a container
    runtime's profile: filters stack, so ours still applies); -1 (EINVAL) when the
    kernel was built without seccomp."""
    return _SYS_SECCOMP >= 0 and _libc.prctl(21, 0, 0, 0, 0) in (0, 2)
