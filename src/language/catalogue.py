"""The vetted import catalogue: the single definition of what a program may import.

Read by the settings (default and validator), the API-side validator and the worker,
so it is plain data with the standard library only.

Each entry says what was considered. Names starting with ``_`` are never copied into a
program's module proxy. Anything that is itself a module is never copied (except a
vetted submodule, as a proxy). ``only`` entries copy just the names listed: used where
the module is mostly about files, processes or the interpreter.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModuleRule:
    #: Public names not copied into the proxy, with the reason in a comment at the entry.
    deny: frozenset[str] = field(default_factory=frozenset)
    #: When set, the only names copied.
    only: frozenset[str] | None = None


def _deny(*names: str) -> ModuleRule:
    return ModuleRule(deny=frozenset(names))


def _only(*names: str) -> ModuleRule:
    return ModuleRule(only=frozenset(names))


CATALOGUE: dict[str, ModuleRule] = {
    # Pure computation: nothing in them reaches files, processes or the interpreter.
    "math": _deny(),
    "cmath": _deny(),
    "bisect": _deny(),
    "heapq": _deny(),
    "itertools": _deny(),
    "numbers": _deny(),
    "fractions": _deny(),
    "statistics": _deny(),
    "textwrap": _deny(),
    "unicodedata": _deny(),
    "difflib": _deny(),
    "base64": _deny(),
    "binascii": _deny(),
    "zlib": _deny(),
    "array": _deny(),
    "calendar": _deny(),
    # abc: ABCMeta is exposed as a stand-in (see _metaclass_stand_in); update_abstractmethods
    # only accepts the program's own classes.
    "abc": _deny(),
    # enum: global_enum & co. write the members into sys.modules[cls.__module__], and the
    # program chooses __module__ (Enum(..., module="...")): a write into any loaded module.
    "enum": _deny("global_enum", "global_enum_repr", "global_flag_repr", "global_str"),
    # decimal: contexts are per thread and the worker is a fresh process, so
    # setcontext/localcontext cannot leak into another execution.
    "decimal": _deny(),
    # json: JSONDecoder/JSONEncoder are plain classes; their hooks call user functions,
    # which are restricted code themselves.
    "json": _deny(),
    # re: compiled patterns only match; ReDoS is bounded by the CPU and wall limits.
    "re": _deny(),
    # datetime: tzinfo subclasses run user code only. datetime.sys is a module: not copied.
    "datetime": _deny(),
    # time: sleep is bounded by the wall-clock limit; tzset only changes this process.
    # clock_settime*: sets the host clock wherever the worker holds CAP_SYS_TIME.
    "time": _deny("clock_settime", "clock_settime_ns"),
    # random: the worker reseeds after fork, so no two executions share a stream.
    "random": _deny(),
    "collections": _deny(),
    "collections.abc": _deny(),
    # functools: partial/reduce/lru_cache take callables the program already holds.
    # update_wrapper/wraps copy attributes *by name* with the real getattr/setattr
    # (updated=("__globals__",) leaked a library module's globals): replaced by versions
    # that accept only the default names (guards.make_update_wrapper).
    # singledispatch/singledispatchmethod: register() reads the handler's annotations with
    # typing.get_type_hints, which eval()s annotation strings outside RestrictedPython.
    "functools": _deny("singledispatch", "singledispatchmethod"),
    # operator: the real attrgetter and methodcaller read attributes by name from C, outside
    # the attribute guard (operator.attrgetter('__class__')): replaced by versions that read
    # through the guard, exactly like `obj.name` (sorted(items, key=attrgetter("price"))).
    # itemgetter is equivalent to a subscript, which is allowed, so it stays.
    "operator": _deny(),
    # string: Formatter.format/vformat resolve "{0.__class__}" fields with the real
    # getattr (CVE-2023-41039). Template only does mapping lookups.
    "string": _deny("Formatter"),
    # typing: get_type_hints and ForwardRef evaluate annotation strings with eval().
    # runtime_checkable rewrites the class it is given: only the program's own classes.
    "typing": _deny("get_type_hints", "ForwardRef"),
    # dataclasses: builds __init__ and friends with exec() from validated identifiers only.
    # dataclass() rewrites the class it is given: only the program's own classes.
    # make_dataclass: field names and namespace keys may not be dunders (a field named
    # __reduce_ex__ or a namespace with __getattr__ would skip the class-statement rules).
    "dataclasses": _deny(),
    # copy: dispatch_table is copyreg's global registry of reducers; a reducer the program
    # registers there makes copy() setattr() any attributes on any object it names. The
    # same sink (copy._reconstruct) is also guarded for reducers reached other ways.
    # deepcopy's memo argument: deepcopy keeps every *original* object it visits in the
    # memo (and asks it before copying), so a memo the program passes in hands it the
    # internal state of objects it does not own. copy/deepcopy take no memo here.
    "copy": _deny("dispatch_table"),
    "contextlib": _deny("chdir", "redirect_stdout", "redirect_stderr"),
    # hashlib: file_digest reads an already open file object; the program has none.
    "hashlib": _deny(),
    "hmac": _deny(),
    # uuid: getnode (and uuid1, which calls it) may run ifconfig/ip in a subprocess.
    "uuid": _deny("getnode", "uuid1"),
    # pprint writes to sys.stdout, which the worker points at the bounded stdout.
    "pprint": _deny(),
    # csv: reader/writer work on iterables and objects with write(); no file access.
    "csv": _deny(),
    # io: only the in-memory streams; open/FileIO/open_code reach the file system.
    "io": _only("StringIO", "BytesIO", "SEEK_SET", "SEEK_CUR", "SEEK_END", "UnsupportedOperation"),
    "urllib.parse": _deny(),
}
