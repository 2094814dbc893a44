"""Run-time guards that RestrictedPython-compiled code calls, and the safe builtins.

The compiler (policy.py) rewrites ``a.b`` into ``_getattr_(a, "b")``, ``a[b]`` into
``_getitem_(a, b)``, ``for x in y`` into ``_getiter_(y)``, ``a.b = c`` into
``_write_(a).b = c`` and so on. Every one of those names is defined here, explicitly:
a sandbox that forgets one either breaks ordinary code (``print``, ``for``) or, worse,
lets a name fall through to a context value.

What the guards refuse, and why:

* attribute names starting with ``_`` (``__class__``, ``__globals__``, ``__subclasses__``:
  the classic object-graph walk to ``os``), whether written literally or computed at
  run time (``getattr(x, "_" + "_class__")``);
* the frame/code/traceback/generator introspection attributes (``gi_frame``,
  ``tb_frame``, ``f_back``, ``f_globals`` ...: CVE-2023-37271's frame walk), and every
  attribute of a frame, code or traceback object;
* ``str.format``/``format_map`` fields that traverse attributes or items
  (``"{0.__class__}".format(x)``: CVE-2023-41039) -- plain fields still work;
* writes to modules, to classes the program did not define, and to anything else that
  is not the program's own (so one execution cannot patch a library or a guard);
* ``import`` of anything outside the allow-list, and relative imports.
"""

from __future__ import annotations

import abc
import builtins
import calendar
import collections
import contextlib
import copy
import decimal
import enum
import functools
import gc
import importlib
import operator
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from ..language.names import (
    BUFFER_WRITING_METHOD_NAMES,
    CAREFUL_ATTRIBUTES,
    CLASS_ASSIGNABLE,
    CLASS_HOOKS,
    CLASS_SUNDERS,
    COMPILER_CLASS_NAMES,
    DEFINABLE_METHODS,
    DESCRIPTIVE_ATTRIBUTES,
    FORMAT_METHODS,
    NAMEDTUPLE_API,
    OWN_INTROSPECTION,
    READABLE_EVERYWHERE,
    SYS_STREAM_ORIGINALS,
    WRITABLE_DUNDERS,
    is_dunder,
    is_private,
    is_reserved,
    is_sunder,
    is_temporary,
)
from ..language.names import (
    INTROSPECTION_ATTRIBUTES as INTROSPECTION_ATTRIBUTES,  # noqa: PLC0414 - re-exported
)
from ..language.policy import FUTURE_FEATURES, SOURCE_FILENAME
from . import file_system, sys_stand_in
from . import ownership as _ownership
from .buffers import checked_writer as checked_buffer_writer
from .crossing import prune_method_crossings
from .dynamic import sandbox_compile, sandbox_eval, sandbox_exec
from .fastguards import (
    accelerated_admit,
    accelerated_admitting_iter,
    accelerated_getattr,
    accelerated_getitem,
    accelerated_write,
    accelerated_write_attribute,
    called_form,
)
from .fastguards import available as fastguards_available
from .fastguards import safe_point_soon as fastguards_safe_point_soon
from .formatting import exact_str as exact_str  # noqa: PLC0414 - re-exported
from .formatting import set_field_guards, wrap_format
from .instance_rules import NOT_DATA, RULED_KINDS, is_readable, read_data
from .instance_rules import class_name as ruled_class_name
from .instance_rules import guarded as guarded_attribute
from .instance_rules import ruled as ruled_by_an_allow_list
from .jsonsafe import safe_repr
from .membrane import (
    BUILTIN_METHOD_TYPE,
    MEMBRANE,
    METHOD_CROSSINGS,
    OFFERED_IDS,
    PLAIN,
    SANDBOX_MARKS,
    AdmittedContext,
    ClosureCell,
    GuardedAlias,
    UnboundMethod,
    admit,
    admit_capture,
    admit_each,
    admit_elements,
    admit_handled,
    admit_slow,
    admit_unchanged,
    admit_values,
    admitted_args,
    admitted_nested,
    collecting_classes,
    delegated_iterator,
    plain_by_construction,
    register_generated_methods,
    shown_as,
    unbound_through_class,
)
from .native_calls import native_method_tables
from .ownership import (
    CURRENT_JOB,
    LIBRARY_STATE_NAMES,
    begin_construction,
    end_construction,
    is_user_class,
    library_names,
    names_library_code_uses,
    note_program_write,
    private_names_library_code_uses,
    refuse_final_bases,
    repair_half_built_abcs,
    settle_library_names,
)
from .ownership import UserClasses as UserClasses  # noqa: PLC0414 - re-exported
from .printing import make_print
from .proxies import TABLE_TYPES, ModuleProxy, module_name, with_reason
from .refusal import SecurityError as SecurityError  # noqa: PLC0414 - re-exported: the guards' error
from .refusal import refused
from .repairs import run_waiting_finalizers
from .stand_ins import STANDS_FOR, real_class
from .sys_stand_in import SWITCH as SYS_STREAM_SWITCH
from .sys_stand_in import StandardStream

_OPAQUE_TYPES = (types.FrameType, types.CodeType, types.TracebackType)


# --------------------------------------------------------------------------- attributes


def _is_own(obj: object) -> bool:
    """The program's own class, an instance of one, or super() bound to one."""
    if isinstance(obj, super):
        obj = getattr(obj, "__self__", None)  # a super bound to the program's object only
    return is_user_class(obj) or is_user_class(builtins.type(obj))


#: One of each builtin container, for the types of their iterators.
_EMPTY_CONTAINERS: tuple[Iterable[Any], ...] = (
    [], (), "", b"", bytearray(), set(), {}, range(0), {}.values(), {}.items()
)  # fmt: skip
#: Builtin types whose special methods a program may call directly (``dict.__init__(self)``,
#: ``Exception.__init__(self, msg)``, ``int.__add__``): the types programs subclass, whose
#: special methods only ever act on values of their own type. Not every C type: ``io.FileIO
#: .__init__(f, path)`` re-opens a file object on any path.
_PLAIN_BUILTIN_TYPES = frozenset(
    {object, bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset, range, slice}
    | {v for v in vars(builtins).values() if isinstance(v, builtins.type) and issubclass(v, BaseException)}
    # The builtin iterators (``step = iter(xs).__next__``, from the itertools recipes) and
    # dict views: their special methods step them, as next() does, or read them.
    | {builtins.type(iter(empty)) for empty in _EMPTY_CONTAINERS}
    | {builtins.type({}.keys()), builtins.type({}.values()), builtins.type({}.items())}
    | {enumerate, zip, map, filter, reversed, builtins.type(reversed([])), types.GeneratorType}
)


def _may_use_special_methods(obj: object) -> bool:
    """``super().__init__``, ``self.__eq__``, ``dict.__init__(self)``, ``Exception.__init__``:
    on the program's own objects, and on the plain builtin types and their instances. Not
    on library classes (``type(json).__init__(json, ...)`` would rebuild a module proxy)."""
    if _is_own(obj):
        return True
    cls = obj if isinstance(obj, builtins.type) else builtins.type(obj)
    return cls in _PLAIN_BUILTIN_TYPES


def _private_name_is_the_programs(obj: object, name: str) -> bool:
    """On the program's own subclass of a library class, a private name may be the
    library's (``PP._dispatch`` is pprint's shared table). Allowed: names in the instance
    dict (whoever set them, they belong to this object) and names a class the program
    wrote defines; refused: names a library base class defines. Through ``super()`` the
    lookup is super's own: the instance dict is skipped and the search starts after the
    class super names, so that is where the owner is looked for."""
    if name in LIBRARY_STATE_NAMES:
        return False  # ABCMeta's registry, whichever class holds it
    if isinstance(obj, super):
        start = cast("Any", obj).__thisclass__
        owner = cast("Any", obj).__self_class__
        if owner is None:
            return False
        mro = owner.__mro__
        classes = mro[mro.index(start) + 1 :] if start in mro else ()
    else:
        classes = (obj if isinstance(obj, builtins.type) else builtins.type(obj)).__mro__
        if not isinstance(obj, builtins.type):
            if name in private_names_library_code_uses(builtins.type(obj)):
                return False  # state a library base keeps in the instance dict
            instance_dict = getattr(obj, "__dict__", None)
            if isinstance(instance_dict, dict) and name in instance_dict and not _data_descriptor_in(classes, name):
                return True
    for klass in classes:
        if name in klass.__dict__:
            return is_user_class(klass) and name not in library_names(klass)
    if isinstance(obj, builtins.type) and any(name in vars(meta) for meta in cast("Any", builtins.type(obj)).__mro__):
        return False  # a class's lookup falls back on its metaclass (ABCMeta's _abc_impl ...)
    # Defined nowhere: the lookup fails, or reaches __getattr__, which must then be the
    # program's own (a library __getattr__ would forward the name elsewhere).
    if isinstance(obj, super):
        cls = cast("Any", obj).__self_class__
    else:
        cls = obj if isinstance(obj, builtins.type) else builtins.type(obj)
    fallback = getattr(cls, "__getattr__", None)
    return fallback is None or _is_program_getattr(fallback)


#: Private names that nothing but the program gives a meaning (not Python's, a library's
#: or the sandbox's): on an instance of a class in ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES
#: they are read and written as public names are. Learned as the full check accepts them.
PLAIN_PRIVATE_NAMES: set[str] = set()
_MAX_PLAIN_PRIVATE_NAMES = 4096
#: Longer names are checked every time rather than kept (these sets and _PUBLIC_NAMES).
_MAX_CACHED_NAME_LENGTH = 64


def _is_plain_private_name(name: str) -> bool:
    return (
        is_private(name)  # `_x`, `_C__x`: not special (`__x__`) nor internal (`_x_`)
        and name not in LIBRARY_STATE_NAMES
        and name not in NAMEDTUPLE_API
        and name not in INTROSPECTION_ATTRIBUTES
    )


def _instances_hold_only_the_programs_private_names(kind: type) -> bool:
    """Whether every private name on an instance of ``kind`` is the program's, whatever
    its instance dict and classes hold now or later: ``kind`` and every class in its MRO
    are the program's (with no private name a library wrote into them) or builtins with
    no private names (``object``, ``Exception``, ``dict`` ...), its metaclass is ``type``,
    and the fallback for a name defined nowhere is the program's ``__getattr__`` or none.
    Then _private_name_is_the_programs accepts any plain private name, and the write
    guard too (no library base defines a hook under it). A class's bases and special
    methods cannot change after its class statement."""
    if builtins.type(kind) is not builtins.type or not is_user_class(kind) or _ownership.unfinished(kind):
        return False  # also while its statement runs: its library names are settled after
    for klass in kind.__mro__:
        if not (is_user_class(klass) or klass in _DATA_BASES) or library_names(klass):
            return False
    for klass in kind.__mro__:
        fallback = vars(klass).get("__getattr__")
        if fallback is not None:
            return _is_program_getattr(fallback)
    return True


def note_private_names_of(obj: object, name: str) -> None:
    """After the full check accepted the private ``name`` on ``obj``: when the answer
    holds for every such name on every instance of obj's class, note both, so the next
    read or write of one is a lookup (guarded_getattr, guarded_write_attribute)."""
    if isinstance(obj, (builtins.type, super)) or not _is_plain_private_name(name):
        return
    kind = builtins.type(obj)
    noted = _ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES
    if noted.get(id(kind)) is not kind:
        if not _instances_hold_only_the_programs_private_names(kind) or collecting_classes():
            return
        noted[id(kind)] = kind
    if len(PLAIN_PRIVATE_NAMES) < _MAX_PLAIN_PRIVATE_NAMES and len(name) <= _MAX_CACHED_NAME_LENGTH:
        PLAIN_PRIVATE_NAMES.add(name)


def _data_descriptor_in(classes: Iterable[type], name: str) -> bool:
    """Whether a class defines ``name`` as a data descriptor (a slot, a property), which
    the lookup finds before the instance dict."""
    for klass in classes:
        if name in vars(klass):
            kind = builtins.type(vars(klass)[name])
            return hasattr(kind, "__set__") or hasattr(kind, "__delete__")
    return False


#: Why the class graph of a class that is not the program's is refused (its __mro__,
#: __bases__, __base__, __subclasses__ and mro()).
_CLASS_GRAPH_REFUSAL = (
    "access to \"{name}\" is not allowed: the class graph of the interpreter's and the libraries' classes "
    "is where escapes start; isinstance() and issubclass() answer what a program asks of it, and the "
    "program's own classes show theirs"
)


_CLASS_GRAPH = frozenset({"__mro__", "__bases__", "__base__", "__subclasses__"})


def check_attribute_name(obj: object, name: object) -> str:
    """Return ``name`` (as an exact str) if user code may read it on ``obj``; raise
    SecurityError otherwise. Callers must use the returned string, not ``name``."""
    name = exact_str(name)
    if name in INTROSPECTION_ATTRIBUTES or isinstance(obj, _OPAQUE_TYPES):
        raise refused(f'access to "{name}" is not allowed: frame and code introspection is disabled')
    if not name.startswith("_") or name == "_":
        if name == "mro" and isinstance(obj, builtins.type) and not is_user_class(obj):
            raise refused(_CLASS_GRAPH_REFUSAL.format(name=name))
        return name
    if name in SANDBOX_MARKS:
        raise refused(f'access to "{name}" is not allowed: the name is the sandbox\'s own')
    if is_dunder(name):
        if (
            name in READABLE_EVERYWHERE
            or name in DESCRIPTIVE_ATTRIBUTES
            or (
                name in DEFINABLE_METHODS
                and (_own_hook(obj, name) if name in CLASS_HOOKS else _may_use_special_methods(obj))
            )
            or (name in OWN_INTROSPECTION and _introspects_the_programs_own(obj, name))
            or (name in SYS_STREAM_ORIGINALS and builtins.type(obj) is ModuleProxy and module_name(obj) == "sys")
        ):
            return name
        if name in _CLASS_GRAPH and isinstance(obj, builtins.type):
            raise refused(_CLASS_GRAPH_REFUSAL.format(name=name))
        raise refused(
            f'access to "{name}" is not allowed: special attributes that reach the interpreter are refused; '
            "use type(x), isinstance() or the object's public interface"
        )
    if is_sunder(name):
        raise refused(f'access to "{name}" is not allowed: it is internal to Python or the sandbox')
    if name in NAMEDTUPLE_API and (
        isinstance(obj, tuple) or (isinstance(obj, builtins.type) and issubclass(obj, tuple))
    ):
        return name
    if _is_own(obj) and _private_name_is_the_programs(obj, name):
        note_private_names_of(obj, name)
        return name
    if _is_own(obj) and not isinstance(obj, (builtins.type, super)) and _names_library_state(obj, name):
        raise refused(
            f'access to "{name}" is not allowed: a library base class of {builtins.type(obj).__name__} keeps '
            "its own state under that name; give the program's attribute another name"
        )
    raise refused(
        f'access to "{name}" is not allowed: private attributes can only be used on objects the program created'
    )


def _names_library_state(obj: object, name: str) -> bool:
    return name in private_names_library_code_uses(builtins.type(obj))


#: Builtin bases whose instances' __dict__ holds only what the program put there (not
#: classmethod/staticmethod, whose __init__ copies the wrapped object's annotations dict).
_DATA_BASES = frozenset(
    {object, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset}
    | {v for v in vars(builtins).values() if isinstance(v, builtins.type) and issubclass(v, BaseException)}
)


#: Class hooks bound to the class they are read on, not to an instance.
_CLASS_BOUND_HOOKS = frozenset({"__init_subclass__", "__class_getitem__", "__subclasshook__"})


def _own_hook(obj: object, name: str) -> bool:
    """A class hook (``__get__``, ``__init_subclass__`` ...) read on the program's own object
    is the program's def or the interpreter's (``super().__init_subclass__``), never a
    library's Python code inherited by a subclass (cached_property.__get__ read and wrote
    any object's dict)."""
    if not _is_own(obj):
        return False
    if isinstance(obj, super) and name not in _CLASS_BOUND_HOOKS:
        # super() looks past __thisclass__ in the MRO of the type it is bound to: a
        # subclass's own __get__ says nothing about the library base's it resolves to,
        # which would run with any object (partialmethod.__get__ over a cached_property
        # wrote any object's dict). A class-bound hook acts on the program's class itself
        # (super().__init_subclass__() under random.Random): the walk below approves it
        # when the program's class defines its own.
        start, this = obj.__self_class__, obj.__thisclass__  # type: ignore[attr-defined]
        if start is None or this not in start.__mro__:
            return False
        searched = start.__mro__[start.__mro__.index(this) + 1 :]
    else:
        target = obj.__self__ if isinstance(obj, super) else obj  # type: ignore[attr-defined]
        searched = (target if isinstance(target, builtins.type) else builtins.type(target)).__mro__
    for klass in searched:
        if name in vars(klass):
            function = getattr(vars(klass)[name], "__func__", vars(klass)[name])
            return not isinstance(function, types.FunctionType) or _is_program_function(function)
    return True  # found nowhere: the lookup fails as Python's would


def _introspects_the_programs_own(obj: object, name: str) -> bool:
    """``__dict__``, ``__annotations__``, ``__wrapped__``, ``__closure__``: of the program's
    own objects and functions only.

    * ``__dict__``: an instance whose classes are all the program's or builtins (a library
      base keeps its private state there, which ``obj._x`` would refuse); a class's
      namespace is never handed out;
    * ``__annotations__``: the program's classes and functions (an instance would find a
      library base's dict through its class);
    * ``__wrapped__``: of the program's function, or a wrapper of one (``lru_cache``);
    * ``__closure__``: of the program's function, as read-only cells;
    * ``__defaults__``, ``__kwdefaults__``: of the program's function, as copies;
    * ``__self__``, ``__func__``: of a method of the program's function (or a classmethod or
      staticmethod of it);
    * ``__subclasses__``, ``__mro__``, ``__bases__``, ``__base__``: of the program's class,
      each class through the membrane;
    * ``__members__``: of an enum, as a read-only copy;
    * ``__dataclass_fields__``, ``__dataclass_params__``, ``__orig_class__``: what
      dataclasses and typing record on the program's classes and objects (copies: the
      library trusts its own records)."""
    if name == "__dict__":
        if isinstance(obj, builtins.type):
            # Its own namespace as a read-only copy (NamespaceView); a plain builtin type's
            # too (a walk over a class's __mro__ ends at object).
            return is_user_class(obj) or obj in _PLAIN_BUILTIN_TYPES
        # Not through super(): its lookup starts past the program's class, at a library
        # base's __dict__ descriptor, while its own type's MRO is only (super, object).
        if isinstance(obj, super) or not _is_own(obj):
            return False
        return all(is_user_class(k) or k in _DATA_BASES for k in builtins.type(obj).__mro__)
    if name in ("__defaults__", "__kwdefaults__"):
        return _is_program_function(obj)
    if name == "__func__":
        return isinstance(obj, (types.MethodType, classmethod, staticmethod)) and _is_program_function(
            cast("Any", obj).__func__
        )
    if name == "__self__":
        # Not a builtin method's: the plain container it is bound to may be a library's own
        # state (JSONDecoder's parse_constant is json.decoder's _CONSTANTS.__getitem__).
        return isinstance(obj, types.MethodType) and _is_program_function(obj.__func__)
    if name in ("__subclasses__", "__mro__", "__bases__", "__base__"):
        # The class graph of the program's own classes (which may end at library classes
        # and object, each passing the membrane as it is read); the interpreter's and the
        # libraries' graphs are where escapes start (().__class__.__bases__[0]...), and
        # isinstance()/issubclass() answer what ordinary code asks of them.
        return isinstance(obj, builtins.type) and is_user_class(obj)
    if name == "__members__":
        return isinstance(obj, enum.EnumType)
    if name in ("__dataclass_fields__", "__dataclass_params__"):
        return _is_own(obj) and not isinstance(obj, super)
    if name == "__orig_class__":
        return _is_own(obj) and not isinstance(obj, (builtins.type, super))
    if name == "__annotations__":
        return (isinstance(obj, builtins.type) and is_user_class(obj)) or _is_program_function(obj)
    if name == "__wrapped__":
        return _is_program_function(obj) or _is_program_function(getattr(obj, "__wrapped__", None))
    return _is_program_function(obj)  # __closure__


def _is_program_getattr(value: object) -> bool:
    """The program's own (fenced) __getattr__, bound or not: recognised by its code object,
    which only ``_fence_getattr`` makes functions of (an attribute used as a marker could
    be copied onto any function by ``functools.update_wrapper``)."""
    function = getattr(value, "__func__", value)
    return isinstance(function, types.FunctionType) and function.__code__ is _FENCED_GETATTR_CODE


def _is_program_function(obj: object) -> bool:
    return isinstance(obj, types.FunctionType) and obj.__code__.co_filename == SOURCE_FILENAME


def check_attribute_store(obj: object, name: object) -> str:
    """Return ``name`` if user code may assign or delete it on ``obj`` (setattr/delattr)."""
    checked = check_attribute_name(obj, name)
    note_program_write(obj, checked)  # a class being built: the name is the program's
    if is_dunder(checked):
        if checked not in WRITABLE_DUNDERS:
            raise refused(f'assigning "{checked}" is not allowed: special attributes are read-only in the sandbox')
        if not (_is_own(obj) or _is_program_function(obj)):
            raise refused(f'assigning "{checked}" is only allowed on the program\'s own functions and classes')
    return checked


_MISSING = object()


def _checked_getattr(obj: object, name: object, default: object = _MISSING) -> Any:
    """The name check, then the real lookup, then the membrane.

    With a default, a refused name gives the default, as a missing one would
    (``getattr(f, "__name__", "?")`` is ordinary code); it never gives the attribute."""
    try:
        checked = check_attribute_name(obj, name)
        ruled = bool(RULED_KINDS) and ruled_by_an_allow_list(obj)
        if ruled and not checked.startswith("_") and not is_readable(obj, checked):
            column = read_data(obj, checked)
            if column is not NOT_DATA:
                return admit(column)  # df.price: the column, as df["price"] reads it
            raise refused(
                f"'{ruled_class_name(obj)}.{checked}' is not offered in the sandbox (the data libraries offer the "
                "attributes ordinary analysis uses: docs/data.md)"
            )
    except SecurityError:
        if default is _MISSING:
            raise
        return default
    if ruled and not checked.startswith("_"):
        value = getattr(obj, checked, _MISSING) if default is not _MISSING else getattr(obj, checked)
        if value is _MISSING:
            return default
        return admit(guarded_attribute(obj, checked, value))
    if checked == "__class__":
        return admit(type_of(obj))  # what type(x) gives: never a metaclass
    if checked == "__name__" and builtins.type(obj) is ModuleProxy:
        return module_name(obj)
    if checked in SYS_STREAM_ORIGINALS:
        return getattr(obj, checked.strip("_"))  # the sys proxy's StandardStream (checked above)
    if checked == "__closure__":
        closure = cast("types.FunctionType", obj).__closure__
        return None if closure is None else tuple(ClosureCell(cell) for cell in closure)
    try:
        value = getattr(obj, checked)
    except AttributeError:
        if default is _MISSING:
            raise
        return default
    if checked in BUFFER_WRITING_METHOD_NAMES:
        value = checked_buffer_writer(value, checked)  # buffers.py
    if checked in _ATTRIBUTE_WRITE_HOOKS and not _is_program_function(getattr(value, "__func__", value)):
        # Never the slot or a library's hook itself: the C slot writes any name on any
        # object, a frozen dataclass's generated hook ends in object.__setattr__ for a
        # subclass's instance (__class__ included).
        if builtins.type(value) in _C_SLOT_METHOD_TYPES:
            return _GUARDED_SLOT_METHODS[checked](value)
        return _library_attribute_hook(value)
    if checked in ("__slots__", "__match_args__") and builtins.type(value) in TABLE_TYPES:
        return tuple(value)  # a library class's own list, never the list itself
    if checked in ("__annotations__", "_field_defaults") and builtins.type(value) is dict:
        # A copy: update_wrapper shares the wrapped object's dict (a library class's), and
        # a namedtuple's defaults are its class's own; its values through the membrane (a
        # library's annotations hold aliases over the real type).
        return admitted_nested(dict(value))
    if checked == "__getattr__" and not _is_program_getattr(value):
        # A library __getattr__ forwards a name the caller chooses to the real getattr
        # (typing._BaseGenericAlias.__getattr__ on a program subclass gave __globals__).
        raise refused('"__getattr__" of a library class cannot be used in the sandbox')
    if (
        is_dunder(checked)
        and isinstance(obj, builtins.type)
        and isinstance(value, types.FunctionType)
        and not _is_program_function(value)
    ):
        # `Sub.__init__` on the program's subclass of a library class is the library's
        # plain function, which takes any object as `self` (it rebuilt module proxies);
        # so is a dataclass's generated `P.__lt__`. Held unbound, it runs only with an
        # instance of the class it was read through as `self`: what `instance.__lt__`
        # would be bound to anyway (`P.__lt__(a, b)`, `Base.__init__(self, x)`).
        return UnboundMethod(value, obj)
    if checked == "__dict__" and isinstance(obj, builtins.type):
        return namespace_view(obj)
    if checked == "__dict__" and isinstance(value, dict):
        return _checked_instance_dict(obj, value)
    if checked in _INTROSPECTION_COPIES and value is not None:
        return _INTROSPECTION_COPIES[checked](obj, value)
    if checked in _GUARDED_SLOT_METHODS and builtins.type(value) in _C_SLOT_METHOD_TYPES:
        return _GUARDED_SLOT_METHODS[checked](value)
    if builtins.type(value) is tuple:
        if checked == "args" and isinstance(obj, BaseException):
            return admitted_args(obj, value)  # walked once per args tuple
        return admitted_items(value)  # __mro__, __bases__, __args__, __orig_bases__ ...
    if checked == "mro":
        # Whose mro() it is, not what was asked: an alias forwards the name to its origin.
        owner = getattr(value, "__self__", None)
        if isinstance(owner, builtins.type):
            return _admitted_mro(owner)
    return admit(wrap_format(value) if checked in FORMAT_METHODS else _held_unbound(obj, checked, value))


@plain_by_construction
class CheckedInstanceDict(dict):  # type: ignore[type-arg]
    """What the program gets for its object's instance dict (``vars(obj)``,
    ``obj.__dict__``): a copy, its values through the membrane, that writes through to the
    real one. Reads, ``json.dumps(vars(obj))`` and ``vars(self).update(kw)`` behave as
    before; a key written through it passes the rules of ``setattr(obj, key, value)`` and
    the value the membrane before it reaches the object.

    Never the real dict: library code reads protocol names through instances, where the
    instance dict comes first (``dataclasses.replace`` trusted
    ``obj.__dataclass_fields__``, then read any attribute with the real getattr), and a
    dict the program holds can always be written by ``dict``'s own methods
    (``dict.__setitem__(d, k, v)``), whatever a subclass overrides. What those write here
    stays in the copy."""

    __slots__ = ("_owner",)
    _owner: object

    def _real(self) -> dict[str, Any]:
        return cast("dict[str, Any]", builtins.object.__getattribute__(self._owner, "__dict__"))

    def __setitem__(self, key: Any, value: Any) -> None:
        admitted = admit(value)  # first: admitting may run the program's code (see guarded_setattr)
        checked = check_attribute_store(self._owner, key)
        _write_attribute_of_an_instance(self._owner, checked)
        self._real()[checked] = admitted
        dict.__setitem__(self, checked, admitted)

    def __delitem__(self, key: Any) -> None:
        checked = check_attribute_store(self._owner, key)
        _write_attribute_of_an_instance(self._owner, checked)
        del self._real()[checked]
        dict.__delitem__(self, checked)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __ior__(self, other: Any) -> CheckedInstanceDict:  # type: ignore[misc]  # dict |= keeps its type
        self.update(other)
        return self

    def pop(self, key: Any, *default: Any) -> Any:
        if key in self:
            value = dict.__getitem__(self, key)
            del self[key]
            return value
        if default:
            return default[0]
        raise KeyError(key)

    def popitem(self) -> tuple[Any, Any]:
        if not self:
            raise KeyError("popitem(): dictionary is empty")
        key = next(reversed(self))
        return key, self.pop(key)

    def clear(self) -> None:
        for key in list(self):
            del self[key]

    def __reduce__(self) -> Any:
        return dict, (dict(self),)


def _checked_instance_dict(owner: object, value: dict[str, Any]) -> dict[str, Any]:
    if builtins.type(value) is not dict:
        raise refused("this object's __dict__ cannot be used in the sandbox")
    checked = CheckedInstanceDict({key: admit(item) for key, item in value.items() if key not in SANDBOX_MARKS})
    checked._owner = owner  # noqa: SLF001 - its own slot, set once
    return checked


@plain_by_construction
class NamespaceView(dict):  # type: ignore[type-arg]
    """A class's namespace or an enum's members as the program reads them (``vars(cls)``,
    ``cls.__dict__``, ``E.__members__``): a copy, read-only as the mappingproxy it stands
    for, each value through the membrane. What the membrane refuses (a slot's descriptor,
    ABC's registry) is shown by its repr only (Withheld). Never the namespace itself: the
    library code of a metaclass trusts what it keeps there (Enum's ``_member_map_``)."""

    __slots__ = ()

    def _read_only(self, *args: object, **kwargs: object) -> Any:
        raise TypeError("'mappingproxy' object does not support item assignment")

    __setitem__ = __delitem__ = setdefault = update = pop = popitem = clear = __ior__ = _read_only


@plain_by_construction
class Withheld:
    """A value of a class's namespace the program may not hold, shown by its repr."""

    __slots__ = ("_text",)

    def __init__(self, text: str) -> None:
        self._text = text

    def __repr__(self) -> str:
        return self._text


shown_as(NamespaceView, "builtins", "mappingproxy")
shown_as(Withheld, "builtins")


def namespace_view(cls: type) -> NamespaceView:
    """``vars(cls)``: what ``getattr(cls, key)`` would give for each key of its own
    namespace, never more: a library function is held unbound (an UnboundMethod that runs
    only on an instance of ``cls``), containers are copied at every depth (what a library
    metaclass keeps there is state it trusts), and each value passes the membrane."""
    view = NamespaceView()
    namespace = builtins.type.__dict__["__dict__"].__get__(cls)
    for key, value in list(namespace.items()):
        if key in SANDBOX_MARKS or key == _ownership.CONSTRUCTION_MARKER:
            continue
        try:
            if builtins.type(value) is types.FunctionType and not _is_program_function(value):
                if key in _ATTRIBUTE_WRITE_HOOKS:
                    raise refused(f"{key} of the class")  # shown, never held (see guarded_getattr)
                shown = unbound_through_class(cls, (cls,), key, value)
            else:
                shown = admitted_nested(_copied_containers(value))
        except SecurityError:
            shown = Withheld(safe_repr(value))
        dict.__setitem__(view, key, shown)
    return view


def _members_view(members: Mapping[str, Any]) -> NamespaceView:
    """``E.__members__``: a read-only copy of the enum's member table, each member admitted."""
    view = NamespaceView()
    for name, member in list(members.items()):
        dict.__setitem__(view, name, admit(member))
    return view


def _copied_containers(value: Any, depth: int = 0) -> Any:
    """``value`` with every dict, list and set in it (at any depth a class keeps) copied."""
    kind = builtins.type(value)  # compared by identity: a class's __eq__ is never asked
    if depth > _MAX_COPIED_DEPTH:
        return value
    if kind is dict:
        return {key: _copied_containers(item, depth + 1) for key, item in value.items()}
    if kind is list or kind is set or kind is tuple:
        return kind(_copied_containers(item, depth + 1) for item in value)
    return value


_MAX_COPIED_DEPTH = 32


def _library_attribute_hook(found: Any) -> Any:
    """A library's ``__setattr__``/``__delattr__`` the program reads (a frozen dataclass's
    generated one, bound or through its class): called with setattr's checks first, so
    it refuses what the program may not write (``__class__``) before the hook runs."""
    if isinstance(found, types.MethodType):
        target, function = found.__self__, found.__func__

        def bound(name: Any, *value: Any) -> Any:
            # The value first, as setattr's own guards do: admitting may run the program's
            # code, which must not run between the checks and the write.
            admitted = [admit(item) for item in value]
            checked = check_attribute_store(target, name)
            _write_attribute_of_an_instance(target, checked)
            return function(target, checked, *admitted)

        return bound

    def unbound(obj: Any, name: Any, *value: Any) -> Any:
        admitted = [admit(item) for item in value]
        checked = check_attribute_store(obj, name)
        _write_attribute_of_an_instance(obj, checked)
        return found(obj, checked, *admitted)

    return unbound


def _admitted_subclasses(cls: type) -> Callable[[], list[Any]]:
    """``cls.__subclasses__``: the program's class's subclasses, each through the membrane."""

    def __subclasses__() -> list[Any]:
        return [admit(subclass) for subclass in builtins.type.__dict__["__subclasses__"](cls)]

    return __subclasses__


#: What the introspection names give, copied: the program never holds a record its
#: library trusts (dataclasses reads ``__dataclass_fields__`` to generate code).
_INTROSPECTION_COPIES: dict[str, Callable[[Any, Any], Any]] = {
    "__members__": lambda obj, value: _members_view(value),
    "__dataclass_fields__": lambda obj, value: {key: admit(field) for key, field in dict(value).items()},
    "__dataclass_params__": lambda obj, value: admit(copy.copy(value)),
    "__defaults__": lambda obj, value: admitted_items(tuple(value)),
    "__kwdefaults__": lambda obj, value: {key: admit(item) for key, item in dict(value).items()},
    "__subclasses__": lambda obj, value: _admitted_subclasses(obj),
}


def guarded_raw_setattr(obj: Any, name: Any, value: Any) -> None:
    """``object.__setattr__(self, name, value)`` and ``super().__setattr__(name, value)``
    as the program holds them: the store ``setattr`` makes, with its checks, that skips
    the class's own ``__setattr__`` (a frozen dataclass's ``__post_init__``, the program's
    hook passing a checked value on). Never the C slot itself, which writes any name
    (``__class__``) on any object."""
    admitted = admit(value)
    checked = check_attribute_store(obj, name)
    target = _write_attribute_of_an_instance(obj, checked)
    _first_hook_below_the_programs(target, "__setattr__")(target, checked, admitted)


def guarded_raw_delattr(obj: Any, name: Any) -> None:
    """``object.__delattr__(self, name)``: ``delattr``'s checks, skipping the class's hook."""
    checked = check_attribute_store(obj, name)
    target = _write_attribute_of_an_instance(obj, checked)
    _first_hook_below_the_programs(target, "__delattr__")(target, checked)


def _first_hook_below_the_programs(obj: object, name: str) -> Any:
    """The ``__setattr__``/``__delattr__`` a write skipping the program's own hooks runs:
    the first one in the MRO that a class of the program's does not define (a frozen
    dataclass's generated one is in the program's class): a library base's keeps its
    rule (``UUID objects are immutable``), else object's."""
    for klass in builtins.type.__dict__["__mro__"].__get__(builtins.type(obj)):
        if is_user_class(klass):
            continue
        found = builtins.type.__dict__["__dict__"].__get__(klass).get(name)
        if found is not None:
            return found
    return getattr(object, name)


def _guarded_writer(guarded: Callable[..., None]) -> Callable[[Any], Any]:
    """The guarded form of a ``__setattr__``/``__delattr__`` slot read by the program:
    bound to the instance it was read on, or taking it first (``object.__setattr__``)."""

    def held(found: Any) -> Any:
        if builtins.type(found) is types.MethodWrapperType:
            target = found.__self__

            def bound(*args: Any) -> None:
                guarded(target, *args)

            bound.__name__ = bound.__qualname__ = found.__name__
            return bound

        def unbound(*args: Any) -> None:
            guarded(*args)

        unbound.__name__ = unbound.__qualname__ = found.__name__
        return unbound

    return held


def _allocator(found: Any) -> Any:
    """``object.__new__``, ``int.__new__``, ``super().__new__`` as the program holds them:
    they allocate an instance of the program's own class only (an uninitialised instance
    of a library class would skip the checks its ``__init__`` makes)."""

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if not (isinstance(cls, builtins.type) and is_user_class(cls)):
            raise refused("__new__ makes instances of the program's own classes only in the sandbox")
        return admit(found(cls, *args, **kwargs))

    return __new__


#: The C slots the program may read through its own objects, the plain builtin types or
#: super(), each replaced by its guarded form (the program's own defs stay what they are).
_C_SLOT_METHOD_TYPES = frozenset({types.WrapperDescriptorType, types.MethodWrapperType, types.BuiltinFunctionType})
_GUARDED_SLOT_METHODS: dict[str, Callable[[Any], Any]] = {
    "__setattr__": _guarded_writer(guarded_raw_setattr),
    "__delattr__": _guarded_writer(guarded_raw_delattr),
    "__new__": _allocator,
}


def _admitted_mro(cls: type) -> Callable[[], list[Any]]:
    """``cls.mro()``: the list ``__mro__`` is made from, its elements through the membrane
    as ``__mro__``'s are."""

    def mro() -> list[Any]:
        return list(admitted_items(builtins.type.__dict__["__mro__"].__get__(cls)))

    return mro


def _held_unbound(obj: object, name: str, value: Any) -> Any:
    """A library function read through a class (``Lib.method``) or through ``super()``
    bound to a class (``super(Sub, Sub).__init__``) is an instance method held without
    its instance: it may only be called on an instance of that class (UnboundMethod).
    Static methods stay what they are; the program's own functions run guarded anyway."""
    if builtins.type(value) is not types.FunctionType or _is_program_function(value):
        return value
    if isinstance(obj, super):
        owner = cast("Any", obj).__self_class__
        if not isinstance(cast("Any", obj).__self__, builtins.type) or owner is None:
            return value  # bound to an instance: getattr gave a bound method, not this
        mro = owner.__mro__
        start = cast("Any", obj).__thisclass__
        classes = mro[mro.index(start) + 1 :] if start in mro else mro
    elif isinstance(obj, builtins.type):
        owner, classes = obj, obj.__mro__
    else:
        return value
    return unbound_through_class(owner, classes, name, value)


#: Names found ordinary (public, not careful) by the fast path, so the next lookup of the
#: same name is one set lookup. Bounded in count and in each name's length: names built at
#: run time need not all be kept, and a program that looks up 1 MB names and drops them
#: must get its memory back (attack pass 70).
_PUBLIC_NAMES: set[str] = set()
_MAX_PUBLIC_NAMES = 4096


def _is_public_name(name: Any) -> bool:
    if builtins.type(name) is not str or name[:1] == "_" or name in CAREFUL_ATTRIBUTES:
        return False
    if len(_PUBLIC_NAMES) < _MAX_PUBLIC_NAMES and len(name) <= _MAX_CACHED_NAME_LENGTH:
        _PUBLIC_NAMES.add(name)
    return True


def _make_guarded_getattr() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """``guarded_getattr`` and its verdict on a value read, with what they consult bound
    in a closure: as keyword defaults they were parameters a caller could pass
    (``partial(getattr, _plain=...)`` turned it into the real getattr)."""
    _type: Any = builtins.type
    _plain = PLAIN
    _public = _PUBLIC_NAMES
    _private = PLAIN_PRIVATE_NAMES
    _private_kinds = _ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES
    _frame, _code, _traceback = _OPAQUE_TYPES
    _module = types.ModuleType
    _bound = types.BuiltinMethodType
    _bound_c_method = BUILTIN_METHOD_TYPE  # a method of a C class defined with its class (re.Pattern.search)
    _method = types.MethodType
    _function = types.FunctionType
    _offered = OFFERED_IDS
    _slow = admit_slow
    _forwarding = (super, GuardedAlias)  # plain, but a read through one is another object's
    _ruled = RULED_KINDS

    def value_read(obj: object, kind: type, name: str, value: Any) -> Any:
        """What the program gets for ``value``, read as ``obj.name`` (a public name) from
        ``obj``, whose class was ``kind`` when the read began: the value if the program
        may hold it as it is, else the membrane's decision. The C guard
        (fastguards.py) calls this for every value it does not decide itself."""
        value_kind = _type(value)
        if value_kind is tuple and (isinstance(obj, BaseException) or kind not in _plain or kind in _forwarding):
            # A library object's tuple, an exception's args (C code, Exception.__init__,
            # stores what it is called with), also read through an object that forwards
            # the read (super(Exception, e).args, an alias over e): every element admitted
            # (an exception's own args once per tuple).
            if name == "args" and isinstance(obj, BaseException):
                return admitted_args(obj, value)
            return admitted_items(value)
        if value_kind in _plain or (kind is ModuleProxy and id(value) in _offered):  # a catalogue member
            return value
        if (
            (value_kind is _bound or value_kind is _bound_c_method)
            and value.__self__ is obj
            and (kind in _plain or kind in _METHOD_RECEIVERS)
        ):
            return value
        if value_kind is _method and value.__self__ is obj:
            function = value.__func__
            if _type(function) is _function and function.__code__.co_filename == SOURCE_FILENAME:
                return value  # the program's own method; a library's is a crossing (_slow)
        if value_kind is _function:
            return _slow(_held_unbound(obj, name, value))
        return _slow(value)

    def guarded_getattr(obj: object, name: Any, default: object = _MISSING) -> Any:
        """``_getattr_`` and the ``getattr`` builtin.

        The common case (a public name on a plain or the program's own object) is decided
        here without further calls; everything else takes :func:`_checked_getattr`. Either
        way the value passes the membrane: a method bound to ``obj``, which the program
        already holds, is as safe as ``obj`` itself if its function is the program's own or
        one the membrane approved."""
        kind = _type(obj)
        # `name in _public` hashes name: only exact strs get there (a str subclass could
        # answer __hash__/__eq__ as it likes).
        if (
            _type(name) is not str
            # By identity: a set lookup hashes the class and may compare it with the
            # members through a metaclass's __eq__, handing them over.
            or kind is _frame
            or kind is _code
            or kind is _traceback
            or kind is _module  # a real module reached raw through C code: its functions are bound to it
            or (
                name not in _public
                and not (name in _private and _private_kinds.get(id(kind)) is kind)
                and not _is_public_name(name)
            )
            or (_ruled and ruled_by_an_allow_list(obj))  # the data tier's classes: instance_rules.py
        ):
            return _checked_getattr(obj, name, default)
        try:
            value = getattr(obj, name)
        except AttributeError:
            if default is _MISSING:
                raise
            return default
        value_kind = _type(value)
        if value_kind is not tuple and value_kind in _plain:
            return value
        # A C method bound to a plain value or a receiver is as safe as the value; one bound
        # to anything else is judged: C code calls this guard too (map(getattr, ...)), with
        # values the program never held (pass 86: a raw stream's detach()).
        if (
            (value_kind is _bound or value_kind is _bound_c_method)
            and value.__self__ is obj
            and (kind in _plain or kind in _METHOD_RECEIVERS)
        ):
            return value
        return value_read(obj, kind, name, value)

    guarded_getattr.__qualname__ = "getattr"  # as the program calls it
    return guarded_getattr, value_read


#: Types, besides the plain ones, whose C methods give C code nothing their instance does
#: not: the builtin containers (their methods reach only their items, which C code reaches
#: by iterating them, and the program holds their types' unbound methods anyway), the
#: sandbox's own module proxies, and compiled patterns and matches (a regex and strings).
#: A C method bound to anything else is judged with its receiver (pass 86).
_METHOD_RECEIVERS: frozenset[type] = frozenset(
    {dict, list, set, frozenset, bytearray, collections.deque, re.Pattern, re.Match, ModuleProxy}
)

python_guarded_getattr, _value_read = _make_guarded_getattr()
#: The guard the program and the library guards call: the C one where it is built, with
#: the same answers (tests/unit/test_fastguards.py compares the two).
guarded_getattr = accelerated_getattr(
    public_names=_PUBLIC_NAMES,
    plain=PLAIN,
    opaque=(*_OPAQUE_TYPES, types.ModuleType),
    source_filename=SOURCE_FILENAME,
    fallback=python_guarded_getattr,
    value_read=_value_read,
    method_crossings=METHOD_CROSSINGS,
    module_proxy=ModuleProxy,
    offered_ids=OFFERED_IDS,
    private_names=PLAIN_PRIVATE_NAMES,
    private_kinds=_ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES,
    receivers=_METHOD_RECEIVERS,
    ruled=RULED_KINDS,
)


def admitted_items(items: tuple[Any, ...]) -> tuple[Any, ...]:
    """A tuple the library made, each element through the membrane: ``e.args`` (library
    code raises exceptions over whatever it was handling: singledispatch's KeyError(cls)
    held the real ``type``), a class's ``__mro__`` and ``__bases__`` (the sandbox's
    GenericAlias has the C class, a constructor, as its base), an alias's ``__args__``.
    A tuple is held without looking inside, and C code the program calls
    (``map(operator.call, e.args, ...)``, ``map(operator.getitem, ...)``) would use the
    elements unbound."""
    return cast("tuple[Any, ...]", admitted_nested(items))


def guarded_vars(*objects: object) -> dict[str, Any]:
    """``vars(obj)``: ``obj.__dict__`` through the guard (the program's own instances).
    Without an argument it would be the caller's namespace, with the guards in it."""
    if len(objects) != 1:
        raise TypeError("vars() takes exactly one argument in the sandbox: vars(obj)")
    try:
        return cast("dict[str, Any]", guarded_getattr(objects[0], "__dict__"))
    except SecurityError:
        raise
    except AttributeError:
        raise TypeError("vars() argument must have __dict__ attribute") from None


def guarded_dir(*objects: object) -> list[str]:
    """``dir(obj)``: the names, as the real one gives them. Without an argument it would
    list the caller's namespace, with the guards in it."""
    if len(objects) != 1:
        raise TypeError("dir() takes exactly one argument in the sandbox: dir(obj)")
    return dir(objects[0])


sys_stand_in._guarded_getattr[0] = guarded_getattr  # noqa: SLF001 - its own hook, set once


def guarded_hasattr(obj: object, name: object) -> bool:
    try:
        guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


# --------------------------------------------------------------------------- writes


def make_write_guard(user_classes: UserClasses) -> Callable[[Any], Any]:
    _type: Any = builtins.type

    def guarded_write(obj: Any) -> Any:
        """``_write_``: the object about to receive an attribute or item assignment. The
        program's own dicts and lists (``counts[word] = n``) are none of what the rules
        refuse: an identity test each, before the rules."""
        kind = _type(obj)
        if kind is dict or kind is list:
            return obj
        if isinstance(obj, (types.ModuleType, ModuleProxy)):
            raise refused("modules are read-only in the sandbox")
        if isinstance(obj, type) and obj not in user_classes:
            raise refused(f"cannot modify built-in or library class '{obj.__name__}'")
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)) and not _is_program_function(obj):
            raise refused("cannot modify library functions")
        return obj

    return guarded_write


def make_fast_write_guard(user_classes: UserClasses) -> Callable[[Any], Any]:
    """``_write_``: the write guard with its first test (an exact dict or list) in C."""
    return accelerated_write(PLAIN, make_write_guard(user_classes))


def _fast_or_python(fast: Callable[..., Any], python: Callable[..., Any]) -> Callable[..., Any]:
    """The C guard, unless the C half is switched off for this job (fastguards.py)."""
    return fast if fastguards_available() else python


#: typing aliases forward attribute writes to the class they alias
#: (typing.Counter[str].most_common = f patched collections.Counter).
_TYPING_ALIASES = (
    types.GenericAlias,
    typing._BaseGenericAlias,  # type: ignore[attr-defined]  # noqa: SLF001 - base of every typing alias
    typing._SpecialForm,  # noqa: SLF001
)


def _is_typing_object(obj: object) -> bool:
    return isinstance(obj, _TYPING_ALIASES)


#: Attributes of library objects that ordinary programs set, and that no library code
#: reads as a name or a trust decision: settings objects, by class (and its subclasses).
WRITABLE_LIBRARY_ATTRIBUTES: dict[type, frozenset[str]] = {
    decimal.Context: frozenset({"prec", "rounding", "Emin", "Emax", "capitals", "clamp", "traps", "flags"}),
    textwrap.TextWrapper: frozenset(
        {"width", "initial_indent", "subsequent_indent", "expand_tabs", "replace_whitespace",
         "fix_sentence_endings", "break_long_words", "drop_whitespace", "break_on_hyphens", "tabsize",
         "max_lines", "placeholder"}
    ),
    collections.defaultdict: frozenset({"default_factory"}),
    calendar.Calendar: frozenset({"firstweekday"}),
}  # fmt: skip


#: What the program holds as decimal's templates: copies. decimal copies DefaultContext
#: into every new context, and the templates hand out their own signal dicts
#: (``DefaultContext.traps[DivisionByZero] = False``) and ``clear_traps()``: a copy is
#: the program's to change, for the library's never is (library_guards offers these).
DECIMAL_TEMPLATES = {
    name: getattr(decimal, name).copy() for name in ("BasicContext", "DefaultContext", "ExtendedContext")
}
#: Library objects of those classes that are templates, not the program's settings: their
#: attributes stay read-only (a write to the copy would not reach new contexts).
_LIBRARY_TEMPLATES = (
    decimal.DefaultContext,
    decimal.BasicContext,
    decimal.ExtendedContext,
    *DECIMAL_TEMPLATES.values(),
)


def _library_attribute_is_writable(obj: object, name: str) -> bool:
    if any(obj is template for template in _LIBRARY_TEMPLATES):
        return False
    return any(isinstance(obj, cls) and name in names for cls, names in WRITABLE_LIBRARY_ATTRIBUTES.items())


#: The attributes of sys a program may assign (StreamSwitch).
_SWITCHED_STREAMS = frozenset({"stdout", "stderr"})


def make_write_attribute(write: Callable[[Any], Any]) -> Callable[[Any, str], Any]:
    _type: Any = builtins.type

    def guarded_write_attribute(obj: Any, name: str) -> Any:
        """``_write_attribute_``: ``obj.name = v`` / ``del obj.name``. The object rules of
        ``_write_``, plus: only the program's own objects and functions take attributes
        (a library object's attribute may be a name library code reads with the real
        getattr, ``dataclasses.Field.name``, or a decision it trusts), except the
        settings in WRITABLE_LIBRARY_ATTRIBUTES; private and special names only on the
        program's own; nothing through typing aliases.

        For a public name on an instance the verdict depends on the instance's class
        alone: once these rules accepted one for an instance of the program's class, the
        class is noted and the next write (``self.x = x`` in ``__init__``) is one lookup."""
        kind = _type(obj)
        if kind is ModuleProxy and _type(name) is str and name in _SWITCHED_STREAMS and module_name(obj) == "sys":
            return SYS_STREAM_SWITCH  # sys.stdout = buffer: the job's stream table, never the module
        public = _type(name) is str and name[:1] != "_"
        writable = _ownership.PUBLIC_ATTRIBUTES_WRITABLE
        if public and writable.get(id(kind)) is kind:
            return obj
        if (
            _type(name) is str
            and name in PLAIN_PRIVATE_NAMES
            and _ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES.get(id(kind)) is kind
        ):
            return obj
        _checked_write_attribute(obj, name)
        if (
            public
            and is_user_class(kind)
            and not isinstance(obj, (builtins.type, super))
            and not public_library_hooks(kind)  # then the verdict depends on the name too
            and not collecting_classes()  # no new reference to a class being freed
        ):
            writable[id(kind)] = kind
        elif not public and _type(name) is str:
            note_private_names_of(obj, name)
        return obj

    def _checked_write_attribute(obj: Any, name: str) -> None:
        write(obj)
        if _is_typing_object(obj):
            raise refused("typing objects are read-only in the sandbox")
        checked = exact_str(name)
        own = _is_own(obj) or _is_program_function(obj)
        if checked.startswith("_") and checked != "_" and not own:
            raise refused(f'cannot set "{checked}": private and special attributes belong to their own class')
        if (
            is_private(checked)
            and own
            and not _is_program_function(obj)
            and not _private_name_is_the_programs(obj, checked)
        ):
            # A library's private name, in a library base or written into the program's class
            # by a library (ABCMeta's _abc_impl): its state, not the program's.
            if not isinstance(obj, (builtins.type, super)) and _names_library_state(obj, checked):
                raise refused(
                    f'cannot set "{checked}": a library base class of {builtins.type(obj).__name__} keeps its own '
                    "state under that name; give the program's attribute another name"
                )
            raise refused(f'cannot set "{checked}": it is a private name of a library class')
        if checked in LIBRARY_STATE_NAMES or checked in SANDBOX_MARKS:
            raise refused(f'cannot set "{checked}": it is the name of a library\'s state')
        if isinstance(obj, builtins.type) and own and library_state_name_below(obj, checked):
            raise refused(
                f'cannot set "{checked}" on a class after its class statement: a library base class '
                "(of it or of a class below it) uses that name; define it in the class statement"
            )
        if own and not _is_program_function(obj) and library_hook_below(obj, checked):
            raise refused(
                f'cannot set "{checked}": it overrides a method a library base class calls; '
                "define it with def in the class statement"
            )
        note_program_write(obj, checked)  # a class being built: the name is the program's
        if not own and not _library_attribute_is_writable(obj, checked):
            raise refused(
                f'cannot set "{checked}" on a {builtins.type(obj).__name__} object: objects the program did not '
                "create from its own classes are read-only in the sandbox"
            )

    return guarded_write_attribute


def _write_attribute(write: Callable[[Any], Any]) -> Callable[[Any, str], Any]:
    return make_write_attribute(write)


#: The attribute-write rules, for keys the program writes into an instance dict it holds.
_write_attribute_of_an_instance = make_write_attribute(make_write_guard(CURRENT_JOB))


def make_setattr(write: Callable[[Any], Any]) -> Callable[[Any, str, Any], None]:
    def guarded_setattr(obj: Any, name: str, value: Any) -> None:
        """``setattr``: the value passes the membrane too. ``obj.name = v`` stores what
        the program holds, but C code calls setattr with values it made
        (``map(setattr, [C], ["m"], map(classmethod, [library_descriptor]))``).

        Admitted before anything is checked: admitting can run the program's code (a
        ``str`` subclass key's ``__eq__`` as the membrane looks a dict up), which could
        change what the checks looked at (a class defined below ``obj`` that a library
        hook is looked up in) between their verdict and the store."""
        admitted = admit(value)
        checked = check_attribute_store(obj, name)
        setattr(_write_attribute(write)(obj, checked), checked, admitted)

    return guarded_setattr


def make_delattr(write: Callable[[Any], Any]) -> Callable[[Any, str], None]:
    def guarded_delattr(obj: Any, name: str) -> None:
        checked = check_attribute_store(obj, name)
        delattr(_write_attribute(write)(obj, checked), checked)

    return guarded_delattr


# --------------------------------------------------------------------------- items, iteration, calls


def python_guarded_getitem(obj: Any, key: Any) -> Any:
    """``_getitem_``: subscripts read data, never attributes; the item passes the membrane."""
    value = obj[key]
    if builtins.type(value) in PLAIN:
        return value
    return admit_slow(value)


guarded_getitem = accelerated_getitem(PLAIN, python_guarded_getitem, admit_slow)


# --------------------------------------------------------------------------- the collector

#: CPython's own thresholds, read before any job turned the automatic collector off.
_GC_THRESHOLDS = gc.get_threshold()
#: How many calls of a safe point's guard between two looks at the collector's counts
#: (the C guards keep their own count, _fastguards.c SAFE_POINT_PERIOD).
_SAFE_POINT_PERIOD = 256
_safe_point_calls = [0]


def collect_at_a_safe_point() -> None:
    """The collector's work, done where the program's own code runs.

    A job runs with the automatic collector off (runner.execute). A collection runs the
    finalisers of unreachable objects (a generator's ``finally``, an ``io`` object's
    ``close``, a weakref callback): the program's code, wherever the interpreter happened
    to allocate, and inside a guard between its check and its use of what it checked
    (an attack pass swapped a key of a dict eval() had just checked). So collections run
    only here, at the entry of the guards the program's bytecode alone calls (``_admit_``,
    a ``for`` loop's next item), where the program's code is running anyway, and as
    CPython decides them (Modules/gcmodule.c, collect_generations): the youngest
    generation once enough objects were allocated, an older one once enough younger
    collections ran, and the oldest only once the objects that reached it since its last
    collection are a quarter of those that were in it then (else a program building a
    large live structure pays a scan of its whole heap every few thousand objects)."""
    run_waiting_finalizers()  # what a decref made due (repairs.begin_deferring_finalizers)
    young, middle, old = gc.get_count()
    first, second, third = _GC_THRESHOLDS
    long_lived = _LONG_LIVED
    if old > third and long_lived[1] >= long_lived[0] // 4:
        _collect(2)  # the template's heap is frozen: only the job's own objects are scanned
        long_lived[0], long_lived[1] = len(gc.get_objects(2)), 0
    elif middle > second:
        # What survives reaches the oldest generation: CPython's long_lived_pending.
        younger = len(gc.get_objects(0)) + len(gc.get_objects(1))
        long_lived[1] += max(younger - _collect(1), 0)
    elif young > first:
        _collect(0)


def _collect(generation: int) -> int:
    """A collection, with the program's classes out of the sandbox's tables when enough
    were made since the last time (MEMBRANE.classes_to_release): one the program dropped
    is freed with its generation, as CPython frees it, not kept for the whole job."""
    if _collecting[0]:
        # A finaliser this collection runs reached a safe point: the collector is busy (it
        # would return at once), and a release nested in another would end the outer one's
        # window (collecting_classes) while its finalisers still run.
        return 0
    _collecting[0] = True
    try:
        classes = MEMBRANE.classes_to_release(generation)
        judged = MEMBRANE.library_classes_to_release()  # those a library made per call
        if judged is not None:
            _ownership.forget_library_classes(judged)
        with MEMBRANE.library_classes_released(judged) if judged is not None else contextlib.nullcontext():
            if classes is None:
                collected = gc.collect(generation)
            else:
                _forget_public_hooks(classes)
                collected = _ownership.release_dropped_classes(classes, functools.partial(gc.collect, generation))
    finally:
        _collecting[0] = False
    prune_method_crossings()  # a library method made per read is freed as CPython frees it
    # What the collection's finalisers released waits (repairs.begin_deferring_finalizers):
    # run here, at the safe point, once the released classes are back in their tables (the
    # collection has freed those the program dropped: no code may run in that window).
    run_waiting_finalizers()
    return collected


#: Whether a collection the sandbox started is running (finalisers included).
_collecting = [False]


def _forget_public_hooks(classes: list[tuple[int, Any]]) -> None:
    for _, ref in classes:
        _PUBLIC_HOOKS.pop(ref(), None)


#: [objects in the oldest generation after its last collection, objects that reached it
#: since]: CPython's long_lived_total and long_lived_pending, for the job's own heap.
_LONG_LIVED = [0, 0]


def begin_collections() -> None:
    """As a job starts: the template's heap is frozen, the oldest generation holds only
    what the job will put there."""
    _LONG_LIVED[:] = [0, 0]


def _counted_safe_point() -> None:
    _safe_point_calls[0] += 1
    if _safe_point_calls[0] >= _SAFE_POINT_PERIOD:
        _safe_point_calls[0] = 0
        collect_at_a_safe_point()


def safe_point_soon() -> None:
    """The next counted call of a guard is a safe point, in either guard mode: a
    finalizer waits for one (repairs.begin_deferring_finalizers)."""
    _safe_point_calls[0] = _SAFE_POINT_PERIOD - 1
    fastguards_safe_point_soon()


def admitted_at_a_safe_point(value: Any) -> Any:
    """The pure-Python ``_admit_``: the membrane's admit, at a safe point."""
    _counted_safe_point()
    return admit(value)


#: ``_admit_``, the membrane's entry for what the compiled program binds (the C guard
#: looks the type up in PLAIN itself: what it hands on takes the membrane's slow path).
#: Used only where the C half is built (_fast_or_python).
fast_admit = accelerated_admit(PLAIN, admit_slow, collect_at_a_safe_point)


# str.format fields ("{o[id]}", "{0.year}") take the same steps as the program's own code.
set_field_guards(guarded_getattr, guarded_getitem, admit)


#: The attribute names of _match_values_'s namespace, made once (a name per value pattern).
_MATCH_VALUE_NAMES = tuple(f"v{index}" for index in range(4096))
#: A tuple class per number of value patterns up to this many, made before any job: its
#: fields are read by C descriptors, and making one costs a tuple (a SimpleNamespace cost a
#: dict and an object, per match statement run).
_MATCH_VALUE_TUPLES: tuple[type, ...] = tuple(
    collections.namedtuple(f"MatchValues{count}", _MATCH_VALUE_NAMES[:count]) for count in range(33)
)


def match_values(*values: Any) -> Any:
    """``_match_values_``: the dotted names of a ``match`` statement's patterns, read through
    the guards before it runs, as the attributes the patterns read (``v0``, ``v1`` ...)."""
    if len(values) < len(_MATCH_VALUE_TUPLES):
        return tuple.__new__(_MATCH_VALUE_TUPLES[len(values)], values)
    if len(values) > len(_MATCH_VALUE_NAMES):
        return types.SimpleNamespace(**{f"v{index}": value for index, value in enumerate(values)})
    return types.SimpleNamespace(**dict(zip(_MATCH_VALUE_NAMES, values, strict=False)))


def match_class(cls: Any) -> Any:
    """``_match_class_``: the class of a pattern with positional sub-patterns
    (``case C(x, y)``), read as the ``match`` starts. The interpreter reads the attributes
    ``C.__match_args__`` names with the real getattr; every class the program obtains is
    sanitized, but a library factory (dataclass, NamedTuple) sets ``__match_args__`` from
    field names and runs the program's hooks before it returns, and a ``match`` in such a
    hook ran while the names were private. Checked where the pattern is used."""
    if isinstance(cls, builtins.type):
        match_args = getattr(cls, "__match_args__", ())
        if not _ordinary_names(match_args if builtins.type(match_args) is tuple else tuple(match_args)):
            raise refused(
                f"{cls.__name__}.__match_args__ names private or special attributes; "
                "use keyword patterns (case C(x=a)) in the sandbox"
            )
    return cls


def guarded_getiter(obj: Iterable[Any]) -> Iterator[Any]:
    """``_getiter_``: a plain iterator. The values it hands out pass the membrane where
    they are bound (the policy checks every name a ``for``, a comprehension or an
    unpacking binds), so a value added to a list while it is iterated is checked too."""
    return iter(obj)


def unpacked_as_is(value: Any, spec: object, getiter: object) -> Any:
    """``_unpack_sequence_`` and ``_iter_unpack_sequence_`` (``a, b = x``, ``for a, b in
    xs``): the value as it is, for the interpreter to unpack. RestrictedPython's own
    turn every sequence unpacked into a list through ``_getiter_``, for a ``_getiter_``
    that guards; ours is the plain ``iter`` (every name the unpacking binds passes the
    membrane, guarded_getiter), so the list only cost time, and read an endless iterator
    to its end where CPython stops at one value too many."""
    return value


def admitted_unpacking(item: Any, count: int) -> tuple[Any, ...]:
    """``a, b = item`` for a ``for`` statement's names: exactly ``count`` values, taken
    as the interpreter takes them (one more to find the end, CPython's messages), each
    through the membrane, as a tuple for the interpreter to unpack again."""
    try:
        iterator = iter(item)
    except TypeError:
        kind = builtins.type(item)
        if getattr(kind, "__iter__", None) is None and not hasattr(kind, "__getitem__"):
            raise TypeError(f"cannot unpack non-iterable {kind.__name__} object") from None
        raise
    except StopIteration as stop:
        # Out of the loop's iterator, it would end the loop without a word.
        raise RuntimeError("unpacking an item of the loop raised StopIteration") from stop
    values: list[Any] = []
    for value in iterator:
        if len(values) == count:
            raise ValueError(f"too many values to unpack (expected {count})")
        values.append(value)
    if len(values) < count:
        raise ValueError(f"not enough values to unpack (expected {count}, got {len(values)})")
    return tuple(value if builtins.type(value) in PLAIN else admit(value) for value in values)


def admitting_iter(iterable: Any, count: int) -> Iterator[Any]:
    """``_admitting_iter_``: a ``for`` statement's items, each through the membrane before
    the statement binds it (a name: ``count`` 0; ``count`` names: admitted_unpacking).
    Bound straight to the program's names, with no temporary in between: nothing the
    program can see ever holds a value the membrane has not passed."""
    for item in iterable:
        _counted_safe_point()
        if count == 0:
            yield item if builtins.type(item) in PLAIN else admit(item)
        elif (
            builtins.type(item) is tuple and len(item) == count and all(builtins.type(value) in PLAIN for value in item)
        ):
            yield item
        else:
            yield admitted_unpacking(item, count)


fast_admitting_iter = accelerated_admitting_iter(
    PLAIN, admit, admitted_unpacking, admitting_iter, collect_at_a_safe_point
)


def exact_keywords(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Keyword names as exact strs. ``f(**{S("bases"): v})`` passes a str subclass as the
    name, and a guard that asks it (``kwargs.get("bases")``, ``key.startswith("_")``) gets
    the subclass's answer while the callee's parameter matching gets another."""
    if all(builtins.type(key) is str for key in kwargs):
        return kwargs
    return {exact_str(key, "keyword argument name"): value for key, value in kwargs.items()}


def guarded_apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``_apply_``: calls written with ``*args``/``**kwargs``. The values the stars unpack
    were never read through a guard: each passes the membrane, as does the result; the
    keyword names are read as exact strs (exact_keywords)."""
    checked_args = [admit(value) for value in args]
    checked_kwargs = {key: admit(value) for key, value in exact_keywords(kwargs).items()}
    return admit(func(*checked_args, **checked_kwargs))


_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "|=": operator.ior,
    "^=": operator.ixor,
    "&=": operator.iand,
    "@=": operator.imatmul,
}


def guarded_inplacevar(op: str, target: Any, value: Any) -> Any:
    """``_inplacevar_``: ``x += y`` on a plain name."""
    try:
        return _INPLACE_OPERATORS[op](target, value)
    except KeyError:
        raise refused(f"unsupported augmented assignment {op!r}") from None


# --------------------------------------------------------------------------- imports


#: Modules that C code imports lazily with PyImport_Import, which looks ``__import__`` up
#: in the *calling frame's* builtins, i.e. ours (``datetime.strptime`` -> ``_strptime``).
#: Restricted code cannot name them (private names are refused at compile time and
#: ``__import__`` itself is unreachable), so only such C callers get the real module back;
#: the template pre-imports them.
INTERNAL_LAZY_IMPORTS = frozenset({"_strptime"})
#: Packages whose modules C callers import the same way: the data tier's libraries
#: (numpy's C code imports numpy._core._methods when a function first needs it).
INTERNAL_LAZY_PACKAGES: set[str] = set()


@plain_by_construction
class FutureStatementModule:
    """What a future statement's import gets at run time: each feature's name as a string
    (the real ``__future__._Feature`` objects are nothing the program needs)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> str:
        if name in FUTURE_FEATURES:
            return name
        raise AttributeError(name)


FUTURE_STATEMENT_MODULE = FutureStatementModule()


def make_import(proxies: Mapping[str, ModuleProxy], allowed: frozenset[str]) -> Callable[..., Any]:
    def guarded_import(
        name: str,
        globals: Mapping[str, Any] | None = None,  # noqa: A002 - the __import__ signature
        locals: Mapping[str, Any] | None = None,  # noqa: A002
        fromlist: Iterable[str] | None = (),
        level: int = 0,
    ) -> Any:
        """``__import__``: allow-listed modules only, always as read-only proxies."""
        name = exact_str(name, "module name")
        # PyImport_Import passes fromlist as a *list*; an import statement never does (a
        # tuple or None), so only the C caller gets the real module.
        if (
            (name in INTERNAL_LAZY_IMPORTS or name.partition(".")[0] in INTERNAL_LAZY_PACKAGES)
            and level == 0
            and isinstance(fromlist, list)
        ):
            return importlib.import_module(name)
        if level != 0:
            raise ImportError("relative imports are not allowed in the sandbox")
        if name == "__future__" and fromlist and all(member in FUTURE_FEATURES for member in fromlist):
            return FUTURE_STATEMENT_MODULE  # a future statement's own import (compiled as one)
        if name not in allowed:
            # Reached only from a try that catches it (the validator refuses other imports of
            # modules outside the allow-list): the program's fallback for a missing module.
            raise ModuleNotFoundError(
                f"No module named '{name}' in the sandbox; allowed modules: {', '.join(sorted(allowed))}", name=name
            )
        if fromlist:
            # Each name checked here: the interpreter's own fallback for a name the module
            # lacks reads the module's __name__ and sys.modules, and its message names an
            # unknown module.
            proxy = proxies[name]
            for member in fromlist:
                if not hasattr(proxy, exact_str(member, "imported name")):
                    message = f"cannot import name '{member}' from '{name}' in the sandbox"
                    raise ImportError(with_reason(message, name, member), name=name)
            return proxy
        return proxies[name.partition(".")[0]]

    return guarded_import


# --------------------------------------------------------------------------- classes and type


def _names_in(value: object, what: str) -> tuple[str, ...]:
    """The names, read once into an exact tuple of exact strings: what is checked is what
    the class is built from (a tuple subclass could iterate differently the next time,
    for type() and again for copyreg's slot names)."""
    items: Iterable[object] = (value,) if isinstance(value, str) else cast("Iterable[object]", value)
    names = tuple(items)
    for item in names:
        if builtins.type(item) is not str or is_dunder(item) or is_sunder(item) or item in INTROSPECTION_ATTRIBUTES:
            raise refused(f"{what} may only name ordinary attributes, not {item!r}")
    return cast("tuple[str, ...]", names)


def _ordinary_names(value: object) -> bool:
    if not isinstance(value, tuple):
        return False
    return all(
        builtins.type(item) is str and not item.startswith("_") and item not in INTROSPECTION_ATTRIBUTES
        for item in value
    )


def sanitize_match_args(cls: object) -> None:
    """A ``match`` class pattern with positional sub-patterns (``case C(x, y)``) reads the
    attributes named in ``C.__match_args__`` with the real getattr, and isinstance() can be
    made true for foreign objects (ABC.register, runtime_checkable protocols). So every
    class the program obtains keeps ``__match_args__`` only if it names ordinary public
    attributes; otherwise positional patterns are switched off for it (keyword patterns,
    which the compiler checks, still work). Called wherever a class is made for the
    program: class statements, dataclass, make_dataclass, namedtuple."""
    if not isinstance(cls, builtins.type):
        return
    try:
        match_args = cls.__match_args__  # type: ignore[attr-defined]
    except AttributeError:
        return
    if not _ordinary_names(match_args):
        builtins.type.__setattr__(cls, "__match_args__", ())


def _fence_new(namespace: Any) -> None:
    """Wrap a program-defined ``__new__`` so that what it returns is an instance of the
    class it was called for (an existing one, as a singleton gives, is fine). Library code
    that calls ``cls.__new__(cls)`` trusts it gets exactly that, and then writes onto it or
    runs ``__init__`` on it: copy's reconstruction, ``UserDict.__copy__``, enum's members,
    ``Fraction.__new__``; with a library object returned it changed that object (attack
    pass 83). The class is compared by identity along the result's real MRO:
    ``isinstance`` is the program's to answer (an ABC's ``register``). An object returned
    a second time is noted (ownership.note_returned_by_new): copy's reconstruction applies
    no state to it unless all its classes are the program's."""
    found = dict.get(namespace, "__new__")
    if found is None:
        return
    function = found.__func__ if builtins.type(found) is staticmethod else found
    if not _is_program_function(function):
        # Fenced by the slot, whatever the spelling: a classmethod, a callable instance
        # (which the other hooks' check accepts) would return what it likes (pass 84).
        raise refused("__new__ must be a def (or a staticmethod of one) in the sandbox")

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        made = function(cls, *args, **kwargs)
        if not any(klass is cls for klass in builtins.type.__dict__["__mro__"].__get__(builtins.type(made))):
            raise refused(
                f"{cls.__name__}.__new__ must return an instance of {cls.__name__} in the sandbox, not a "
                f"{builtins.type(made).__name__}"
            )
        _ownership.note_returned_by_new(made)  # an existing one: copy applies no state to it
        return made

    __new__.__qualname__ = function.__qualname__
    __new__.__doc__ = function.__doc__
    dict.__setitem__(namespace, "__new__", staticmethod(__new__))


def _fence_getattr(namespace: Any) -> None:
    """Wrap a program-defined ``__getattr__`` so it never answers special names.

    Python looks special methods up on the type and never asks ``__getattr__`` for them;
    only library code probing an *instance* does (``copy.deepcopy`` asks for
    ``__deepcopy__`` and calls it with its internal memo, ``dataclasses`` asks for
    ``__dataclass_fields__``). Answering such a probe is how a program got deepcopy's
    memo, and from it the real getattr. Ordinary ``__getattr__`` use is unaffected."""
    user_getattr = namespace.get("__getattr__")
    if user_getattr is None:
        return

    namespace["__getattr__"] = _fenced_getattr(user_getattr)


def _fenced_getattr(user_getattr: Any) -> Callable[[Any, str], Any]:
    def __getattr__(self: Any, name: str) -> Any:
        if (
            not isinstance(name, str)
            or is_dunder(name)
            or is_sunder(name)
            # Library state a library base's code reads from self and found missing
            # (ExitStack's _exit_callbacks when the program's __init__ skipped the
            # library's): the library must not get the program's object for it.
            or name in LIBRARY_STATE_NAMES
            or name in private_names_library_code_uses(builtins.type(self))
        ):
            raise AttributeError(name)
        return user_getattr.__get__(self, builtins.type(self))(name)

    return __getattr__


_FENCED_GETATTR_CODE = _fenced_getattr(None).__code__


def refuse_metaclass(cls: object) -> None:
    """No class handed to a program is a metaclass (a subclass of ``type``): calling one
    builds classes from a dict, outside every class rule, and its MRO holds the real
    ``type``. Programs never need one (``metaclass=`` is refused), but bases can turn into
    ``type`` behind the compiler's back: ``class M(typing.Type[int])`` resolves to
    ``(type, Generic)``, and so does ``make_dataclass(..., bases=(typing.Type,))``."""
    if isinstance(cls, builtins.type) and issubclass(cls, builtins.type):
        raise refused("metaclasses (subclasses of type) cannot be defined in the sandbox")


#: typing's internal classes (aliases, special forms, TypeVar ...): subclassing one with
#: the internal `_root=True` switch gave a program an alias whose inherited methods
#: forward to the real getattr. Generic, Protocol, NamedTuple and TypedDict are not in it.
_TYPING_INTERNAL = typing._Final  # noqa: SLF001


#: The sandbox's own package: a metaclass of its (the sandbox's `type`, a stand-in's).
_SANDBOX_PACKAGE = __name__.partition(".")[0] + "."


def refuse_metaclass_bases(bases: Iterable[object]) -> None:
    """The rules every base of a new class passes, however the class is built."""
    for base in bases:
        refuse_metaclass(base)
        if isinstance(base, builtins.type) and issubclass(base, _TYPING_INTERNAL):
            raise refused(f"typing's internal class {base.__name__} cannot be subclassed")
        if isinstance(base, builtins.type):
            refuse_final_bases(base)
            if _ownership.unfinished(base):
                raise refused("a class whose class statement has not finished (or failed) cannot be a base class")
            if str(builtins.type(base).__module__).startswith(_SANDBOX_PACKAGE) or any(
                klass is StandardStream or klass is SandboxType or klass is GuardedAlias or klass in STANDS_FOR
                for klass in builtins.type.__dict__["__mro__"].__get__(base)
            ):
                # The sandbox's `type`, streams, aliases and stand-ins refuse subclasses in
                # their own __init_subclass__, which a class need not run (a sibling base's
                # comes first in its MRO): final by their MRO and metaclass instead.
                hint = _METACLASS_ALTERNATIVES if base is SandboxType else ""
                raise refused(f"{base.__name__} cannot be subclassed in the sandbox{hint}")
            # A base reached raw (starred out of a tuple, through C code) is held by the
            # class built on it: it must be one the program could hold as it is.
            if admit(base) is not base:
                raise refused(f"{base.__name__} cannot be a base class in the sandbox")


def _program_callable(value: object, name: str) -> None:
    """A special method Python calls with values of its own (``__eq__`` from a library's
    cache, ``__exit__`` with a traceback) must be the program's own function, whose
    parameters pass the membrane: ``__eq__ = sink.append`` received them raw."""
    kind = builtins.type(value)
    if kind is staticmethod or kind is classmethod:  # exactly: a subclass may define its own __get__
        value = cast("Any", value).__func__
        kind = builtins.type(value)
    if value is None or _is_program_function(value):
        return  # None (`__hash__ = None`), or a def
    # A descriptor (a property, a subclass of staticmethod with a __get__) gives the
    # interpreter whatever its __get__ returns, which is then called with raw values;
    # a library callable (a partial subclass) takes them raw itself.
    call = vars(kind).get("__call__") if is_user_class(kind) else None
    if _is_program_function(call) and not any("__get__" in vars(klass) for klass in kind.__mro__):
        return  # an instance of the program's class whose own __call__ is its def
    raise refused(f'"{name}" must be a function the program defines (def) in the sandbox')


_ATTRIBUTE_WRITE_HOOKS = ("__setattr__", "__delattr__")


def _program_hook(found: object) -> bool:
    """What a program class holds under a hook's name runs the program's code, unless it is
    a function a library generated for it (a frozen dataclass's ``__setattr__``, which
    only raises or stores): only a def or a callable of the program's passes a class
    statement's checks (_program_callable), and a class's hooks cannot be set later."""
    if found is None:
        return False
    return not (builtins.type(found) is types.FunctionType and not _is_program_function(found))


def attribute_write_hooks_only_over_the_programs(namespace: Mapping[str, Any], bases: tuple[type, ...]) -> None:
    """A ``__setattr__``/``__delattr__`` of the program's runs on every write to the
    class's instances, the ones library code makes too: a library base's ``__init__``
    storing its own state (JSONDecoder's ``scan_once``) would hand that state to the hook
    and store whatever the hook chose in its place. So a class with such a hook, its own or
    a program base's, has no library class in its MRO: the program's classes and the plain
    builtin data types only."""
    classes = [klass for base in bases for klass in base.__mro__]
    hooked = any(name in namespace for name in _ATTRIBUTE_WRITE_HOOKS) or any(
        _program_hook(vars(klass).get(name))
        for klass in classes
        if is_user_class(klass)
        for name in _ATTRIBUTE_WRITE_HOOKS
    )
    if not hooked:
        return
    library = next((k for k in classes if not is_user_class(k) and k not in _DATA_BASES), None)
    if library is not None:
        raise refused(
            f"a class with __setattr__ or __delattr__ cannot have the library class {library.__name__} among its "
            "bases in the sandbox (library code writes its own state through them); use properties"
        )


def _no_field_named_like_a_library_attribute(bases: tuple[type, ...]) -> None:
    """The methods dataclasses generates read every field with the real getattr (``__eq__``,
    ``__repr__``, pprint's dataclass support): a field a program base declares must not
    be a name a library class of the new class's bases defines, or an instance without
    the attribute reads the library's (``PrettyPrinter._dispatch``). Checked here, for the
    class that combines them, whoever declared the field."""
    fields: set[str] = set()
    for base in bases:
        declared = getattr(base, "__dataclass_fields__", None)
        if builtins.type(declared) is dict:
            fields.update(name for name in declared if builtins.type(name) is str)
    if not fields:
        return
    for base in bases:
        state = sorted(fields & names_library_code_uses(base))
        if state:
            # Instance state the library base's code keeps (PrettyPrinter._stream,
            # ExitStack._exit_callbacks): defined in no class namespace, read by pprint's
            # dataclass support with the real getattr.
            raise refused(
                f"the dataclass field {state[0]!r} is a name the code of {base.__name__}, a base of this class, uses"
            )
        for klass in base.__mro__:
            if is_user_class(klass):
                continue
            clash = fields & vars(klass).keys()
            if clash:
                raise refused(
                    f"the dataclass field {sorted(clash)[0]!r} is an attribute of the library class "
                    f"{klass.__name__}, a base of this class"
                )


#: A class whose only use is to have abc make registries (fresh_abc_data).
_ABC_SCRATCH = abc.ABCMeta("_ABCScratch", (), {})


def fresh_abc_data() -> object:
    """A new, empty ABC registry, as ``abc``'s own ``_abc_init`` makes one."""
    abc._abc_init(_ABC_SCRATCH)  # type: ignore[attr-defined]  # noqa: SLF001 - what ABCMeta.__new__ calls
    return vars(_ABC_SCRATCH)["_abc_impl"]


#: What a name ``__slots__`` lists stands for in the hook check: a value that is no def.
_SLOT = object()


def _names_in_slots(slots: object) -> list[str]:
    """The names a ``__slots__`` value lists, read once as the class statement will (a
    string, or an iterable of them); anything else is left to the interpreter's error."""
    try:
        names = list(slots)  # type: ignore[call-overload]
    except TypeError:
        return []
    return [name for name in names if builtins.type(name) is str]


def library_hooks_overridden_by_defs(namespace: Mapping[str, Any], bases: tuple[type, ...]) -> None:
    """A method of a library base that its own code calls is a hook, called with values of
    its own (``UserList.__eq__`` calls ``self._UserList__cast(other)`` with the operand,
    pprint calls ``self.format(value, ...)`` with what it read with the real getattr): an
    override in the program's class must be the program's function, whose parameters
    pass the membrane, as a special method must (``_UserList__cast = items.append`` kept
    them raw; a property ``format`` returned ``partial(max, key=box.append)``). Every
    library class of every base's MRO that defines the name counts, not
    the first class per base: a program class in between (``class B(Lib): def _hook``)
    does not hide the library's hook from a value another base lends, or a subclass
    sets, which the new class's MRO may put first.

    The names ``__slots__`` lists count as defined with a value that is no def: the slot
    holds whatever is stored through any alias of its descriptor (a ``format`` slot in a
    PrettyPrinter subclass held a C callable)."""
    slots = namespace.get("__slots__", ())
    slots = (slots,) if isinstance(slots, str) else slots
    listed = {name: _SLOT for name in _names_in_slots(slots) if name not in namespace}
    used = frozenset().union(
        *(_ownership.names_library_code_uses(base) for base in bases if isinstance(base, builtins.type))
    )
    for key, value in (*namespace.items(), *listed.items()):
        if not isinstance(key, str) or is_dunder(key):
            continue
        owners = [
            klass
            for base in bases
            if isinstance(base, builtins.type)
            for klass in base.__mro__
            if not is_user_class(klass) and key in vars(klass)
        ]
        if any(value is vars(owner)[key] or value is getattr(vars(owner)[key], "__func__", None) for owner in owners):
            continue  # the library's own, put there by its metaclass (Enum's hooks)
        for owner in owners:
            hook = vars(owner)[key]
            if _is_library_hook(owner, key, used):
                _program_callable(value, key)
            elif not key.startswith("_"):
                continue  # a public attribute the library's code never calls: the program's to shadow
            elif not _is_hook(hook) and not is_sunder(key) and key not in LIBRARY_STATE_NAMES:
                # A private table the library's code indexes and calls from
                # (PrettyPrinter._dispatch): entries the program chose would be
                # called with the library's own values.
                raise refused(
                    f'"{key}" is a private attribute of the library class {owner.__name__}; '
                    "the program's class cannot replace it"
                )


def _lent_by_program_bases(bases: tuple[type, ...], *, written_by_the_program: bool = False) -> list[Mapping[str, Any]]:
    """The namespaces of the program's classes among the bases and theirs: combined with a
    library base in a new class, what they define overrides the library's hooks and state
    as the class body's own would (``class Hooks: _format = sink``, then
    ``class P(Hooks, pprint.PrettyPrinter)``). Every one of them, not the first value per
    name: the new class's MRO decides which one the interpreter finds, and it can be one
    that another base's MRO shadows. ``written_by_the_program``: without the private names
    a library metaclass wrote there (EnumType's ``_new_member_``), which are the library's."""
    scopes: list[Mapping[str, Any]] = []
    for base in bases:
        if not isinstance(base, builtins.type):
            continue
        for klass in base.__mro__:
            if not is_user_class(klass):
                continue
            scope: Mapping[str, Any] = vars(klass)
            if written_by_the_program:
                library = library_names(klass)
                scope = {key: value for key, value in scope.items() if key not in library}
            scopes.append(scope)
    return scopes


_PROPERTY_ACCESSORS = tuple(vars(property)[name] for name in ("fget", "fset", "fdel"))


def _state_descriptor_is_the_programs(value: object, key: str) -> None:
    """A data descriptor (a ``__set__`` or ``__delete__`` in its class) under a name a
    library base keeps state by: what the interpreter calls with the library's own values
    must be the program's functions, whose parameters pass the membrane. A property (or a
    program subclass of one) has its accessors checked, read through property's own
    fields; any other descriptor class's ``__get__``/``__set__``/``__delete__`` must be
    the program's defs (a library descriptor, or a program subclass that inherits a C
    ``__set__``, receives the values raw)."""
    kind = builtins.type(value)
    if not any("__set__" in vars(klass) or "__delete__" in vars(klass) for klass in kind.__mro__):
        return
    if (kind is types.GetSetDescriptorType or kind is types.MemberDescriptorType) and is_user_class(
        cast("Any", value).__objclass__
    ):
        if cast("Any", value).__name__ == key:
            return  # the interpreter's own for the program's class (__dict__, a slot): it stores as it is told
        # A slot's descriptor under another name reads and writes that slot: the one a
        # library __init__ filled (`restval = Base.parse_string` handed csv's readers the C
        # scanner JSONDecoder stored in the program's slot).
        raise refused(f'"{key}" is state a library base class keeps; a slot of another name cannot stand there')
    refusal = refused(
        f'"{key}" is state a library base class keeps; in the sandbox it can be a property whose '
        "accessors are the program's functions, not a library descriptor"
    )
    for hook in ("__get__", "__set__", "__delete__"):
        owner = next((klass for klass in kind.__mro__ if hook in vars(klass)), None)
        if owner is None or owner is property:
            continue  # property's own: it calls the accessors checked below
        if not (is_user_class(owner) and _is_program_function(vars(owner)[hook])):
            raise refusal
    if isinstance(value, property):
        accessors = [field.__get__(value) for field in _PROPERTY_ACCESSORS]
        if all(accessor is None for accessor in accessors):
            # One with no accessor could be given them later (property.__init__ sets them
            # once, interpreter_repairs/descriptors.c), after this check.
            raise refusal
        for accessor in accessors:
            if accessor is not None:
                _program_callable(accessor, key)


def library_state_not_intercepted(namespace: Mapping[str, Any], bases: tuple[type, ...]) -> None:
    """A data descriptor in the program's class is found before the instance dict, so
    under a name the library bases' code keeps state by (``self._stream = sys.stdout`` in
    PrettyPrinter's ``__init__``) it receives the library's own values
    (``property(None, box.setdefault)`` stored the worker's stream raw). Checked for the
    namespace and for everything the program's classes among the bases lend (a program
    base with no library base of its own defines it, the new class combines the two):
    wherever in the MRO the interpreter finds it."""
    used: set[str] = set()
    for base in bases:
        if isinstance(base, builtins.type):
            used |= names_library_code_uses(base)
    for scope in (namespace, *_lent_by_program_bases(bases)):
        for key, value in scope.items():
            if isinstance(key, str) and key in used:
                _state_descriptor_is_the_programs(value, key)


_DESCRIPTOR_HOOKS = ("__get__", "__set__", "__delete__")


def enum_members_are_not_descriptors(metaclass: type, namespace: Mapping[str, Any], bases: tuple[type, ...]) -> None:
    """An Enum's members are instances of the class, made by its metaclass from the values
    after the namespace was checked (a tuple then, ``property(*value)`` once built) and
    stored under the members' names: with a descriptor data type (``property``) they
    become descriptors the checks never saw, intercepting a library base's state or
    standing in for its private hooks. An Enum whose members would be descriptors is
    refused; ordinary data types (int, str, float, a dataclass) are not descriptors."""
    if not issubclass(metaclass, enum.EnumType):
        return
    hooks = [hook for hook in _DESCRIPTOR_HOOKS if hook in namespace]
    for base in bases:
        if isinstance(base, builtins.type):
            hooks += [hook for klass in base.__mro__ for hook in _DESCRIPTOR_HOOKS if hook in vars(klass)]
    if hooks:
        raise refused(
            f"an Enum's members cannot be descriptors (its class would define {hooks[0]}); "
            "use a plain data type such as int, str or a dataclass"
        )


#: Values with no attributes to add: EnumType's duck test (``hasattr(x, "fget")``) says no
#: now and later.
_INERT_TYPES = frozenset({int, float, complex, str, bytes, bool, type(None), tuple, frozenset})


def _accessors_enum_would_copy(found: object, name: str) -> tuple[object, ...]:
    """What EnumType (``_proto_member.__set_name__``) copies into the redirect it puts
    under a member's name when a program base class holds ``found`` under that name: the
    accessors of a property, read through property's own fields (they cannot change).
    Anything else that could pass its duck test (``hasattr`` of ``fget``, ``fset`` and
    ``fdel``), now or once program code has run in ``type.__new__`` (a function's
    attributes, an object's ``__getattr__``, a property subclass's ``fget``), is refused;
    a value with no attributes (a number, a string, a tuple) is copied nowhere."""
    kind = builtins.type(found)
    if kind is property:
        return tuple(field.__get__(found) for field in _PROPERTY_ACCESSORS)
    if kind in _INERT_TYPES:
        return ()
    raise refused(
        f"enum member {name!r}: a base class of the program's defines {name!r} as a "
        f"{kind.__name__}, which enum would turn into a property; give the member another name"
    )


def enum_member_redirects_are_the_programs(metaclass: type, namespace: Any, bases: tuple[type, ...]) -> None:
    """An Enum member whose name a program base class defines as a property (or anything
    with ``fget``/``fset``/``fdel``) becomes an ``enum.property`` with those accessors,
    made inside ``type.__new__``, after every other check: under a name a library base
    keeps state by or calls as a hook, the interpreter then calls them with the library's
    values. Each accessor must be the program's function, whose parameters pass the
    membrane (a library class's own property, copied, is what it inherited anyway)."""
    if not issubclass(metaclass, enum.EnumType):
        return
    members = getattr(namespace, "_member_names", None)
    if not isinstance(members, dict):
        return
    for name in members:
        for base in bases:
            if not isinstance(base, builtins.type):
                continue
            for klass in base.__mro__:
                found = vars(klass).get(name)
                if found is None or not is_user_class(klass):
                    continue
                for accessor in _accessors_enum_would_copy(found, name):
                    _program_callable(accessor, name)


def library_state_name_below(cls: type, name: str) -> bool:
    """Whether ``name`` is one the library code of ``cls``'s MRO, or of any class below
    ``cls``, uses (names_library_code_uses): written onto a class after its class
    statement, a value there could be a data descriptor over the library's state, and the
    store cannot see the value it stores."""
    pending, seen = [cls], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if name in names_library_code_uses(current):
            return True
        pending.extend(builtins.type.__subclasses__(current))
    return False


def _is_hook(value: object) -> bool:
    return callable(value) or isinstance(value, (classmethod, staticmethod))


def _is_library_hook(klass: type, name: str, used: frozenset[str]) -> bool:
    """Whether the library class ``klass`` defines ``name`` as a method the library code of
    the class being judged (``used``: names_library_code_uses of it) calls: any private
    one (``UserList._UserList__cast``), a public one that code names
    (``PrettyPrinter.format``, ``JSONEncoder.default``; ``items``, which dict defines and
    Counter's code calls)."""
    if is_user_class(klass) or not _is_hook(vars(klass).get(name)):
        return False
    return name.startswith("_") or name in used


def public_library_hooks(kind: type) -> bool:
    """Whether a library class in ``kind``'s MRO has public hooks (methods its own code
    calls, which an override must replace with a def): then a public write on an instance
    depends on the name, and is never noted for the class alone."""
    found = _PUBLIC_HOOKS.get(kind)
    if found is None:
        used = _ownership.names_library_code_uses(kind)
        found = any(
            isinstance(name, str) and not name.startswith("_") and _is_library_hook(klass, name, used)
            for klass in kind.__mro__
            if klass is not object
            for name in list(vars(klass))
        )
        if not collecting_classes():
            _PUBLIC_HOOKS[kind] = found
    return found


_PUBLIC_HOOKS: dict[type, bool] = {}


def library_hook_below(obj: object, name: str) -> bool:
    """Whether a library class in the MRO of ``obj`` (a class, or an instance's class)
    defines ``name`` as a hook its own code calls (_is_library_hook). The class statement
    checks an override (library_hooks_overridden_by_defs); an attribute store cannot see
    the value it stores, so after the class statement such a name is not writable, on the
    class or on an instance, where it would shadow the class's def: ``pp.format =
    partial(max, key=box.append)`` was handed what pprint read with the real getattr."""
    if is_dunder(name):
        return False
    if not isinstance(obj, builtins.type):  # an instance: only its own class's lookup
        kind = builtins.type(obj)
        used = _ownership.names_library_code_uses(kind)
        return any(_is_library_hook(klass, name, used) for klass in kind.__mro__)
    # The class written to and every class below it: a program base with no library
    # class of its own lends the name to a subclass that combines it with one.
    pending, seen = [obj], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        used = _ownership.names_library_code_uses(current)
        if any(_is_library_hook(klass, name, used) for klass in current.__mro__):
            return True
        pending.extend(builtins.type.__dict__["__subclasses__"](current))
    return False


#: How the interpreter finds the end of a text signature at the start of a docstring.
TEXT_SIGNATURE_END = ")\n--\n\n"


def check_class_namespace(namespace: Mapping[str, Any]) -> None:
    """The class-body rules again, at run time, on the namespace about to become a class:
    the compiler enforces them too, but a namespace is a dict and this is the last point
    where it can be checked. ``__match_args__`` names are read without a guard by ``match``
    class patterns, ``__slots__`` names become descriptors: ordinary names only."""
    if namespace.get("__module__", "__main__") != "__main__":
        raise refused("a class of the program belongs to __main__: __module__ cannot be set in the sandbox")
    doc = namespace.get("__doc__")
    if isinstance(doc, str) and str.__contains__(doc, TEXT_SIGNATURE_END):
        # The interpreter reads a class's __text_signature__ out of the docstring it was
        # created with, and inspect.signature (which dataclass runs to write a docstring)
        # evaluates the defaults' dotted names in it with the real eval, in every module.
        raise refused("a class docstring cannot hold a text signature (a line '--' after ')') in the sandbox")
    for key in list(namespace):
        if not isinstance(key, str) or key in COMPILER_CLASS_NAMES:
            continue
        if is_reserved(key) or (is_dunder(key) and key not in CLASS_ASSIGNABLE):
            raise refused(f'"{key}" cannot be defined in a class in the sandbox')
        if is_sunder(key) and key not in CLASS_SUNDERS:
            raise refused(f'"{key}" cannot be defined in a class in the sandbox')
        if key in LIBRARY_STATE_NAMES:
            raise refused(f'"{key}" is the name of a library\'s state and cannot be defined in the sandbox')
    for key in DEFINABLE_METHODS & namespace.keys():
        _program_callable(namespace[key], key)
    if "__match_args__" in namespace:
        names = _names_in(namespace["__match_args__"], "__match_args__")
        # Set before the class exists: __init_subclass__ and __set_name__ see the class
        # while it is built, before sanitize_match_args runs.
        cast("dict[str, Any]", namespace)["__match_args__"] = names if _ordinary_names(names) else ()
    if "__slots__" in namespace:
        slots = _names_in(namespace["__slots__"], "__slots__")
        cast("dict[str, Any]", namespace)["__slots__"] = slots
        state = next((name for name in slots if name in LIBRARY_STATE_NAMES), None)
        if state is not None:
            raise refused(f'"{state}" is the name of a library\'s state and cannot be a slot in the sandbox')
    if "_ignore_" in namespace:
        # Enum's metaclass removes the names _ignore_ lists from the namespace after this
        # check (__module__, the factory's own entries): the body's own helper names only.
        ignored = namespace["_ignore_"]
        names = builtins.tuple(str.split(str.replace(ignored, ",", " "))) if isinstance(ignored, str) else ignored
        names = _names_in(names, "_ignore_")
        if not _ordinary_names(names):
            raise refused("_ignore_ may list only the class body's own public names in the sandbox")
        dict.__setitem__(cast("dict[str, Any]", namespace), "_ignore_", list(names))  # what was checked


class _NoMatchArgs:
    __match_args__ = ()


def _probe_mro(bases: tuple[type, ...]) -> object:
    """The first base that defines ``__match_args__``, as the new class would inherit it."""
    for base in bases:
        for klass in base.__mro__:
            if "__match_args__" in vars(klass):
                return klass
    return _NoMatchArgs


def _inherits_a_program_subclasshook(bases: tuple[type, ...]) -> bool:
    """Whatever the program put under __subclasshook__ in one of its classes (a def, or an
    instance with a __call__)."""
    return any("__subclasshook__" in vars(klass) and is_user_class(klass) for base in bases for klass in base.__mro__)


def _becomes_a_protocol(bases: tuple[type, ...]) -> bool:
    """Whether the class is a ``typing.Protocol``: its ``__init_subclass__`` then installs
    a ``__subclasshook__`` that answers by the program's member list, once the class
    exists (after any check of the namespace)."""
    return typing.Protocol in bases


#: ABCs a program __subclasshook__ may sit under: they ask no library subclass.
_HOOK_NEUTRAL_ABCS = frozenset({abc.ABC, typing.Protocol})


def _refuse_library_abc_bases(bases: tuple[type, ...]) -> None:
    """A ``__subclasshook__`` answers issubclass() for every ABC above the class too
    (``Mapping`` asks its subclasses): only under the program's own ABCs and ``abc.ABC``,
    as for ``register``. A protocol's hook is the program's too (typing would let it
    inherit ``Iterable`` or ``SupportsIndex``, which then asked it about every class)."""
    for base in bases:
        for klass in base.__mro__:
            if isinstance(klass, abc.ABCMeta) and klass not in _HOOK_NEUTRAL_ABCS and not is_user_class(klass):
                if _becomes_a_protocol(bases):
                    raise refused(
                        f"a Protocol cannot inherit the library ABC {klass.__name__} in the sandbox (its "
                        "isinstance() check would answer for that ABC); list the methods in the Protocol itself"
                    )
                raise refused(
                    f"__subclasshook__ cannot be defined under the library ABC {klass.__name__}; "
                    "define it on an ABC of the program's own (class Mine(abc.ABC))"
                )


def _refuse_protocols_beside_library_abcs(bases: tuple[type, ...]) -> None:
    """A protocol's structural ``__subclasshook__`` (typing's ``_proto_hook``, inherited by
    a class whose own ``__init_subclass__`` keeps Protocol from giving it an inert one)
    answers for every library ABC above the class: ``class Y(NoHook, SupportsInt,
    Mapping)`` made every int a Mapping. Decided on the MROs, whoever wrote the hook."""
    classes = [klass for base in bases if isinstance(base, builtins.type) for klass in base.__mro__]
    if not any(typing.Protocol in klass.__mro__ for klass in classes if klass is not typing.Protocol):
        return
    for klass in classes:
        if (
            isinstance(klass, abc.ABCMeta)
            and klass not in _HOOK_NEUTRAL_ABCS
            and not is_user_class(klass)
            and typing.Protocol not in klass.__mro__
        ):
            raise refused(
                f"a class that inherits a protocol cannot also inherit the library ABC {klass.__name__} in the "
                "sandbox (the protocol's isinstance() check would answer for that ABC)"
            )


def bases_for_a_library_factory(bases: object) -> tuple[Any, ...]:
    """The bases a library class factory (``make_dataclass(bases=)``, ``Enum(...,
    type=)``) is to build a class from, checked as a class statement's are, before
    anything is built. Returned as an exact tuple, which is what the factory then gets (a
    tuple subclass could iterate differently for the check and for ``type()``). Aliases
    are checked as the interpreter will resolve them (``ExceptionGroup[int]`` is
    ``ExceptionGroup``); only the library's aliases, whose resolution is the library's
    code and gives the same answer when the factory asks again. A refusal after the
    class exists comes too late: the program's hooks (``__init_subclass__``, a
    descriptor's ``__set_name__``) have already seen the class and can keep it."""
    given = builtins.tuple(cast("Iterable[object]", bases))
    for base in given:
        if not isinstance(base, builtins.type) and is_user_class(builtins.type(base)):
            raise refused("the bases of a class may be classes or the library's aliases, not the program's objects")
    resolved = types.resolve_bases(given)
    for base in resolved:
        if not isinstance(base, builtins.type):
            # An alias whose origin is an object: the factory would take the object's
            # class as the metaclass and call it with the namespace it is building.
            raise refused("the bases of a class resolve to classes only, not to other objects")
    refuse_metaclass_bases(resolved)
    classes = builtins.tuple(base for base in resolved if isinstance(base, builtins.type))
    if _inherits_a_program_subclasshook(classes) or _becomes_a_protocol(classes):
        _refuse_library_abc_bases(classes)
    return given


#: For each library namespace class (enum's _EnumDict), its subclass that stores the
#: compiler's temporaries as a plain dict would (see _temporaries_kept_apart).
_NAMESPACES_KEEPING_TEMPORARIES_APART: dict[type, type] = {}


def _temporaries_kept_apart(namespace: Mapping[str, object]) -> Mapping[str, object]:
    """A library metaclass's class namespace (``EnumType.__prepare__``'s ``_EnumDict``),
    made to store the compiler's temporaries without its own ``__setitem__``.

    A temporary holds a value before the membrane has seen it (a loop's, a ``with``'s, a
    match capture's, an import's: the policy binds the real name from it only once it is
    admitted). In a class body the temporary is a store into the namespace, and a library
    namespace acts on what it is given: ``_EnumDict`` made every temporary a member and
    kept its raw value in ``_last_values``, which reaches the program's
    ``_generate_next_value_``. Through this subclass the library's ``__setitem__`` sees
    only the names the program wrote, with admitted values."""
    kind: Any = builtins.type(namespace)
    if not isinstance(namespace, dict):
        raise refused(f"a class namespace of type {kind.__name__} is not supported in the sandbox")
    keeping: Any = _NAMESPACES_KEEPING_TEMPORARIES_APART.get(kind)
    if keeping is None:
        library_setitem = kind.__setitem__
        library_getitem = kind.__getitem__

        def __setitem__(self: dict[str, object], key: str, value: object) -> None:
            if builtins.type(key) is str and is_temporary(key):
                dict.__setitem__(self, key, value)
            else:
                library_setitem(self, key, value)

        def __getitem__(self: dict[str, object], key: str) -> object:
            # The class body reads names from here (LOAD_NAME), and what the metaclass
            # put in before the body ran is the library's (EnumType.__prepare__ stores the
            # base's _generate_next_value_, a library method): admitted as any value the
            # program reads, until the body binds the name itself.
            value = library_getitem(self, key)
            prepared = vars(self).get(_PREPARED_ENTRIES)
            if prepared is not None and prepared.get(key, _MISSING) is value:
                return admit(value)
            return value

        keeping = builtins.type(
            kind.__name__,
            (kind,),
            {"__setitem__": __setitem__, "__getitem__": __getitem__, "__module__": kind.__module__},
        )
        _NAMESPACES_KEEPING_TEMPORARIES_APART[kind] = keeping
    kept: dict[str, object] = keeping.__new__(keeping)
    dict.update(kept, namespace)
    state = getattr(namespace, "__dict__", None)
    if state is not None:
        vars(kept).update(state)
    vars(kept)[_PREPARED_ENTRIES] = dict(namespace)
    return kept


#: Where a namespace the class factory made keeps what the library metaclass's __prepare__
#: put in it (an attribute of the namespace object, which only the sandbox reaches).
_PREPARED_ENTRIES = "__sandbox_prepared_entries__"


#: The class keywords a library metaclass itself reads, with the values each may take
#: (compared by identity). EnumType asks ``boundary or ...`` before ``type.__new__`` and
#: _TypedDictMeta ``if total`` while it fills the class: any other object would run code
#: there, also a library one around the program's (``ChainMap(obj).__bool__``).
_METACLASS_OPTIONS: dict[type, dict[str, tuple[object, ...]]] = {
    enum.EnumType: {"boundary": (None, *enum.FlagBoundary)},
    typing._TypedDictMeta: {"total": (True, False)},  # type: ignore[attr-defined]  # noqa: SLF001
}


def _library_metaclass_option(metaclass: type, keyword: str, value: object) -> None:
    for owner, options in _METACLASS_OPTIONS.items():
        allowed = options.get(keyword) if issubclass(metaclass, owner) else None
        if allowed is not None and not any(value is choice for choice in allowed):
            choices = ", ".join(repr(choice) for choice in allowed)
            raise refused(f"class keyword {keyword!r} takes one of {choices}")


def make_class_factory(user_classes: UserClasses) -> object:
    """The ``__metaclass__`` RestrictedPython puts on every ``class`` statement.

    It delegates to the metaclass Python itself would pick from the bases (so ``Enum``,
    ``ABC`` and friends keep their own ``__prepare__``) and records the new class as the
    program's own, which is what lets the program assign attributes on it.
    """

    class ClassFactory:
        __slots__ = ()

        @staticmethod
        def _winner(bases: tuple[type, ...]) -> type:
            winner: type = builtins.type
            for base in bases:
                meta = builtins.type(base)
                if issubclass(winner, meta):
                    continue
                if issubclass(meta, winner):
                    winner = meta
                    continue
                raise TypeError("metaclass conflict between the bases of this class")
            return winner

        def _metaclass(self, bases: tuple[type, ...], kwargs: dict[str, Any]) -> type:
            """The bases' metaclass, or ``abc.ABCMeta`` where the statement says
            ``metaclass=ABCMeta`` (the policy passes it as ``_metaclass_``): the one
            metaclass a program may name, the older spelling of inheriting ``abc.ABC``."""
            winner = self._winner(bases)
            requested = kwargs.pop("_metaclass_", None)
            if requested is None:
                return winner
            if real_class(requested) is not abc.ABCMeta:
                raise refused(
                    "metaclass= may only be abc.ABCMeta in the sandbox; inherit from a base class instead "
                    "(abc.ABC, enum.Enum, typing.NamedTuple)"
                )
            if issubclass(winner, abc.ABCMeta):
                return winner
            if issubclass(abc.ABCMeta, winner):
                return abc.ABCMeta
            raise TypeError("metaclass conflict between ABCMeta and the bases of this class")

        def __prepare__(self, name: str, bases: tuple[type, ...], **kwargs: Any) -> Mapping[str, object]:
            kwargs = exact_keywords(kwargs)
            namespace = self._metaclass(bases, kwargs).__prepare__(name, bases, **kwargs)
            if builtins.type(namespace) is not dict:
                return _temporaries_kept_apart(namespace)
            for key, value in namespace.items():
                # The body reads these by name, with no guard (a plain dict's LOAD_NAME).
                if admit(value) is not value:
                    raise refused(f"the class namespace prepared for {name} holds {key!r}, a library value")
            return namespace

        def __call__(self, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> type:
            kwargs = exact_keywords(kwargs)
            metaclass = self._metaclass(bases, kwargs)
            for key in [key for key in namespace if isinstance(key, str) and is_temporary(key)]:
                # The compiler's temporaries in a class body (a loop's or a match's):
                # not attributes of the class (nor members of an Enum, which lists them).
                del namespace[key]
                members = getattr(namespace, "_member_names", None)
                if isinstance(members, dict):
                    members.pop(key, None)
            check_class_namespace(namespace)
            refuse_metaclass_bases(bases)
            for scope in (namespace, *_lent_by_program_bases(bases, written_by_the_program=True)):
                library_hooks_overridden_by_defs(scope, bases)
            library_state_not_intercepted(namespace, bases)
            attribute_write_hooks_only_over_the_programs(namespace, bases)
            enum_members_are_not_descriptors(metaclass, namespace, bases)
            enum_member_redirects_are_the_programs(metaclass, namespace, bases)
            _no_field_named_like_a_library_attribute(bases)
            for keyword, value in kwargs.items():
                if keyword.startswith("_"):  # library-internal switches such as typing's _root
                    raise refused(f"class keyword {keyword!r} is not allowed")
                _library_metaclass_option(metaclass, keyword, value)
                if metaclass is not builtins.type and is_user_class(builtins.type(value)):
                    # A library metaclass uses its keywords while it builds the class, after
                    # the checks above (EnumType asks `boundary or ...`): an object of the
                    # program's would run its code in that window.
                    raise refused(
                        f"class keyword {keyword!r}: a library metaclass takes plain values, not the program's objects"
                    )
            if "__match_args__" not in namespace and not _ordinary_names(
                getattr(_probe_mro(bases), "__match_args__", ())
            ):
                namespace["__match_args__"] = ()  # an inherited one with private names, as sanitize_match_args would
            if "__subclasshook__" in namespace or _inherits_a_program_subclasshook(bases) or _becomes_a_protocol(bases):
                _refuse_library_abc_bases(bases)
            _refuse_protocols_beside_library_abcs(bases)
            _fence_getattr(namespace)
            _fence_new(namespace)
            body = {key: value for key, value in namespace.items() if isinstance(key, str)}
            if issubclass(metaclass, abc.ABCMeta):
                # ABCMeta gives the class its registry only after type.__new__ has run the
                # hooks (__set_name__, __init_subclass__): in between, the class answered
                # with its base's, and a hook registered into it (abc.ABC's own) or made a
                # library ABC cache the answer. An empty one of its own from the start,
                # which ABCMeta then replaces.
                namespace["_abc_impl"] = fresh_abc_data()
            token = begin_construction(namespace)
            cls: type | None = None
            try:
                made = metaclass(name, bases, namespace, **kwargs)
                # Every check that can fail runs before the statement counts as finished:
                # a hook that kept the class sees it abandoned otherwise.
                refuse_metaclass(made)
                register_generated_methods(made)  # a Protocol's hook, a NamedTuple's methods
                sanitize_match_args(made)  # also what a NamedTuple/base class put there
                settle_library_names(made, body)
                cls = made
            finally:
                end_construction(token, cls)
                if cls is None:
                    repair_half_built_abcs(bases)
            assert cls is not None
            # Noted from the moment the class existed, its library names were not settled.
            _ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES.clear()
            user_classes.add(cls)
            if not public_library_hooks(cls):  # a native write skips the write guard's names
                _ownership.note_native_attributes(cls)
            _ownership.settle_registrations()  # the ABC registrations its hooks asked for
            return cls

    return ClassFactory()


class _TypeMeta(builtins.type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, builtins.type)

    def __subclasscheck__(cls, sub: builtins.type) -> bool:
        return issubclass(sub, builtins.type)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs:
            # Through the membrane here too: C code may call type() for the program
            # (map(type, ...)) and hand the class on without the program binding it.
            return admit(type_of(args[0]))
        raise TypeError("type() with three arguments is not allowed in the sandbox; use a class statement")


class SandboxType(metaclass=_TypeMeta):
    """``type``: ``type(x)`` and ``isinstance(c, type)`` work; building classes from
    dicts (``type(name, bases, ns)``) would skip the class checks, so it is refused."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass's call is type(x): an existing class, which an alias of the subclass
        # (T[int](x), through another base's __class_getitem__) writes __orig_class__ onto.
        raise TypeError(f"type cannot be subclassed in the sandbox{_METACLASS_ALTERNATIVES}")


#: What a metaclass is usually written for, done without one.
_METACLASS_ALTERNATIVES = (
    ": metaclasses are not available; a registry or a check on subclasses is __init_subclass__, "
    "a singleton is __new__ keeping its instance, and anything else a class decorator"
)


def type_of(obj: object) -> Any:
    """``type(obj)``, except that a metaclass (type, ABCMeta, EnumType ...), whose
    3-argument call builds a class from a dict and skips the class checks, is replaced by
    the sandbox's ``type``, and an instance dict the program holds is a ``dict``."""
    found = builtins.type(obj)
    if found is CheckedInstanceDict:
        return dict
    return SandboxType if issubclass(found, builtins.type) else found


# Shown to programs as the builtin it stands for, not by its module path.
SandboxType.__module__, SandboxType.__name__, SandboxType.__qualname__ = "builtins", "type", "type"


# --------------------------------------------------------------------------- builtins

_SAFE_BUILTIN_NAMES = (
    # values and types
    "None", "True", "False", "Ellipsis", "NotImplemented",
    "bool", "int", "float", "complex", "str", "bytes", "bytearray", "memoryview",
    "list", "tuple", "dict", "set", "frozenset", "range", "slice", "object",
    "property", "staticmethod", "classmethod", "super",
    # functions
    "abs", "all", "any", "ascii", "bin", "callable", "chr", "divmod", "enumerate",
    "filter", "format", "hash", "hex", "id", "isinstance", "issubclass", "iter", "len",
    "map", "max", "min", "next", "oct", "ord", "pow", "repr", "reversed", "round",
    "sorted", "sum", "zip",
)  # fmt: skip
# Deliberately absent: open, compile, globals, locals, input,
# breakpoint, help, exit, quit (they raise SystemExit; a program ends by returning).
# Replaced by guarded versions: __import__, getattr, hasattr, setattr, delattr, type, vars, dir,
# eval and exec (dynamic.py: the program's own rules for its strings).


def _exception_names() -> list[str]:
    return [
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException) and not name.startswith("_")
    ]


def safe_builtins(
    proxies: Mapping[str, ModuleProxy], allowed: frozenset[str], user_classes: UserClasses
) -> dict[str, Any]:
    """The ``__builtins__`` mapping of a user program."""
    table: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_BUILTIN_NAMES}
    table.update({name: getattr(builtins, name) for name in _exception_names()})
    write = make_write_guard(user_classes)
    table.update(
        {
            "__build_class__": builtins.__build_class__,
            "__import__": make_import(proxies, allowed),
            "getattr": _fast_or_python(guarded_getattr, python_guarded_getattr),
            "hasattr": guarded_hasattr,
            "vars": guarded_vars,
            "eval": sandbox_eval,
            "exec": sandbox_exec,
            "compile": sandbox_compile,
            "dir": guarded_dir,
            "setattr": make_setattr(write),
            "delattr": make_delattr(write),
            "type": SandboxType,
            "open": file_system.open,
        }
    )
    return table


def guard_globals(user_classes: UserClasses) -> dict[str, Any]:
    """Every name the RestrictedPython transformer emits, bound explicitly. The guards the
    compiled program calls most are bound in the form it calls fastest (called_form)."""
    getattr_guard = _fast_or_python(guarded_getattr, python_guarded_getattr)
    guards = {
        "_getattr_": called_form(getattr_guard),
        "_getitem_": called_form(_fast_or_python(guarded_getitem, python_guarded_getitem)),
        "_getiter_": guarded_getiter,
        "_iter_unpack_sequence_": unpacked_as_is,
        "_unpack_sequence_": unpacked_as_is,
        "_write_": called_form(make_fast_write_guard(user_classes)),  # C or Python as the job runs
        "_write_attribute_": called_form(
            accelerated_write_attribute(
                PLAIN,
                _ownership.PUBLIC_ATTRIBUTES_WRITABLE,
                make_write_attribute(make_write_guard(user_classes)),
                PLAIN_PRIVATE_NAMES,
                _ownership.PRIVATE_ATTRIBUTES_OF_INSTANCES,
            )
        ),
        "_inplacevar_": guarded_inplacevar,
        "_apply_": guarded_apply,
        "_match_values_": match_values,
        "_match_class_": match_class,
        "__metaclass__": make_class_factory(user_classes),
        # The membrane, for the routes the policy sends through it (membrane.py).
        "_admit_": called_form(_fast_or_python(fast_admit, admitted_at_a_safe_point)),
        "_admit_context_": AdmittedContext,
        "_admit_unchanged_": admit_unchanged,
        "_admit_each_": admit_each,
        "_admit_elements_": admit_elements,
        "_own_kinds_": _ownership.NATIVE_ATTRIBUTE_KINDS,
        "_admit_values_": admit_values,
        "_admit_capture_": admit_capture,
        "_admit_handled_": admit_handled,
        "_yield_from_": delegated_iterator,
        "_admitting_iter_": called_form(_fast_or_python(fast_admitting_iter, admitting_iter)),
        "_type_": builtins.type,
        "_plain_": PLAIN,
    }
    guards.update(native_method_tables(getattr_guard))
    guards["_print_"] = make_print()
    return guards
