"""Isolation, seen from outside: what the sandbox processes hold, what survives between
executions, and what happens when the processes behind a request are killed.

The process tree of a server is: uvicorn (holds the token) -> template (spawned with an
empty environment) -> one worker per execution (forked from the template). The tests
find these processes by walking the ``ppid`` links in /proc from the server's pid, and
tell a worker that runs a program from one forked ahead of demand by its rlimits (a
worker confines itself only once it has its job).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from src.worker.isolation.hardening import drop_capabilities
from tests.support.inprocess import program
from tests.support.procfs import blocked_in, children, descendants, parents
from tests.support.server import TEST_ENV, TOKEN, LiveServer, run_server
from tests.support.waiting import HeldRequest, wait_until

MAX_MEMORY_MB = int(TEST_ENV["EXECUTOR_MAX_MEMORY_MB"])
MIB = 1024 * 1024
TEMPLATE_MARK = b"src.worker.template"


# --------------------------------------------------------------------------- /proc helpers


def read_proc(pid: int, name: str) -> bytes | None:
    """Contents of /proc/<pid>/<name>, or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/{name}", "rb") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None


def soft_limit(pid: int, name: str) -> str | None:
    """Soft value of one row of /proc/<pid>/limits ("Max file size" -> "0")."""
    limits = read_proc(pid, "limits")
    if limits is None:
        return None
    for line in limits.decode().splitlines():
        if line.startswith(name):
            return line[len(name) :].split()[0]
    return None


def is_running_worker(pid: int) -> bool:
    # RLIMIT_FSIZE 0 is applied by the worker once it has read its job, never before.
    # A worker that already exited stays a zombie until the template reaps it: skip those.
    stat = read_proc(pid, "stat")
    if stat is None or stat.rpartition(b")")[2].split()[0] == b"Z":
        return False
    return soft_limit(pid, "Max file size") == "0"


def find_template(server: LiveServer) -> int | None:
    for pid in children(server.process.pid):
        cmdline = read_proc(pid, "cmdline")
        if cmdline is not None and TEMPLATE_MARK in cmdline:
            return pid
    return None


def find_running_worker(server: LiveServer) -> int | None:
    return next((pid for pid in sorted(descendants(server.process.pid)) if is_running_worker(pid)), None)


def in_program_sleep(pid: int) -> bool:
    """Whether ``pid`` is blocked in the program's ``time.sleep`` (so it has confined
    itself and is running the program; a worker waiting for a job blocks in read)."""
    return blocked_in(pid, "clock_nanosleep")


@contextmanager
def in_background(server: LiveServer, code: str, **body: Any) -> Iterator[Future[httpx.Response]]:
    """Run one execution on a thread; the caller pokes at the processes meanwhile."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(server.execute, code, **body)


# --------------------------------------------------------------------------- the process tree


@dataclass(frozen=True)
class ProcessView:
    pid: int
    ppid: int
    cmdline: bytes
    environ: bytes
    #: descriptor number -> what it points at ("/dev/null", "pipe:[...]", "socket:[...]")
    fds: dict[int, str]
    #: row of /proc/<pid>/limits -> soft value
    limits: dict[str, str]
    #: field of /proc/<pid>/status -> value (Seccomp, NoNewPrivs, CapEff ...)
    status: dict[str, str]
    #: /proc/<pid>/ns/net, e.g. "net:[4026531840]"
    netns: str


def view(pid: int, ppid: int) -> ProcessView | None:
    cmdline, environ, limits = read_proc(pid, "cmdline"), read_proc(pid, "environ"), read_proc(pid, "limits")
    status_text = read_proc(pid, "status")
    if cmdline is None or environ is None or limits is None or status_text is None:
        return None
    status = dict(
        (key, value.strip()) for key, _, value in (line.partition(":") for line in status_text.decode().splitlines())
    )
    try:
        netns = os.readlink(f"/proc/{pid}/ns/net")
    except FileNotFoundError:
        return None
    fds: dict[int, str] = {}
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            fds[int(fd)] = os.readlink(f"/proc/{pid}/fd/{fd}")
    except FileNotFoundError:
        return None
    # Fixed-width table: name in the first 26 columns, soft value in the next 21.
    rows = {line[:26].strip(): line[26:47].strip() for line in limits.decode().splitlines()[1:]}
    return ProcessView(pid, ppid, cmdline, environ, fds, rows, status, netns)


@dataclass(frozen=True)
class TreeSnapshot:
    server: ProcessView
    template: ProcessView
    worker: ProcessView
    descendants: list[ProcessView]


def snapshot(server: LiveServer) -> TreeSnapshot | None:
    """Every process of the server, each read while it existed; None unless it shows
    exactly one worker, and that worker inside the program's sleep."""
    root = server.process.pid
    tree = parents()
    views = [view(pid, tree[pid]) for pid in sorted(descendants(root)) if pid in tree]
    found = [v for v in views if v is not None]
    sleeping = [v for v in found if v.limits.get("Max file size") == "0" and in_program_sleep(v.pid)]
    templates = [v for v in found if v.ppid == root and TEMPLATE_MARK in v.cmdline]
    server_view = view(root, os.getpid())
    if len(sleeping) != 1 or len(templates) != 1 or server_view is None:
        return None
    return TreeSnapshot(server_view, templates[0], sleeping[0], found)


@pytest.fixture(scope="module")
def tree(live_server: LiveServer) -> TreeSnapshot:
    """Every process of the live server, seen while a program is running. The program
    sleeps until the test leaves (its request is held open on a socket), so the snapshot
    cannot race its end."""
    with HeldRequest(live_server, "import time\ntime.sleep(60)", timeout_s=10):
        return wait_until(lambda: snapshot(live_server), "a snapshot with the worker inside the program")


def test_probe_sees_the_token_in_the_server_environment(tree: TreeSnapshot) -> None:
    # Without this, "not in" below could pass because the probe reads nothing.
    assert TOKEN.encode() in tree.server.environ


def test_token_absent_from_every_sandbox_environment(tree: TreeSnapshot) -> None:
    assert tree.worker in tree.descendants
    for process in tree.descendants:
        assert TOKEN.encode() not in process.environ, process.pid


def test_token_absent_from_every_sandbox_command_line(tree: TreeSnapshot) -> None:
    for process in tree.descendants:
        assert TOKEN.encode() not in process.cmdline, process.pid


def test_template_environment_is_empty(tree: TreeSnapshot) -> None:
    assert tree.template.environ == b""


def test_worker_environment_is_empty(tree: TreeSnapshot) -> None:
    assert tree.worker.environ == b""


def test_worker_is_forked_by_the_template_not_the_server(tree: TreeSnapshot) -> None:
    assert tree.template.ppid == tree.server.pid
    assert tree.worker.ppid == tree.template.pid


def test_worker_holds_only_its_four_descriptors(tree: TreeSnapshot) -> None:
    fds = tree.worker.fds
    assert sorted(fds) == [0, 1, 2, 3]
    assert fds[1].startswith("pipe:")
    assert fds[2].startswith("pipe:")
    assert fds[3].startswith("socket:")


def test_worker_stdin_is_dev_null(tree: TreeSnapshot) -> None:
    assert tree.worker.fds[0] == "/dev/null"


def test_worker_runs_under_the_configured_rlimits(tree: TreeSnapshot) -> None:
    limits = tree.worker.limits
    assert limits["Max address space"] == str(MAX_MEMORY_MB * MIB)
    assert limits["Max file size"] == "0"
    assert limits["Max core file size"] == "0"
    assert limits["Max processes"] == "0"
    assert int(limits["Max cpu time"]) <= int(TEST_ENV["EXECUTOR_MAX_CPU_S"])


# --------------------------------------------------------------------------- OS layers


def test_template_and_worker_run_under_seccomp_filters(tree: TreeSnapshot) -> None:
    # Mode 2 is a BPF filter: the template's, plus the worker's own stage on top.
    assert (tree.template.status["Seccomp"], tree.template.status["Seccomp_filters"]) == ("2", "1")
    assert (tree.worker.status["Seccomp"], tree.worker.status["Seccomp_filters"]) == ("2", "2")


def test_server_itself_is_not_filtered(tree: TreeSnapshot) -> None:
    assert tree.server.status["Seccomp"] == "0"


@pytest.mark.parametrize("field", ["CapEff", "CapPrm", "CapInh", "CapAmb"])
def test_worker_holds_no_capability(tree: TreeSnapshot, field: str) -> None:
    assert int(tree.worker.status[field], 16) == 0
    assert int(tree.template.status[field], 16) == 0


def test_worker_has_no_new_privs(tree: TreeSnapshot) -> None:
    assert tree.worker.status["NoNewPrivs"] == "1"


def test_worker_is_in_a_network_namespace_of_its_template(tree: TreeSnapshot) -> None:
    assert tree.worker.netns == tree.template.netns != tree.server.netns


def test_health_names_every_os_layer_active(live_server: LiveServer) -> None:
    layers = httpx.get(live_server.url + "/health", timeout=10).json()["layers"]
    for name in ("rlimits", "capabilities", "no_new_privs", "landlock", "seccomp", "network_namespace"):
        assert layers[name] == "active", name


def _readable_without_capabilities(path: str) -> bool:
    """Can a process of the same user, holding no capability, read ``path``? (This test
    runs as root; a forked child that empties its capability sets is such a process.)"""
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            drop_capabilities()
            with open(path, "rb") as f:
                f.read()
            code = 0
        except PermissionError:
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) in (0, 1)
    return os.WEXITSTATUS(status) == 0


NO_CAPABILITIES = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"]


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root (to drop capabilities while staying the same user) and util-linux's setpriv",
)
def test_server_environment_is_closed_to_processes_of_its_own_user(tmp_path: Path) -> None:
    """The server and a control process both run as root without capabilities, as a
    service in a container does: only the server's non-dumpable flag tells them apart."""
    control = subprocess.Popen([*NO_CAPABILITIES, sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with run_server(tmp_path, command_prefix=NO_CAPABILITIES) as server:
            assert server.execute("print(1)").json()["stdout"] == "1\n"
            if Path("/proc/sys/user/max_user_namespaces").read_text().strip() != "0":
                # Without CAP_SYS_ADMIN the template enters its network namespace
                # through a user namespace of its own.
                layers = httpx.get(server.url + "/health", timeout=10).json()["layers"]
                assert layers["network_namespace"] == "active"
            assert _readable_without_capabilities(f"/proc/{control.pid}/environ")
            assert not _readable_without_capabilities(f"/proc/{server.process.pid}/environ")
    finally:
        control.kill()
        control.wait(10)


# --------------------------------------------------------------------------- nothing carries over


def test_globals_do_not_survive_an_execution(live_server: LiveServer) -> None:
    for round_number in range(3):
        first = live_server.reply(f"marker = {round_number}\nmarker")
        assert first["result"] == round_number
        second = live_server.reply("marker")
        assert second["success"] is False
        assert second["error"]["type"] == "NameError"


def test_module_state_does_not_survive_an_execution(live_server: LiveServer) -> None:
    first = live_server.reply("import calendar\ncalendar.setfirstweekday(6)\ncalendar.firstweekday()")
    assert first["result"] == 6
    second = live_server.reply("import calendar\ncalendar.firstweekday()")
    assert second["result"] == 0


def test_decimal_context_does_not_survive_an_execution(live_server: LiveServer) -> None:
    first = live_server.reply("import decimal\ndecimal.getcontext().prec = 3\nstr(decimal.Decimal(1) / 3)")
    assert first["result"] == "0.333"
    second = live_server.reply("import decimal\nstr(decimal.Decimal(1) / 3)")
    assert second["result"] == "0.3333333333333333333333333333"


def test_modules_cannot_be_patched(live_server: LiveServer) -> None:
    patched = live_server.reply("import math\nmath.pi = 3")
    assert patched["success"] is False
    after = live_server.reply("import math\nmath.pi")
    assert after["result"] == 3.141592653589793


def test_random_streams_differ_between_executions(live_server: LiveServer) -> None:
    code = "import random\nrandom.getrandbits(48)"
    draws = [live_server.reply(code)["result"] for _ in range(3)]
    assert len(set(draws)) == 3


# --------------------------------------------------------------------------- forged replies


def test_forged_reply_and_frame_stay_in_stdout(live_server: LiveServer) -> None:
    reply = live_server.reply(program("isolation_forged_reply"))
    assert reply["success"] is False
    assert reply["error"]["type"] == "RuntimeError"
    assert reply["result"] is None
    assert reply["request_id"] != "forged"
    assert reply["stdout"].count("pwned") == 2


def test_printed_success_json_does_not_mask_an_error(live_server: LiveServer) -> None:
    reply = live_server.reply("print('{\"success\": true}')\n1/0")
    assert reply["success"] is False
    assert reply["error"]["type"] == "ZeroDivisionError"
    assert reply["stdout"] == '{"success": true}\n'


# --------------------------------------------------------------------------- lone surrogates


def strict_json(response: httpx.Response) -> dict[str, Any]:
    """The body parsed as strict UTF-8 JSON (httpx would replace invalid bytes)."""
    body: dict[str, Any] = json.loads(response.content.decode("utf-8"))
    return body


@pytest.mark.parametrize(
    ("code", "field", "expected"),
    [
        pytest.param("s = '\\ud800'\nprint(s)", "stdout", "\\ud800\n", id="printed"),
        pytest.param("'\\ud800'", "result", "\\ud800", id="returned"),
        pytest.param("{'\\udfff': ['\\ud800x']}", "result", {"\\udfff": ["\\ud800x"]}, id="in-a-container"),
    ],
)
def test_lone_surrogates_give_a_valid_utf8_reply(live_server: LiveServer, code: str, field: str, expected: Any) -> None:
    response = live_server.execute(code)
    assert response.status_code == 200
    body = strict_json(response)
    assert body["success"] is True
    assert body[field] == expected


def test_lone_surrogate_in_an_error_message(live_server: LiveServer) -> None:
    response = live_server.execute("raise ValueError('\\ud800')")
    body = strict_json(response)
    assert body["error"]["message"] == "\\ud800"
    assert body["stderr"].endswith("ValueError: \\ud800\n")


# --------------------------------------------------------------------------- killed processes


@pytest.fixture
def disposable_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A server of its own, for tests that kill its processes."""
    with run_server(tmp_path) as server:
        yield server


#: A program that sleeps past its own deadline: an answer before TIMEOUT_S came from the
#: kill, not from the deadline.
SLEEP_PAST_DEADLINE = "import time\ntime.sleep(60)"
TIMEOUT_S = 10


def sleeping_worker(server: LiveServer) -> int | None:
    """The worker blocked in the program's sleep, once there is one."""
    return next(
        (pid for pid in sorted(descendants(server.process.pid)) if is_running_worker(pid) and in_program_sleep(pid)),
        None,
    )


def test_killed_worker_is_a_failed_execution(disposable_server: LiveServer) -> None:
    server = disposable_server
    with in_background(server, SLEEP_PAST_DEADLINE, timeout_s=TIMEOUT_S) as pending:
        worker = wait_until(lambda: sleeping_worker(server), "the worker to be inside the program")
        killed_at = time.monotonic()
        os.kill(worker, signal.SIGKILL)
        response = pending.result(timeout=30)
        answered_after_s = time.monotonic() - killed_at
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["limit"] is None  # not the deadline's answer
    assert body["error"]["type"] == "WorkerCrashed"
    assert answered_after_s < TIMEOUT_S
    server.assert_still_serves()


def test_frozen_template_is_a_503_and_is_restarted(tmp_path: Path) -> None:
    """A stopped template (SIGSTOP: a debugger, a stuck page fault) forks nothing: once the
    pre-forked worker is used, a request waits for a fork at most the hang bound, gets a
    503 with Retry-After, and the template is killed and restarted."""
    settings = {"EXECUTOR_TEMPLATE_HANG_TIMEOUT_S": "1", "EXECUTOR_PREFORK_WORKERS": "1"}
    with run_server(tmp_path, settings) as server:
        template = find_template(server)
        assert template is not None
        handle = os.pidfd_open(template)  # the pid may be reused once it is killed
        os.kill(template, signal.SIGSTOP)
        try:
            answers: list[tuple[httpx.Response, float]] = []
            for _ in range(4):  # the pre-forked worker answers first
                started = time.monotonic()
                response = server.execute("print(1)", timeout_s=1)
                answers.append((response, time.monotonic() - started))
                if response.status_code == 503:
                    break
        finally:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(handle, signal.SIGCONT)
            os.close(handle)
        refused, waited_s = answers[-1]
        assert refused.status_code == 503, [r.status_code for r, _ in answers]
        assert "stopped answering" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert waited_s < 10  # the hang bound (1 s), not the freeze (unbounded)
        health = wait_until(lambda: healthy_again(server), "/health to answer 200 after the restart")
        assert (health["checks"]["template_responsive"], health["checks"]["template_restarts"]) == (True, 1)
        assert server.metric("executor_template_hangs_total") == 1
        assert server.metric("executor_template_responsive") == 1
        assert server.reply("print(6 * 7)")["stdout"] == "42\n"


def healthy_again(server: LiveServer) -> dict[str, Any] | None:
    response = httpx.get(server.url + "/health", timeout=5)
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body


def test_killed_template_is_a_503_and_the_pool_recovers(disposable_server: LiveServer) -> None:
    server = disposable_server
    template = find_template(server)
    assert template is not None
    with in_background(server, SLEEP_PAST_DEADLINE, timeout_s=TIMEOUT_S) as pending:
        wait_until(lambda: sleeping_worker(server), "the worker to be inside the program")
        killed_at = time.monotonic()
        os.kill(template, signal.SIGKILL)
        response = pending.result(timeout=30)
        answered_after_s = time.monotonic() - killed_at
    assert response.status_code == 503
    assert set(response.json()) == {"detail"}
    assert "Traceback" not in response.text
    assert "Retry-After" in response.headers
    assert answered_after_s < TIMEOUT_S  # the death was noticed, not the deadline

    # The restart is the pool's own business; /health is the only way to see it from outside.
    health = wait_until(lambda: healthy_again(server), "/health to answer 200 after the template's death")
    # A restart in the last minute is reported, with HTTP 200 (src/api/health.py RECENT_RESTART_S).
    assert health["status"] == "degraded"
    assert health["checks"]["template_alive"] is True
    assert health["checks"]["template_restarts"] == 1
    new_template = find_template(server)
    assert new_template is not None
    assert new_template != template
    server.assert_still_serves()
