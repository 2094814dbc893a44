"""Messages between the API process and a sandbox worker, and their wire format.

Everything that crosses the trust boundary is length-prefixed JSON: a 4-byte big-endian
length, then that many bytes of UTF-8 JSON. Never pickle or marshal: decoding a frame
must not be able to run code, and a frame must be bounded before it is read.

This module is imported by both sides, so it uses the standard library only.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import json.encoder
import math
import signal
import struct
from collections.abc import Callable
from typing import Any, Literal, NotRequired, TypedDict, get_args

HEADER = struct.Struct(">I")
#: Sent by the API process to a worker at its job's deadline: write out the output the
#: program printed so far, then exit (the worker is killed anyway soon after).
FLUSH_SIGNAL = signal.SIGUSR1
#: The worker's exit status once its FLUSH_SIGNAL handler has written the output out: only
#: that handler exits with it, so the API process knows the output after the deadline
#: came from the flush and not from a program that kept running past it.
EXIT_FLUSHED = 74
#: What a worker dies of when its files pass a limit: the kernel sends it at RLIMIT_FSIZE
#: (a file past the size limit), the worker to itself at the others (file_system.py).
FILES_LIMIT_SIGNAL = signal.SIGXFSZ
#: Largest job frame (code + context + limits) the worker accepts.
MAX_JOB_BYTES = 16 * 1024 * 1024

#: The limits that can stop a program: the ``limit`` of a reply, the ``kind`` label of
#: ``executor_limits_hit_total``.
LimitKind = Literal["timeout", "memory", "cpu", "output", "files"]
LIMIT_KINDS: tuple[LimitKind, ...] = get_args(LimitKind)


#: The error types the service itself reports: a worker that crashed, a limit it enforced
#: from outside, output it cut, a reply the sandbox could not build, a refusal. A program's
#: own class of one of these names is reported qualified (``__main__.WorkerCrashed``).
WORKER_CRASHED = "WorkerCrashed"
CPU_TIME_EXCEEDED = "CPUTimeExceeded"
OUTPUT_LIMIT_EXCEEDED = "OutputLimitExceeded"
FILES_LIMIT_EXCEEDED = "FilesLimitExceeded"
SANDBOX_ERROR = "SandboxError"
SECURITY_ERROR = "SecurityError"
SERVICE_ERROR_TYPES = frozenset(
    {WORKER_CRASHED, CPU_TIME_EXCEEDED, OUTPUT_LIMIT_EXCEEDED, FILES_LIMIT_EXCEEDED, SANDBOX_ERROR, SECURITY_ERROR}
)


class ProtocolError(Exception):
    """A frame was malformed, oversized or did not match its schema."""


#: The largest line number a reply may give: a program is at most a few megabytes.
MAX_LINE = 10_000_000


class Limits(TypedDict):
    """What the worker enforces on itself before it runs the code."""

    memory_mb: int
    cpu_s: int
    max_open_files: int
    max_result_bytes: int
    max_error_chars: int
    #: Wall-clock seconds after which the worker's own alarm kills it: a backstop that
    #: does not depend on the parent (which kills it at the deadline anyway).
    wall_s: NotRequired[int]
    #: The hard RLIMIT_CPU (absent: a second past ``cpu_s``). A session's worker is given
    #: its whole session's: the API process moves the soft limit before each call
    #: (sandbox/session_workers.py), which it may do only below the hard one.
    cpu_hard_s: NotRequired[int]
    #: The API's limits on a program's source, applied again to the strings the program
    #: hands to eval()/exec() (absent: the settings' defaults).
    max_code_bytes: NotRequired[int]
    max_ast_nodes: NotRequired[int]
    max_ast_depth: NotRequired[int]


class FileRules(TypedDict):
    """What a program may keep in its working directory (settings; input_files.py checks
    the request's files against the same numbers)."""

    max_files: int
    max_file_bytes: int
    max_files_bytes: int
    max_path_chars: int
    max_path_depth: int


class Job(TypedDict):
    code: str
    context: dict[str, Any]
    limits: Limits
    #: The program already compiled by the API process with the same RestrictedPython
    #: policy (base64 of marshal). Travels only API -> worker, trusted to untrusted;
    #: nothing the worker sends back is ever unmarshalled. Absent: the worker compiles.
    bytecode: NotRequired[str]
    #: The execution's working directory (sandbox/workdirs.py), absolute: the worker's
    #: current directory, and the one directory beneath the interpreter's own it may read.
    #: Absent: no working directory (the health self-test).
    workdir: NotRequired[str]
    #: The working directory's limits, with it.
    file_rules: NotRequired[FileRules]
    #: The data tier's figures (worker/figures.py): present for a data-tier job only.
    figure_rules: NotRequired[FigureRules]
    #: A session's call: the worker runs it in the session's namespace and then waits for
    #: the next call instead of exiting (worker/child.serve). Its first job confines it
    #: (limits, working directory) for the session's life; later jobs' limits other than
    #: the output's are the API process's to enforce.
    session: NotRequired[bool]


class FigureRules(TypedDict):
    """How many of the figures a program leaves open are rendered, and how large."""

    max_figures: int
    max_figure_pixels: int


#: Every figure of one reply, as base64 text, at most (the figures past it are dropped).
MAX_FIGURES_BYTES = 8 * 1024 * 1024
FIGURE_MEDIA_TYPE = "image/png"


class Figure(TypedDict):
    """One figure the program left open, rendered (base64 of a PNG)."""

    media_type: str
    width: int
    height: int
    content: str


class ErrorInfo(TypedDict):
    type: str
    message: str
    line: int | None


class WorkerReply(TypedDict):
    success: bool
    result: Any
    result_truncated: bool
    error: ErrorInfo | None
    limit: LimitKind | None
    #: The open figures, rendered (data tier only; absent or empty otherwise).
    figures: NotRequired[list[Figure]]


#: Server -> template spawn requests (one byte each, with three descriptors attached):
#: fork a worker, and have it rehearse while it waits (only when there is idle CPU).
SPAWN = b"S"
SPAWN_AND_REHEARSE = b"R"
#: Server -> template liveness ping (one byte, no descriptors): answered by EVENT_PONG,
#: in the order the template reads its control socket.
PING = b"P"

#: Template -> server events: kind (b"S" spawned / b"X" exited), pid, wait status, CPU ms.
#: Fixed-size binary records: the template writes one per fork, on the hot path.
#: b"L" (layers) is the first record, once: the bitmask of LAYERS every worker will
#: apply in the status field, the Landlock ABI in the CPU field.
EVENT = struct.Struct("<ciii")
EVENT_SPAWNED = b"S"
EVENT_EXITED = b"X"
EVENT_LAYERS = b"L"
#: A fork failed (the host is out of processes or memory): errno in the status field.
#: Answers the oldest pending spawn request, as "spawned" would have.
EVENT_SPAWN_FAILED = b"F"
#: The answer to one PING (all fields zero). Answers the oldest pending ping.
EVENT_PONG = b"P"

#: The layers the template reports (the bit order of the b"L" event): the operating-system
#: isolation layers, in the order a worker applies them, each applied to every worker or,
#: when the host lacks it, reported missing (a worker that fails to apply one exits
#: without running code); then the repairs of the interpreter's C code (worker/repairs.py),
#: made in the template, missing where their extension is not built.
LAYERS: tuple[str, ...] = (
    "rlimits",
    "capabilities",
    "no_new_privs",
    "landlock",
    "seccomp",
    "network_namespace",
    "interpreter_repairs",
)
#: Layers a test may switch off to show what the others stop on their own. Never from a
#: setting or a request: only code that builds an ExecutionPool itself can ask.
#: no_new_privs is not among them: Landlock and seccomp need it; nor the repairs, made
#: before any worker exists.
DISABLEABLE_LAYERS: frozenset[str] = frozenset(LAYERS) - {"no_new_privs", "interpreter_repairs"}


def layers_to_mask(names: frozenset[str]) -> int:
    return sum(1 << i for i, name in enumerate(LAYERS) if name in names)


def mask_to_layers(mask: int) -> frozenset[str]:
    return frozenset(name for i, name in enumerate(LAYERS) if mask & (1 << i))


class TemplateConfig(TypedDict):
    """Sent once to the template process on its stdin when it starts."""

    allowed_imports: list[str]
    #: Test-only (see DISABLEABLE_LAYERS); empty in the service.
    disabled_layers: list[str]
    #: The directory beneath which the executions' working directories are (absolute), or
    #: None: the template's Landlock domain lets workers read beneath it, and each worker's
    #: own domain narrows that to its own directory.
    files_root: NotRequired[str | None]


def _no_default(value: object) -> object:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _make_dumps() -> Callable[[object], str]:
    """A compact JSON encoder bound once, at import, to the C implementation.

    In a worker, the reply is encoded after the program ran, and the program can reach
    ``json.JSONEncoder`` (the class behind ``json.dumps``) through the json module. The C
    encoder object built here has its configuration fixed and looks nothing up on that
    class, so whatever the program did to it cannot change (forge) the reply.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    encode_str = getattr(json.encoder, "c_encode_basestring", None)
    if make is None or encode_str is None:  # pure-Python json: fall back, same output
        return lambda value: json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    encoder = make(None, _no_default, encode_str, None, ":", ",", False, False, False)
    return lambda value: "".join(encoder(value, 0))


#: ``json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))``,
#: immune to changes to the json module's classes after import.
dumps = _make_dumps()


def encode_frame(message: object) -> bytes:
    """Serialize ``message`` as one frame. Raises ValueError/TypeError for non-JSON values."""
    body = dumps(message).encode("utf-8", "surrogatepass")
    return HEADER.pack(len(body)) + body


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text[:20]}")
    return value


def decode_body(body: bytes) -> Any:
    """Parse one frame body (without its header). Raises ProtocolError.

    ``NaN`` and ``Infinity`` are refused, and so is a number too large for a float
    (``1e400``, which json.loads reads as infinity): neither side ever writes them, and
    a reply carrying one could not be answered as JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("frame is not valid UTF-8 JSON") from exc


def decode_checker_body(body: bytes) -> Any:
    """A frame body between the API process and the checker process. Unlike a worker's
    frames these carry the program's source as the request gave it, lone surrogates
    included (the validator refuses them with a message, which must not become a broken
    frame). Raises ProtocolError."""
    try:
        return json.loads(body.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("frame is not valid UTF-8 JSON") from exc


def frame_length(header: bytes, max_bytes: int) -> int:
    """Length announced by a frame header, refused above ``max_bytes``."""
    if len(header) != HEADER.size:
        raise ProtocolError("truncated frame header")
    (length,) = HEADER.unpack(header)
    if length > max_bytes:
        raise ProtocolError(f"frame of {length} bytes exceeds the {max_bytes}-byte limit")
    return int(length)


#: Deeper than any result the worker's converter produces (it stops at 100).
MAX_RESULT_DEPTH = 128
#: An exception class's name as a reply may carry it (the program chooses the name).
MAX_ERROR_TYPE_CHARS = 200


_CONTAINERS = frozenset({dict, list})
_is_container = _CONTAINERS.__contains__
_is_float = frozenset({float}).__contains__
_is_list = frozenset({list}).__contains__
_is_dict = frozenset({dict}).__contains__

#: What can be wrong with the shape of a parsed JSON value: see json_shape_problem.
ShapeProblem = Literal["too_deep", "not_finite"]


def json_shape_problem(value: Any, limit: int) -> ShapeProblem | None:
    """What is wrong with a parsed JSON value, if anything: a container nested ``limit``
    or more containers deep (``value`` itself at depth 0), or a float that is NaN or
    infinite (JSON has neither; parsers accept them, and ``1e400`` reads as infinity).

    Walked level by level, each container's items sorted by type with C iterators: a
    megabyte of small values costs milliseconds, where an element-by-element Python
    loop costs half a second of the event loop it runs on. No recursion: a deep value
    cannot overflow the stack."""
    if type(value) is float:
        return None if math.isfinite(value) else "not_finite"
    level = [value] if type(value) in _CONTAINERS else []
    for depth in range(limit + 1):
        if not level:
            return None
        if depth >= limit:
            return "too_deep"
        kinds = list(map(type, level))
        lists = itertools.compress(level, map(_is_list, kinds))
        dicts = itertools.compress(level, map(_is_dict, kinds))
        items = [*itertools.chain.from_iterable(lists), *itertools.chain.from_iterable(map(dict.values, dicts))]
        present = set(map(type, items))
        if float in present and not all(
            map(math.isfinite, itertools.compress(items, map(_is_float, map(type, items))))
        ):
            return "not_finite"
        level = list(itertools.compress(items, map(_is_container, map(type, items)))) if present & _CONTAINERS else []
    return None


def _utf8_bytes(text: str) -> int:
    """UTF-8 length of ``text``; ProtocolError for a lone surrogate, which the worker
    always escapes and which no JSON answer could carry."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ProtocolError("reply text is not valid Unicode") from exc


#: A PNG file's signature, and the chunks the worker's figures are made of (Agg through
#: Pillow: IHDR, tEXt "Software", pHYs, IDAT, IEND): nothing else reaches a client's decoder.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FIGURE_CHUNKS = frozenset({b"IHDR", b"tEXt", b"pHYs", b"IDAT", b"IEND"})


def png_dimensions(data: bytes, chunks: frozenset[bytes] | None = None) -> tuple[int, int] | None:
    """A PNG's width and height from its IHDR, walking every chunk to IEND; None when
    ``data`` is not a well-formed PNG (or holds a chunk outside ``chunks``, when given)."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    position, size = len(_PNG_SIGNATURE), None
    while position + 12 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if len(body) != length or (chunks is not None and kind not in chunks):
            return None
        if size is None:
            if kind != b"IHDR" or length != 13:
                return None
            size = (int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big"))
        elif kind == b"IHDR":
            return None  # one header only: which would a decoder believe?
        position += 12 + length
        if kind == b"IEND":
            return size if position == len(data) and size[0] > 0 and size[1] > 0 else None
    return None


def _checked_figures(raw: Any, rules: FigureRules | None) -> list[Figure]:
    """A reply's figures, checked against the job's rules: a list of at most
    ``max_figures`` PNG images (base64 text), each within ``max_figure_pixels``, all within
    MAX_FIGURES_BYTES. A data-tier worker that rendered none sends none; any other worker
    sends none at all."""
    if raw is None:
        return []
    if rules is None or not isinstance(raw, list) or len(raw) > rules["max_figures"]:
        raise ProtocolError("reply figures are not a list the job allows")
    figures: list[Figure] = []
    total = 0
    for figure in raw:
        if not isinstance(figure, dict) or set(figure) != {"media_type", "width", "height", "content"}:
            raise ProtocolError("a figure is {media_type, width, height, content}")
        width, height, content = figure["width"], figure["height"], figure["content"]
        if figure["media_type"] != FIGURE_MEDIA_TYPE or not isinstance(content, str):
            raise ProtocolError("a figure is a PNG image in base64 text")
        if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in (width, height)):
            raise ProtocolError("a figure's size is two positive integers")
        total += len(content)
        if total > MAX_FIGURES_BYTES or not content.isascii():
            raise ProtocolError("the figures are larger than a reply may carry")
        # The worker's word is not taken for the size: the image itself is read (a figure
        # that claimed 64 x 64 held 20000 x 20000, attack pass 96).
        try:
            data = base64.b64decode(content, validate=True)
        except binascii.Error as exc:
            raise ProtocolError("a figure is not base64") from exc
        if png_dimensions(data, _FIGURE_CHUNKS) != (width, height) or width * height > rules["max_figure_pixels"]:
            raise ProtocolError("a figure is not a PNG of the size it claims, within the job's limit")
        figures.append({"media_type": FIGURE_MEDIA_TYPE, "width": width, "height": height, "content": content})
    return figures


def parse_reply(message: Any, limits: Limits, figure_rules: FigureRules | None = None) -> WorkerReply:
    """Check that a decoded frame is a well-formed WorkerReply within the job's
    ``limits``; raise ProtocolError if it is not well-formed.

    The worker is untrusted (it ran the user's code, and a program that escaped the
    language layer can write its own reply on the channel), so every field is checked
    for type, every limit of the job is applied again here whatever the worker claims,
    and the reply is rebuilt from the checked fields only. What breaks a limit is cut the
    way an honest worker cuts it, and marked: a result larger than ``max_result_bytes``
    as JSON becomes null with ``result_truncated`` true (what the worker itself answers
    for a result it cannot encode; cutting inside a forged value to keep its shape would
    cost a second converter for a reply that is a lie anyway), an error message is cut
    to ``max_error_chars`` and a type to MAX_ERROR_TYPE_CHARS. What an honest worker
    never sends (wrong types, nesting past MAX_RESULT_DEPTH, lone surrogates) is a
    ProtocolError, which the pool answers as a crashed worker. stdout and stderr are
    not in the reply: the pool reads them from pipes against their own budgets.
    """
    if not isinstance(message, dict):
        raise ProtocolError("reply is not an object")
    success = message.get("success")
    truncated = message.get("result_truncated")
    limit = message.get("limit")
    error = message.get("error")
    if not isinstance(success, bool) or not isinstance(truncated, bool):
        raise ProtocolError("reply flags are not booleans")
    if limit is not None and (not isinstance(limit, str) or limit not in LIMIT_KINDS):
        raise ProtocolError("reply names an unknown limit")
    checked_error: ErrorInfo | None = None
    if error is not None:
        if not isinstance(error, dict):
            raise ProtocolError("reply error is not an object")
        etype, emsg, eline = error.get("type"), error.get("message"), error.get("line")
        if not isinstance(etype, str) or not isinstance(emsg, str):
            raise ProtocolError("reply error fields have the wrong types")
        if eline is not None and (not isinstance(eline, int) or isinstance(eline, bool) or not 0 <= eline <= MAX_LINE):
            raise ProtocolError("reply error line is not a line number")
        checked_error = {
            "type": etype[:MAX_ERROR_TYPE_CHARS],
            "message": emsg[: limits["max_error_chars"]],
            "line": eline,
        }
        _utf8_bytes(checked_error["type"] + checked_error["message"])
    if success and (checked_error is not None or limit is not None):
        raise ProtocolError("reply claims success together with an error")
    result = message.get("result")
    if json_shape_problem(result, MAX_RESULT_DEPTH) is not None:
        raise ProtocolError("reply result is nested too deeply or holds a number that is not finite")
    try:
        encoded = dumps(result)
    except ValueError as exc:  # cannot happen after decode_body; a reply is never trusted
        raise ProtocolError("reply result is not JSON") from exc
    if _utf8_bytes(encoded) > limits["max_result_bytes"]:
        result, truncated = None, True
    checked: WorkerReply = {
        "success": success,
        "result": result,
        "result_truncated": truncated,
        "error": checked_error,
        "limit": limit,
    }
    figures = _checked_figures(message.get("figures"), figure_rules)
    if figure_rules is not None:
        checked["figures"] = figures
    return checked
