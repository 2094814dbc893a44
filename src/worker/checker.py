"""The checker process: programs in, verdicts out, one at a time.

Checking a program (parse, policy pass, RestrictedPython's transformer, compile) is C
code that holds the GIL for as long as the program is large, and CPython's parser and
compiler have shapes whose cost grows faster than their size. In a thread of the API
process such a check stalls the event loop (``/livez`` included) for as long as it
runs, and a check past its deadline cannot be stopped. In a process of its own it costs
one core at most, it is killed at its deadline, and its memory is bounded.

The parent (src/sandbox/checker_client.py) spawns this module with an empty
environment in isolated mode and speaks the frames of src/protocol.py over stdin and
stdout: ``{"code": str}`` in, ``{"violations": [...], "bytecode": base64 | null}`` out.
The source is never run here, but it is the first process to parse it, with CPython's C
parser and compiler: it drops its capabilities, takes no_new_privs and, where the host
offers Landlock, may read nothing but the interpreter's own files and write nothing, so
that a memory-safety bug in them would not be root with every capability.
EOF on stdin ends the process.
"""

from __future__ import annotations

import base64
import json
import os
import resource
import sys
import warnings
from typing import Any, BinaryIO

from ..language.validation import PreparedProgram, SourcePolicy, Violation, prepare_program
from ..protocol import HEADER, ProtocolError, decode_checker_body, encode_frame, frame_length
from .isolation import landlock
from .isolation.hardening import drop_capabilities, set_no_new_privs


def policy_from_argument(text: str) -> SourcePolicy:
    raw = json.loads(text)
    return SourcePolicy(int(raw["max_ast_nodes"]), int(raw["max_ast_depth"]), frozenset(raw["allowed_imports"]))


def verdict_message(prepared: PreparedProgram) -> dict[str, Any]:
    return {
        "violations": [
            {"line": v.line, "rule": v.rule, "message": v.message, "hint": v.hint} for v in prepared.violations
        ],
        "bytecode": None if prepared.bytecode is None else base64.b64encode(prepared.bytecode).decode("ascii"),
    }


def check(code: str, policy: SourcePolicy) -> PreparedProgram:
    try:
        return prepare_program(code, policy)
    except MemoryError:  # the address-space limit below, in a step that does not catch it itself
        message = "checking the program needs more memory than the checker has"
        return PreparedProgram([Violation(None, "too_large_compiled", message, "send a smaller program")])


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = stream.read(size)
    if not data:
        return None
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise ProtocolError("truncated frame")
        data += more
    return data


def serve(policy: SourcePolicy, requests: BinaryIO, replies: BinaryIO, max_request_bytes: int) -> None:
    while True:
        header = _read_exactly(requests, HEADER.size)
        if header is None:
            return
        body = _read_exactly(requests, frame_length(header, max_request_bytes))
        if body is None:
            raise ProtocolError("truncated frame")
        request = decode_checker_body(body)
        if not isinstance(request, dict) or not isinstance(request.get("code"), str):
            raise ProtocolError("a request is {'code': str}")
        replies.write(encode_frame(verdict_message(check(request["code"], policy))))
        replies.flush()


def confine() -> None:
    """No capabilities, no_new_privs, and Landlock's read-only view of the interpreter's
    files where the kernel has it (everything this process imports is imported by now)."""
    drop_capabilities()
    set_no_new_privs()
    abi = landlock.abi_version()
    if abi > 0:
        fd = landlock.build_ruleset(abi, landlock.interpreter_paths())
        try:
            landlock.restrict_self(fd)
        finally:
            os.close(fd)


def main(policy_text: str, max_request_bytes: int, memory_bytes: int) -> None:
    # The compiler warns about odd programs ("is" with a literal) on stderr, which is the
    # API's log: a program could fill it. The verdict is what speaks to the caller.
    warnings.simplefilter("ignore")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    confine()
    sys.stdout.buffer.write(encode_frame({"ready": True}))
    sys.stdout.buffer.flush()
    serve(policy_from_argument(policy_text), sys.stdin.buffer, sys.stdout.buffer, max_request_bytes)
