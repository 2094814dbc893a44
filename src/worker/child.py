"""One worker: read a Job, confine, run, write the WorkerReply, exit.

A worker is forked from the template with exactly four descriptors: 0 (/dev/null),
1 and 2 (pipes the parent reads against its output budgets) and ``CHANNEL_FD``, a
socket to the parent that carries the job in and the reply out. The reply is written
only by this code, after the program has finished; anything the program prints goes
to stdout, so a printed "reply" is only ever stdout.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import sys
from collections.abc import Mapping
from typing import cast

from ..protocol import HEADER, MAX_JOB_BYTES, Job, ProtocolError, decode_body, encode_frame, frame_length
from .hardening import HardeningError, harden
from .jsonsafe import clean_text
from .modules import ModuleProxy
from .runner import run_job

CHANNEL_FD = 3
#: Exit status of a worker that could not confine itself; the parent answers 503.
EXIT_HARDENING_FAILED = 71
EXIT_BAD_JOB = 72
STREAM_BUFFER_BYTES = 64 * 1024


def _read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise ProtocolError("channel closed before the job was complete")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_job(fd: int) -> Job:
    length = frame_length(_read_exact(fd, HEADER.size), MAX_JOB_BYTES)
    job = decode_body(_read_exact(fd, length))
    if not isinstance(job, dict) or not isinstance(job.get("code"), str):
        raise ProtocolError("job is malformed")
    return cast(Job, job)


def _stream(fd: int) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    # backslashreplace: a lone surrogate in printed text shows up escaped instead of
    # raising UnicodeEncodeError in the middle of the program's output.
    return io.TextIOWrapper(
        io.BufferedWriter(raw, STREAM_BUFFER_BYTES), encoding="utf-8", errors="backslashreplace", newline="\n"
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serve(proxies: Mapping[str, ModuleProxy], allowed: frozenset[str]) -> None:
    """Run one job and exit the process. Never returns."""
    try:
        job = read_job(CHANNEL_FD)
    except (ProtocolError, OSError):
        os._exit(EXIT_BAD_JOB)
    try:
        harden(job["limits"])
    except HardeningError:
        os._exit(EXIT_HARDENING_FAILED)
    random.seed()  # forked from one template: every worker would otherwise share a stream
    stdout, stderr = _stream(1), _stream(2)
    sys.stdout, sys.stderr = stdout, stderr  # pprint, calendar.prmonth & co. write here
    reply = run_job(job, stdout, stderr, proxies, allowed)
    for stream in (stdout, stderr):
        with contextlib.suppress(OSError, ValueError, MemoryError):
            stream.flush()
    try:
        frame = encode_frame(reply)
    except (ValueError, TypeError, RecursionError, MemoryError):
        error = reply["error"]
        reply["result"], reply["result_truncated"] = None, True
        if error is not None:
            error["message"] = clean_text(error["message"])
        frame = encode_frame(reply)
    try:
        _write_all(CHANNEL_FD, frame)
    finally:
        os._exit(0)
