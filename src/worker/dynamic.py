"""``eval`` and ``exec`` of strings the program builds, under the program's own rules.

A string passed to ``eval``/``exec`` is a program like the one the request sent: it is
validated by the same validator with the same limits (size, syntax nodes, nesting, the
compiled-size bound), compiled with the same RestrictedPython policy, and runs with the
same guards, in a namespace the program never holds. Code objects are refused: only a
string has been through the validator. ``compile()`` checks a string the same way and
gives a CompiledSource, which holds the string, never a code object; eval/exec run it.

As in CPython, an error in the string's code is the program's error at the line that
called eval/exec (the string's own frames are shown as ``File "<string>"``), a string
that is not Python raises the SyntaxError CPython's compiler gives, and a globals dict
with ``__builtins__`` runs the string with exactly those builtins.

Namespaces:

* ``eval(s)`` / ``exec(s)`` with no globals run in the program's own globals, as in
  Python; inside a function, the function's variables are visible (a snapshot, as
  CPython gives ``exec`` in a function);
* with a globals dict ``g`` of the program's, the code runs in a copy of ``g`` with the
  guards added, and what it defines is copied back into ``g`` (functions it defines keep
  the copy as their globals: a name added to ``g`` later is not visible to them);
* a locals dict is the program's and is used as it is.
"""

from __future__ import annotations

import ast
import marshal
import sys
import weakref
from types import CodeType
from typing import Any, ClassVar

from ..language.module_rules import RULES
from ..language.names import is_reserved
from ..language.policy import RESULT_NAME, SOURCE_FILENAME
from ..language.validation import SourcePolicy, prepare_program
from ..protocol import Limits
from . import fastguards
from .formatting import exact_str
from .membrane import PLAIN, admit, plain_by_construction, shown_as
from .refusal import refused

#: The API's defaults (settings.py), for jobs that do not say (in-process tests).
_DEFAULT_MAX_CODE_BYTES = 262_144
_DEFAULT_MAX_AST_NODES = 50_000
_DEFAULT_MAX_AST_DEPTH = 100


#: How CPython names the code of a string given to eval/exec/compile in tracebacks.
STRING_FILENAME = "<string>"
#: Every code object compiled from a string, nested ones included, by id: frames that run
#: it are the string's, not the program's lines (runner._user_line, write_traceback). By
#: identity, never equality: code objects compare by content, and the program's own code
#: can equal a string's (a quine that exec()s its own source).
_STRING_CODES: weakref.WeakValueDictionary[int, CodeType] = weakref.WeakValueDictionary()


def is_string_code(code: CodeType) -> bool:
    return _STRING_CODES.get(id(code)) is code


_MODES = ("exec", "eval", "single")

#: Each string compiled by eval/exec numbers its compiler temporaries from its own block
#: of this size: the program's are below the first, so none is overwritten by a string's
#: (a temporary holds what a pattern reads without a guard).
_TEMPORARIES_PER_STRING = 1_000_000


class _Job:
    """The running job's namespace and source limits (a worker runs one job).

    What a string's compilation needs is derived on its first eval/exec/compile, not
    when the job begins: most programs never call them, and the job's start is on every
    request's path."""

    namespace: dict[str, Any] | None = None
    #: The namespace's entries as the job began (a copy the program never holds), from
    #: which ``reserved()`` takes the guards and the builtins table.
    at_start: ClassVar[dict[str, Any]] = {}
    max_code_bytes = _DEFAULT_MAX_CODE_BYTES
    max_ast_nodes = _DEFAULT_MAX_AST_NODES
    max_ast_depth = _DEFAULT_MAX_AST_DEPTH
    strings = 0
    _reserved: ClassVar[dict[str, Any] | None] = None
    _policy: ClassVar[SourcePolicy | None] = None

    @classmethod
    def reserved(cls) -> dict[str, Any]:
        """The guards and the builtins table as the job began: what every string's
        namespace gets, never read back from a dict the program's code can change or see
        cleared."""
        if cls._reserved is None:
            cls._reserved = {key: value for key, value in cls.at_start.items() if is_reserved(key)}
        return cls._reserved

    @classmethod
    def policy(cls) -> SourcePolicy:
        if cls._policy is None:
            # Every module of the catalogues: the import guard decides what this job may import.
            cls._policy = SourcePolicy(cls.max_ast_nodes, cls.max_ast_depth, frozenset(RULES))
        return cls._policy


def begin(namespace: dict[str, Any], limits: Limits) -> None:
    """Called by the runner as the job starts, with the namespace it runs in."""
    _Job.namespace = namespace
    _Job.at_start = dict(namespace)
    _Job.max_code_bytes = limits.get("max_code_bytes", _DEFAULT_MAX_CODE_BYTES)
    _Job.max_ast_nodes = limits.get("max_ast_nodes", _DEFAULT_MAX_AST_NODES)
    _Job.max_ast_depth = limits.get("max_ast_depth", _DEFAULT_MAX_AST_DEPTH)
    _Job.strings = 0
    _Job._reserved = _Job._policy = None  # noqa: SLF001 - its own state


def end() -> None:
    """Called by the runner when the job is over: eval/exec refuse from then on."""
    _Job.namespace = None
    _Job.at_start = {}
    _Job._reserved = {}  # noqa: SLF001 - its own state


def _compiled(source: object, mode: str) -> Any:
    if not isinstance(source, str):
        raise TypeError(f"{mode}() takes a string in the sandbox, not {type(source).__name__}")
    text = exact_str(source, "source")
    max_code_bytes = _Job.max_code_bytes
    if len(text.encode("utf-8", "surrogatepass")) > max_code_bytes:
        raise refused(f"{mode}(): the string is longer than the {max_code_bytes}-byte limit on programs")
    failures = fastguards.allocation_failures()

    def memory_ran_out() -> bool:
        # Deep nesting makes the parser raise MemoryError too: that one is a refusal.
        return failures is not None and fastguards.allocation_failures() != failures

    if mode == "eval":
        text = text.lstrip(" \t")  # as eval() does
        _parse_as_cpython(text, "eval", memory_ran_out)  # an expression, or the SyntaxError eval() gives
    _Job.strings += 1
    prepared = prepare_program(
        text,
        _Job.policy(),
        first_temporary=_Job.strings * _TEMPORARIES_PER_STRING,
        in_the_programs_namespace=True,
        memory_ran_out=memory_ran_out,
    )
    if prepared.violations:
        first = prepared.violations[0]
        if first.rule == "syntax":
            _parse_as_cpython(text, "exec", memory_ran_out)  # raises CPython's own SyntaxError
        message = "; ".join(str(v.as_detail()["message"]) for v in prepared.violations)
        if first.rule == "syntax":
            raise SyntaxError(f"{mode}(): {message}")
        raise refused(f"{mode}(): {message}")
    assert prepared.bytecode is not None
    code = marshal.loads(prepared.bytecode)  # noqa: S302 - compiled just now, by us
    _note_string_code(code)
    return code


def _parse_as_cpython(text: str, mode: str, memory_ran_out: Any) -> None:
    """Parse ``text`` as CPython's compile() would, so a SyntaxError (IndentationError ...)
    is CPython's own, with its message, line and offset in the string."""
    try:
        ast.parse(text, STRING_FILENAME, mode=mode)
    except (RecursionError, MemoryError) as error:
        if isinstance(error, MemoryError) and memory_ran_out():
            raise
        raise refused(f"{mode}(): the code is nested too deeply") from None


def _note_string_code(code: CodeType) -> None:
    pending = [code]
    while pending:
        current = pending.pop()
        _STRING_CODES[id(current)] = current
        pending.extend(const for const in current.co_consts if isinstance(const, CodeType))


@plain_by_construction
class CompiledSource:
    """What ``compile(source, filename, mode)`` gives: the string, checked now (a
    SyntaxError or a refusal comes from compile(), as CPython's comes from its compiler),
    compiled again under the same rules when eval/exec run it. Never a code object."""

    __slots__ = ("_filename", "_mode", "_source")

    def __init__(self, source: str, mode: str, filename: str) -> None:
        self._source, self._mode, self._filename = source, mode, filename

    @property
    def co_filename(self) -> str:
        return self._filename

    def __repr__(self) -> str:
        return f'<code object <module> at {id(self):#x}, file "{self._filename}", line 1>'


shown_as(CompiledSource, "builtins", "code")


def sandbox_compile(  # noqa: PLR0917 - compile()'s own signature
    source: object,
    filename: object,
    mode: object,
    flags: object = 0,
    dont_inherit: object = False,
    optimize: object = -1,
) -> CompiledSource:
    """``compile``: a string checked as eval/exec would check it."""
    if mode not in _MODES:
        raise ValueError("compile() mode must be 'exec', 'eval' or 'single'")
    if flags:
        raise ValueError("compile(): flags are not available in the sandbox")
    if not isinstance(filename, str):
        raise TypeError(f"compile() argument 'filename' must be str, not {type(filename).__name__}")
    checked_mode = "eval" if mode == "eval" else "exec"
    try:
        _compiled(source, checked_mode)  # the SyntaxError or refusal, now
    except SyntaxError as error:
        error.filename = filename  # named as the program named the string
        raise
    assert isinstance(source, str)
    return CompiledSource(exact_str(source, "source"), checked_mode, exact_str(filename, "filename"))


def _caller_locals() -> dict[str, Any] | None:
    """The variables of the program's function that called eval/exec (a copy), or None
    at the top level. Frame 3: the caller of sandbox_eval/sandbox_exec."""
    frame = sys._getframe(3)  # noqa: SLF001 - the worker's own code, never the program's
    if frame.f_code.co_filename != SOURCE_FILENAME or frame.f_locals is frame.f_globals:
        return None
    return dict(frame.f_locals)


def _run(source: object, mode: str, globals_: object, locals_: object) -> Any:
    if type(source) is CompiledSource:
        if mode == "eval" and source._mode != "eval":  # noqa: SLF001 - its own class
            mode = "exec"  # eval() of code compiled for exec runs it and gives None, as in CPython
        source = source._source  # noqa: SLF001
    job_namespace = _Job.namespace
    reserved = _Job.reserved()
    if job_namespace is None or "__builtins__" not in reserved:
        raise refused(f"{mode}() is only available while a program runs")
    code = _compiled(source, mode)
    for given, what in ((globals_, "globals"), (locals_, "locals")):
        if given is not None and type(given) is not dict:
            raise TypeError(f"{mode}(): {what} must be a dict in the sandbox")
    # Module-level code looks every name up in its locals first, the guards' names too:
    # a dict the program holds is never the locals (a `_getattr_` key in it would replace
    # the guard), only a copy of it, whose new names are copied back.
    program_locals: dict[str, Any] | None = None
    if locals_ is not None:
        assert isinstance(locals_, dict)
        program_locals = locals_
        local_scope: dict[str, Any] | None = _without_reserved(program_locals)
    if globals_ is None:
        namespace = job_namespace
        if dict.get(namespace, "__builtins__") is not reserved["__builtins__"]:
            # The job's guards and builtins must be there: in a namespace without
            # __builtins__ CPython's exec gives the code the interpreter's real ones.
            namespace.update(reserved)
        if program_locals is None:
            local_scope = _caller_locals()
            if local_scope is None and mode == "exec":
                local_scope = job_namespace  # top level: what exec defines is the program's
    else:
        assert isinstance(globals_, dict)
        program_globals: dict[str, Any] = globals_
        namespace = _without_reserved(program_globals)
        namespace.update(reserved)
        given_builtins = dict.get(program_globals, "__builtins__")
        if type(given_builtins) is dict:
            # {"__builtins__": {}}: the string runs with those builtins only, as in CPython.
            namespace["__builtins__"] = _without_reserved(given_builtins)
        if program_locals is None:
            local_scope = namespace  # locals default to the globals
    if local_scope is None:
        local_scope = {}  # eval's at the top level: the capture below lands here
    had_result = RESULT_NAME in local_scope
    previous = local_scope.get(RESULT_NAME)
    # The namespace holds the guards and the job's builtins table, so the membrane refuses
    # it as it refuses the job's own globals (by its __builtins__), also later, through
    # whatever a function the code defines keeps of it.
    try:
        exec(code, namespace, local_scope)  # noqa: S102 - validated and compiled by the sandbox's policy
        result = local_scope.get(RESULT_NAME)
    finally:
        # The capture of a last expression is the sandbox's, not the program's.
        if had_result:
            local_scope[RESULT_NAME] = previous
        else:
            local_scope.pop(RESULT_NAME, None)
        if globals_ is not None:
            program_globals.update(_without_reserved(namespace))
        if program_locals is not None:
            program_locals.update(_without_reserved(local_scope))
    return result if mode == "eval" else None


def _without_reserved(names: dict[str, Any]) -> dict[str, Any]:
    """The program's own names: never a guard's or the builtins'. Keys must be exact strs:
    a str subclass answers == and hash as it likes, and became a guard's name after the
    check (review finding)."""
    # One copy first, made by C code that runs nothing of the program's: the checks and
    # the result then see the same keys. Checked in the program's own dict, a finaliser
    # the collector runs between the check and the copy swapped a key for a str subclass
    # answering for a guard's name (review finding).
    snapshot = dict(names)
    for key in snapshot:
        if type(key) is not str:
            raise TypeError("the names of a namespace for eval()/exec() must be plain strings in the sandbox")
    # The values pass the membrane too: C code can fill a dict the program holds
    # (dict(zip(names, values))) with what the program never held, and the string's code
    # would bind names to them.
    return {
        key: value if type(value) in PLAIN else admit(value) for key, value in snapshot.items() if not is_reserved(key)
    }


def sandbox_eval(source: object, globals: object = None, locals: object = None) -> Any:  # noqa: A002 - eval's names
    """``eval``: a string of the program's, run as the program runs."""
    return _run(source, "eval", globals, locals)


def sandbox_exec(source: object, globals: object = None, locals: object = None) -> None:  # noqa: A002 - exec's names
    """``exec``: a string of the program's, run as the program runs."""
    _run(source, "exec", globals, locals)


sandbox_eval.__name__ = sandbox_eval.__qualname__ = "eval"
sandbox_exec.__name__ = sandbox_exec.__qualname__ = "exec"
sandbox_compile.__name__ = sandbox_compile.__qualname__ = "compile"
