"""Protections the API process applies to itself.

The API process holds the token. Made non-dumpable, its /proc/<pid>/environ, mem, maps
and fd become readable only with CAP_SYS_PTRACE (and it cannot be ptrace-attached or
core-dumped) even by processes of the same user: a worker that got past every other
layer still could not read the token out of it. The template and workers never had the
token (they are spawned with an empty environment) and are non-dumpable too.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def make_undumpable() -> bool:
    """PR_SET_DUMPABLE 0 on this process; returns whether it holds. Linux only; elsewhere
    (a developer's laptop) it is reported and skipped, never fatal."""
    if sys.platform != "linux":
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.warning("could not make the API process non-dumpable")
        return False
    return bool(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0)
