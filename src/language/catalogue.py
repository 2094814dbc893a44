"""The vetted import catalogue: the single definition of what a program may import, and
of every name it may use in each module.

Read by the settings (default and validator), the API-side validator and the worker,
so it is plain data with the standard library only.

Allow-list: a module's proxy holds exactly the names its entry *allows*, each with the
reason it is safe; a name that is not allowed does not exist in the sandbox. The names
deliberately not offered are *refused*, each with the reason, so that every public member
of a module was looked at. ``tests/unit/test_catalogue.py`` fails when the running
Python gives a listed module a public member that is neither (a new Python version): a
new name is offered only after someone reviewed it here. Names of other Python versions
(3.11 to 3.13) may be listed; a listed name the running Python lacks is skipped.

What every entry was reviewed for: reaching files, processes, the interpreter or module
registries; evaluating strings (eval/exec); setting attributes on objects it is given;
reading attributes by a caller-chosen name with the real getattr; handing back a real
object the guards would never give (the builtin getattr, a code constructor).

Rules that hold for every module (``src/worker/proxies.py``): names starting with ``_``,
module objects (``datetime.sys``) and the ``main``/``test`` entry points are never
copied, even if listed; a metaclass is copied as an ``isinstance``-only stand-in. Names
replaced by a guarded version (``REPLACEMENTS`` in ``src/worker/library_guards.py``) are
allowed here with the reason "guarded replacement"; the replacement is what the program
gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ModuleRule:
    #: Name -> why a program may use it: the only names copied into the proxy.
    allowed: Mapping[str, str]
    #: Name -> why it is not offered. Never copied; listed so that nothing is left unreviewed.
    refused: Mapping[str, str]
    #: Why every other public member is not offered, for a module of which the sandbox
    #: offers a few members of its own making among hundreds (``os``): there, a name
    #: nobody listed is refused like a listed one. None: every member must be listed.
    others: str | None = None


@dataclass(frozen=True)
class Names:
    """Names that share one reason, offered or not."""

    offered: bool
    reason: str
    names: tuple[str, ...]


def allow(reason: str, *names: str) -> Names:
    return Names(True, reason, names)


def refuse(reason: str, *names: str) -> Names:
    return Names(False, reason, names)


def reexport(source: str, *names: str) -> Names:
    """Refused: names a module imported from ``source`` for its own use. They are not
    part of its documented API, and a re-export escapes the guard put on the original
    (``contextlib.wraps`` is the real ``functools.wraps``)."""
    return refuse(f"imported from {source} for the module's own use, not its documented API", *names)


def rule(*groups: Names, others: str | None = None) -> ModuleRule:
    """One module's rule. Raises ValueError if a name is listed twice."""
    allowed: dict[str, str] = {}
    refused: dict[str, str] = {}
    for group in groups:
        if not group.reason or not group.names:
            raise ValueError(f"a group needs a reason and names: {group}")
        for name in group.names:
            if name in allowed or name in refused:
                raise ValueError(f"{name!r} is listed twice")
            (allowed if group.offered else refused)[name] = group.reason
    return ModuleRule(allowed=MappingProxyType(allowed), refused=MappingProxyType(refused), others=others)


#: Reasons shared by several modules.
PURE = "pure computation on the arguments"
CONSTANTS = "constants"
GUARDED = "guarded replacement: "
REWRITES = "restricted to the program's own functions and classes, as it rewrites what it is given"
#: Members that read or write files: the sandbox's versions take paths inside the working
#: directory only (src/worker/file_system.py).
IN_THE_WORKDIR = GUARDED + "the sandbox's own version, for paths inside the working directory only: "


#: Modules whose every offered member is the sandbox's own version (or a constant): the
#: real module is no root of what the program may hold (its functions and classes,
#: reached any way, are refused), unlike a module whose own members are offered.
SANDBOX_MADE_MODULES = frozenset({"glob", "os", "os.path", "pathlib", "shutil", "tarfile", "zipfile"})


# fmt: off
CATALOGUE: dict[str, ModuleRule] = {
    "abc": rule(
        allow("the base class of abstract classes; inheriting uses the real ABCMeta through the base", "ABC"),
        allow("metaclass: copied as a stand-in, isinstance() only; calling it to build a class is refused", "ABCMeta"),
        allow(f"{GUARDED}sets __isabstractmethod__ on the function it is given: {REWRITES}", "abstractmethod"),
        allow("deprecated since 3.3; a property subclass that changes nothing it is given", "abstractproperty"),
        allow("an int counting ABC registrations in this worker", "get_cache_token"),
        allow(GUARDED + "applies only to the program's own classes (it rewrites the class)", "update_abstractmethods"),
        refuse(
            "deprecated since 3.3 (use @classmethod/@staticmethod over @abstractmethod); they set "
            "__isabstractmethod__ on the function they are given, beside any guard on abstractmethod",
            "abstractclassmethod",
            "abstractstaticmethod",
        ),
    ),
    "ast": rule(
        allow(
            "the Python literal a string spells (numbers, strings, bytes, tuples, lists, dicts, sets, None, "
            "booleans), parsed and never evaluated: " + PURE,
            "literal_eval",
        ),
        refuse(
            "syntax trees: the parser, printer and walkers; the program's code is compiled from strings only, "
            "by eval/exec/compile under the sandbox's rules",
            "copy_location", "dump", "fix_missing_locations", "get_docstring", "get_source_segment",
            "increment_lineno", "iter_child_nodes", "iter_fields", "parse", "unparse", "walk", "NodeVisitor",
            "NodeTransformer",
        ),
        refuse(
            "the node classes of syntax trees (see above)",
            "AST", "Add", "And", "AnnAssign", "Assert", "Assign", "AsyncFor", "AsyncFunctionDef", "AsyncWith",
            "Attribute", "AugAssign", "AugLoad", "AugStore", "Await", "BinOp", "BitAnd", "BitOr", "BitXor",
            "BoolOp", "Break", "Bytes", "Call", "ClassDef", "Compare", "Constant", "Continue", "Del", "Delete",
            "Dict", "DictComp", "Div", "Ellipsis", "Eq", "ExceptHandler", "Expr", "Expression", "ExtSlice",
            "FloorDiv", "For", "FormattedValue", "FunctionDef", "FunctionType", "GeneratorExp", "Global", "Gt",
            "GtE", "If", "IfExp", "Import", "ImportFrom", "In", "Index", "Interactive", "Invert", "Is", "IsNot",
            "JoinedStr", "LShift", "Lambda", "List", "ListComp", "Load", "Lt", "LtE", "MatMult", "Match", "MatchAs",
            "MatchClass", "MatchMapping", "MatchOr", "MatchSequence", "MatchSingleton", "MatchStar", "MatchValue",
            "Mod", "Module", "Mult", "Name", "NameConstant", "NamedExpr", "Nonlocal", "Not", "NotEq", "NotIn",
            "Num", "Or", "Param", "Pass", "Pow", "RShift", "Raise", "Return", "Set", "SetComp", "Slice", "Starred",
            "Store", "Str", "Sub", "Subscript", "Suite", "Try", "TryStar", "Tuple", "TypeIgnore", "UAdd", "USub",
            "UnaryOp", "While", "With", "Yield", "YieldFrom", "alias", "arg", "arguments", "boolop", "cmpop",
            "comprehension", "excepthandler", "expr", "expr_context", "keyword", "match_case", "mod", "operator",
            "pattern", "slice", "stmt", "type_ignore", "unaryop", "withitem",
            # 3.12+
            "ParamSpec", "TypeAlias", "TypeVar", "TypeVarTuple", "type_param",
        ),
        refuse(
            "flags of compile(), which takes none in the sandbox",
            "PyCF_ALLOW_TOP_LEVEL_AWAIT", "PyCF_ONLY_AST", "PyCF_TYPE_COMMENTS", "PyCF_OPTIMIZED_AST",
        ),
        refuse("the module's command-line entry point", "main"),
        reexport("enum", "IntEnum", "auto"),
        reexport("contextlib", "contextmanager", "nullcontext"),
    ),
    # array is not offered: on CPython 3.11, array.__setitem__ checks the index, then converts
    # the value (calling the program's __index__/__float__, which may shrink the array),
    # then writes at the index it checked: a write past the buffer, at an offset and with
    # bytes the program chooses, which forged an object and escaped the language layer.
    "base64": rule(
        allow(
            "encoders and decoders: " + PURE,
            "a85decode", "a85encode", "b16decode", "b16encode", "b32decode", "b32encode",
            "b32hexdecode", "b32hexencode", "b64decode", "b64encode", "b85decode", "b85encode",
            "decodebytes", "encodebytes", "standard_b64decode", "standard_b64encode",
            "urlsafe_b64decode", "urlsafe_b64encode", "z85decode", "z85encode",
        ),
        allow(
            "legacy stream API: read and write the file objects passed in, which are the program's own",
            "decode", "encode",
        ),
        allow(CONSTANTS, "MAXBINSIZE", "MAXLINESIZE", "bytes_types"),
    ),
    "binascii": rule(
        allow(
            "C encoders, decoders and checksums: " + PURE,
            "a2b_base64", "a2b_hex", "a2b_qp", "a2b_uu", "b2a_base64", "b2a_hex", "b2a_qp", "b2a_uu",
            "crc32", "crc_hqx", "hexlify", "unhexlify",
        ),
        allow("exceptions", "Error", "Incomplete"),
    ),
    "bisect": rule(
        allow(
            "binary search and insertion into the program's own lists",
            "bisect", "bisect_left", "bisect_right", "insort", "insort_left", "insort_right",
        ),
    ),
    "calendar": rule(
        allow("calendar classes: text and HTML built from dates", "Calendar", "TextCalendar", "HTMLCalendar"),
        allow(
            "functions of the module's calendar: " + PURE + " (prcal/prmonth/prweek print to the bounded stdout)",
            "calendar", "month", "monthcalendar", "prcal", "prmonth", "prweek", "week", "weekheader",
            "firstweekday", "format", "formatstring",
        ),
        allow("sets the first weekday of this worker's own module calendar", "setfirstweekday"),
        allow(
            "date arithmetic: " + PURE,
            "isleap", "leapdays", "monthrange", "timegm", "weekday",
        ),
        allow(
            "names of days and months (strftime in this worker's locale)",
            "day_abbr", "day_name", "month_abbr", "month_name",
        ),
        allow("month lengths: a list of this worker's own", "mdays"),
        allow(
            CONSTANTS,
            "EPOCH", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY",
            "January", "February",
        ),
        allow(
            "3.12+: the Day and Month enums and their members",
            "Day", "Month", "JANUARY", "FEBRUARY", "MARCH", "APRIL", "MAY", "JUNE", "JULY", "AUGUST",
            "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER",
        ),
        allow("exceptions (error is ValueError)", "IllegalMonthError", "IllegalWeekdayError", "error"),
        refuse(
            "switch the process locale with setlocale() (locale files on disk, process-wide state); "
            "TextCalendar and HTMLCalendar are the same without it",
            "different_locale", "LocaleTextCalendar", "LocaleHTMLCalendar",
        ),
        refuse("the module's shared TextCalendar instance; its methods are offered by name above", "c"),
        refuse(
            "3.12+, imported from enum: writes into sys.modules[cls.__module__], a module the program names",
            "global_enum",
        ),
        reexport("enum", "IntEnum"),
        reexport("itertools", "repeat"),
    ),
    "cmath": rule(
        allow(
            "complex functions: " + PURE,
            "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "exp", "isclose",
            "isfinite", "isinf", "isnan", "log", "log10", "phase", "polar", "rect", "sin", "sinh",
            "sqrt", "tan", "tanh",
        ),
        allow(CONSTANTS, "e", "inf", "infj", "nan", "nanj", "pi", "tau"),
    ),
    "collections": rule(
        allow(
            "containers that hold the program's own values",
            "ChainMap", "Counter", "deque",
        ),
        allow(
            GUARDED + "__missing__ is Python code that holds the factory while it runs (the C one calls it by "
            "a borrowed pointer: a factory that unset itself freed itself, a full escape on 3.11)",
            "defaultdict",
        ),
        allow(
            GUARDED + "the standard library's own pure-Python class (collections/__init__.py): the C one "
            "walks its nodes while the program's __eq__/__setitem__ may free them (a full escape on 3.11)",
            "OrderedDict",
        ),
        allow(
            "wrapper classes for subclassing; copy() sets 'data' on their own new instance",
            "UserDict", "UserList", "UserString",
        ),
        allow(
            GUARDED + "the class it builds (with eval() of a lambda over validated identifiers) is never a "
            "metaclass and keeps __match_args__ of ordinary names",
            "namedtuple",
        ),
    ),
    "collections.abc": rule(
        allow(
            "abstract base classes for isinstance() and subclassing; register() only adds virtual subclasses",
            "AsyncGenerator", "AsyncIterable", "AsyncIterator", "Awaitable", "Buffer", "ByteString",
            "Callable", "Collection", "Container", "Coroutine", "Generator", "Hashable", "ItemsView",
            "Iterable", "Iterator", "KeysView", "Mapping", "MappingView", "MutableMapping",
            "MutableSequence", "MutableSet", "Reversible", "Sequence", "Set", "Sized", "ValuesView",
        ),
        # 3.13 installs _collections_abc itself as collections.abc: its implementation
        # imports and the internal types below become members.
        reexport("abc", "ABCMeta", "abstractmethod"),
        reexport("types", "EllipsisType", "GenericAlias"),
        refuse("3.13+: the function type, whose call builds a function from a code object", "FunctionType"),
        refuse("3.13+: the frame-locals proxy type: frame introspection", "framelocalsproxy"),
        refuse(
            "3.13+: internal types of builtin iterators, views and generators, undocumented here "
            "(their instances come from ordinary code; the types add nothing)",
            "async_generator", "bytearray_iterator", "bytes_iterator", "coroutine", "dict_itemiterator",
            "dict_items", "dict_keyiterator", "dict_keys", "dict_valueiterator", "dict_values", "generator",
            "list_iterator", "list_reverseiterator", "longrange_iterator", "mappingproxy", "range_iterator",
            "set_iterator", "str_iterator", "tuple_iterator", "zip_iterator",
        ),
    ),
    "contextlib": rule(
        allow(
            "context managers and helpers over the program's own objects and functions",
            "AbstractContextManager", "ContextDecorator", "ExitStack", "closing", "contextmanager",
            "nullcontext", "suppress",
        ),
        allow(
            "async counterparts with no code that runs (bases and markers for the program's classes)",
            "AbstractAsyncContextManager", "AsyncContextDecorator",
        ),
        refuse(
            "async syntax is refused, so these only run when the program drives their coroutines by "
            "hand (coro.send), and their exits call callbacks with the raw traceback "
            "(AsyncExitStack.__aexit__ passes sys.exc_info() on)",
            "AsyncExitStack", "aclosing", "asynccontextmanager",
        ),
        refuse("changes the working directory of the process: file system", "chdir"),
        allow(
            GUARDED + "print() and sys.stdout/sys.stderr write to the program's own object for the length "
            "of a with block (the job's stream table changes, never the real sys)",
            "redirect_stdout", "redirect_stderr",
        ),
        refuse(
            "imported from functools: the real update_wrapper behind wraps, without the guard on "
            "functools.wraps (updated=('__globals__',) copied a library function's globals)",
            "wraps",
        ),
        refuse("imported from types: binds any function to any object as a method", "MethodType"),
        reexport("types", "GenericAlias"),
        reexport("collections", "deque"),
    ),
    "colorsys": rule(
        allow("colour-space conversions: " + PURE, "hls_to_rgb", "hsv_to_rgb", "rgb_to_hls", "rgb_to_hsv",
              "rgb_to_yiq", "yiq_to_rgb"),
        allow(CONSTANTS, "ONE_SIXTH", "ONE_THIRD", "TWO_THIRD"),
    ),
    "copy": rule(
        allow(
            "shallow copy; the reduce protocol's setattr sink is guarded (library_guards.guard_copy_reconstruct)",
            "copy",
        ),
        allow(
            GUARDED + "takes no memo: deepcopy keeps every original it visits in the memo, which would "
            "hand the program a library's internal state",
            "deepcopy",
        ),
        allow("3.13+: calls the object's own __replace__ (dataclasses, namedtuples, datetime)", "replace"),
        allow("exceptions", "Error", "error"),
        refuse(
            "copyreg's global registry of reducers: a reducer registered there makes copy() setattr() "
            "any attributes on any object it names",
            "dispatch_table",
        ),
        refuse(
            "not copy's: the worker's lookup of copy hooks, put in copy's namespace in place of the builtin "
            "(library_guards.guard_copy_instance_hooks)",
            "getattr",
        ),
    ),
    "csv": rule(
        allow(
            "readers and writers over iterables and objects with write(): no file access of their own",
            "reader", "writer", "DictReader", "DictWriter", "Sniffer",
        ),
        allow(
            "dialects; the registry is this worker's own",
            "Dialect", "excel", "excel_tab", "unix_dialect", "get_dialect", "list_dialects", "register_dialect",
            "unregister_dialect",
        ),
        allow("this worker's own field size limit", "field_size_limit"),
        allow(
            CONSTANTS,
            "QUOTE_ALL", "QUOTE_MINIMAL", "QUOTE_NONE", "QUOTE_NONNUMERIC", "QUOTE_NOTNULL", "QUOTE_STRINGS",
        ),
        allow("exceptions", "Error"),
        reexport("io (use io.StringIO)", "StringIO"),
    ),
    "dataclasses": rule(
        allow(
            GUARDED + "builds __init__ and friends with exec() from validated identifiers, and rewrites "
            "the class it is given: only the program's own classes",
            "dataclass",
        ),
        allow(
            GUARDED + "field names and namespace keys may not be dunders (a field named __reduce_ex__ or "
            "a namespace with __getattr__ would skip the class-statement rules)",
            "make_dataclass",
        ),
        allow(
            GUARDED + "dataclasses' own code, reading each field once through the sandbox's getattr "
            "(by the name its Field holds, which the program can influence); asdict/astuple "
            "deep-copy through the guarded copy sink",
            "asdict", "astuple", "replace",
        ),
        allow("fields and helpers", "Field", "InitVar", "KW_ONLY", "MISSING", "field", "fields", "is_dataclass"),
        allow("exceptions", "FrozenInstanceError"),
        refuse(
            "imported from types: the function type, whose call builds a function from a code object",
            "FunctionType",
        ),
        reexport("types", "GenericAlias"),
        reexport("reprlib (3.13+)", "recursive_repr"),
    ),
    "datetime": rule(
        allow(
            "dates, times and time zones; tzinfo subclasses run the program's own code",
            "date", "datetime", "time", "timedelta", "timezone", "tzinfo", "UTC",
        ),
        allow(CONSTANTS, "MAXYEAR", "MINYEAR"),
        refuse("a capsule of C pointers for extension modules: nothing for Python code", "datetime_CAPI"),
    ),
    "decimal": rule(
        allow(
            "decimal numbers and contexts; contexts are per thread and the worker is a fresh process, "
            "so setcontext/localcontext cannot leak into another execution",
            "Decimal", "Context", "DecimalTuple", "getcontext", "localcontext",
        ),
        allow(
            GUARDED + "copies a template it is given (the program's templates are copies decimal does not "
            "know), as decimal does with its own: the current context is the program's to change",
            "setcontext",
        ),
        allow(
            GUARDED + "copies of the templates: decimal copies DefaultContext into every new context, "
            "and a template hands out its own signal dicts",
            "BasicContext", "DefaultContext", "ExtendedContext",
        ),
        allow(
            "signals and exceptions",
            "Clamped", "ConversionSyntax", "DecimalException", "DivisionByZero", "DivisionImpossible",
            "DivisionUndefined", "FloatOperation", "Inexact", "InvalidContext", "InvalidOperation",
            "Overflow", "Rounded", "Subnormal", "Underflow",
        ),
        allow(
            CONSTANTS,
            "HAVE_CONTEXTVAR", "HAVE_THREADS", "MAX_EMAX", "MAX_PREC", "MIN_EMIN", "MIN_ETINY",
            "ROUND_05UP", "ROUND_CEILING", "ROUND_DOWN", "ROUND_FLOOR", "ROUND_HALF_DOWN",
            "ROUND_HALF_EVEN", "ROUND_HALF_UP", "ROUND_UP",
        ),
    ),
    "difflib": rule(
        allow(
            "sequence comparison and diffs, as strings: " + PURE,
            "Differ", "HtmlDiff", "Match", "SequenceMatcher", "IS_CHARACTER_JUNK", "IS_LINE_JUNK",
            "context_diff", "diff_bytes", "get_close_matches", "ndiff", "restore", "unified_diff",
        ),
        reexport("types", "GenericAlias"),
    ),
    "enum": rule(
        allow(
            "enum base classes; subclassing uses the real EnumType through the base, and the functional "
            "API Enum('E', names) takes ordinary member names only (library_guards.guard_enum_functional_api)",
            "Enum", "IntEnum", "Flag", "IntFlag", "StrEnum", "ReprEnum",
        ),
        allow(
            "metaclass: copied as a stand-in, isinstance() only; calling it to build a class is refused",
            "EnumType", "EnumMeta",
        ),
        allow(
            "helpers for class bodies and checks on the program's own enums",
            "auto", "member", "nonmember", "property", "unique", "verify", "show_flag_values", "bin",
        ),
        allow(
            "option enums and their members",
            "EnumCheck", "CONTINUOUS", "NAMED_FLAGS", "UNIQUE", "FlagBoundary", "STRICT", "CONFORM", "EJECT", "KEEP",
        ),
        refuse(
            "write the members into sys.modules[cls.__module__], and the program chooses __module__ "
            "(Enum(..., module='...')): a write into any loaded module",
            "global_enum", "global_enum_repr", "global_flag_repr", "global_str",
        ),
        refuse(
            "return a (getattr, (cls, name)) reduction: the real getattr builtin, outside the attribute guard",
            "pickle_by_enum_name", "pickle_by_global_name",
        ),
        refuse("3.13+: the class-body namespace EnumType uses; enums come from class statements", "EnumDict"),
        reexport("types (enum.property is the documented one)", "DynamicClassAttribute", "MappingProxyType"),
        reexport("functools", "reduce"),
    ),
    "fnmatch": rule(
        allow("shell-style pattern matching on strings it is given: no file system access",
              "filter", "fnmatch", "fnmatchcase", "translate"),
    ),
    "fractions": rule(
        allow("rational numbers: " + PURE, "Fraction"),
        reexport("decimal", "Decimal"),
    ),
    "functools": rule(
        allow(
            "higher-order helpers over callables the program already holds",
            "cache", "cached_property", "cmp_to_key", "lru_cache", "partial", "partialmethod", "reduce",
        ),
        allow(
            GUARDED + "the real ones copy the attributes *named* in assigned/updated with the real "
            "getattr/setattr (updated=('__globals__',) leaked a library module's globals): only the "
            "default lists, and only functions are decorated",
            "update_wrapper", "wraps",
        ),
        allow(GUARDED + "applies only to the program's own classes (it rewrites the class)", "total_ordering"),
        allow("the default attribute lists of update_wrapper (tuples)", "WRAPPER_ASSIGNMENTS", "WRAPPER_UPDATES"),
        allow(
            GUARDED + "register(cls) as usual; register() on an annotated function takes the annotation "
            "as it is (the real one evaluates annotation strings with typing.get_type_hints) and refuses a string",
            "singledispatch", "singledispatchmethod",
        ),
        reexport("abc", "get_cache_token"),
        reexport("collections (unguarded: use collections.namedtuple)", "namedtuple"),
        reexport("reprlib", "recursive_repr"),
        reexport("_thread", "RLock"),
        reexport("types", "GenericAlias"),
    ),
    "graphlib": rule(
        allow("topological sorting of the program's own graph: " + PURE, "TopologicalSorter", "CycleError"),
        reexport("types", "GenericAlias"),
    ),
    "glob": rule(
        allow(IN_THE_WORKDIR + "pattern matching over the directory's entries", "glob", "iglob"),
        allow("escaping and testing patterns: " + PURE, "escape", "has_magic"),
        others="the module's helpers and imports (glob0, glob1, os, re ...): not its documented API",
    ),
    "hashlib": rule(
        allow(
            "hash constructors: " + PURE,
            "blake2b", "blake2s", "md5", "new", "sha1", "sha224", "sha256", "sha384", "sha3_224",
            "sha3_256", "sha3_384", "sha3_512", "sha512", "shake_128", "shake_256",
        ),
        allow("key derivation: CPU and memory bounded by the worker's limits", "pbkdf2_hmac", "scrypt"),
        allow("reads a file object it is given; the program holds only in-memory streams", "file_digest"),
        allow("sets of algorithm names, this worker's own", "algorithms_available", "algorithms_guaranteed"),
    ),
    "heapq": rule(
        allow(
            "heap operations on the program's own lists",
            "heapify", "heappop", "heappush", "heappushpop", "heapreplace", "merge", "nlargest", "nsmallest",
        ),
    ),
    "html": rule(
        allow("HTML escaping: " + PURE, "escape", "unescape"),
    ),
    "hmac": rule(
        allow("message authentication: " + PURE, "HMAC", "compare_digest", "digest", "new"),
        allow(CONSTANTS + " (the pad translation tables; digest_size is None)", "digest_size", "trans_36", "trans_5C"),
    ),
    "io": rule(
        allow("in-memory streams", "StringIO", "BytesIO"),
        allow(CONSTANTS, "SEEK_SET", "SEEK_CUR", "SEEK_END"),
        allow("exceptions", "UnsupportedOperation"),
        refuse("open files by path or descriptor: the builtin open() opens the working directory's",
               "open", "open_code", "FileIO"),
        refuse(
            "buffered and text layers over raw streams: made over any descriptor; the objects open() returns "
            "are of these classes and pass, the classes are not offered",
            "BufferedRWPair", "BufferedRandom", "BufferedReader", "BufferedWriter", "TextIOWrapper",
            "IncrementalNewlineDecoder", "DEFAULT_BUFFER_SIZE",
        ),
        refuse("base classes for implementing file objects", "IOBase", "RawIOBase", "BufferedIOBase", "TextIOBase"),
        refuse("the encoding argument helper of open(): reads interpreter flags", "text_encoding"),
        reexport("builtins (BlockingIOError is a builtin)", "BlockingIOError"),
    ),
    "ipaddress": rule(
        allow(
            "IP address and network arithmetic on values it is given: no network access",
            "IPv4Address", "IPv4Interface", "IPv4Network", "IPv6Address", "IPv6Interface", "IPv6Network",
            "collapse_addresses", "get_mixed_type_key", "ip_address", "ip_interface", "ip_network",
            "summarize_address_range", "v4_int_to_packed", "v6_int_to_packed",
        ),
        allow(CONSTANTS, "IPV4LENGTH", "IPV6LENGTH"),
        allow("exceptions", "AddressValueError", "NetmaskValueError"),
    ),
    "itertools": rule(
        allow(
            "iterator building blocks over the program's own iterables",
            "batched", "combinations", "combinations_with_replacement", "compress",
            "dropwhile", "filterfalse", "permutations", "product", "repeat", "starmap", "takewhile", "tee",
        ),
        allow(
            GUARDED + "the C iterators free what a re-entrant step of the program's still uses, or "
            "compare operands they may drop meanwhile (full escapes on 3.11): the documentation's "
            "Python equivalents",
            "accumulate", "chain", "count", "cycle", "groupby", "islice", "pairwise", "zip_longest",
        ),
    ),
    "json": rule(
        allow(
            "JSON encoding and decoding; the hooks and default= call the program's own functions, and "
            "dump/load only call write/read on the object passed in",
            "dump", "dumps", "load", "loads", "JSONDecoder", "JSONEncoder", "detect_encoding",
        ),
        allow("exceptions", "JSONDecodeError"),
    ),
    "math": rule(
        allow(
            "number-theoretic and float functions: " + PURE,
            "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "comb",
            "copysign", "cos", "cosh", "degrees", "dist", "erf", "erfc", "exp", "exp2", "expm1", "fabs",
            "factorial", "floor", "fma", "fmod", "frexp", "fsum", "gamma", "gcd", "hypot", "isclose",
            "isfinite", "isinf", "isnan", "isqrt", "lcm", "ldexp", "lgamma", "log", "log10", "log1p",
            "log2", "modf", "nextafter", "perm", "pow", "prod", "radians", "remainder", "sin", "sinh",
            "sqrt", "sumprod", "tan", "tanh", "trunc", "ulp",
        ),
        allow(CONSTANTS, "e", "inf", "nan", "pi", "tau"),
    ),
    "numbers": rule(
        allow("the numeric tower of ABCs", "Complex", "Integral", "Number", "Rational", "Real"),
        reexport("abc (unguarded: use abc.abstractmethod)", "ABCMeta", "abstractmethod"),
    ),
    "operator": rule(
        allow(
            "operators as functions: the same as the expression they stand for",
            "abs", "add", "and_", "call", "concat", "contains", "countOf", "eq", "floordiv", "ge",
            "gt", "index", "indexOf", "inv", "invert", "is_", "is_not", "le", "length_hint",
            "lshift", "lt", "matmul", "mod", "mul", "ne", "neg", "not_", "or_", "pos", "pow", "rshift",
            "sub", "truediv", "truth", "xor",
        ),
        allow(
            "in-place operators: the same as augmented assignment (the sandbox's own x += y uses them)",
            "iadd", "iand", "iconcat", "ifloordiv", "ilshift", "imatmul", "imod", "imul", "ior", "ipow",
            "irshift", "isub", "itruediv", "ixor",
        ),
        allow(
            "item assignment and deletion: like d[k] = v; modules, classes and functions, which the "
            "write guard protects, have no items",
            "setitem", "delitem",
        ),
        allow(
            GUARDED + "the real ones read items from C, outside the subscript guard, and hand them "
            "to C code raw (map(operator.getitem, [typing.Union], ['...']) held a ForwardRef): "
            "these read through the guard, exactly like obj[key]",
            "getitem", "itemgetter",
        ),
        allow(
            GUARDED + "the real ones read attributes by name from C, outside the attribute guard "
            "(attrgetter('__class__')); these read through the guard, exactly like obj.name",
            "attrgetter", "methodcaller",
        ),
    ),
    "os": rule(
        allow(
            IN_THE_WORKDIR + "listing, making, renaming and removing entries",
            "listdir", "mkdir", "makedirs", "remove", "unlink", "rmdir", "rename", "replace", "walk", "stat",
        ),
        allow(GUARDED + "'.': the working directory has no other name for the program", "getcwd"),
        allow(GUARDED + "the program has no environment variables: always the default", "getenv"),
        allow(GUARDED + "an empty mapping: the program has no environment variables", "environ"),
        allow("the path protocol: " + PURE, "fspath", "PathLike"),
        allow(CONSTANTS, "sep", "altsep", "extsep", "pathsep", "linesep", "curdir", "pardir", "name"),
        allow("exceptions (the builtin OSError)", "error"),
        others="processes, descriptors, users, signals, the host's environment and every file operation that "
        "is not the working directory's",
    ),
    "os.path": rule(
        allow(
            "splitting and joining path text: " + PURE,
            "join", "split", "splitext", "basename", "dirname", "normpath", "normcase", "isabs", "commonpath",
            "commonprefix", "splitdrive",
        ),
        allow(
            IN_THE_WORKDIR + "questions about entries",
            "exists", "lexists", "isfile", "isdir", "islink", "getsize", "getmtime", "getatime", "getctime",
            "samefile",
        ),
        allow(
            IN_THE_WORKDIR + "the normalised path, relative to the working directory (the host's name for it is "
            "not the program's to know)",
            "abspath", "realpath", "relpath",
        ),
        allow(CONSTANTS, "sep", "altsep", "extsep", "pathsep", "curdir", "pardir"),
        others="the home directory, environment variables, mount points, devices and the module's imports",
    ),
    "pathlib": rule(
        allow(
            IN_THE_WORKDIR + "one class, the sandbox's, with the pure path API (joining, names, suffixes, "
            "parents) and file methods that check every path (no owner, mode, link or device methods)",
            "Path", "PosixPath", "PurePath", "PurePosixPath",
        ),
        refuse("Windows paths name nothing on this host", "PureWindowsPath", "WindowsPath"),
        others="the module's imports and helpers (os, io, fnmatch ...): not its documented API",
    ),
    "pprint": rule(
        allow(
            "pretty-printing to strings, to the bounded stdout or to a stream the program passes",
            "PrettyPrinter", "isreadable", "isrecursive", "pformat", "pp", "pprint", "saferepr",
        ),
    ),
    "random": rule(
        allow(
            "the module's generator: the worker reseeds after fork, so no two executions share a stream",
            "betavariate", "binomialvariate", "choice", "choices", "expovariate", "gammavariate", "gauss",
            "getrandbits", "getstate", "lognormvariate", "normalvariate", "paretovariate", "randbytes",
            "randint", "random", "randrange", "sample", "seed", "setstate", "shuffle", "triangular",
            "uniform", "vonmisesvariate", "weibullvariate",
        ),
        allow("generator classes (SystemRandom reads the kernel's random source)", "Random", "SystemRandom"),
        allow(CONSTANTS, "BPF", "LOG4", "NV_MAGICCONST", "RECIP_BPF", "SG_MAGICCONST", "TWOPI"),
    ),
    "re": rule(
        allow(
            "regular expressions; patterns only match, and ReDoS is bounded by the CPU and wall limits",
            "compile", "escape", "findall", "finditer", "fullmatch", "match", "purge", "search", "split",
            "sub", "subn", "Match", "Pattern", "Scanner",
        ),
        allow(
            "flags (DEBUG prints to the bounded stdout)",
            "RegexFlag", "NOFLAG", "A", "ASCII", "DEBUG", "I", "IGNORECASE", "L", "LOCALE", "M",
            "MULTILINE", "S", "DOTALL", "U", "UNICODE", "X", "VERBOSE",
        ),
        allow("exceptions", "error", "PatternError"),
        refuse(
            "deprecated in 3.11 and removed in 3.13: an undocumented experimental flag",
            "template", "TEMPLATE", "T",
        ),
    ),
    "shlex": rule(
        allow("shell-style splitting and quoting of strings: " + PURE, "join", "quote", "split"),
        refuse(
            "the lexer class: its sourcehook opens any file by name with the real open() when a "
            "'source' token is set; shlex.split is the supported use",
            "shlex",
        ),
        reexport("io and collections", "StringIO", "deque"),
    ),
    "shutil": rule(
        allow(
            IN_THE_WORKDIR + "copies of content (no modes or times), moves and removal",
            "copyfile", "copy", "copy2", "copytree", "move", "rmtree",
        ),
        allow(GUARDED + "copying between two file objects the program holds", "copyfileobj"),
        allow("exceptions", "Error", "SameFileError"),
        others="disk usage, ownership, modes, archives by name, which(), the terminal and the module's imports",
    ),
    "statistics": rule(
        allow(
            "statistics: " + PURE,
            "correlation", "covariance", "fmean", "geometric_mean", "harmonic_mean", "kde", "kde_random",
            "linear_regression", "mean", "median", "median_grouped", "median_high", "median_low", "mode",
            "multimode", "pstdev", "pvariance", "quantiles", "stdev", "variance", "LinearRegression",
            "NormalDist",
        ),
        allow("exceptions", "StatisticsError"),
        reexport(
            "math",
            "acos", "asin", "atan", "cos", "cosh", "erf", "exp", "fabs", "fsum", "hypot", "isfinite",
            "isinf", "log", "pi", "sin", "sqrt", "sumprod", "tan", "tau",
        ),
        reexport(
            "collections (namedtuple unguarded: use collections.namedtuple)",
            "Counter", "defaultdict", "namedtuple",
        ),
        reexport(
            "itertools, bisect, functools and operator",
            "count", "groupby", "repeat", "bisect_left", "bisect_right", "reduce", "itemgetter", "mul",
        ),
        reexport("decimal and fractions", "Decimal", "Fraction"),
    ),
    "string": rule(
        allow("$-substitution: mapping lookups only, no attribute access", "Template"),
        allow(PURE, "capwords"),
        allow(
            CONSTANTS,
            "ascii_letters", "ascii_lowercase", "ascii_uppercase", "digits", "hexdigits", "octdigits",
            "printable", "punctuation", "whitespace",
        ),
        allow(
            "format/vformat and subclasses of it; each field's '.attr' and '[key]' steps go through "
            "the guards (get_field is replaced in the worker: CVE-2023-41039)",
            "Formatter",
        ),
    ),
    "struct": rule(
        allow(
            "packing and unpacking bytes: " + PURE + " (pack_into writes into the program's own buffer)",
            "Struct",
        ),
        allow(
            GUARDED + "the format is read as an exact str (a str subclass poisoned the module's format cache)",
            "calcsize", "iter_unpack", "pack", "pack_into", "unpack", "unpack_from",
        ),
        allow("exceptions", "error"),
    ),
    "sys": rule(
        allow(
            "facts about the interpreter (read-only values: a str, ints, named tuples)",
            "version", "version_info", "hexversion", "api_version", "maxsize", "maxunicode", "byteorder",
            "platform", "float_info", "int_info", "hash_info", "float_repr_style", "abiflags",
        ),
        allow(
            "queries that read a value and change nothing",
            "getsizeof", "getrecursionlimit", "getdefaultencoding", "getfilesystemencoding",
            "getfilesystemencodeerrors", "get_int_max_str_digits", "getswitchinterval", "intern", "is_finalizing",
        ),
        allow(
            GUARDED + "raises SystemExit, which ends the program: status 0 or None is a normal end",
            "exit",
        ),
        allow(
            GUARDED + "write-only streams that go where print() goes; the real ones hand out the file "
            "descriptor and io.FileIO, whose class opens any path",
            "stdout", "stderr",
        ),
        allow(
            GUARDED + "raises the limit up to a cap the worker's C stack survives (deep recursion through "
            "C code crashes the interpreter past it); above the cap the cap is set",
            "setrecursionlimit",
        ),
        allow(
            GUARDED + "the int/str conversion limit CPython's own error tells users to raise; the job's CPU "
            "limit bounds a long conversion, and the reply bounds its own",
            "set_int_max_str_digits",
        ),
        allow(GUARDED + "an empty command line ([''], as the interpreter gives when it names no script)", "argv"),
        refuse("the module registry, the import system and the interpreter's paths: real modules and files",
               "modules", "meta_path", "path", "path_hooks", "path_importer_cache", "builtin_module_names",
               "stdlib_module_names", "prefix", "base_prefix", "exec_prefix", "base_exec_prefix", "platlibdir",
               "executable", "pycache_prefix", "dont_write_bytecode"),
        refuse("the process's command line and start-up settings: a program in the sandbox is given none",
               "orig_argv", "warnoptions", "flags", "copyright", "implementation", "thread_info"),
        refuse("hooks into the interpreter: tracing, profiling, audit, display and exception hooks see every "
               "frame and object",
               "settrace", "gettrace", "setprofile", "getprofile", "addaudithook", "audit", "breakpointhook",
               "displayhook", "excepthook", "unraisablehook", "call_tracing", "set_asyncgen_hooks",
               "get_asyncgen_hooks", "set_coroutine_origin_tracking_depth",
               "get_coroutine_origin_tracking_depth", "setswitchinterval",
               "setdlopenflags", "getdlopenflags", "getallocatedblocks", "getrefcount"),
        refuse("the exception being handled with its traceback (frames); use 'except ... as e'",
               "exc_info", "exception"),
        refuse("there is no standard input: pass data in the request's context", "stdin"),
    ),
    "tarfile": rule(
        allow(
            IN_THE_WORKDIR + "archives read, written and extracted there; extraction always runs the 'data' "
            "filter and stays within the directory's limits; members come back as read-only records and "
            "in-memory files",
            "open", "is_tarfile",
        ),
        allow(
            "exceptions",
            "TarError", "ReadError", "CompressionError", "StreamError", "ExtractError", "HeaderError",
            "FilterError", "AbsolutePathError", "OutsideDestinationError", "SpecialFileError",
            "AbsoluteLinkError", "LinkOutsideDestinationError",
        ),
        allow(
            CONSTANTS,
            "REGTYPE", "AREGTYPE", "LNKTYPE", "SYMTYPE", "DIRTYPE", "FIFOTYPE", "CONTTYPE", "CHRTYPE", "BLKTYPE",
            "USTAR_FORMAT", "GNU_FORMAT", "PAX_FORMAT", "DEFAULT_FORMAT", "ENCODING",
        ),
        refuse("archives are opened with tarfile.open(), which checks the path", "TarFile"),
        refuse("members are read-only records from getmembers()", "TarInfo"),
        others="the filters other than 'data', the module's helpers and imports",
    ),
    "textwrap": rule(
        allow("text wrapping: " + PURE, "TextWrapper", "dedent", "fill", "indent", "shorten", "wrap"),
    ),
    "tomllib": rule(
        allow("TOML parsing: " + PURE + " (load reads the binary file object it is given, the program's own)",
              "load", "loads"),
        allow("exceptions", "TOMLDecodeError"),
    ),
    "time": rule(
        allow(
            "clocks of this process and the wall clock",
            "time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
            "process_time", "process_time_ns", "thread_time", "thread_time_ns", "get_clock_info",
        ),
        allow(
            "time conversion and formatting: " + PURE,
            "asctime", "ctime", "gmtime", "localtime", "mktime", "strftime", "strptime", "struct_time",
        ),
        allow("bounded by the wall-clock limit", "sleep"),
        allow("re-reads the TZ setting of this process only; the program cannot change the environment", "tzset"),
        allow("the time zone of this process: " + CONSTANTS, "altzone", "daylight", "timezone", "tzname"),
        refuse("sets the host clock wherever the worker holds CAP_SYS_TIME", "clock_settime", "clock_settime_ns"),
        refuse(
            "take any clock id, and a negative id names the CPU clock of another process "
            "(clock_getcpuclockid): reads other processes' CPU time; monotonic/perf_counter/process_time "
            "cover ordinary use",
            "clock_gettime", "clock_gettime_ns", "clock_getres",
        ),
        refuse(
            "glibc treats the thread id as a pointer: an arbitrary int reads arbitrary memory",
            "pthread_getcpuclockid",
        ),
        refuse(
            "clock ids, only meaningful to the clock_* functions, which are not offered",
            "CLOCK_BOOTTIME", "CLOCK_MONOTONIC", "CLOCK_MONOTONIC_RAW", "CLOCK_PROCESS_CPUTIME_ID",
            "CLOCK_REALTIME", "CLOCK_TAI", "CLOCK_THREAD_CPUTIME_ID",
        ),
    ),
    "typing": rule(
        allow(
            "special forms and annotations: values for annotations, checked by no one at run time",
            "Annotated", "Any", "Callable", "ClassVar", "Concatenate", "Final", "Literal", "LiteralString",
            "Never", "NoDefault", "NoReturn", "NotRequired", "Optional", "ReadOnly", "Required", "Self",
            "Tuple", "Type", "TypeAlias", "TypeGuard", "TypeIs", "Union", "Unpack",
        ),
        allow(
            "generic aliases of builtin and collections types (writes through an alias are refused by the guards)",
            "AbstractSet", "AsyncContextManager", "AsyncGenerator", "AsyncIterable", "AsyncIterator",
            "Awaitable", "ByteString", "ChainMap", "Collection", "Container", "ContextManager",
            "Coroutine", "Counter", "DefaultDict", "Deque", "Dict", "FrozenSet", "Generator", "Hashable",
            "ItemsView", "Iterable", "Iterator", "KeysView", "List", "Mapping", "MappingView", "Match",
            "MutableMapping", "MutableSequence", "MutableSet", "Pattern", "Reversible",
            "Sequence", "Set", "Sized", "Text", "ValuesView",
        ),
        allow(
            GUARDED + "an alias of collections' pure-Python OrderedDict, the class the program gets there",
            "OrderedDict",
        ),
        allow(
            GUARDED + "the functional form names the class after the calling frame's module (a library's "
            "when library code calls it): here the class is the program's, of __main__; class syntax "
            "uses the real marker",
            "NamedTuple",
            "TypedDict",
        ),
        allow(
            "classes a program subclasses or instantiates: Generic and Protocol, type variables, NewType",
            "Generic", "Protocol", "TypeVar", "TypeVarTuple", "ParamSpec",
            "ParamSpecArgs", "ParamSpecKwargs", "NewType", "TypeAliasType",
            "SupportsAbs", "SupportsBytes", "SupportsComplex", "SupportsFloat", "SupportsIndex",
            "SupportsInt", "SupportsRound", "IO", "TextIO", "BinaryIO",
        ),
        allow(
            "typing's own type variables (undocumented, used in its aliases): plain TypeVar values",
            "AnyStr", "CT_co", "KT", "T", "T_co", "T_contra", "VT", "VT_co", "V_co",
        ),
        allow(
            "run-time helpers that only return or check their argument (reveal_type prints to the bounded stderr)",
            "cast", "assert_never", "assert_type", "reveal_type", "is_typeddict", "is_protocol",
            "get_protocol_members", "TYPE_CHECKING",
        ),
        allow(
            GUARDED + "set an attribute (__final__, __no_type_check__, __override__, __dataclass_transform__) on "
            "what they are given, no_type_check also on a class's methods: " + REWRITES,
            "final", "no_type_check", "override", "dataclass_transform",
        ),
        allow(
            GUARDED + "records its argument in typing's overload registry under its module and name: " + REWRITES,
            "overload",
        ),
        allow(GUARDED + "applies only to the program's own classes (it rewrites the class)", "runtime_checkable"),
        allow(
            GUARDED + "a metaclass in the result (typing.Type[int] -> type) comes back as the sandbox's type",
            "get_origin", "get_args",
        ),
        allow(
            GUARDED + "the annotations merged over the MRO; the program's string annotations are evaluated by "
            "the sandbox's eval, under its rules (the real one uses the real eval)",
            "get_type_hints",
        ),
        refuse("evaluates its string with the real eval(), outside the sandbox's rules", "ForwardRef"),
        refuse(
            "read or empty typing's overload registry, which holds the worker's own libraries' functions "
            "under a module and name the program can imitate",
            "get_overloads", "clear_overloads",
        ),
        refuse(
            "deprecated in 3.13: applies the real no_type_check to whatever the decorator returns, around "
            "the guard on no_type_check",
            "no_type_check_decorator",
        ),
        refuse("typing's internal metaclass for NamedTuple (class syntax uses it through the base)", "NamedTupleMeta"),
        refuse("typing's internal, mutable list of names that protocol checks skip", "EXCLUDED_ATTRIBUTES"),
        refuse("deprecated pseudo-modules, removed in 3.13: typing.IO/TextIO/Pattern/Match are the same", "io", "re"),
        reexport("abc (unguarded: use abc.abstractmethod)", "ABCMeta", "abstractmethod"),
        reexport("collections", "defaultdict"),
        reexport("types", "GenericAlias", "MethodDescriptorType", "MethodWrapperType", "WrapperDescriptorType"),
    ),
    "unicodedata": rule(
        allow(
            "the Unicode database: " + PURE,
            "bidirectional", "category", "combining", "decimal", "decomposition", "digit",
            "east_asian_width", "is_normalized", "lookup", "mirrored", "name", "normalize", "numeric",
            "UCD", "ucd_3_2_0",
        ),
        allow(CONSTANTS, "unidata_version"),
    ),
    "urllib.parse": rule(
        allow(
            "URL parsing, quoting and building on strings: no network access",
            "parse_qs", "parse_qsl", "quote", "quote_from_bytes", "quote_plus", "unquote", "unquote_plus",
            "unquote_to_bytes", "unwrap", "urldefrag", "urlencode", "urljoin", "urlparse", "urlsplit",
            "urlunparse", "urlunsplit", "clear_cache",
        ),
        allow(
            "result types (named tuples) and their base",
            "DefragResult", "DefragResultBytes", "ParseResult", "ParseResultBytes", "SplitResult",
            "SplitResultBytes", "ResultBase",
        ),
        allow(
            "deprecated since 3.8 (they warn): pure string splitting",
            "splitattr", "splithost", "splitnport", "splitpasswd", "splitport", "splitquery", "splittag",
            "splittype", "splituser", "splitvalue", "to_bytes",
        ),
        allow(
            "scheme lists: this worker's own",
            "non_hierarchical", "scheme_chars", "uses_fragment", "uses_netloc", "uses_params", "uses_query",
            "uses_relative",
        ),
        reexport("collections (unguarded: use collections.namedtuple)", "namedtuple"),
    ),
    "uuid": rule(
        allow("UUIDs from names or randomness: no host identity", "UUID", "SafeUUID", "uuid3", "uuid4", "uuid5"),
        allow(
            CONSTANTS,
            "NAMESPACE_DNS", "NAMESPACE_OID", "NAMESPACE_URL", "NAMESPACE_X500", "RESERVED_FUTURE",
            "RESERVED_MICROSOFT", "RESERVED_NCS", "RFC_4122",
        ),
        refuse(
            "getnode (and uuid1, which calls it) may run ifconfig/ip in a subprocess, and reveals the host's MAC",
            "getnode", "uuid1",
        ),
        reexport("enum", "Enum"),
        reexport("builtins (bytes and int)", "bytes_", "int_"),
    ),
    "zipfile": rule(
        allow(
            IN_THE_WORKDIR + "archives read, written and extracted there (names cleaned by the library, "
            "extraction within the directory's limits); members come back as bytes, in-memory files and "
            "read-only records",
            "ZipFile", "is_zipfile",
        ),
        allow("exceptions", "BadZipFile", "BadZipfile", "LargeZipFile", "error"),
        allow(CONSTANTS, "ZIP_STORED", "ZIP_DEFLATED", "ZIP_BZIP2", "ZIP_LZMA"),
        refuse("members are read-only records from infolist(); ZipInfo.from_file reads any path", "ZipInfo"),
        others="zipfile.Path, PyZipFile, the module's helpers and imports",
    ),
    "zlib": rule(
        allow(
            "compression: " + PURE + " (memory bounded by the worker's limit)",
            "adler32", "compress", "compressobj", "crc32", "decompress", "decompressobj",
        ),
        allow(
            CONSTANTS,
            "DEFLATED", "DEF_BUF_SIZE", "DEF_MEM_LEVEL", "MAX_WBITS", "ZLIB_RUNTIME_VERSION", "ZLIB_VERSION",
            "Z_BEST_COMPRESSION", "Z_BEST_SPEED", "Z_BLOCK", "Z_DEFAULT_COMPRESSION", "Z_DEFAULT_STRATEGY",
            "Z_FILTERED", "Z_FINISH", "Z_FIXED", "Z_FULL_FLUSH", "Z_HUFFMAN_ONLY", "Z_NO_COMPRESSION",
            "Z_NO_FLUSH", "Z_PARTIAL_FLUSH", "Z_RLE", "Z_SYNC_FLUSH", "Z_TREES",
        ),
        allow("exceptions", "error"),
    ),
    "zoneinfo": rule(
        allow(
            "IANA time zones, read from the system's zone files by key (a key that is a path, or "
            "leaves the zone directories, is refused by zoneinfo itself; Landlock allows only reads); "
            "ZoneInfo.from_file, which parses the program's bytes in C, is refused (names.py)",
            "ZoneInfo", "available_timezones",
        ),
        allow(CONSTANTS, "TZPATH"),
        allow("exceptions and warnings", "ZoneInfoNotFoundError", "InvalidTZPathWarning"),
        refuse("changes the directories zone files are read from to any path the program names", "reset_tzpath"),
    ),
}
# fmt: on
