"""The OS layers on their own: attacks from a worker whose language guards are gone.

Every program here runs in a real worker forked from a real template, but one whose
runner is plain ``exec`` with the real builtins (tests/support/unguarded_template.py):
what the next RestrictedPython escape would get. Each attack is run with every OS layer
on (all must fail, and the service must keep serving), then with one layer switched off
at a time, then with only one on, then with all of them off (each attack must then
work: proof that it is a real attack and that the layers, not an accident, stopped
it). The observed matrix must equal what ``STOPPED_ALONE`` predicts; it is the table
in the README's security section (``python -m tests.integration.test_os_layers`` prints it).

A program "escapes" when it ran to the end (it raises as soon as the effect failed) or
when its effect is visible from outside (a file written, a connection accepted, the
template killed).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from src.language.catalogue import CATALOGUE
from src.protocol import DISABLEABLE_LAYERS, FileRules, Job
from src.sandbox.pool import ExecutionPool, PoolUnavailable, RunOutcome
from src.sandbox.template_client import TemplateProcess
from src.sandbox.workdirs import DecodedFile, WorkDirectories
from src.worker.isolation import landlock, syscall_filter
from tests.support.inprocess import program
from tests.support.jobs import job
from tests.support.procfs import alive
from tests.support.unguarded_template import ENTRY

CANARY = "canary-2f6b0c1e"

#: name -> program. Each raises unless it achieved its effect.
ATTACKS: dict[str, str] = {
    "read another process's environ": f"""
data = open(f"/proc/{{target_pid}}/environ", "rb").read()
assert b"{CANARY}" in data, "read, but no secret in it"
""",
    "read /proc/<ppid>/environ": """
import os
open(f"/proc/{os.getppid()}/environ", "rb").read()
""",
    "read a canary file in /tmp": f"""
assert open(canary_path).read() == "{CANARY}"
""",
    "read the project checkout": """
assert open(project_file).read()
""",
    "write a file": """
with open(write_path, "w") as f:
    f.write("x")
""",
    "os.system": """
import os
assert os.system(f"echo x > {marker_path}") == 0, "the shell failed"
""",
    "subprocess": """
import subprocess
subprocess.run(["/bin/sh", "-c", "true"], check=True, timeout=5)
""",
    "socket.connect to 127.0.0.1": """
import socket
with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
    s.sendall(b"hello")
""",
    "os.fork() in a loop": program("os_fork_in_a_loop"),
    "write to a descriptor it did not create": """
import os
fd = os.open(f"/proc/{os.getppid()}/fd/1", os.O_WRONLY)  # the template's event pipe
os.write(fd, b"")
""",
    "shared memory for the next request": program("os_shared_memory"),
    "extended attribute on a file outside": """
import os
os.setxattr(canary_path, "user.sandbox", b"written by a worker")
""",
    "watch /tmp with inotify": program("os_inotify_on_tmp"),
    "renice the template": """
import os
os.setpriority(os.PRIO_PROCESS, os.getppid(), 1)
""",
    "start threads": program("os_start_threads"),
    "lock /dev/null for the next request": """
import fcntl
fcntl.lockf(0, fcntl.LOCK_SH | fcntl.LOCK_NB)
""",
    "host interfaces through the channel socket": program("os_ioctl_on_the_channel_socket"),
    "learn the host's name": """
import os
assert os.uname().nodename == host_name, "a name, but not the host's"
""",
    "read another execution's input file": f"""
assert open(other_input).read() == "{CANARY}"
""",
    "list the executions' directories": """
import os
assert os.listdir(files_root), "listed, but empty"
""",
    "write into another execution's directory": """
with open(other_directory + "/planted.txt", "w") as f:
    f.write("x")
""",
    "a file past the size limit": """
import os
with open("big.bin", "wb") as f:
    f.write(b"x" * (max_file_bytes + 1))
    f.flush()
assert os.path.getsize("big.bin") > max_file_bytes
""",
    "a link out of its working directory": """
import os
os.symlink("/etc", "outside")
assert open("outside/hostname").read()
""",
    "a hard link to a file outside": """
import os
os.link(canary_path, "copy.txt")
assert open("copy.txt").read()
""",
    "chmod a file outside": """
import os
os.chmod(canary_path, 0o600)
""",
    # Last two: when they work, the template is gone and the pool restarts.
    "join the template's process group, then kill(0)": """
import os, signal
os.setpgid(0, os.getpgid(os.getppid()))
os.kill(0, signal.SIGKILL)
""",
    "os.kill(os.getppid(), 9)": """
import os
os.kill(os.getppid(), 9)
""",
}

#: column name -> layers switched off.
CONFIGS: dict[str, frozenset[str]] = {
    "all layers": frozenset(),
    **{f"no {layer}": frozenset({layer}) for layer in sorted(DISABLEABLE_LAYERS)},
    **{f"only {layer}": DISABLEABLE_LAYERS - {layer} for layer in sorted(DISABLEABLE_LAYERS)},
    "no OS layer": DISABLEABLE_LAYERS,
}


def _attacks(*names: str) -> frozenset[str]:
    unknown = set(names) - ATTACKS.keys()
    assert not unknown, unknown
    return frozenset(names)


#: layer -> the attacks it stops on its own (the "only <layer>" columns), for a service
#: running as root on a kernel with seccomp and Landlock ABI >= 6, as on these machines.
#: Layers act independently: an attack works exactly when no active layer stops it,
#: which predicts every other column too.
STOPPED_ALONE: dict[str, frozenset[str]] = {
    # Root without capabilities may not read /proc of a process holding capabilities,
    # nor /proc/<template>/fd (the template is not dumpable).
    "capabilities": _attacks(
        "read another process's environ", "read /proc/<ppid>/environ", "write to a descriptor it did not create"
    ),
    # Not: forking, IPC, extended attributes, inotify, scheduling, threads.
    "landlock": frozenset(ATTACKS)
    - _attacks(
        "a file past the size limit",
        "chmod a file outside",
        "os.fork() in a loop",
        "shared memory for the next request",
        "extended attribute on a file outside",
        "watch /tmp with inotify",
        "renice the template",
        "start threads",
        "lock /dev/null for the next request",
        "host interfaces through the channel socket",
        "learn the host's name",
    ),
    "network_namespace": _attacks("socket.connect to 127.0.0.1", "learn the host's name"),
    # For root, RLIMIT_NPROC is not enforced; RLIMIT_FSIZE is the size limit of a file:
    # alone, the limits stop only the file past it (they bound memory, CPU and output).
    "rlimits": _attacks("a file past the size limit"),
    "seccomp": frozenset(ATTACKS)
    - _attacks(
        "read another process's environ",
        "read /proc/<ppid>/environ",
        "read a canary file in /tmp",
        "read the project checkout",
        "learn the host's name",
        "read another execution's input file",
        "list the executions' directories",
    ),
}


#: Writes the seccomp filter refuses only on its own: where Landlock confines writes to the
#: working directories, the filter allows opening files to write (syscall_filter.py), and
#: Landlock decides where.
WRITES_SECCOMP_LEAVES_TO_LANDLOCK = _attacks(
    "write a file", "write into another execution's directory", "a file past the size limit"
)


def expected_escapes(disabled: frozenset[str]) -> frozenset[str]:
    stopped: set[str] = set()
    for layer, attacks in STOPPED_ALONE.items():
        if layer == "seccomp" and "landlock" not in disabled:
            attacks = attacks - WRITES_SECCOMP_LEAVES_TO_LANDLOCK  # noqa: PLW2901 - this layer's share
        if layer not in disabled:
            stopped |= attacks
    return frozenset(ATTACKS) - stopped


@dataclass
class Targets:
    """What the attacks aim at, owned by the test."""

    tmp: Path
    canary_process: subprocess.Popen[bytes]
    listener: socket.socket

    def context(self, salt: str) -> dict[str, Any]:
        return {
            "target_pid": self.canary_process.pid,
            "host_name": os.uname().nodename,
            "canary_path": str(self.tmp / "canary.txt"),
            "project_file": str(Path(__file__).resolve().parents[2] / "pyproject.toml"),
            "write_path": str(self.tmp / f"written-{salt}"),
            "marker_path": str(self.tmp / f"marker-{salt}"),
            "port": self.listener.getsockname()[1],
        }

    def connections(self) -> int:
        """Connections made to the listener so far, taken off its queue. A connect() on
        loopback has completed the handshake when it returns, so once the program has
        ended, its connection is already queued here: nothing to wait for."""
        count = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@contextlib.contextmanager
def attack_targets(tmp: Path) -> Iterator[Targets]:
    """A canary file, a process holding a secret in its environment (same user, not
    protected otherwise), and a TCP listener on 127.0.0.1 whose queue counts connections."""
    tmp.chmod(0o755)
    (tmp / "canary.txt").write_text(CANARY)
    (tmp / "canary.txt").chmod(0o644)
    canary_process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], env={"CANARY_SECRET": CANARY}
    )
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    listener.setblocking(False)
    try:
        yield Targets(tmp, canary_process, listener)
    finally:
        listener.close()
        canary_process.kill()
        canary_process.wait(10)


def _has_xattr(path: str) -> bool:
    try:
        os.getxattr(path, "user.sandbox")
    except OSError:
        return False
    os.removexattr(path, "user.sandbox")  # for the next attack
    return True


def _removed(path: Path) -> bool:
    """Whether ``path`` was there (then it is removed, for the next attack)."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _mode_changed(path: str, before: int) -> bool:
    now = os.stat(path).st_mode
    os.chmod(path, before)  # for the next attack
    return now != before


#: The working directory's limits, as the service gives them (small: the size attack).
FILE_RULES: FileRules = {
    "max_files": 16,
    "max_file_bytes": 1 << 20,
    "max_files_bytes": 4 << 20,
    "max_path_chars": 255,
    "max_path_depth": 8,
}


def _job(code: str, context: dict[str, Any]) -> Job:
    return job(code, context, max_result_bytes=4096, wall_s=8)


@dataclass
class ConfigResult:
    escaped: frozenset[str]
    #: After the attacks: a normal program still ran, and printed what it should.
    still_serves: bool
    restarts: int
    errors: dict[str, str]


async def _run_once_serving(pool: ExecutionPool, ran: Job) -> RunOutcome:
    """Run ``ran`` once the pool serves again: a template the last attack killed may be
    noticed only now; then this waits, bounded, for the pool's next template."""
    deadline = time.monotonic() + 60
    while True:
        template = pool._template
        try:
            return await pool.run(ran, 8, stdout_budget=4096, stderr_budget=4096, flood_factor=4)
        except PoolUnavailable:
            while pool._template is template or not pool.started.is_set():
                assert time.monotonic() < deadline, "the pool did not start a new template"
                await asyncio.sleep(0.01)


async def _template_killed(pool: ExecutionPool, template: TemplateProcess) -> bool:
    """Whether ``template`` died under the last program. A probe job takes the worker
    forked ahead, so the pool asks the template for a new one: a template that was
    killed can never answer, so either the new worker arrives (it is alive) or the pool
    learns of its death. Both happen; the bounded poll only waits for the first."""
    try:
        await pool.run(_job("print(1)", {}), 8, stdout_budget=4096, stderr_budget=4096, flood_factor=4)
    except PoolUnavailable:
        return True
    deadline = time.monotonic() + 10
    while not template.died.is_set() and pool.ready_workers == 0:
        assert time.monotonic() < deadline, "the template neither forked a worker nor died"
        await asyncio.sleep(0.005)
    return template.died.is_set()


async def _run_config(disabled: frozenset[str], targets: Targets, salt: str) -> ConfigResult:
    # Every job runs in a working directory of its own, beside another execution's, as a
    # request with input files does (src/sandbox/workdirs.py).
    workdirs = WorkDirectories(targets.tmp / f"files-{salt}")
    workdirs.start()
    other = workdirs.create([DecodedFile("secret.txt", CANARY.encode())])
    pool = ExecutionPool(
        sorted(CATALOGUE), 1, disabled_layers=disabled, template_entry=ENTRY, files_root=str(workdirs.root)
    )
    await pool.start()
    escaped: set[str] = set()
    errors: dict[str, str] = {}
    try:
        report = pool.layers
        assert report is not None
        assert report.active.isdisjoint(disabled)
        for index, (name, code) in enumerate(ATTACKS.items()):
            context = targets.context(f"{salt}-{index}")
            context.update(
                other_input=str(other.path / "secret.txt"),
                other_directory=str(other.path),
                files_root=str(workdirs.root),
                max_file_bytes=FILE_RULES["max_file_bytes"],
            )
            own = workdirs.create([])
            template = pool._template
            assert template is not None
            ran = _job(code, context)
            ran["workdir"] = str(own.path)
            ran["file_rules"] = FILE_RULES
            mode_before = os.stat(context["canary_path"]).st_mode
            try:
                outcome = await pool.run(ran, 8, stdout_budget=4096, stderr_budget=4096, flood_factor=4)
            except PoolUnavailable:
                escaped.add(name)  # the template died under the program: 503 for everyone in flight
                await asyncio.wait_for(pool.started.wait(), 30)
                continue
            error = outcome.reply["error"]
            effects = (
                _has_xattr(context["canary_path"])
                or _mode_changed(context["canary_path"], mode_before)
                or Path(context["write_path"]).exists()
                or Path(context["marker_path"]).exists()
                or _removed(other.path / "planted.txt")
                or targets.connections() > 0
                or await _template_killed(pool, template)
            )
            if outcome.reply["success"] or effects:
                escaped.add(name)
            elif error is not None:
                errors[name] = f"{error['type']}: {error['message']}"
            if not pool.alive:
                await asyncio.wait_for(pool.started.wait(), 30)
        check = await _run_once_serving(pool, _job("print(6 * 7)", {}))
        still_serves = check.reply["success"] and check.stdout.text() == "42\n"
        return ConfigResult(frozenset(escaped), still_serves, pool.restarts, errors)
    finally:
        await pool.stop()
        workdirs.stop()


def observe_matrix(tmp: Path) -> dict[str, ConfigResult]:
    with attack_targets(tmp) as targets:
        return {
            config: asyncio.run(_run_config(disabled, targets, salt=str(i)))
            for i, (config, disabled) in enumerate(CONFIGS.items())
        }


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ConfigResult]:
    return observe_matrix(tmp_path_factory.mktemp("os-layers"))


def _host_has_every_layer() -> bool:
    return landlock.abi_version() >= 6 and syscall_filter.kernel_supports_filters()


needs_every_layer = pytest.mark.skipif(
    not _host_has_every_layer(), reason="this host lacks seccomp or Landlock ABI >= 6 (see /health)"
)


@pytest.mark.slow
@needs_every_layer
@pytest.mark.skipif(os.geteuid() != 0, reason="STOPPED_ALONE is the table for a service running as root")
@pytest.mark.parametrize("config", list(CONFIGS))
def test_escapes_match_the_published_matrix(matrix: dict[str, ConfigResult], config: str) -> None:
    result = matrix[config]
    assert sorted(result.escaped) == sorted(expected_escapes(CONFIGS[config])), result.errors


@pytest.mark.slow
@needs_every_layer
def test_with_every_layer_on_nothing_escapes_and_the_service_keeps_serving(
    matrix: dict[str, ConfigResult],
) -> None:
    result = matrix["all layers"]
    assert result.escaped == frozenset()
    assert result.restarts == 0
    assert result.still_serves


@pytest.mark.slow
@needs_every_layer
def test_every_attack_is_real(matrix: dict[str, ConfigResult]) -> None:
    """Without the OS layers each attack works: the layers are what stops them."""
    assert matrix["no OS layer"].escaped == frozenset(ATTACKS)
    assert matrix["no OS layer"].still_serves  # after a template restart


def markdown_table(matrix: dict[str, ConfigResult]) -> str:
    columns = list(CONFIGS)
    lines = [
        "| attack (guards off) | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name in ATTACKS:
        cells = ["**works**" if name in matrix[c].escaped else "stopped" for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        observed = observe_matrix(Path(directory))
    print(markdown_table(observed))
    for config, result in observed.items():
        print(f"\n{config}: still serves {result.still_serves}, restarts {result.restarts}")
        for attack, error in result.errors.items():
            print(f"  {attack}: {error}")


# --------------------------------------------------------------------------- nothing outlives the service


@pytest.mark.slow
def test_no_worker_outlives_the_server() -> None:
    """SIGKILL the process that runs the pool (nothing of ours gets to clean up): the
    template dies through its parent-death signal, and the running worker and the idle
    ones through theirs, although the program disarmed its alarm."""
    project = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.pool_stand_in"], cwd=project, stdout=subprocess.PIPE, text=True
    )
    with server:
        try:
            assert server.stdout is not None
            pids = [int(pid) for pid in server.stdout.readline().split()]
        finally:
            server.kill()
            server.wait(10)
    assert len(pids) >= 3  # the template, the running worker, at least one forked ahead
    # The parent-death signal is delivered asynchronously: a bounded poll, which ends as
    # soon as every process is gone.
    deadline = time.monotonic() + 3
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
    survivors = [pid for pid in pids if alive(pid)]
    for pid in survivors:
        os.kill(pid, 9)
    assert survivors == []
