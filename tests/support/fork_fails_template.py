"""A template whose second fork fails with EAGAIN, as when the host is out of processes.

Test-only (see tests/support/__init__.py): the template process, its protocol and the
server side are the real ones; only the kernel's refusal is staged.
"""

from __future__ import annotations

import errno
import os

from src.worker import template

ENTRY = "tests.support.fork_fails_template"
_real_fork = os.fork
_forks = 0


def _fork_that_fails_once() -> int:
    global _forks
    _forks += 1
    if _forks == 2:
        raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
    return _real_fork()


def main(control_fd: int) -> None:
    os.fork = _fork_that_fails_once
    template.main(control_fd)
