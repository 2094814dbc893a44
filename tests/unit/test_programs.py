"""The hostile programs kept as files in tests/programs: data for the tests that run
them (never imported, linted or type-checked as project code), but each must still be
Python source, and say at its top what it tries and what must happen."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.support.inprocess import PROGRAMS, program

FILES = sorted(PROGRAMS.glob("*.py"))


def test_the_programs_are_there() -> None:
    assert FILES, PROGRAMS


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_a_program_compiles(path: Path) -> None:
    compile(program(path.stem), str(path), "exec")


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_a_program_says_what_it_tries_and_what_must_happen(path: Path) -> None:
    lines = program(path.stem).splitlines()
    assert lines[0].startswith("# Tries: ")
    header = " ".join(itertools.takewhile(lambda line: line.startswith("#"), lines))
    assert " Must: " in header
