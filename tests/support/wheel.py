"""The project as a newcomer installs it: the wheel, built offline, installed into a fresh
venv outside the checkout (tests/e2e/test_packaging.py says how and why), for the tests
that run its console scripts from another directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import PROJECT_ROOT

#: What the build reads: pyproject.toml names the others (readme, licence, requirements).
BUILD_INPUTS = ("pyproject.toml", "requirements.txt", "README.md", "LICENSE", "src")


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    #: A directory outside the checkout, the servers' working directory.
    elsewhere: Path

    def script(self, name: str) -> Path:
        return self.venv / "bin" / name


def run_checked(command: list[str], cwd: Path | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def build_and_install(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (PROJECT_ROOT / name).is_dir():
            # Not the extensions built in place: the wheel's build compiles its own.
            ignore = shutil.ignore_patterns("__pycache__", "*.so")
            shutil.copytree(PROJECT_ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(PROJECT_ROOT / name, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    run_checked(
        [*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(source)]
    )
    (wheel,) = wheels.glob("*.whl")

    fresh = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(fresh)  # pip runs from the project venv (--python)
    python = fresh / "bin" / "python"
    purelib = run_checked([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip()
    (Path(purelib) / "project-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run_checked([*pip, "--python", str(python), "install", "--quiet", "--no-deps", "--no-index", str(wheel)])
    return Installed(wheel, fresh, tmp_path_factory.mktemp("elsewhere"))
