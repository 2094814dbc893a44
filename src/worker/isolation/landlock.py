"""Landlock: an unprivileged LSM that takes filesystem, network and signal rights away.

Three system calls, called through ctypes. The one Landlock binding on PyPI (``landlock``
1.0.0.dev5, alpha) handles filesystem rules only; the network rules (ABI 4) and the
scopes (ABI 6) are what matter most here, so this module speaks to the kernel itself.
The template builds the ruleset once (``build_ruleset``); every worker inherits the
descriptor and enforces it with one call (``restrict_self``).

Reference: Documentation/userspace-api/landlock.rst and include/uapi/linux/landlock.h.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import sysconfig
from collections.abc import Iterable

# The same numbers on every architecture that has them (the unified syscall table).
_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_SUPPORTED_MACHINES = frozenset(("x86_64", "aarch64", "arm64", "riscv64", "ppc64le", "s390x"))

_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1

# Filesystem rights, by the ABI version that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
_FS_ABI1 = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
# Network rights (ABI 4): with no rule allowing a port, every TCP bind and connect fails.
_NET_BIND_TCP = 1 << 0
_NET_CONNECT_TCP = 1 << 1
# Scopes (ABI 6): no abstract unix socket and no signal outside this Landlock domain.
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
_SCOPE_SIGNAL = 1 << 1

READ_ONLY = FS_READ_FILE | FS_READ_DIR
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_DIR = 1 << 7
_FS_MAKE_REG = 1 << 8
#: A working directory's rights: read, write, make and remove files and directories, and
#: move them within it. Never links, sockets, FIFOs or devices, nor execution.
_WORKING = READ_ONLY | FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE_DIR | _FS_MAKE_REG


class LandlockError(Exception):
    pass


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in the uapi header: 12 bytes
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _fail(what: str) -> LandlockError:
    errno = ctypes.get_errno()
    return LandlockError(f"{what} failed: {os.strerror(errno)}")


def abi_version() -> int:
    """The Landlock ABI this kernel offers; 0 when it offers none (too old, disabled at
    boot, or an architecture this module does not know the syscall numbers of)."""
    if sys.platform != "linux" or platform.machine() not in _SUPPORTED_MACHINES:
        return 0
    version = _syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, int(version))


def handled_fs(abi: int) -> int:
    rights = _FS_ABI1
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def interpreter_paths() -> list[str]:
    """What a worker may read: the standard library (with its C extensions), the installed
    packages and the time zone data. Nothing else: not the project checkout, not /tmp,
    not /proc, not the rest of /etc. Lazy imports of the standard library keep working
    (encodings, _strptime)."""
    paths = sysconfig.get_paths()
    found: list[str] = []
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = os.path.realpath(paths[key])
        if os.path.isdir(path) and path not in found:
            found.append(path)
    # Time zone data, so that local time is the host's (the C library may read it again).
    for path in (os.path.realpath("/etc/localtime"), "/usr/share/zoneinfo"):
        if os.path.exists(path) and path not in found:
            found.append(path)
    return found


def working_rights(abi: int) -> int:
    """What a process may do beneath a working directory, as far as ``abi`` can say it."""
    rights = _WORKING
    if abi >= 2:
        rights |= _FS_REFER  # rename between two of its directories
    if abi >= 3:
        rights |= _FS_TRUNCATE
    return rights


def build_ruleset(abi: int, readable: Iterable[str], working: Iterable[str] = ()) -> int:
    """A ruleset descriptor (close-on-exec): read-only access beneath ``readable``, the
    working rights beneath each directory of ``working``, no other filesystem access, no
    TCP bind or connect, and no signal or abstract unix socket outside the domain, as far
    as ``abi`` knows how to say so."""
    attr = _RulesetAttr(handled_fs(abi), _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0, 0)
    size = 8
    if abi >= 4:
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        size = 24
    fd = int(_syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)))
    if fd < 0:
        raise _fail("landlock_create_ruleset")
    rules = [(path, None) for path in readable] + [(path, working_rights(abi)) for path in working]
    try:
        for path, granted in rules:
            path_fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                # A file (not a directory) takes file rights only.
                rights = granted or (READ_ONLY if os.path.isdir(path) else FS_READ_FILE)
                rule = _PathBeneathAttr(rights, path_fd)
                if _syscall(_SYS_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), 0):
                    raise _fail(f"landlock_add_rule({path})")
            finally:
                os.close(path_fd)
    except BaseException:
        os.close(fd)
        raise
    return fd


def restrict_self(ruleset_fd: int) -> None:
    """Enforce the ruleset on this process, for good (needs no_new_privs first)."""
    if _syscall(_SYS_RESTRICT_SELF, ruleset_fd, 0):
        raise _fail("landlock_restrict_self")
