"""Which names a program may bind, define and read: one table for the compiler policy
(policy.py), the run-time guards (guards.py) and the class factory.

The principle: *defining* a special method is not dangerous (its body is restricted code
like any other); *reading* special attributes off arbitrary objects is how escapes walk
the object graph (``__class__.__base__.__subclasses__()``, ``__globals__``,
``__self__`` of a builtin is the builtins module). So definitions follow an allow-list,
reads follow a smaller one, and the names the sandbox itself injects can never be bound.
"""

from __future__ import annotations

import re

#: Attributes that hand out frames, code objects or the running interpreter's state.
#: They do not start with "_", so the underscore rule alone would let them through.
INTROSPECTION_ATTRIBUTES = frozenset(
    {
        "tb_frame", "tb_next", "tb_lasti",
        "f_back", "f_builtins", "f_code", "f_globals", "f_locals", "f_trace", "f_lasti",
        "co_code", "co_consts", "co_names", "co_lnotab", "co_linetable", "co_exceptiontable",
        "gi_frame", "gi_code", "gi_yieldfrom", "gi_running", "gi_suspended",
        "cr_await", "cr_frame", "cr_code", "cr_origin", "cr_running", "cr_suspended",
        "ag_await", "ag_frame", "ag_code", "ag_running",
    }
)  # fmt: skip


#: Methods whose fields read attributes (``"{0.__class__}".format(x)``): the guards hand
#: out a version that reads them through the guards.
FORMAT_METHODS = frozenset({"format", "format_map"})
#: Public names the attribute guard decides with care, whatever the receiver: never read
#: by a fast path (a class's ``mro``, the format methods, the interpreter's introspection).
#: Methods of offered C classes refused by name (their owners: worker/membrane.py
#: _REFUSED_C_METHODS): a C entry point that parses bytes the program wrote, with no check
#: in Python first. ZoneInfo.from_file feeds CPython 3.11's _zoneinfo a TZif file, whose
#: loader reads a ttinfo past its array for a transition index equal to their count
#: (gh-145883, a crash upstream, never fixed in 3.11): the program laid the heap so the
#: stray entry named a fake object (attack pass 63, a full escape of the language layer).
REFUSED_C_METHOD_NAMES = frozenset({"from_file"})
#: Methods of offered C classes that read their argument as a C struct without checking
#: its type (worker/membrane.py _CHECKED_C_METHODS): handed out checked. ZoneInfo's
#: utcoffset/dst/tzname/fromutc read a datetime's fold byte straight from the object's
#: memory and index a two-entry table with it (gh-111306, open upstream): a bytes subclass
#: chose the byte (attack pass 65).
CHECKED_C_METHOD_NAMES = frozenset({"utcoffset", "dst", "tzname", "fromutc"})

#: Methods of C classes that write into a buffer they are given, or view one as another
#: type (worker/buffers.py): handed out checked, so that none writes into the memory of an
#: array of object references (numpy exports it as a buffer: a pointer written there is an
#: object forged; attack pass 95).
BUFFER_WRITING_METHOD_NAMES = frozenset({"cast", "readinto", "readinto1", "pack_into"})

CAREFUL_ATTRIBUTES = (
    INTROSPECTION_ATTRIBUTES
    | FORMAT_METHODS
    | REFUSED_C_METHOD_NAMES
    | CHECKED_C_METHOD_NAMES
    | BUFFER_WRITING_METHOD_NAMES
    | {"mro"}
)


#: Names the sandbox or RestrictedPython puts in a program's namespace. Binding one (as a
#: variable, argument, function, class attribute) would replace a guard for the code
#: that looks it up, so it is refused everywhere.
RESERVED_NAMES = frozenset(
    {
        "_getattr_", "_getitem_", "_getiter_", "_iter_unpack_sequence_", "_unpack_sequence_",
        "_write_", "_write_attribute_", "_inplacevar_", "_apply_", "_print_", "_print", "__metaclass__",
        "_admit_", "_admit_context_", "_admit_unchanged_", "_admit_each_", "_admit_values_", "_type_", "_plain_",
        "_admit_elements_", "_own_kinds_", "_admit_capture_", "_admit_handled_", "_yield_from_", "_admitting_iter_",
        "_metaclass_", "_match_values_", "_match_class_",
        "__builtins__", "__import__", "__build_class__", "__name__", "__file__", "__spec__",
        "__loader__", "__package__", "__annotations__", "__dict__", "__class__",
    }
)  # fmt: skip
_RESERVED_PATTERN = re.compile(r"^_tmp\d+$")  # RestrictedPython's temporaries
#: The tables of native method calls (native_calls.table_name).
_NATIVE_TABLE_PATTERN = re.compile(r"^_native_\w+_$")

#: What to write instead of a special method that cannot be defined (the refusal message).
ALTERNATIVES = {
    "__getattribute__": "define __getattr__ (called only for missing attributes) or use properties",
    "__del__": "use a context manager (__enter__/__exit__) for cleanup",
    "__reduce__": "copy.copy/deepcopy work without it",
    "__reduce_ex__": "copy.copy/deepcopy work without it",
    "__copy__": "copy.copy works without it",
    "__deepcopy__": "copy.deepcopy works without it",
}
_DEFAULT_ALTERNATIVE = (
    "special methods a class may define: __init__, __repr__, __str__, __eq__, __hash__, __len__, "
    "__iter__, __next__, __getitem__, __call__, __enter__/__exit__, comparisons, arithmetic"
)

#: Special methods the interpreter calls for operator syntax (``a | b``, ``a < b``,
#: ``x += y``, ``-a``) and whose result it hands straight to the program, with no call
#: the policy could see. Library classes' Python implementations of them are sealed by
#: the membrane, so their results pass it like a call's.
OPERATOR_METHODS = frozenset(
    {
        "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
        "__add__", "__sub__", "__mul__", "__matmul__", "__truediv__", "__floordiv__",
        "__mod__", "__divmod__", "__pow__", "__lshift__", "__rshift__", "__and__",
        "__xor__", "__or__",
        "__radd__", "__rsub__", "__rmul__", "__rmatmul__", "__rtruediv__", "__rfloordiv__",
        "__rmod__", "__rdivmod__", "__rpow__", "__rlshift__", "__rrshift__", "__rand__",
        "__rxor__", "__ror__",
        "__iadd__", "__isub__", "__imul__", "__imatmul__", "__itruediv__", "__ifloordiv__",
        "__imod__", "__ipow__", "__ilshift__", "__irshift__", "__iand__", "__ixor__", "__ior__",
        "__neg__", "__pos__", "__invert__",
    }
)  # fmt: skip

#: Special methods a class body may define. Each is called by Python with the program's
#: own objects and runs as restricted code.
DEFINABLE_METHODS = OPERATOR_METHODS | frozenset(
    {
        "__init__", "__post_init__", "__repr__", "__str__", "__format__", "__bytes__",
        "__hash__", "__bool__", "__len__", "__length_hint__", "__iter__", "__next__",
        "__reversed__", "__contains__", "__getitem__", "__setitem__", "__delitem__",
        "__missing__", "__call__", "__enter__", "__exit__", "__getattr__", "__setattr__", "__delattr__",
        "__new__",
        "__abs__", "__int__", "__float__", "__complex__",
        "__index__", "__round__", "__trunc__", "__floor__", "__ceil__",
        # CLASS_HOOKS
        "__init_subclass__", "__set_name__", "__class_getitem__", "__subclasshook__",
        "__get__", "__set__", "__delete__",
    }
)  # fmt: skip
#: Special methods of class creation and attribute lookup: the program may define them
#: (they run as its own restricted code), and read them on its own classes and objects
#: (``super().__init_subclass__(**kw)``), never the interpreter's or a library's (a
#: builtin ``property.__get__`` would run any ``fget`` on any object).
CLASS_HOOKS = frozenset(
    {"__init_subclass__", "__set_name__", "__class_getitem__", "__subclasshook__", "__get__", "__set__", "__delete__"}
)
# Definable with conditions (guards.py says how):
#   __setattr__, __delattr__: run on every write to the class's instances, the ones library
#     code makes too, so only in a class with no library class in its MRO; object's and
#     super()'s __setattr__/__delattr__ the program reads are the guarded write.
#   __new__: object.__new__, int.__new__ ... the program reads allocate instances of its
#     own classes only.
# Deliberately not definable (and why):
#   __getattribute__: would run on every attribute read, the sandbox's own reads of the
#     program's objects included; use __getattr__ or properties.
#   __mro_entries__, __prepare__, __instancecheck__, __subclasscheck__: hook into class
#     creation and type checks that the sandbox's own checks rely on.
#   __del__: runs at an arbitrary moment, possibly while the worker reports the result.
#   __reduce__, __reduce_ex__, __getstate__, __setstate__, __getnewargs__, __getnewargs_ex__,
#     __copy__, __deepcopy__: the copy/pickle protocol lets a reducer rebuild and
#     modify arbitrary objects.
#   __dir__, __sizeof__, __await__, __aiter__, __anext__, __aenter__,
#     __aexit__: introspection hooks, or async (refused anyway).

#: Dunder names a class body may assign (``__hash__ = None``, ``__radd__ = __add__``).
CLASS_ASSIGNABLE = DEFINABLE_METHODS | {"__slots__", "__match_args__", "__doc__"}
#: Dunders the compiler itself puts in a class namespace.
COMPILER_CLASS_NAMES = frozenset(
    # __orig_bases__: __build_class__ records the bases before __mro_entries__
    # (class P(Generic[T]), NamedTuple, TypedDict).
    {"__module__", "__qualname__", "__classcell__", "__annotations__", "__doc__", "__orig_bases__"}
)
#: Enum's documented hooks (``_missing_``): definable in a class body.
CLASS_SUNDERS = frozenset({"_missing_", "_generate_next_value_", "_ignore_", "_order_"})

#: Dunder attributes readable on any object: names and documentation, and the chained
#: exceptions (``__traceback__``, which leads to frames, stays refused). ``__class__``
#: gives what ``type(x)`` gives (a metaclass is replaced by the sandbox's ``type``).
READABLE_EVERYWHERE = frozenset(
    {"__name__", "__qualname__", "__doc__", "__module__", "__class__", "__cause__", "__context__",
     "__suppress_context__", "__notes__"}
)  # fmt: skip
#: Dunder attributes that describe a class or a value and hold nothing of the interpreter:
#: readable on any object (what they hold passes the membrane as it is read out).
DESCRIPTIVE_ATTRIBUTES = frozenset(
    {"__abstractmethods__", "__slots__", "__match_args__",
     "__args__", "__parameters__", "__origin__", "__required_keys__", "__optional_keys__", "__total__",
     "__isabstractmethod__"}
)  # fmt: skip
#: Dunder attributes readable on the program's own objects only (guards.check_attribute_name
#: says which): an instance's or a class's ``__dict__``, annotations, what ``functools.wraps``
#: and closures hold of the program's own functions, their defaults, a bound method's parts,
#: the class graph of its classes (MRO, bases, subclasses), and what enum, dataclasses and
#: typing record on them.
OWN_INTROSPECTION = frozenset(
    {"__mro__", "__bases__", "__base__",
     "__dict__", "__annotations__", "__wrapped__", "__closure__", "__defaults__", "__kwdefaults__",
     "__self__", "__func__", "__subclasses__", "__members__", "__dataclass_fields__", "__dataclass_params__",
     "__orig_class__"}
)  # fmt: skip
#: ``sys.__stdout__``/``sys.__stderr__``: the sys stand-in's streams (what
#: ``sys.stdout = sys.__stdout__`` restores), readable on the sys proxy only.
SYS_STREAM_ORIGINALS = frozenset({"__stdout__", "__stderr__"})
#: Dunder attributes a program may assign on its own functions and classes.
WRITABLE_DUNDERS = frozenset({"__name__", "__qualname__", "__doc__"})
#: namedtuple's documented API, readable on tuples.
NAMEDTUPLE_API = frozenset({"_asdict", "_replace", "_fields", "_make", "_field_defaults"})


def is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def is_sunder(name: str) -> bool:
    return len(name) > 2 and name.startswith("_") and name.endswith("_") and not is_dunder(name)


def is_private(name: str) -> bool:
    """``_x`` or ``__x`` (name-mangled): the program's own private names."""
    return name.startswith("_") and name != "_" and not name.endswith("_")


def is_temporary(name: str) -> bool:
    """A name the compiler policy binds to an intermediate value (``_tmp3``)."""
    return bool(_RESERVED_PATTERN.match(name))


def is_reserved(name: str) -> bool:
    return name in RESERVED_NAMES or bool(_RESERVED_PATTERN.match(name) or _NATIVE_TABLE_PATTERN.match(name))


def binding_problem(name: str, *, in_class_body: bool, is_method: bool) -> str | None:
    """Why a program may not bind ``name`` (variable, argument, function, class), or None."""
    if name == "_" or not name.startswith("_"):
        return None
    if is_reserved(name):
        return f'"{name}" is reserved by the sandbox; choose another name'
    if is_dunder(name):
        allowed = DEFINABLE_METHODS if is_method else CLASS_ASSIGNABLE
        if in_class_body and name in allowed:
            return None
        if in_class_body:
            return f'"{name}" cannot be defined in the sandbox; {ALTERNATIVES.get(name, _DEFAULT_ALTERNATIVE)}'
        return f'"{name}" is a special name; special methods can only be defined in a class body'
    if is_sunder(name):
        if in_class_body and name in CLASS_SUNDERS:
            return None
        return f'"{name}" is reserved (names that start and end with "_" belong to Python and the sandbox)'
    return None  # _private and __mangled names are the program's own


def attribute_problem(name: str, *, store: bool) -> str | None:
    """Why ``obj.<name>`` may never be read (or written, with ``store``), whatever ``obj``
    is, or None. Whether a private or special name is allowed on a *particular* object is
    decided at run time (guards.check_attribute_name)."""
    if not name.startswith("_") or name == "_":
        return None
    if name.endswith("__roles__"):
        return f'"{name}" is reserved'
    if is_dunder(name):
        if store:
            if name in WRITABLE_DUNDERS:
                return None
            return f'assigning "{name}" is not allowed; special attributes are read-only in the sandbox'
        if name in READABLE_EVERYWHERE or name in DEFINABLE_METHODS or name in DESCRIPTIVE_ATTRIBUTES:
            return None
        if name in OWN_INTROSPECTION or name in SYS_STREAM_ORIGINALS:
            return None  # on the program's own objects (or sys): decided at run time
        return (
            f'"{name}" is not available in the sandbox (special attributes that reach the interpreter are '
            "refused); use type(x), isinstance(), or the object's public interface"
        )
    if is_sunder(name):
        return f'"{name}" is internal to Python or the sandbox'
    return None


def mangle(attribute: str, class_name: str | None) -> str:
    """Python's private name mangling (``self.__x`` in class ``A`` is ``_A__x``)."""
    if class_name is None or not attribute.startswith("__") or attribute.endswith("__"):
        return attribute
    stripped = class_name.lstrip("_")
    return f"_{stripped}{attribute}" if stripped else attribute
