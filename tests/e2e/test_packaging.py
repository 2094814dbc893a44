"""The package a newcomer installs: the wheel, and its console scripts run from elsewhere.

The wheel is built offline (``pip wheel --no-deps --no-build-isolation``, with the
setuptools that requirements-dev.txt pins) from a copy of the build inputs, so that the
build's scratch files (build/, *.egg-info) never land in the checkout, and so that the
copy proves those inputs are all a build needs.

It is installed with ``--no-deps`` into a fresh venv made here, which sees the project
venv's packages through a ``.pth`` file: the dependencies are then the pinned ones under
test, and nothing is downloaded. That is enough because what is under test is the
wheel's own content (one package, its metadata, its entry points) and whether it runs
outside the checkout; its declared dependencies are checked against requirements.txt
from the metadata instead. A ``.pth`` line is only appended to sys.path, so ``src`` is
imported from the fresh venv's copy (asserted), never from the checkout.

The servers run with their working directory in a temporary directory outside the
checkout: the service must find its package, and its workers start and run code, with
PROJECT_ROOT being the fresh venv's site-packages.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import hashlib
import os
import re
import signal
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from src import __version__
from src.worker.isolation import landlock
from tests.support.server import PROJECT_ROOT, TEST_ENV, TOKEN, free_port
from tests.support.wheel import Installed, build_and_install, run_checked

pytestmark = pytest.mark.slow

DIST_INFO = f"sandboxed_executor-{__version__}.dist-info"
START_DEADLINE_S = 60.0
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    return build_and_install(tmp_path_factory)


# --------------------------------------------------------------------------- the wheel


def test_the_wheel_holds_one_top_level_package(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
    assert {name.split("/")[0] for name in names} == {"src", DIST_INFO}
    assert f"{DIST_INFO}/licenses/LICENSE" in names
    shipped = {name for name in names if name.startswith("src/") and name.endswith(".py")}
    in_tree = {path.relative_to(PROJECT_ROOT).as_posix() for path in (PROJECT_ROOT / "src").rglob("*.py")}
    assert shipped == in_tree  # every subpackage, and nothing compiled or stray


def test_the_wheel_metadata_comes_from_the_one_source_of_each(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        metadata = email.parser.Parser().parsestr(wheel.read(f"{DIST_INFO}/METADATA").decode())
        entry_points = wheel.read(f"{DIST_INFO}/entry_points.txt").decode()
    assert metadata["Name"] == "sandboxed-executor"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    declared = sorted(re.split(r"[\[<>=!~ ]", line)[0] for line in metadata.get_all("Requires-Dist", []))
    wanted = sorted(
        re.split(r"[\[<>=!~ ]", line)[0]
        for raw in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if (line := raw.split("#")[0].strip())
    )
    assert declared == wanted
    assert "sandboxed-executor = src.main:serve" in entry_points
    assert "sandboxed-executor-mcp = src.mcp_stdio:main" in entry_points


def test_the_license_is_the_standard_apache_2_text() -> None:
    # The apache.org file byte for byte (Debian ships it as /usr/share/common-licenses/Apache-2.0).
    assert hashlib.sha256((PROJECT_ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_SHA256


def test_the_installed_package_is_the_fresh_venvs_copy(installed: Installed) -> None:
    where = run_checked(
        [str(installed.venv / "bin" / "python"), "-c", "import src; print(src.__file__)"], installed.elsewhere
    )
    assert Path(where.strip()).is_relative_to(installed.venv)


# --------------------------------------------------------------------------- the console scripts


def _server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXECUTOR_")}
    env.update(TEST_ENV)
    return env


def test_serve_answers_help_and_version_without_configuration(installed: Installed) -> None:
    script = str(installed.script("sandboxed-executor"))
    assert "--port" in run_checked([script, "--help"], installed.elsewhere)
    assert run_checked([script, "--version"], installed.elsewhere).strip() == f"sandboxed-executor {__version__}"


@contextlib.contextmanager
def _serving(installed: Installed, log_path: Path) -> Iterator[str]:
    port = free_port()
    env = _server_env() | {"EXECUTOR_API_TOKEN": TOKEN}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(installed.script("sandboxed-executor")), "--port", str(port)],
            cwd=installed.elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            assert process.poll() is None, f"the server exited:\n{log_path.read_text(errors='replace')}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, f"no healthy /health in time:\n{log_path.read_text(errors='replace')}"
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def test_the_serve_script_runs_code_from_outside_the_checkout(installed: Installed, tmp_path: Path) -> None:
    with _serving(installed, tmp_path / "server.log") as url:
        layers = httpx.get(url + "/health", timeout=10).json()["layers"]
        reply = httpx.post(
            url + "/execute", json={"code": "print(6*7)"}, headers={"X-Executor-Token": TOKEN}, timeout=30
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["stdout"] == "42\n"
    # The workers confined themselves as from the checkout: Landlock's readable paths (the
    # interpreter's, site-packages among them) hold the installed package.
    assert layers["landlock"] == ("active" if landlock.abi_version() else "unavailable")


def test_the_mcp_script_answers_over_stdio_from_outside_the_checkout(installed: Installed) -> None:
    params = StdioServerParameters(
        command=str(installed.script("sandboxed-executor-mcp")),
        cwd=str(installed.elsewhere),
        env={"EXECUTOR_PREFORK_WORKERS": "1", "EXECUTOR_LOG_FORMAT": "json"},
    )

    async def scenario() -> tuple[str, object]:
        async with stdio_client(params) as streams, ClientSession(streams[0], streams[1]) as session:
            initialized = await session.initialize()
            result = await session.call_tool("run_python", {"code": "print(6*7)"})
            return initialized.server_info.name, result.structured_content

    name, content = asyncio.run(asyncio.wait_for(scenario(), START_DEADLINE_S))
    assert name
    assert isinstance(content, dict) and content["stdout"] == "42\n"
