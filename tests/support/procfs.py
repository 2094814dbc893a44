"""The process tree as /proc shows it, for tests that check what runs and what is left."""

from __future__ import annotations

import os
from pathlib import Path

import pyseccomp as sc


def parents() -> dict[int, int]:
    """pid -> ppid of every process visible now."""
    found: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # The command name in parentheses may contain anything: split after the last ')'.
            found[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    return found


def children(pid: int) -> list[int]:
    return sorted(child for child, parent in parents().items() if parent == pid)


def descendants(root: int) -> set[int]:
    tree = parents()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in tree.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running or stopped: not gone, and not a zombie waiting for its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def blocked_in(pid: int, syscall: str) -> bool:
    """Whether ``pid`` is blocked in ``syscall`` now (/proc/<pid>/syscall; needs the
    right to ptrace it, which root has). A worker sleeping in ``time.sleep`` is blocked
    in clock_nanosleep: it is running its program, past every confinement step."""
    number = int(sc.resolve_syscall(sc.system_arch(), syscall))
    try:
        current = Path(f"/proc/{pid}/syscall").read_text().split(" ", 1)[0]
    except OSError:
        return False
    return current == str(number)
