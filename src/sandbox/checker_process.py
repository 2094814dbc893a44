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
The source is never run here. EOF on stdin ends the process.
"""

from __future__ import annotations

import base64
import json
import resource
import sys
import warnings
from typing import Any, BinaryIO

from ..language.validation import PreparedProgram, SourcePolicy, Violation, prepare_program
from ..protocol import HEADER, ProtocolError, encode_frame, frame_length


def decode_frame_body(body: bytes) -> Any:
    """A frame body of either side. Unlike the worker's frames, these carry the program's
    source as the request gave it, lone surrogates included (the validator refuses them
    with a message, which must not turn into a broken frame)."""
    try:
        return json.loads(body.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("frame is not valid UTF-8 JSON") from exc


def policy_from_argument(text: str) -> SourcePolicy:
    raw = json.loads(text)
    return SourcePolicy(int(raw["max_ast_nodes"]), int(raw["max_ast_depth"]), frozenset(raw["allowed_imports"]))


def policy_argument(policy: SourcePolicy) -> str:
    return json.dumps(
        {
            "max_ast_nodes": policy.max_ast_nodes,
            "max_ast_depth": policy.max_ast_depth,
            "allowed_imports": sorted(policy.allowed_imports),
        }
    )


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
        request = decode_frame_body(body)
        if not isinstance(request, dict) or not isinstance(request.get("code"), str):
            raise ProtocolError("a request is {'code': str}")
        replies.write(encode_frame(verdict_message(check(request["code"], policy))))
        replies.flush()


def main(policy_text: str, max_request_bytes: int, memory_bytes: int) -> None:
    # The compiler warns about odd programs ("is" with a literal) on stderr, which is the
    # API's log: a program could fill it. The verdict is what speaks to the caller.
    warnings.simplefilter("ignore")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    sys.stdout.buffer.write(encode_frame({"ready": True}))
    sys.stdout.buffer.flush()
    serve(policy_from_argument(policy_text), sys.stdin.buffer, sys.stdout.buffer, max_request_bytes)
