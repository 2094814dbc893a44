"""Checks run in a forked child of the test process, so that whatever the child applies
to itself (rlimits, seccomp, Landlock, dropped capabilities) never confines the test
process. The child reports through its exit status.
"""

from __future__ import annotations

import os
from collections.abc import Callable

#: Exit statuses of the child, so a failure says what went wrong.
OK = 0
WRONG = 1
UNEXPECTED_EXCEPTION = 2


def in_child(check: Callable[[], bool]) -> int:
    """Run ``check`` in a forked child; its exit status: OK, WRONG or UNEXPECTED_EXCEPTION."""
    pid = os.fork()
    if pid == 0:
        status = UNEXPECTED_EXCEPTION
        try:
            status = OK if check() else WRONG
        except BaseException:  # noqa: BLE001 - reported through the exit status
            status = UNEXPECTED_EXCEPTION
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status)
