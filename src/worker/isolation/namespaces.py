"""A network namespace of its own for the template, and so for every worker it forks.

In a fresh network namespace there is only a loopback interface, and it is down: no
route anywhere, not even to the API server's port on 127.0.0.1. The template and its
workers talk to the server through unix socketpairs they inherited, which need no
network. An IPC namespace comes with it, so System V shared memory and message queues
are not shared with the host either, and a UTS namespace whose host name is
``sandbox``, so ``uname`` does not tell a program which machine it runs on.

Optional: it needs CAP_SYS_ADMIN, or unprivileged user namespaces (often disabled, and
refused inside most container runtimes' seccomp profiles). ``/health`` reports whether it
was entered; ``EXECUTOR_REQUIRED_LAYERS`` may demand it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

_CLONE_NEWUTS = 0x04000000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> bool:
    return bool(_libc.unshare(ctypes.c_int(flags)) == 0)


def _map_self(uid: int, gid: int) -> None:
    """Inside a new user namespace, be the same uid and gid as outside (and no more)."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{gid} {gid} 1")


#: The host name a program sees.
HOST_NAME = b"sandbox"
_NAMESPACES = _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS


def _name_the_host() -> None:
    _libc.sethostname(ctypes.c_char_p(HOST_NAME), ctypes.c_size_t(len(HOST_NAME)))


def enter_network_namespace() -> bool:
    """Move this (single-threaded) process into new network, IPC and UTS namespaces.
    Returns whether it did; never raises."""
    if _unshare(_NAMESPACES):
        _name_the_host()
        return True  # privileged: no user namespace needed
    uid, gid = os.geteuid(), os.getegid()
    if not _unshare(_CLONE_NEWUSER | _NAMESPACES):
        return False
    # Unmapped (a kernel that refuses the map), the process still works, as the overflow
    # uid inside; the network is gone either way, which is what this layer promises.
    with contextlib.suppress(OSError):
        _map_self(uid, gid)
    _name_the_host()
    return True
