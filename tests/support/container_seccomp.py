"""Run a command under seccomp.json, the way a container runtime would.

    python -m tests.support.container_seccomp <command> [args...]

Translates the Docker-format profile into a libseccomp filter for this machine's
architecture (what runc does through libseccomp-golang), sets no_new_privs (Docker's
``--security-opt no-new-privileges``), loads the filter and execs the command. There is
no container engine on the test machines; this is how the tests show that the service
starts and serves under the profile.
"""

from __future__ import annotations

import errno
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

import pyseccomp as sc

PROFILE = Path(__file__).resolve().parent.parent.parent / "seccomp.json"
#: Docker's names for the architectures of this machine (``uname -m``).
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
_OPS = {
    "SCMP_CMP_NE": sc.NE,
    "SCMP_CMP_LT": sc.LT,
    "SCMP_CMP_LE": sc.LE,
    "SCMP_CMP_EQ": sc.EQ,
    "SCMP_CMP_GE": sc.GE,
    "SCMP_CMP_GT": sc.GT,
    "SCMP_CMP_MASKED_EQ": sc.MASKED_EQ,
}


def action(name: str, errno_ret: int | None) -> int:
    if name == "SCMP_ACT_ALLOW":
        return int(sc.ALLOW)
    if name == "SCMP_ACT_ERRNO":
        return int(sc.ERRNO(errno.EPERM if errno_ret is None else errno_ret))
    if name == "SCMP_ACT_KILL_PROCESS":
        return int(sc.KILL_PROCESS)
    raise ValueError(f"action not supported here: {name}")


def applies_here(rule: dict[str, Any]) -> bool:
    arches = rule.get("includes", {}).get("arches")
    return arches is None or GO_ARCH.get(platform.machine()) in arches


def known(name: str) -> bool:
    try:
        return int(sc.resolve_syscall(sc.system_arch(), name)) >= 0
    except (ValueError, OSError):
        return False


def build_filter(profile: dict[str, Any]) -> Any:
    flt = sc.SyscallFilter(action(profile["defaultAction"], profile.get("defaultErrnoRet")))
    for rule in profile["syscalls"]:
        if not applies_here(rule):
            continue
        act = action(rule["action"], rule.get("errnoRet"))
        args = [sc.Arg(a["index"], _OPS[a["op"]], a["value"], a.get("valueTwo", 0)) for a in rule.get("args", [])]
        for name in rule["names"]:
            if known(name):  # as Docker: a name this architecture lacks is skipped
                flt.add_rule(act, name, *args)
    return flt


def main(argv: list[str]) -> None:
    flt = build_filter(json.loads(PROFILE.read_text()))
    flt.load()  # libseccomp sets no_new_privs first (its default)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
