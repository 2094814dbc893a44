"""Compile one program with the sandbox policy, run it, and describe what happened.

Everything the program does is turned into data: its exceptions (type, message, and the
line in *its* source, with no frame of ours), a MemoryError the interpreter raised as the
"memory" limit (one the program raised itself is its error), and
its result as a bounded JSON value. Nothing here raises for anything the program does.
"""

from __future__ import annotations

import ast
import base64
import builtins
import collections
import dis
import gc
import linecache
import marshal
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any, TextIO

from ..language.catalogue import SANDBOX_MADE_MODULES
from ..language.module_rules import RULES
from ..language.names import is_reserved
from ..language.policy import RESULT_NAME, SOURCE_FILENAME, SandboxTransformer
from ..protocol import MAX_ERROR_TYPE_CHARS, SECURITY_ERROR, SERVICE_ERROR_TYPES, ErrorInfo, Job, Limits, WorkerReply
from . import dynamic, fastguards, membrane, repairs, sys_stand_in
from .crossing import select_call_through
from .data_guards import ALLOCATION_ERRORS
from .dynamic import STRING_FILENAME, is_string_code
from .figures import render_open_figures
from .guards import SandboxType, begin_collections, guard_globals, safe_builtins, safe_point_soon
from .jsonsafe import DEFAULT_INT_MAX_STR_DIGITS, DEFAULT_RECURSION_LIMIT, class_name, clean_text, to_json_value
from .library_guards import REPLACED_ORIGINALS
from .ownership import CURRENT_JOB, begin_job
from .plot_guards import set_figure_pixels
from .proxies import ModuleProxy, refused_members
from .refusal import SecurityError, sandbox_verdict

_LINE_RE = re.compile(r"^Line (\d+):")
#: A line of source as the tokenizer counts lines. Compiled here, in the template: the
#: template empties re's cache before it forks, so a pattern compiled on first use would
#: cost every worker a compile (over a millisecond) on the request path.
_SOURCE_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _error(etype: str, message: str, line: int | None, max_chars: int) -> ErrorInfo:
    # str.__str__ makes an exact str of a str subclass without calling any of its methods.
    return {
        "type": clean_text(str.__str__(etype)[:MAX_ERROR_TYPE_CHARS]),
        "message": clean_text(message[:max_chars]),
        "line": line,
    }


def _reply(
    error: ErrorInfo | None = None, limit: Any = None, result: Any = None, truncated: bool = False
) -> WorkerReply:
    return {
        "success": error is None and limit is None,
        "result": result,
        "result_truncated": truncated,
        "error": error,
        "limit": limit,
    }


_RAISE = dis.opmap["RAISE_VARARGS"]
_YIELD = dis.opmap["YIELD_VALUE"]
#: Where a generator that never started stands (-1 where an interpreter has no such
#: instruction).
_NOT_STARTED = dis.opmap.get("RETURN_GENERATOR", -1)


#: Allocation failures counted before the job's program started (fastguards), or None
#: where the count is not available.
_failures_at_start: list[int | None] = [None]


def _allocations_failed() -> bool:
    """Whether an allocation of the interpreter's has failed since the program started."""
    before = _failures_at_start[0]
    return before is not None and fastguards.allocation_failures() != before


def _made_by_the_program(exc: BaseException) -> bool:
    """True if this MemoryError is the program's own, not the memory limit: the interpreter
    raises exactly MemoryError, where an allocation fails. The program's are a subclass, an
    instance it held (``MemoryError()`` passes the membrane, which marks it), any while no
    allocation of the interpreter's has failed since the program started (a size past
    what any memory holds, ``[0] * 2 ** 60``, fails before allocating, as in CPython; a
    class thrown into a finished generator looks like a failed allocation), one a
    ``raise`` made (its own, or a library's raising what it was handed), or one thrown into
    a suspended or unstarted generator (``gen.throw(MemoryError)``).
    Where an exception was first raised is the innermost entry of its traceback."""
    library = type(exc) in ALLOCATION_ERRORS  # numpy's: its own allocator failed
    if (type(exc) is not MemoryError and not library) or membrane.MEMBRANE.held_memory_error(exc):
        return True
    if not library and _failures_at_start[0] is not None and not _allocations_failed():
        return True
    return _raised_by_a_statement(exc)


def _raised_by_a_statement(exc: BaseException) -> bool:
    """Whether the innermost entry of ``exc``'s traceback, where it was first raised, is a
    ``raise`` statement or a throw into a generator, not an instruction the interpreter
    failed (an allocation, the compiler)."""
    entry = exc.__traceback__
    if entry is None:
        return False
    while entry.tb_next is not None:
        entry = entry.tb_next
    if entry.tb_lasti < 0:
        return True  # a frame that never ran an instruction allocated nothing
    instruction = entry.tb_frame.f_code.co_code[entry.tb_lasti]
    # A raise statement names the class (the program's, or a library's raise of what the
    # program handed it, Generator.throw's `raise typ`), and a generator thrown into
    # before it started or while suspended ran nothing: no allocation failed there.
    return instruction in (_YIELD, _RAISE, _NOT_STARTED)


def _user_line(exc: BaseException) -> int | None:
    """Line of the innermost traceback frame that belongs to the submitted code."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        # A string's code run by eval/exec is not a line of the program: the call is.
        if frame.f_code.co_filename == SOURCE_FILENAME and not is_string_code(frame.f_code):
            line = lineno
    # Never an attribute of the exception (a SyntaxError's lineno): the program sets those,
    # and its __eq__ would run while the failure is described.
    return line


def _error_type(exc: BaseException) -> str:
    """The reply's name for ``exc``'s class: its ``__name__``, qualified by its module when
    the name is a builtin exception's or one the service reports itself (a crash, a
    refusal: protocol.SERVICE_ERROR_TYPES) and the class is not that one. A class's name is
    the program's to set: ``MemoryError`` on a class of its own read as the service's
    verdict (attack pass 73), ``WorkerCrashed`` as a crash (pass 78)."""
    name = class_name(exc)
    if not (name.isascii() and name.isidentifier()):
        # A name that could read as another (a zero-width or variation character, a bidi
        # override, compatibility letters: "SecurityError" as the service's own) is shown
        # qualified, with what does not print escaped.
        return _qualified(
            exc, "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in name)
        )
    builtin = SecurityError if name in SERVICE_ERROR_TYPES else vars(builtins).get(name)
    if type(exc) is SecurityError and sandbox_verdict(exc) is None:
        # The sandbox's own class, reached through a refusal the program caught (type(e)),
        # made by the program (raised by it, or thrown into a library generator): not a
        # refusal the sandbox made (attack passes 79, 82).
        return f"__main__.{name}"
    if isinstance(builtin, type) and issubclass(builtin, BaseException) and type(exc) is not builtin:
        return _qualified(exc, name)
    return name


def _qualified(exc: BaseException, name: str) -> str:
    """``name`` after the module of ``exc``'s class, read from the class's own slot."""
    module = type.__dict__["__module__"].__get__(type(exc))
    return f"{str.__str__(module) if isinstance(module, str) else '?'}.{name}"


def _exception_message(exc: BaseException) -> str:
    """The message as an exact ``str``: a ``str`` subclass from the program's ``__str__``
    would run its own methods (slicing, encoding) while the reply is built."""
    verdict = sandbox_verdict(exc)
    if verdict is not None:
        return verdict  # what the sandbox said, whatever the program did to e.args since
    try:
        message = str(exc)
        return message if type(message) is str else str.__str__(message)
    except BaseException:  # noqa: BLE001 - a user __str__ may raise anything, SystemExit included
        return f"<{class_name(exc)} with an unprintable message>"


def _exited(exc: SystemExit, stderr: TextIO, max_chars: int) -> WorkerReply:
    """``sys.exit(status)`` as CPython ends a script with it: ``None`` or 0 is a normal end
    (no result: the program stopped before its last expression); another int is an exit
    status; anything else is a message, written to stderr, with status 1. No traceback."""
    status = _EXIT_CODE.__get__(exc, SystemExit)  # the slot itself, not a property of a subclass
    if status is None or (type(status) in (int, bool) and status == 0):
        return _reply()
    if type(status) in (int, bool):
        # CPython keeps a status that fits a C long; past that (or past the digits int
        # formats), the status itself says nothing more.
        text = f"exit status {int(status)}" if int(status).bit_length() < 64 else "exit status out of range"
        return _reply(_error("SystemExit", text, _user_line(exc), max_chars))
    message = _exception_message(SystemExit(status))
    stderr.write(message + "\n")
    return _reply(_error("SystemExit", message, _user_line(exc), max_chars))


_EXIT_CODE: Any = SystemExit.code  # a member descriptor (typeshed types it as the value)


#: How much of a traceback is written: its head and its tail (where the exception raised
#: last is), the lines between left out. A long chain of causes formatted in full flooded
#: stderr, so the sandbox's own writer turned the program's error into the output limit
#: and lost what it had printed (attack pass 76).
TRACEBACK_HEAD_CHARS = 16 * 1024
TRACEBACK_TAIL_CHARS = 48 * 1024


def _write_bounded(chunks: Iterable[str], stderr: TextIO) -> None:
    """The traceback's first TRACEBACK_HEAD_CHARS characters and its last
    TRACEBACK_TAIL_CHARS, counted in characters, not chunks: one chunk (an exception's
    line, a note, a SyntaxError's caret line) can be megabytes long (pass 85)."""
    written = 0
    head = ""
    tail: collections.deque[str] = collections.deque()
    tail_chars = left_out_lines = left_out_chars = 0
    for chunk in chunks:
        rest = chunk
        if written < TRACEBACK_HEAD_CHARS:
            head = chunk[: TRACEBACK_HEAD_CHARS - written]
            stderr.write(head)
            written += len(head)
            rest = chunk[len(head) :]
            if not rest:
                continue
        tail.append(rest)
        tail_chars += len(rest)
        while tail_chars > TRACEBACK_TAIL_CHARS:
            excess = tail_chars - TRACEBACK_TAIL_CHARS
            dropped = tail[0][:excess]
            if len(dropped) == len(tail[0]):
                tail.popleft()
            else:
                tail[0] = tail[0][excess:]
            tail_chars -= len(dropped)
            left_out_chars += len(dropped)
            left_out_lines += dropped.count("\n")
    if left_out_chars:
        start = "" if head.endswith("\n") else "\n"
        stderr.write(
            f"{start}  ... ({left_out_lines} lines, {left_out_chars} characters of the traceback left out) ...\n"
        )
    for chunk in tail:
        stderr.write(chunk)


def write_traceback(exc: BaseException, stderr: TextIO) -> None:
    """What CPython would print for the program, with the frames of the sandbox removed."""
    try:
        te = traceback.TracebackException.from_exception(exc, limit=-50)
        # Every exception in the chain (__cause__, __context__, groups), not just the last:
        # a library or guard frame in a chained exception would show host paths. Walked
        # beside the exceptions themselves, whose frames say which code each line ran.
        pending: list[tuple[Any, BaseException | None]] = [(te, exc)]
        seen = set()
        while pending:
            current, original = pending.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            current.stack = traceback.StackSummary.from_list(_program_frames(current.stack, original))
            for link in ("__cause__", "__context__"):
                shown = getattr(current, link)
                if shown is not None:
                    pending.append((shown, getattr(original, link, None)))
            for index, shown in enumerate(getattr(current, "exceptions", None) or ()):
                members = getattr(original, "exceptions", ())
                pending.append((shown, members[index] if index < len(members) else None))
        _write_bounded(te.format(), stderr)
    except BaseException:  # noqa: BLE001 - never let reporting mask the real outcome
        stderr.write(f"{class_name(exc)}\n")


def _program_frames(stack: traceback.StackSummary, exc: BaseException | None) -> list[traceback.FrameSummary]:
    """The frames of the program's code; a string's run by eval/exec as CPython shows it
    (``File "<string>"``, no source line)."""
    codes: list[CodeType | None] = [None] * len(stack)
    if exc is not None and stack:
        ran = [frame.f_code for frame, _ in traceback.walk_tb(exc.__traceback__)]
        if len(ran) >= len(stack):
            codes = list(ran[len(ran) - len(stack) :])
    shown = []
    for summary, code in zip(stack, codes, strict=True):
        if summary.filename != SOURCE_FILENAME:
            continue
        if code is not None and is_string_code(code):
            shown.append(traceback.FrameSummary(STRING_FILENAME, summary.lineno, summary.name, line=""))
        else:
            shown.append(summary)
    return shown


def compile_program(code: str) -> tuple[CodeType | None, list[str]]:
    """(code object or None, RestrictedPython's error lines)."""
    tree = ast.parse(code, SOURCE_FILENAME)
    errors: list[str] = []
    SandboxTransformer(errors, [], {}).visit(tree)
    if errors:
        return None, errors
    # dont_inherit: RestrictedPython's compile() would hand the program the __future__
    # flags of the module that calls compile (PEP 563 annotations, here).
    return compile(tree, SOURCE_FILENAME, "exec", dont_inherit=True), []


def load_program(job: Job) -> tuple[CodeType | None, WorkerReply | None]:
    """(code object, None), or (None, the reply describing why there is none)."""
    code, max_chars = job["code"], job["limits"]["max_error_chars"]
    # As the tokenizer counts lines (str.splitlines also breaks at \x1c, \u2028 ...: a
    # traceback then showed another line's text).
    lines = _SOURCE_LINE_RE.findall(code)
    linecache.cache[SOURCE_FILENAME] = (len(code), None, lines, SOURCE_FILENAME)
    if "bytecode" in job:
        # From the API process (trusted -> untrusted direction only); see protocol.Job.
        program = marshal.loads(base64.b64decode(job["bytecode"]))  # noqa: S302
        if not isinstance(program, CodeType):
            return None, _reply(_error(SECURITY_ERROR, "the compiled program is malformed", None, max_chars))
        return program, None
    try:
        program, errors = compile_program(code)
    except SyntaxError as exc:
        return None, _reply(_error("SyntaxError", str(exc.msg), exc.lineno, max_chars))
    except (RecursionError, MemoryError, ValueError) as exc:
        message = f"the program could not be compiled: {type(exc).__name__}"
        return None, _reply(_error("SyntaxError", message, None, max_chars))
    if errors or program is None:
        match = _LINE_RE.match(errors[0]) if errors else None
        line = int(match.group(1)) if match else None
        return None, _reply(_error(SECURITY_ERROR, "; ".join(errors) or "refused", line, max_chars))
    return program, None


@dataclass(frozen=True)
class Environment:
    """The builtins and guard functions programs run with, built once per process.

    The template builds one before forking, so a worker does not spend its time (and
    copy-on-write faults) creating a hundred-entry dict and the guard closures for every
    job. Nothing in it holds per-job state: the guards consult the *current* job's class
    registry (ownership.CURRENT_JOB) and ``_print_`` is bound per job.
    """

    builtins: dict[str, Any]
    guards: dict[str, Any]


#: The last environment built, with what it was built from: a worker builds one (in the
#: template); in-process callers (tests) reuse it for the same proxies.
_built: tuple[Mapping[str, ModuleProxy], frozenset[str], bool, Environment] | None = None


def build_environment(proxies: Mapping[str, ModuleProxy], allowed: frozenset[str]) -> Environment:
    """The environment, and the membrane that judges values against what it offers."""
    global _built  # a per-process cache; see _built
    accelerated = fastguards.available()  # switched per process (tests compare both)
    select_call_through(accelerated)
    membrane.select_nested_check(accelerated)
    if _built is not None and _built[0] is proxies and _built[1] == allowed and _built[2] == accelerated:
        return _built[3]
    table = safe_builtins(proxies, allowed, CURRENT_JOB)
    refused = [value for name in allowed for value in refused_members(sys.modules[name], RULES[name])]
    refused += REPLACED_ORIGINALS
    roots = allowed - SANDBOX_MADE_MODULES  # their real modules are no root: the sandbox made what is offered
    membrane.MEMBRANE.configure(membrane.offered_values(proxies, table), roots, SandboxType, refused)
    environment = Environment(table, guard_globals(CURRENT_JOB))
    _built = (proxies, allowed, accelerated, environment)
    return environment


def run_job(  # noqa: PLR0917 - the environment is optional and last
    job: Job,
    stdout: TextIO,
    stderr: TextIO,
    proxies: Mapping[str, ModuleProxy],
    allowed: frozenset[str],
    environment: Environment | None = None,
) -> WorkerReply:
    program, refusal = load_program(job)
    if program is None:
        assert refusal is not None
        return refusal
    return execute(program, job, stdout, stderr, environment or build_environment(proxies, allowed))


#: What ``_`` "held" before a program that found it unbound.
_NOT_BOUND = object()


class _Session:
    """A session's state in its worker (protocol.Job.session): the one namespace every
    call of the session runs in. A session is one job run in installments: the program's
    class registry and the membrane's judgements are made once, by its first call, and
    stay the program's for the worker's life (the worker serves this session only)."""

    namespace: dict[str, Any] | None = None


def _namespace_for(job: Job, environment: Environment) -> tuple[dict[str, Any], object]:
    """The namespace the job runs in, and the value its ``_`` had before it (the answer
    is ``_`` only when this call assigned it). A fresh one for a one-shot job and for a
    session's first call; the session's own for its later calls."""
    namespace = _Session.namespace if job.get("session") else None
    if namespace is None:
        begin_job()
        namespace = {"__name__": "__main__", "__builtins__": environment.builtins}
        # The guards before the membrane looks at it: the write guard in it marks a namespace
        # the job's code runs in (membrane.guard_namespace).
        namespace.update(environment.guards)
        membrane.MEMBRANE.guard_namespace(namespace, environment.builtins)
        membrane.MEMBRANE.begin_job()
        if job.get("session"):
            _Session.namespace = namespace
    # The previous call's final expression is not this call's answer.
    namespace.pop(RESULT_NAME, None)
    return namespace, namespace.get("_", _NOT_BOUND)


def execute(program: CodeType, job: Job, stdout: TextIO, stderr: TextIO, environment: Environment) -> WorkerReply:
    """Run a compiled program in a guarded namespace (fresh, or its session's) and
    describe the outcome."""
    limits = job["limits"]
    # No automatic collections from here on, through the result's conversion: they run
    # the program's finalisers wherever an allocation lands, guards included. The
    # program's own guards collect instead (guards.collect_at_a_safe_point).
    begin_collections()
    _failures_at_start[0] = fastguards.allocation_failures()
    gc.disable()
    # Nor finalizers inside a C operation: the ones a decref runs wait for the program's
    # next instruction or safe point (interpreter_repairs/finalizers.c). From before the
    # namespace is touched: a session's holds the program's objects, which removing the
    # last result and binding the context release (attack pass 98: a finalizer ran inside
    # the runner's own dict.update, half done).
    repairs.begin_deferring_finalizers(SOURCE_FILENAME, safe_point_soon)
    namespace, underscore_before = _namespace_for(job, environment)
    namespace.update(job["context"])
    namespace.update(environment.guards)  # after the context: guards always win
    sys_stand_in.begin(stdout, stderr)
    dynamic.begin(namespace, limits)
    # Made before the program runs: when describing its outcome exhausts the memory, no
    # allocation is left to make it with.
    memory_limit = _reply(
        _error("MemoryError", _memory_limit_message(limits), None, limits["max_error_chars"]), limit="memory"
    )
    figure_rules = job.get("figure_rules")
    if figure_rules is not None:
        set_figure_pixels(figure_rules["max_figure_pixels"])  # savefig's limit too
    try:
        reply = _run(program, namespace, limits, stderr, underscore_before)
        if figure_rules is not None and reply["limit"] is None:
            # Still the program's time, limits and guards: drawing runs its formatters.
            try:
                reply["figures"] = render_open_figures(figure_rules, stderr)
            except MemoryError:
                return memory_limit  # drawing what the program left filled the memory
        return reply
    except MemoryError:
        if not _allocations_failed():
            raise
        # Describing the outcome ran the program's code again (its exception's __str__,
        # an exit status's) and that code filled the memory: the program reached the
        # limit, which the sandbox's own failure to describe it would hide (pass 85).
        return memory_limit
    finally:
        dynamic.end()
        sys_stand_in.end()
        # The outcome is final: nothing of the program's runs after it (a `finally` run
        # here changed the reply after it was built, or broke its encoding: pass 85).
        if job.get("session"):
            # A session's worker lives on: what the program releases from here to its next
            # call (this call's locals, the next call's set-up) keeps waiting, neither run
            # nor dropped, and runs at that call's first safe point, inside the call.
            pass
        else:
            # What waits never runs, nor a generator of the program's freed later, its
            # namespace's included; the worker exits next, as after os._exit.
            repairs.end_deferring_finalizers()


def _memory_limit_message(limits: Limits) -> str:
    return f"the program exceeded the {limits['memory_mb']} MB memory limit"


def _described(exc: BaseException, stderr: TextIO, max_chars: int) -> ErrorInfo:
    """The program's error for the reply, and its traceback on stderr. The type and the line
    are read first: describing runs the program's code (its exception's ``__str__``), which
    could change them (``with_traceback(None)`` erased the line, pass 85)."""
    error_type, line = _error_type(exc), _user_line(exc)
    write_traceback(exc, stderr)
    return _error(error_type, _exception_message(exc), line, max_chars)


def _release_the_programs_names(namespace: dict[str, Any]) -> None:
    """Drop the program's names from its namespace (their memory back before the failure is
    described), keeping the guards and the builtins table: the program's code may still run
    after this (its exception's ``__str__`` as the failure is described, a finalizer), and
    code run in a namespace without ``__builtins__`` gets the interpreter's real ones."""
    for name in [name for name in namespace if not (type(name) is str and is_reserved(name))]:
        del namespace[name]


def _assigns_underscore(program: CodeType) -> bool:
    """Whether the program's own statements bind ``_`` (``_ = 3`` again in a session's call
    leaves the same object there: its value is still this call's answer)."""
    return "_" in program.co_names and any(
        instruction.opname in ("STORE_NAME", "STORE_GLOBAL") and instruction.argval == "_"
        for instruction in dis.get_instructions(program)
    )


def _run(
    program: CodeType, namespace: dict[str, Any], limits: Limits, stderr: TextIO, underscore_before: object
) -> WorkerReply:
    """Run the program in its namespace; its outcome, the result converted.
    ``underscore_before``: what ``_`` held before the program ran (a session's earlier
    call assigned it): the answer only when this program assigned it."""
    max_chars = limits["max_error_chars"]
    try:
        exec(program, namespace)  # noqa: S102 - restricted bytecode, guarded namespace
        repairs.run_waiting_finalizers()  # what the program dropped last, as CPython would
    except MemoryError as exc:
        if _made_by_the_program(exc):
            return _reply(_described(exc, stderr, max_chars))  # its own `raise`: its names stay
        _release_the_programs_names(namespace)  # give the memory back before describing the failure
        return _reply(_error("MemoryError", _memory_limit_message(limits), None, max_chars), limit="memory")
    except SystemExit as exc:
        return _exited(exc, stderr, max_chars)
    except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt and friends are the program's too
        if type(exc) is SystemError and _allocations_failed() and not _raised_by_a_statement(exc):
            # 3.11's compiler, out of memory, may raise this instead of MemoryError
            # (dataclasses' generated methods, eval/exec's strings): the memory limit. The
            # program's own `raise SystemError` after a caught MemoryError is its error.
            _release_the_programs_names(namespace)
            return _reply(_error("MemoryError", _memory_limit_message(limits), None, max_chars), limit="memory")
        return _reply(_described(exc, stderr, max_chars))

    if RESULT_NAME in namespace:
        value = namespace[RESULT_NAME]
    else:
        underscore = namespace.get("_")
        assigned = underscore is not underscore_before or _assigns_underscore(program)
        value = underscore if assigned else None
    # The reply is converted under the interpreter's default limits, whatever the program
    # set (sys.set_int_max_str_digits(640) made a result's int fail the encoding; a lowered
    # recursion limit lost a small result).
    sys.set_int_max_str_digits(DEFAULT_INT_MAX_STR_DIGITS)
    sys.setrecursionlimit(DEFAULT_RECURSION_LIMIT)
    try:
        result, truncated = to_json_value(value, limits["max_result_bytes"])
        repairs.run_waiting_finalizers()  # the conversion's (it runs the program's methods)
    except RecursionError:
        # The program's methods, run by the conversion, left the interpreter unable to
        # encode even what was converted: the result is described, not lost with the reply.
        return _reply(result=f"<unrepresentable {class_name(value)}>", truncated=True)
    except MemoryError as exc:
        _release_the_programs_names(namespace)
        if not _made_by_the_program(exc):
            return _reply(_error("MemoryError", "the result was too large to convert", None, max_chars), limit="memory")
        return _reply(_described(exc, stderr, max_chars))
    return _reply(result=result, truncated=truncated)
