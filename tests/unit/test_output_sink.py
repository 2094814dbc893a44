"""The worker's output streams (``_output.c``): buffered UTF-8 onto a descriptor, written
out when full, on flush, and by a signal handler when the process ends against its will
(tests/integration/test_pool.py runs that part in real workers)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

try:
    from src.worker import _output as output  # type: ignore[attr-defined]
except ImportError:
    output = None

needs_the_sink = pytest.mark.skipif(output is None, reason="the _output extension is not built")


def test_ci_builds_the_sink() -> None:
    """.ci/run requires the built module (EXTENSIONS_REQUIRED=1): without it a program that
    hangs in a C call loses what it printed."""
    if os.environ.get("EXTENSIONS_REQUIRED") != "1":
        pytest.skip("only where the build is required")
    assert output is not None


CAPACITY = 64


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    yield read_end, write_end
    os.close(read_end)
    os.close(write_end)


def _written(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 20)
    except BlockingIOError:
        return b""


@needs_the_sink
def test_text_waits_in_the_buffer_until_flushed(pipe: tuple[int, int]) -> None:
    sink = output.Sink(pipe[1], CAPACITY)
    assert sink.write("héllo\n") == 6  # characters, as io's text streams answer
    assert (_written(pipe[0]), sink.buffered()) == (b"", len("héllo\n".encode()))
    sink.flush()
    assert (_written(pipe[0]), sink.buffered()) == ("héllo\n".encode(), 0)


@needs_the_sink
def test_a_full_buffer_is_written_out_before_more_is_kept(pipe: tuple[int, int]) -> None:
    sink = output.Sink(pipe[1], CAPACITY)
    sink.write("a" * 40)
    sink.write("b" * 40)
    assert (_written(pipe[0]), sink.buffered()) == (b"a" * 40, 40)


@needs_the_sink
def test_text_larger_than_the_buffer_goes_straight_out_in_order(pipe: tuple[int, int]) -> None:
    sink = output.Sink(pipe[1], CAPACITY)
    sink.write("a" * 10)
    sink.write("b" * 1000)
    assert (_written(pipe[0]), sink.buffered()) == (b"a" * 10 + b"b" * 1000, 0)


@needs_the_sink
def test_a_lone_surrogate_is_written_escaped(pipe: tuple[int, int]) -> None:
    sink = output.Sink(pipe[1], CAPACITY)
    sink.write("x\ud800y")
    sink.flush()
    assert _written(pipe[0]) == b"x\\ud800y"


@needs_the_sink
def test_a_str_subclass_is_written_as_its_text_without_its_methods(pipe: tuple[int, int]) -> None:
    class Loud(str):
        def encode(self, *args: object) -> bytes:
            raise AssertionError("not called")

    sink = output.Sink(pipe[1], CAPACITY)
    sink.write(Loud("quiet"))
    sink.flush()
    assert _written(pipe[0]) == b"quiet"


@needs_the_sink
def test_anything_but_text_is_refused_as_io_refuses_it(pipe: tuple[int, int]) -> None:
    sink = output.Sink(pipe[1], CAPACITY)
    with pytest.raises(TypeError, match="write\\(\\) argument must be str, not bytes"):
        sink.write(b"raw")


@needs_the_sink
def test_a_pipe_nobody_reads_any_more_drops_the_output() -> None:
    """The parent closes its end once it has ended the job: the program's output is past
    its budget, not an error in the program."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    sink = output.Sink(write_end, CAPACITY)
    try:
        sink.write("x" * 100)
        sink.flush()
    finally:
        os.close(write_end)


_STUCK_WRITER = """
import os, signal, sys
from src.worker import _output

nobody_reads, stdout_fd = os.pipe()  # the read end stays open, unread: the write blocks
stderr_fd = int(sys.argv[1])
out, err = _output.Sink(stdout_fd, 64), _output.Sink(stderr_fd, 64)
_output.catch_ending_signals((out, err), signal.SIGUSR1, 74)
err.write("kept line\\n")
out.write("A" * 10_000_000)  # far more than the pipe holds
"""


@needs_the_sink
def test_a_write_stuck_on_a_full_pipe_does_not_hold_off_the_flush() -> None:
    """The program chooses how long one write lasts (one huge print into a pipe the parent
    stopped reading): the flush signal must still write the other stream out and end the
    process (attack pass 82: it waited for the write, and the other stream was lost)."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.support.procfs import blocked_in

    read_end, write_end = os.pipe()
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-c", _STUCK_WRITER, str(write_end)], cwd=root, pass_fds=(write_end,))
    os.close(write_end)
    try:
        deadline = time.monotonic() + 30
        while not blocked_in(child.pid, "write"):  # bounded: the child blocks at once
            assert time.monotonic() < deadline, "the writer never blocked"
            time.sleep(0.01)
        child.send_signal(signal.SIGUSR1)
        assert child.wait(timeout=30) == 74
        assert os.read(read_end, 1000) == b"kept line\n"
    finally:
        child.kill()
        child.wait()
        os.close(read_end)
