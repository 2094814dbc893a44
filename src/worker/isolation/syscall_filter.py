"""The seccomp filters of the template and its workers: an allow list, then a deny list.

Built with libseccomp (through ``pyseccomp``, a ctypes binding that mirrors libseccomp's
own Python API) once, in the template, and exported as BPF programs. A worker installs
its stage with one ``seccomp`` system call: libseccomp's own ``seccomp_load`` regenerates
the program on every call, which costs a worker about 0.4 ms of CPU for nothing.

Two stages, because a filter costs the kernel 0.1 to 0.2 ms to take and that must not be
paid per request:

* ``template``: an **allow list** (``ALLOWED`` plus a few calls allowed only with safe
  arguments), installed once by the template and inherited by every worker. Everything
  else fails with EPERM, including every system call newer than this list: a kernel
  that grows ``setxattrat`` or ``file_setattr`` gives a worker nothing (under a deny list
  it would). It holds what CPython needs to run the catalogue's modules, and what
  the template needs to fork: no socket creation, exec, mount, keyring, bpf, io_uring,
  filesystem write, IPC, inotify, scheduling of other processes...
  ``fcntl`` and ``ioctl`` are allowed for a handful of commands only (no locks, leases,
  signal owners, file attributes, interface queries); commands are compared on their low
  32 bits, the part the kernel reads.
* ``worker``: a short **deny list** each worker adds after its RLIMITs, for what the
  template needed but a program must not have: no new process or thread (``clone``), no
  leaving its process group (``setpgid``), no ``prctl`` (the parent-death signal stays),
  no cancelling its alarm, no new limit, no further filter or Landlock domain, no
  changing the flags of the descriptors it shares with the template (``F_SETFL``), no
  page-cache probing (``MADV_PAGEOUT``, ``MADV_COLD``).

``clone3`` fails with ENOSYS so that the C library falls back to ``clone``, whose flags a
filter can read. A call from a foreign architecture (the 32-bit ABIs on x86_64) kills the
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


#: Allowed to the template and every worker, with any arguments: name -> why. Names an
#: architecture lacks (``open`` on aarch64) are skipped.
ALLOWED: Mapping[str, str] = {
    **_group("memory", "brk mmap munmap mremap mprotect madvise"),
    **_group(
        "reading files (Landlock decides which) and using descriptors it holds",
        """read readv pread64 write writev lseek close close_range dup dup2 dup3 fstat newfstatat stat lstat statx
        access faccessat faccessat2 readlink readlinkat getdents64 getcwd""",
    ),
    **_group("waiting", "poll ppoll select pselect6 nanosleep clock_nanosleep futex sched_yield"),
    **_group("time", "clock_gettime clock_getres gettimeofday time times getrusage"),
    **_group(
        "its own identity and state",
        "getpid getppid gettid getuid geteuid getgid getegid getgroups getresuid getresgid getpgrp uname getrandom",
    ),
    **_group(
        "signals delivered to itself",
        "rt_sigaction rt_sigprocmask rt_sigreturn sigaltstack restart_syscall alarm setitimer",
    ),
    **_group(
        "threads and exit, as the C library runs them",
        "set_tid_address set_robust_list rseq arch_prctl exit exit_group",
    ),
    **_group(
        "the template forking and reaping workers, and a worker confining itself (the worker stage "
        "takes setpgid, prctl and the timers away again)",
        "wait4 recvmsg setpgid prctl seccomp landlock_restrict_self",
    ),
    **_group(
        "a worker's own Landlock domain, narrowed to its working directory (a ruleset only ever takes "
        "rights away), and entering that directory",
        "landlock_create_ruleset landlock_add_rule chdir",
    ),
}

#: Allowed only with these arguments (see build_program): name -> condition.
CONDITIONAL: Mapping[str, str] = {
    "fcntl": "only F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL: no locks, leases, owners, "
    "notifications, pipe resizing",
    "ioctl": "only TCGETS, TIOCGWINSZ, FIOCLEX, FIONCLEX: no file attributes, interfaces, terminal input",
    "clone": "without a CLONE_NEW* namespace flag (the worker stage refuses every clone)",
    "clone3": "fails with ENOSYS, so that the C library uses clone",
    "kill": "only pid 0: the caller's own process group, which holds only itself",
    "open": "only without O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_APPEND, unless Landlock confines writes",
    "openat": "only without O_WRONLY, O_RDWR, O_CREAT, O_TRUNC or O_APPEND, unless Landlock confines writes",
    "prlimit64": "only on itself (pid 0); the worker stage refuses setting a limit",
    "sched_getaffinity": "only its own (pid 0): how many CPUs it may use",
}

#: Allowed to the template stage only where Landlock confines every write to a working
#: directory (hardening.Confinement.writes): a worker's file writes, as its language layer
#: makes them (file_system.py). Never links, modes, owners, times or special files:
#: Landlock does not govern modes, owners and times, and links could point anywhere.
WRITES_WHERE_LANDLOCK_CONFINES: Mapping[str, str] = _group(
    "making, writing, truncating, renaming and removing files and directories in the working directory "
    "(mkdir with the owner's rights, renameat2 without RENAME_WHITEOUT, open without O_TMPFILE and "
    "O_TRUNC only with a writing access mode)",
    "mkdir mkdirat unlink unlinkat rmdir rename renameat renameat2 ftruncate",
)

#: Refused to workers by their own stage, after they used them to confine themselves.
WORKER_DENIED: Mapping[str, str] = {
    **_group("no new process or thread", "clone"),
    **_group(
        "no more filters or domains (each costs kernel memory outside its limits)",
        "seccomp landlock_restrict_self landlock_create_ruleset landlock_add_rule",
    ),
    **_group("stays in its own process group, where kill(0) reaches only itself", "setpgid"),
    **_group("keeps its parent-death signal, dumpable flag and no_new_privs", "prctl"),
    **_group("keeps its wall-clock alarm", "alarm setitimer"),
}

#: What the filters refuse that matters most, and why: documentation and tests (none of
#: these may ever appear in ALLOWED).
NOTABLY_REFUSED: Mapping[str, str] = {
    **_group("network", "socket socketpair connect bind listen accept accept4 sendto sendmsg"),
    **_group("new programs and processes", "execve execveat fork vfork"),
    **_group(
        "other processes",
        """ptrace process_vm_readv process_vm_writev process_madvise kcmp pidfd_open pidfd_getfd pidfd_send_signal
        tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo setpriority sched_setaffinity sched_setscheduler
        sched_setparam sched_setattr ioprio_set setsid""",
    ),
    **_group(
        "namespaces and mounts",
        """unshare setns mount umount2 pivot_root chroot open_tree move_mount fsopen fsconfig fsmount fspick
        mount_setattr""",
    ),
    **_group(
        "kernel attack surface",
        """keyctl add_key request_key bpf perf_event_open userfaultfd personality io_uring_setup io_uring_enter
        io_uring_register io_setup io_submit kexec_load kexec_file_load init_module finit_module delete_module
        reboot swapon swapoff acct syslog quotactl lookup_dcookie fanotify_init inotify_init inotify_init1
        inotify_add_watch name_to_handle_at open_by_handle_at settimeofday clock_settime clock_adjtime adjtimex
        iopl ioperm modify_ldt vhangup mbind set_mempolicy migrate_pages move_pages memfd_create memfd_secret
        splice tee vmsplice""",
    ),
    **_group("identity", "setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups capset"),
    **_group(
        "filesystem writes beyond what the working directory needs (links, modes, owners, times, special files)",
        """creat link linkat symlink symlinkat chmod
        fchmod fchmodat chown fchown lchown fchownat truncate fallocate mknod mknodat utime utimes
        utimensat futimesat setxattr lsetxattr fsetxattr removexattr lremovexattr fremovexattr openat2
        setxattrat removexattrat file_setattr""",
    ),
    **_group(
        "state that outlives the worker",
        """shmget shmat shmctl shmdt msgget msgsnd msgrcv msgctl semget semop semctl semtimedop mq_open mq_unlink
        mq_timedsend mq_timedreceive mq_notify mq_getsetattr""",
    ),
}

_CLONE_NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
#: open flags that write or create: O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND.
_WRITE_OPEN_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_ACCESS, _TRUNC = os.O_ACCMODE, os.O_TRUNC
_TMPFILE = 0o20000000  # __O_TMPFILE (O_TMPFILE is it with O_DIRECTORY)
_OWNER = 0o700
_RENAME_WHITEOUT = 4
#: fcntl commands allowed: duplicate, close-on-exec, status flags. Everything else
#: (locks, leases, F_SETOWN/F_SETSIG, F_NOTIFY, F_SETPIPE_SZ...) is refused.
_F_DUPFD, _F_GETFD, _F_SETFD, _F_GETFL, _F_SETFL, _F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
_FCNTL_ALLOWED = (_F_DUPFD, _F_GETFD, _F_SETFD, _F_GETFL, _F_SETFL, _F_DUPFD_CLOEXEC)
#: ioctl requests allowed: "is this a terminal" (isatty), its size, close-on-exec.
_TCGETS, _TIOCGWINSZ, _FIONCLEX, _FIOCLEX = 0x5401, 0x5413, 0x5450, 0x5451
_IOCTL_ALLOWED = (_TCGETS, _TIOCGWINSZ, _FIONCLEX, _FIOCLEX)
#: madvise advice that probes or evicts shared page cache (a side channel on what other
#: executions import).
_MADV_COLD, _MADV_PAGEOUT = 20, 21
#: The kernel reads these arguments as 32-bit ints: compare the low half only, so that
#: setting bit 32 and up cannot smuggle a command past a rule.
_LOW32 = 0xFFFFFFFF

_SOCK_FILTER_SIZE = 8  # struct sock_filter: u16 code, u8 jt, u8 jf, u32 k


class SeccompError(Exception):
    pass


class SeccompUnavailable(SeccompError):
    """libseccomp is not installed: the host lacks the layer (reported, not fatal)."""


Stage = Literal["template", "worker"]


def build_program(stage: Stage, *, writes: bool = False) -> bytes:
    """One stage as a BPF program for this architecture (raises SeccompError when
    libseccomp is missing or refuses a rule). ``writes``: the template stage allows
    opening files to write and WRITES_WHERE_LANDLOCK_CONFINES (only where Landlock
    confines writes to the working directories)."""
    try:
        import pyseccomp as sc  # noqa: PLC0415 - optional at import time: a host may lack libseccomp
    except (ImportError, OSError) as exc:
        raise SeccompUnavailable(f"libseccomp is not available: {exc}") from exc

    arch = sc.system_arch()
    deny = sc.ERRNO(errno.EPERM)
    allow = sc.ALLOW
    try:

        def known(name: str) -> bool:
            try:
                return int(sc.resolve_syscall(arch, name)) >= 0
            except (ValueError, OSError):
                return False

        # The template stage refuses what it does not list; the worker stage, stacked on
        # top of it, allows what it does not list (the template's list still applies).
        flt = sc.SyscallFilter(deny if stage == "template" else allow)

        def rule(action: int, name: str, *args: object) -> None:
            if known(name):
                flt.add_rule(action, name, *args)

        if stage == "template":
            for name in ALLOWED:
                rule(allow, name)
            rule(allow, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_NAMESPACE_FLAGS, 0))
            rule(sc.ERRNO(errno.ENOSYS), "clone3")
            rule(allow, "kill", sc.Arg(0, sc.EQ, 0))
            if writes:
                for name, flags in (("open", 1), ("openat", 2)):
                    # Without O_TRUNC, or with it and an access mode that writes: Landlock
                    # below ABI 3 does not govern truncation, and Linux truncates a file
                    # opened O_RDONLY|O_TRUNC. Never O_TMPFILE (a file no count sees).
                    rule(allow, name, sc.Arg(flags, sc.MASKED_EQ, _TRUNC | _TMPFILE, 0))
                    for access in (os.O_WRONLY, os.O_RDWR):
                        rule(allow, name, sc.Arg(flags, sc.MASKED_EQ, _ACCESS | _TRUNC | _TMPFILE, access | _TRUNC))
                # A directory its maker can read, write and enter (the service reads it back
                # and removes it as the same user).
                rule(allow, "mkdir", sc.Arg(1, sc.MASKED_EQ, _OWNER, _OWNER))
                rule(allow, "mkdirat", sc.Arg(2, sc.MASKED_EQ, _OWNER, _OWNER))
                # No RENAME_WHITEOUT: it makes a character device.
                rule(allow, "renameat2", sc.Arg(4, sc.MASKED_EQ, _RENAME_WHITEOUT, 0))
                for name in ("unlink", "unlinkat", "rmdir", "rename", "renameat", "ftruncate"):
                    rule(allow, name)
            else:
                rule(allow, "open", sc.Arg(1, sc.MASKED_EQ, _WRITE_OPEN_FLAGS, 0))
                rule(allow, "openat", sc.Arg(2, sc.MASKED_EQ, _WRITE_OPEN_FLAGS, 0))
            rule(allow, "prlimit64", sc.Arg(0, sc.EQ, 0))
            rule(allow, "sched_getaffinity", sc.Arg(0, sc.EQ, 0))
            for command in _FCNTL_ALLOWED:
                rule(allow, "fcntl", sc.Arg(1, sc.MASKED_EQ, _LOW32, command))
            for request in _IOCTL_ALLOWED:
                rule(allow, "ioctl", sc.Arg(1, sc.MASKED_EQ, _LOW32, request))
        else:
            for name in WORKER_DENIED:
                rule(deny, name)
            rule(deny, "prlimit64", sc.Arg(2, sc.NE, 0))
            # Status flags live on the open file description, which /dev/null on fd 0
            # shares with the template: a worker must not leave flags for the next one.
            rule(deny, "fcntl", sc.Arg(1, sc.MASKED_EQ, _LOW32, _F_SETFL))
            for advice in (_MADV_COLD, _MADV_PAGEOUT):
                rule(deny, "madvise", sc.Arg(2, sc.MASKED_EQ, _LOW32, advice))
        # Through a pipe (memfd_create is refused by the container profile). A filter
        # holds at most 4096 instructions, 32 KiB: less than a pipe's 64 KiB buffer, so
        # the export cannot block.
        read_end, write_end = os.pipe()
        try:
            with os.fdopen(write_end, "wb") as sink:
                flt.export_bpf(sink)
            program = b""
            while chunk := os.read(read_end, 65536):
                program += chunk
        finally:
            os.close(read_end)
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
