"""The sandbox as an MCP server (official SDK, ``mcp``): the same pipeline as /execute.

Tools:

* ``run_python(code, context?, timeout_s?)``: runs the code through ExecutionService,
  exactly as POST /execute does (validation, FIFO admission, a fresh confined worker).
  The result has a text for the model (``model_text``: the error, the limit, stdout,
  stderr and the result as JSON, within EXECUTOR_MCP_MAX_TEXT_BYTES, each cut marked)
  and ``structuredContent`` equal to the /execute response (the tool's outputSchema).
  A program that raised or hit a limit is ``isError: true`` with its error; code the
  validator refuses is a tool error that lists every violation with its line and a
  hint, never a protocol error; arguments that do not fit are one sentence.
* ``sandbox_info()``: the allowed modules and the limits, also the resource
  ``sandbox://info``; run_python's description says the same, so no call is needed first.

Served over Streamable HTTP at /mcp in the service's own FastAPI app (stateless, JSON
answers: any replica can answer any request), and over stdio by the console script
``sandboxed-executor-mcp`` (src/mcp_stdio.py). On HTTP the caller authenticates as on /execute (``X-Executor-Token``,
or ``Authorization: Bearer``), shares its rate-limit budget with /execute, and is
counted and audited with ``transport="mcp"``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import json
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any
from urllib.parse import quote

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp_types import (
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
    ToolAnnotations,
)
from pydantic import BaseModel, Field, ValidationError

from . import __version__, mcp_sessions
from .api.front import Caller, ExecutionFront, unless_client_leaves
from .data_tier import data_modules, installed_versions
from .errors import CodeRejected, ExecutorError, InvalidRequest, RateLimited
from .language.validation import ALLOWED_MODULES_HINT, violation_details
from .log_config import REQUEST_ID
from .protocol import png_dimensions
from .schemas import ExecuteRequest, ExecuteResponse, SessionCreated
from .sessions.registry import SessionRegistry
from .settings import Settings

#: Who is calling, set by the HTTP front (McpFront) for the tool to audit and limit; None
#: over stdio, where the caller is whoever started the process.
CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("mcp_caller", default=None)
#: Set by the HTTP front when the client that made the request disconnects before its
#: answer; None over stdio.
CLIENT_GONE: contextvars.ContextVar[asyncio.Event | None] = contextvars.ContextVar("mcp_client_gone", default=None)
#: What run_python answers to a client that left (nobody reads it; it is for the SDK).
ABANDONED_TEXT = "The client disconnected before the answer, so the execution was stopped."
#: Bytes each cut section keeps for its marker (the longest marker is about 190 bytes).
MARKER_RESERVE_BYTES = 240
#: run_python's published input schema and sandbox_info's: stable titles, not the names
#: the SDK derives from Python functions ("describeArguments").
RUN_PYTHON_ARGUMENTS_TITLE = "run_python arguments"
SANDBOX_INFO_ARGUMENTS_TITLE = "sandbox_info arguments"


#: run_python's return type: the SDK derives the tool's outputSchema from the model (the
#: /execute response, which structuredContent equals on every run that was not refused).
RunPythonResult = Annotated[CallToolResult, ExecuteResponse]


class SandboxLimits(BaseModel):
    default_timeout_s: float
    max_timeout_s: float
    memory_mb: int
    max_code_bytes: int
    max_stdout_bytes: int
    max_stderr_bytes: int
    max_result_bytes: int
    max_text_bytes: int = Field(description="budget of the text run_python shows the model")


class SandboxInfo(BaseModel):
    language: str
    allowed_modules: list[str]
    data_libraries: dict[str, str] = Field(
        description="numpy, pandas and matplotlib with their versions when the data tier is on; empty when off"
    )
    limits: SandboxLimits
    returning_a_value: str
    not_available: str


def sandbox_info(settings: Settings) -> dict[str, Any]:
    return describe_sandbox(settings).model_dump(mode="json")


def describe_sandbox(settings: Settings) -> SandboxInfo:
    return SandboxInfo(
        language="Python 3.11, run with RestrictedPython in a fresh, confined process per call",
        allowed_modules=sorted(settings.allowed_imports | data_modules(settings)),
        data_libraries=(installed_versions() or {}) if data_modules(settings) else {},
        limits=SandboxLimits(
            default_timeout_s=settings.execution_timeout_s,
            max_timeout_s=settings.max_timeout_s,
            memory_mb=settings.max_memory_mb,
            max_code_bytes=settings.max_code_bytes,
            max_stdout_bytes=settings.max_stdout_bytes,
            max_stderr_bytes=settings.max_stderr_bytes,
            max_result_bytes=settings.max_result_bytes,
            max_text_bytes=settings.mcp_max_text_bytes,
        ),
        returning_a_value="the value of the last expression statement (else of the global `_`) comes back as "
        "`result`, converted to JSON; print() goes to `stdout`",
        not_available="files outside the call's own working directory, network, subprocesses, threads, names and "
        "attributes starting with an underscore (other than `_` itself), modules outside allowed_modules; nothing "
        "persists between calls",
    )


def _size(n_bytes: int) -> str:
    return f"{n_bytes // 1_048_576} MiB" if n_bytes % 1_048_576 == 0 else f"{n_bytes // 1024} KiB"


def tool_description(settings: Settings) -> str:
    """What the model reads about run_python: every limit it can hit, with the number."""
    modules = ", ".join(sorted(settings.allowed_imports | data_modules(settings)))
    return (
        "Run Python 3.11 code in a fresh sandboxed process and get its stdout, stderr and result.\n"
        "- The value of the last expression comes back as `result` (as JSON): end the code with an expression, "
        "like a notebook cell (or assign it to `_`). print() output comes back as `stdout`.\n"
        "- `context` (optional object): its keys become global variables (identifiers not starting with _).\n"
        f"- Time: {settings.execution_timeout_s:g} s by default; `timeout_s` may ask for up to "
        f"{settings.max_timeout_s:g} s. A program that runs longer is stopped and the answer says so.\n"
        f"- Memory: {settings.max_memory_mb} MB"
        + (f" ({settings.data_max_memory_mb} MB with numpy, pandas or matplotlib)" if data_modules(settings) else "")
        + f". Code: at most {_size(settings.max_code_bytes)}.\n"
        f"- Output: stdout is kept up to {_size(settings.max_stdout_bytes)}, stderr up to "
        f"{_size(settings.max_stderr_bytes)}, the result up to {_size(settings.max_result_bytes)}; the text of this "
        f"answer shows at most {_size(settings.mcp_max_text_bytes)} of them, and says how much it left out.\n"
        f"- Importable modules: {modules}. Nothing else: no network, subprocesses, threads, "
        "or names and attributes starting with an underscore (other than `_` itself).\n"
        "- Files: `files` (optional) places input files in the call's working directory (relative paths); "
        "open(), pathlib, csv, json, zipfile, tarfile work there, and every file the code creates or changes "
        f"comes back (images as images), up to {settings.max_files} files of {_size(settings.max_file_bytes)}.\n"
        + (
            "- numpy, pandas and matplotlib: figures still open at the end come back as images (plt.show() is "
            "not needed); files the code saves (savefig, to_csv) come back as files.\n"
            if data_modules(settings)
            else ""
        )
        + "- Nothing persists between calls, unless you pass `session_id` (from the start_session tool): "
        "variables, functions, classes, imports and files then carry over to the next call of that session; "
        f"it ends after {settings.session_idle_timeout_s / 60:g} min unused, when a call hits a limit, or with "
        "end_session.\n"
        "- Refused code comes back as an error listing each problem with its line and a hint."
    )


def run_python_schema(settings: Settings, with_sessions: bool = False) -> dict[str, Any]:
    """run_python's input schema as published: a description per parameter and the
    bounds of this service's settings."""
    schema = _run_python_schema(settings)
    if with_sessions:
        schema["properties"]["session_id"] = {
            "type": "string",
            "title": "Session",
            "description": "Optional: the id start_session gave. The code then runs in that session, where the "
            "variables, functions, classes, imports and files of its earlier calls are kept.",
            "maxLength": 64,
        }
    return schema


def _run_python_schema(settings: Settings) -> dict[str, Any]:
    return {
        "type": "object",
        "title": RUN_PYTHON_ARGUMENTS_TITLE,
        "properties": {
            "code": {
                "type": "string",
                "title": "Code",
                "description": "The Python 3.11 source to run. End it with an expression to get that value back "
                "as `result`.",
                "maxLength": settings.max_code_bytes,
            },
            "context": {
                "type": "object",
                "title": "Context",
                "description": "Optional JSON values to bind as global variables before the code runs; each key "
                "must be a Python identifier that does not start with an underscore.",
                "additionalProperties": True,
            },
            "files": {
                "type": "array",
                "title": "Files",
                "description": "Optional input files, placed in the working directory before the code runs: "
                "`path` relative (no '..'), `content` text, or base64 with `encoding` \"base64\".",
                "maxItems": settings.max_files,
                "items": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string"},
                        "content": {"type": "string"},
                        "encoding": {"type": "string", "enum": ["utf-8", "base64"]},
                    },
                    "required": ["path", "content"],
                    "additionalProperties": False,
                },
            },
            "timeout_s": {
                "type": "number",
                "title": "Timeout (seconds)",
                "description": f"Optional wall-clock limit in seconds: {settings.execution_timeout_s:g} when not "
                f"given, at most {settings.max_timeout_s:g}.",
                "exclusiveMinimum": 0,
                "maximum": settings.max_timeout_s,
            },
        },
        "required": ["code"],
        "additionalProperties": False,
    }


def _utf8_head(data: bytes, n_bytes: int) -> str:
    return data[: max(n_bytes, 0)].decode("utf-8", "ignore")


def _utf8_tail(data: bytes, n_bytes: int) -> str:
    return data[len(data) - n_bytes :].decode("utf-8", "ignore") if n_bytes > 0 else ""


def _shares(sizes: list[int], budget: int) -> list[int]:
    """Bytes each section may keep: the small ones whole, the rest of ``budget`` split
    evenly between the larger ones (so a flood of stdout cannot push out the result)."""
    shares = [0] * len(sizes)
    left, pending = max(budget, 0), sorted(range(len(sizes)), key=lambda i: sizes[i])
    while pending:
        fair = left // len(pending)
        index = pending.pop(0)
        shares[index] = min(sizes[index], fair)
        left -= shares[index]
    return shares


def _cut(name: str, data: bytes, share: int) -> str:
    """``data`` within ``share`` bytes: its head and its tail around a marker that says
    how much was left out (the tail too, since the last lines often say how it ended)."""
    keep = max(share - MARKER_RESERVE_BYTES, 0)
    head = keep * 2 // 3
    left_out = len(data) - head - (keep - head)
    marker = (
        f"\n[... {left_out:,} of the {len(data):,} bytes of {name} cut here to fit this text's budget; "
        f"structuredContent.{name} has it all ...]\n"
    )
    return _utf8_head(data, head) + marker + _utf8_tail(data, keep - head)


def model_text(reply: ExecuteResponse, settings: Settings, timeout_s: float) -> str:
    """The text content of a run: what happened, then stdout, stderr and the result as
    JSON, within ``settings.mcp_max_text_bytes`` (UTF-8). Many clients show their model
    only this text, so each cut says how much it left out."""
    budget = settings.mcp_max_text_bytes
    lines: list[str] = []
    if reply.error is not None:
        where = f" (line {reply.error.line})" if reply.error.line else ""
        # One line: the type and the message are the program's to choose (a class's
        # __name__ with newlines wrote lines that read as the service's own). Escaped
        # first, then cut, so the cut holds.
        error_type = _utf8_head(_one_line(reply.error.type).encode(), budget // 8)
        message = _utf8_head(_one_line(reply.error.message).encode(), budget // 4)
        lines.append(f"Error: {error_type}{where}: {message}")
    if reply.limit is not None:
        lines.append(_limit_sentence(reply.limit, settings, timeout_s, bool(reply.stdout or reply.stderr)))
    if reply.truncated.result:
        lines.append(
            f"The result was larger than the {_size(settings.max_result_bytes)} result budget, so it was left out."
        )
    sections: list[tuple[str, str, bytes]] = []
    for name, text, cut_by_sandbox, budget_bytes in (
        ("stdout", reply.stdout, reply.truncated.stdout, settings.max_stdout_bytes),
        ("stderr", reply.stderr, reply.truncated.stderr, settings.max_stderr_bytes),
    ):
        if text:
            note = f" (cut by the sandbox at {_size(budget_bytes)})" if cut_by_sandbox else ""
            sections.append((name, f"{name}{note}:", text.encode("utf-8", "surrogatepass")))
    if reply.result is not None:
        # JSON keeps U+2028, U+2029 and U+0085 raw, which readers take for line breaks: escaped,
        # the result stays the one line of the service's it is.
        text = json.dumps(reply.result, ensure_ascii=False)
        for separator in ("\u2028", "\u2029", "\x85"):
            text = text.replace(separator, separator.encode("unicode_escape").decode("ascii"))
        encoded = text.encode("utf-8", "surrogatepass")
        sections.append(("result", "result (JSON):", encoded))
    if reply.files:
        listed = ", ".join(
            f"{_one_line(file.path)} ({file.size:,} bytes{', not included: over the budget' if file.truncated else ''})"
            for file in reply.files
        )
        lines.append(_utf8_head(f"Files created or changed: {listed}.".encode(), budget // 4))
    if not lines and not sections:
        return "Ran successfully, with no output and no result."
    # The program's bytes are fenced so that no line of them reads as the service's
    # ("Error: ...", "result (JSON):"): each fence is longer than any run of backticks in
    # them. The result is JSON the service wrote, one line of its own.
    sections = [
        (name, label, data if name == "result" else _shorten_backtick_runs(data)) for name, label, data in sections
    ]
    fences = ["" if name == "result" else "`" * max(3, _longest_backtick_run(data) + 1) for name, _, data in sections]
    fixed = (
        sum(len(line.encode()) + 1 for line in lines)
        + sum(len(label.encode()) + 1 for _, label, _ in sections)
        + sum(2 * (len(fence) + 1) for fence in fences if fence)
    )
    shares = _shares([len(data) for _, _, data in sections], budget - fixed)
    for (name, label, data), share, fence in zip(sections, shares, fences, strict=True):
        body = data.decode("utf-8", "ignore") if share >= len(data) else _cut(name, data, share)
        body = body.rstrip(chr(10))
        lines.append(f"{label}\n{fence}\n{body}\n{fence}" if fence else f"{label}\n{body}")
    return "\n".join(lines)


#: The URI a returned file is named by in an embedded resource: the execution's working
#: directory is the whole file system the program has, never a path on the host.
FILE_URI_PREFIX = "sandbox://files/"


def image_pixels(media_type: str, content: str) -> int | None:
    """Width x height of a PNG file (base64 text), read from its header with every chunk
    walked; None for any other kind (a JPEG's size depends on which of its markers a
    decoder believes: one read as 16 x 16 was 12000 x 12000 to every decoder, attack pass 97)."""
    if media_type != "image/png":
        return None
    try:
        data = base64.b64decode(content, validate=True)
    except binascii.Error:
        return None
    size = png_dimensions(data)
    return None if size is None else size[0] * size[1]


def file_contents(reply: ExecuteResponse, max_pixels: int) -> list[ImageContent | EmbeddedResource]:
    """What the program left, for the model: each figure and each PNG file of at most
    ``max_pixels`` (read from its header: a small file can declare 20000 x 20000) as an
    image it can see, every other file as an embedded resource (text, or base64 as a blob).
    A file listed without its content (past the answer's budget) is named in the text only."""
    contents: list[ImageContent | EmbeddedResource] = [
        ImageContent(type="image", data=figure.content, mime_type=figure.media_type) for figure in reply.figures
    ]
    for file in reply.files:
        if file.truncated:
            continue
        pixels = image_pixels(file.media_type, file.content) if file.encoding == "base64" else None
        if pixels is not None and pixels <= max_pixels:
            contents.append(ImageContent(type="image", data=file.content, mime_type=file.media_type))
            continue
        uri = FILE_URI_PREFIX + quote(file.path)
        resource: TextResourceContents | BlobResourceContents = (
            TextResourceContents(uri=uri, mime_type=file.media_type, text=file.content)
            if file.encoding == "utf-8"
            else BlobResourceContents(uri=uri, mime_type=file.media_type, blob=file.content)
        )
        contents.append(EmbeddedResource(type="resource", resource=resource))
    return contents


def _one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


#: The longest fence: output with longer runs of backticks has them cut to one less in the
#: text (a fence as long as the output's longest run could outgrow the text's budget, pass
#: 85); structuredContent keeps them all.
_MAX_FENCE = 16


def _shorten_backtick_runs(data: bytes) -> bytes:
    return re.sub(rb"`{%d,}" % _MAX_FENCE, b"`" * (_MAX_FENCE - 1), data)


def _longest_backtick_run(data: bytes) -> int:
    runs = re.findall(rb"`+", data)
    return max((len(run) for run in runs), default=0)


def _limit_sentence(limit: str, settings: Settings, timeout_s: float, printed: bool) -> str:
    what = {
        "timeout": f"it ran longer than its {timeout_s:g} s timeout",
        "memory": f"it needed more than {settings.max_memory_mb} MB of memory",
        "cpu": "it used up its CPU time",
        "output": "it printed far more than the output budget",
        "files": "it went past a limit on its files",
    }.get(limit, f"it hit the {limit} limit")
    after = " What it printed before that is below." if printed else ""
    return f"Stopped by the {limit} limit: {what}.{after}"


def _tool_error(text: str, **structured: Any) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured or None, is_error=True
    )


def _sentence(detail: Any) -> str:
    """An error's detail as one readable sentence (a list of pydantic-style problems joined)."""
    if isinstance(detail, list):
        text = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
    else:
        text = str(detail)
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "."


def _refusal(exc: ExecutorError, budget: int) -> CallToolResult:
    """The refusal as a tool error; a refused program's violations within ``budget``
    bytes of text (the structured content keeps them all)."""
    if isinstance(exc, CodeRejected):
        details = violation_details(exc.violations)
        # The module list comes once, last: the messages point at it.
        lines = [
            "- "
            + detail["message"].replace("in this violation's hint", "below").replace("listed above", "listed below")
            for detail in details
        ]
        modules = next((d["hint"] for d in details if d["hint"].startswith(ALLOWED_MODULES_HINT)), None)
        if modules is not None:
            lines.append(modules[:1].upper() + modules[1:] + ".")
        text = "The code was refused before running:\n" + "\n".join(lines)
        encoded = text.encode("utf-8", "surrogatepass")
        return _tool_error(text if len(encoded) <= budget else _cut("violations", encoded, budget), violations=details)
    retry = (exc.headers or {}).get("Retry-After")
    hint = f" Retry in {retry} s." if retry else ""
    text = _sentence(exc.detail) + hint
    if isinstance(exc, RateLimited):
        return _tool_error(text, retry_after_s=exc.retry_after_s)
    return _tool_error(text)


def _arguments(code: Any, context: Any, timeout_s: Any, settings: Settings, files: Any = None) -> ExecuteRequest:
    """The tool's arguments as an /execute request; InvalidRequest, with one readable
    sentence, when they do not fit."""
    if not isinstance(code, str):
        raise InvalidRequest("`code` must be a string of Python source")
    if context is not None and not isinstance(context, dict):
        raise InvalidRequest("`context` must be an object whose keys become global variables")
    if timeout_s is not None and (isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float)):
        raise InvalidRequest("`timeout_s` must be a number of seconds")
    if timeout_s is not None and not 0 < timeout_s <= settings.max_timeout_s:
        raise InvalidRequest(f"`timeout_s` must be more than 0 and at most {settings.max_timeout_s:g} seconds")
    if files is not None and not isinstance(files, list):
        raise InvalidRequest("`files` must be a list of {path, content, encoding} objects")
    try:
        return ExecuteRequest.model_validate(
            {
                "code": code,
                "context": context or {},
                "timeout_s": None if timeout_s is None else float(timeout_s),
                "files": files or [],
            },
            context={"max_context_depth": settings.max_context_depth},
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"`{'.'.join(map(str, e['loc']))}`: {str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        )
        raise InvalidRequest(f"The arguments were refused: {problems}") from exc


class _CheckedArguments(Tool):
    """run_python as registered with the SDK, but with its arguments checked here first:
    the SDK's own check answers a pydantic dump ("1 validation error for ..."), which an
    LLM reads badly, and its JSON pre-parsing would turn a string argument that looks
    like JSON into a list."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        if not isinstance(arguments.get("code"), str):
            return _tool_error("run_python needs `code`: a string of Python source to run.")
        return await super().run(arguments, context, convert_result)


def build_mcp(
    front: ExecutionFront,
    settings: Settings,
    rate_limit: Callable[[Caller], int | None] | None = None,
    sessions: SessionRegistry | None = None,
    lifespan: Callable[[MCPServer[Any]], AbstractAsyncContextManager[Any]] | None = None,
) -> MCPServer[Any]:
    """``rate_limit(caller)``: None when the caller may run one more execution, else the
    seconds to wait (the HTTP transport passes the /execute budgets; stdio has none).
    ``lifespan``: stdio only; over HTTP the service's own lifespan runs the pool."""

    async def run_python(
        code: str, context: Any = None, timeout_s: Any = None, files: Any = None, session_id: Any = None
    ) -> RunPythonResult:
        caller = CALLER.get()
        audit = front.audit(caller, "mcp")
        try:
            if caller is not None and rate_limit is not None:
                wait = rate_limit(caller)
                if wait is not None:
                    raise RateLimited("Rate limit exceeded", wait)
            request = _arguments(code, context, timeout_s, settings, files)
            request_id = REQUEST_ID.get() or uuid.uuid4().hex
            if session_id is not None:
                if sessions is None or not isinstance(session_id, str):
                    raise InvalidRequest("`session_id` must be the id start_session gave")
                # Not stopped when the client leaves: a call cut short would leave the
                # session's worker mid-program; it ends within its own deadline.
                reply: ExecuteResponse | None = await mcp_sessions.run(
                    sessions, front, session_id, request, request_id=request_id, audit=audit,
                    client_ip=_address(caller),
                )  # fmt: skip
            else:
                execution = front.execute(request, request_id, audit)
                gone = CLIENT_GONE.get()
                reply = await (execution if gone is None else unless_client_leaves(gone.wait(), execution))
        except ExecutorError as exc:
            front.refused(exc, "mcp", audit)
            return _refusal(exc, settings.mcp_max_text_bytes)
        if reply is None:
            front.abandoned(audit)
            return _tool_error(ABANDONED_TEXT)
        return CallToolResult(
            content=[
                TextContent(
                    type="text", text=model_text(reply, settings, request.timeout_s or settings.execution_timeout_s)
                ),
                *file_contents(reply, settings.max_figure_pixels),
            ],
            structured_content=reply.model_dump(mode="json"),
            is_error=not reply.success,
        )

    def describe() -> SandboxInfo:
        return describe_sandbox(settings)

    runner = _CheckedArguments.from_function(
        run_python,
        name="run_python",
        title="Run Python",
        description=tool_description(settings),
        # Not read-only: clients may run a read-only tool without asking, and whether code
        # runs is the user's call even though nothing outside the sandbox changes (so not
        # destructive) and the sandbox has no network (so not open-world).
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
    )
    runner.parameters = run_python_schema(settings, sessions is not None)
    info = Tool.from_function(
        describe,
        name="sandbox_info",
        title="What the sandbox allows",
        description="The modules run_python may import, its limits, and how results come back "
        "(run_python's description says the same).",
        # Reads a fixed description: safe to run without asking.
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    info.parameters = {"type": "object", "title": SANDBOX_INFO_ARGUMENTS_TITLE, "properties": {}}

    mcp: MCPServer[Any] = MCPServer(
        lifespan=lifespan,
        # No subscriptions/listen streams: nothing here changes, and each would hold a
        # connection open for as long as the client likes.
        subscriptions=False,
        name="python-sandbox",
        title="Sandboxed Python",
        version=__version__,
        # run_python's description carries the modules and limits: no need to call
        # sandbox_info first (a round trip for nothing).
        instructions="Runs Python code in a fresh, isolated sandbox with the run_python tool; its description "
        "lists the importable modules and the limits.",
        tools=[runner, info, *(_session_tools(sessions, settings, rate_limit) if sessions is not None else [])],
    )
    # MCPServer always registers prompt handlers, so it advertises a `prompts` capability
    # with no prompt behind it; clients then list prompts for nothing. The SDK has no
    # public switch: drop the handlers (tests/e2e/test_mcp.py checks the capabilities).
    for method in ("prompts/list", "prompts/get"):
        mcp._lowlevel_server._request_handlers.pop(method, None)  # noqa: SLF001

    @mcp.resource(
        "sandbox://info",
        name="sandbox-info",
        title="What the sandbox allows",
        description="The modules run_python may import, its limits, and how results come back.",
        mime_type="application/json",
    )
    def info_resource() -> dict[str, Any]:
        return sandbox_info(settings)

    return mcp


def _address(caller: Caller | None) -> str:
    return caller.client_ip if caller is not None and caller.client_ip else "unknown"


def _session_tools(
    sessions: SessionRegistry, settings: Settings, rate_limit: Callable[[Caller], int | None] | None
) -> list[Tool]:
    """start_session and end_session (mcp_sessions.py)."""

    async def start_session() -> Annotated[CallToolResult, SessionCreated]:
        caller = CALLER.get()
        try:
            # A session's start spends the caller's execution budget, as POST /sessions does.
            if caller is not None and rate_limit is not None:
                wait = rate_limit(caller)
                if wait is not None:
                    raise RateLimited("Rate limit exceeded", wait)
            created = await mcp_sessions.start(sessions)
        except ExecutorError as exc:
            return _refusal(exc, settings.mcp_max_text_bytes)
        text = (
            f"Session {created.session_id} started. Pass session_id={created.session_id!r} to run_python: "
            "variables, functions, classes, imports and files carry over between its calls. It ends after "
            f"{settings.session_idle_timeout_s / 60:g} min unused, at {created.expires_at} at the latest, "
            "when a call hits a limit, or with end_session."
        )
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=created.model_dump(mode="json")
        )

    async def end_session(session_id: Any = None) -> CallToolResult:
        if not isinstance(session_id, str):
            return _tool_error("end_session needs `session_id`: the id start_session gave.")
        try:
            await mcp_sessions.end(sessions, session_id, _address(CALLER.get()))
        except ExecutorError as exc:
            return _refusal(exc, settings.mcp_max_text_bytes)
        return CallToolResult(content=[TextContent(type="text", text=f"Session {session_id} ended.")])

    start = Tool.from_function(
        start_session,
        name="start_session",
        title="Start a Python session",
        description="Start a session whose state lasts across run_python calls: pass the session_id it returns "
        "to run_python. Use it for work in steps (load data, look at it, compute); end it with end_session.",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
    )
    start.parameters = {"type": "object", "title": "start_session arguments", "properties": {}}
    finish = Tool.from_function(
        end_session,
        name="end_session",
        title="End a Python session",
        description="End a session started with start_session: its variables and files are gone.",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
    )
    finish.parameters = {
        "type": "object",
        "title": "end_session arguments",
        "properties": {"session_id": {"type": "string", "title": "Session", "description": "The id to end."}},
        "required": ["session_id"],
        "additionalProperties": False,
    }
    return [start, finish]
