"""The membrane: the one check every value passes on its way into the program's reach.

The policy (policy.py) sends every route by which a value can enter the program's
frames through :func:`admit`: attribute and item reads, call results, every name that
iteration or unpacking binds, the parameters of the program's own functions (library
code calls them with values of its own: ``sorted(key=f)``, ``__eq__`` in a library's
cache, ``__exit__``), the exception bound by ``except ... as``, the value bound by
``with ... as``, every capture of a ``match`` pattern, the value of a ``yield``
expression and the result of a decorator. So what the program may hold is decided here, once, by what the value
*is*, whatever route brought it:

* refused: frames, code objects, cells, real modules and module dicts, the real
  builtins the sandbox does not offer (``getattr``, ``eval``, ``__import__`` ...),
  functions and classes of modules outside the allow-list, and instances of such
  classes (an open file, the worker's own streams);
* replaced: a traceback becomes ``None`` (``__exit__`` still gets its three
  arguments); a metaclass (the real ``type``, ``ABCMeta``, ``EnumType``) becomes the
  sandbox's ``type``; the classes whose call turns code into a function or module
  (``FunctionType``, ``CodeType`` ...) become inert stand-ins that answer
  ``isinstance`` and ``__name__`` but refuse to be called;
* everything else passes: plain values, the program's own objects, the members of the
  allow-listed modules and what they build.

The decision for a *type* whose instances are never capabilities is made once and
remembered in :data:`PLAIN`, so the common case costs one set lookup.
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import csv
import dataclasses
import datetime
import difflib
import enum
import functools
import gc
import io
import ipaddress
import itertools
import json
import operator
import pprint
import re
import struct
import sys
import types
import typing
import weakref
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, cast

from ..language.names import (
    BUFFER_WRITING_METHOD_NAMES,
    CHECKED_C_METHOD_NAMES,
    CLASS_HOOKS,
    DEFINABLE_METHODS,
    OPERATOR_METHODS,
    REFUSED_C_METHOD_NAMES,
    is_dunder,
)
from ..language.policy import SOURCE_FILENAME
from .buffers import checked_method as checked_buffer_method
from .buffers import checked_unbound as checked_unbound_buffer_method
from .fastguards import guard_type, plain_throughout_check
from .formatting import OFFERED_FUNCTIONS as FORMATTING_FUNCTIONS
from .formatting import wrap_format
from .instance_rules import rule as rule_attributes
from .proxies import TABLE_TYPES, ModuleProxy, TableCopies
from .refusal import SecurityError, refused
from .stand_ins import STAND_IN_METACLASS_IDS, STANDS_FOR, stand_in

#: What each UnboundMethod and ClosureCell holds, by the object (weakly): not in slots,
#: which object.__setattr__ could rewrite (a dataclass __init__ run on a foreign self did).
_HELD: weakref.WeakKeyDictionary[object, tuple[Any, ...]] = weakref.WeakKeyDictionary()


class UnboundMethod:
    """A library class's function held without an instance (``Lib.method``, or
    ``super(Sub, Sub).__init__``): callable only with a first argument whose class has
    ``owner`` in its MRO. With anything else as ``self`` the library's code runs on an
    object it was not written for: ``ChainMap.new_child(ProgramClass, ...)`` evaluates
    ``self.__class__(...)``, the real ``type``; ``JSONEncoder.__init__(a typing alias)``
    writes onto the class the alias stands for; a dataclass's generated ``__init__``
    sets any attribute of any object. What it holds cannot be rewritten (_HELD)."""

    __slots__ = ("__weakref__",)

    def __new__(cls, function: types.FunctionType, owner: type) -> UnboundMethod:
        made = super().__new__(cls)
        _HELD[made] = (function, owner)
        return made

    def __init__(self, *args: object) -> None:
        pass  # set once, by __new__: a second __init__ (from library code) changes nothing

    @property
    def _function(self) -> types.FunctionType:
        return _HELD[self][0]  # type: ignore[no-any-return]

    @property
    def _owner(self) -> type:
        return _HELD[self][1]  # type: ignore[no-any-return]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        function, owner = _HELD[self]
        if not args or owner not in builtins.type(args[0]).__mro__:
            raise refused(
                f"{owner.__name__}.{function.__name__} must be called with an instance of "
                f"{owner.__name__} as its first argument in the sandbox"
            )
        # Called by C code too (map(Lib.method, objects)), with values the program never
        # held: the arguments pass the membrane, as a crossing's do (a library function
        # that stores them, ChainMap.new_child, would keep them unseen), and so does the
        # result (a tuple with what is in it).
        for name, value in kwargs.items():
            if builtins.type(value) not in PLAIN:
                kwargs[name] = admit(value)
        return admitted_result(function(*admitted_arguments(args), **kwargs))

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self if instance is None else types.MethodType(self, instance)

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("a library method cannot be copied in the sandbox")

    def __copy__(self) -> UnboundMethod:
        return self

    def __deepcopy__(self, memo: object) -> UnboundMethod:
        return self

    @property
    def __name__(self) -> str:
        return str(self._function.__name__)

    def __repr__(self) -> str:
        return f"<function {self._function.__qualname__}>"


class ClosureCell:
    """One cell of the program's own function's closure, read-only (``f.__closure__``): a
    real cell is never held (``cell_contents`` can be rebound, and a library function's
    cells hold its internals)."""

    __slots__ = ("__weakref__",)

    def __new__(cls, cell: types.CellType) -> ClosureCell:
        made = super().__new__(cls)
        _HELD[made] = (cell,)
        return made

    def __init__(self, *args: object) -> None:
        pass  # set once, by __new__

    @property
    def cell_contents(self) -> Any:
        return admit(_HELD[self][0].cell_contents)

    def __repr__(self) -> str:
        return "<cell>"

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("a closure cell cannot be copied in the sandbox")  # its state is the real cell

    def __copy__(self) -> ClosureCell:
        return self

    def __deepcopy__(self, memo: object) -> ClosureCell:
        return self


def unbound_through_class(owner: type, classes: Iterable[type], name: str, value: Any) -> Any:
    """``value``, read as ``name`` through the class ``owner`` (found in ``classes``, its
    MRO or the part of it a ``super()`` searches): a library class's function is the
    checked UnboundMethod, a static method or any other value what it is."""
    if builtins.type(value) is not types.FunctionType or value.__code__.co_filename == SOURCE_FILENAME:
        return value
    for klass in classes:
        if name in vars(klass):
            if builtins.type(vars(klass)[name]) is not types.FunctionType:
                return value  # a staticmethod (or a descriptor): no self to check
            break
    return UnboundMethod(value, owner)


class GuardedAlias(types.GenericAlias):
    """``types.GenericAlias`` as the program holds it (``list[int]``, ``C[int]`` through a
    library base's ``__class_getitem__ = classmethod(GenericAlias)``). Calling the C alias
    calls its origin and then sets ``__orig_class__`` with the real setattr on whatever the
    call returned: an origin that returns an existing object (an Enum's ``_missing_``, a
    function such as ``typing.cast``) made the interpreter write onto a library object.
    This one writes only onto the program's own objects, and what it derives (a
    subscript, a copy) is a guarded alias too."""

    def __new__(cls, origin: Any, args: Any) -> GuardedAlias:
        # Its instances are plain to the membrane: what one calls passes it here. An alias
        # of the alias class itself forwards names (mro) to this very class.
        if admit(origin) is not origin or (isinstance(origin, type) and issubclass(origin, types.GenericAlias)):
            raise refuse(f"an alias of {getattr(origin, '__name__', 'a value')} that calls it")
        return super().__new__(cls, origin, args)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = cast(Any, self.__origin__)(*args, **kwargs)
        if MEMBRANE.is_program_class(builtins.type(result)):
            with contextlib.suppress(AttributeError, TypeError):
                result.__orig_class__ = self
        return result

    def __getitem__(self, item: Any) -> Any:
        derived = super().__getitem__(item)
        if builtins.type(derived) is types.GenericAlias:
            return GuardedAlias(derived.__origin__, derived.__args__)
        return derived

    def __reduce__(self) -> Any:
        return GuardedAlias, (self.__origin__, self.__args__)

    def __getattribute__(self, name: str) -> Any:
        # The C alias forwards every other name to its origin with the real getattr: library
        # code reading a method off an alias the program passed it (difflib's
        # `line.encode(...)`) got the class's plain function, to run on its own first
        # argument as `self`.
        value = super().__getattribute__(name)
        origin = types.GenericAlias.__dict__["__origin__"].__get__(self)
        if isinstance(origin, type) and name not in _ALIAS_OWN_NAMES:
            return unbound_through_class(origin, origin.__mro__, name, value)
        return value

    def __iter__(self) -> Any:
        # The C alias yields a starred alias of the exact C class, outside this one's
        # rules (`(*alias,)`, `map(operator.call, alias, ...)`): the unpacking of
        # TypeVarTuple, which programs here have no use for.
        raise TypeError("a generic alias cannot be unpacked in the sandbox")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        raise TypeError("GenericAlias cannot be subclassed in the sandbox")


#: What the C alias answers itself (Objects/genericaliasobject.c, attr_exceptions): every
#: other name it reads on its origin.
_ALIAS_OWN_NAMES = frozenset(
    {
        "__class__", "__origin__", "__args__", "__unpacked__", "__parameters__",
        "__typing_unpacked_tuple_args__", "__mro_entries__", "__reduce_ex__", "__reduce__",
        "__copy__", "__deepcopy__",
    }
)  # fmt: skip

#: The sandbox's own classes whose instances the program holds (print, compile()'s
#: result, vars() of a class, an alias of a generic): judged by identity, never by the
#: module they show, which is a library's (pass 88: judged by it, each passed as a library
#: class the program could call and subclass).
SANDBOX_CLASSES: set[type] = set()


def shown_as(cls: type, module: str, name: str | None = None) -> None:
    """``cls``, the sandbox's, is shown as ``module.name`` (never by the sandbox's module
    path); the membrane hands the program an inert stand-in for the class itself."""
    cls.__module__ = module
    if name is not None:
        cls.__name__ = cls.__qualname__ = name
    SANDBOX_CLASSES.add(cls)


# Shown as the class it stands in for, and callable as it (types.GenericAlias(list, int)):
# its __new__ admits the origin, so it is not one of SANDBOX_CLASSES.
GuardedAlias.__module__, GuardedAlias.__name__, GuardedAlias.__qualname__ = "types", "GenericAlias", "GenericAlias"


# --------------------------------------------------------------------------- vocabulary

#: The name of the job's write guard in every namespace its code runs in (policy.py).
_NAMESPACE_MARK = "_write_"
#: No job yet: nothing is the mark.
_NO_MARK = object()

#: Types whose instances are never capabilities, whatever they hold (their contents are
#: checked when read out). Grows as library types are judged and program classes made.
PLAIN: set[type] = {
    int, float, complex, bool, str, bytes, bytearray, memoryview, type(None), type(Ellipsis),
    type(NotImplemented), list, tuple, set, frozenset, range, slice, super, object,
    type(iter([])), type(iter(())), type(iter("")), type(iter(range(0))), type(iter(set())),
    type({}.keys()), type({}.values()), type({}.items()),
    type(iter({})), type(iter({}.values())), type(iter({}.items())),
    enumerate, zip, reversed, type(reversed([])), UnboundMethod, ClosureCell, GuardedAlias,
    types.GeneratorType, types.SimpleNamespace, types.UnionType,
}  # fmt: skip
_BUILT_IN_PLAIN = frozenset(PLAIN)
#: Exceptions are not plain, though nothing about the object is a capability: library code
#: raises them over whatever it was handling (singledispatch's KeyError(cls) held the real
#: ``type``), and ``args`` is read by routes that see no guard (a ``match`` keyword
#: pattern, ``super(...).args``, an alias forwarding the name). Each exception's args pass
#: the membrane, in place, when the exception is first admitted (_admit_exception).
_BUILTIN_EXCEPTIONS = frozenset(
    v for v in vars(builtins).values() if isinstance(v, type) and issubclass(v, BaseException)
)
_ARGS = BaseException.__dict__["args"]
#: The interpreter's builtins as a namespace holds them (a module's __builtins__ entry).
_REAL_BUILTINS_DICT = vars(builtins)
#: Exception attributes besides ``args`` that hold an object library code failed on or
#: returned (a ``match`` keyword pattern reads them with the interpreter's getattr):
#: admitted in place with the exception, a refused one set to None.
_EXCEPTION_OBJECT_FIELDS = {
    AttributeError: ("obj",),
    StopIteration: ("value",),
    StopAsyncIteration: ("value",),
    SystemExit: ("code",),
}
_EXCEPTION_FIELDS: dict[type, tuple[Any, ...]] = {}


#: An exception's own dict (BaseException's descriptor, whatever a subclass defines), and
#: the keys the membrane writes there: the mark of a MemoryError the program has held, and
#: the args tuple it last admitted (a program could copy the key, never the tuple: every
#: route to it passes the membrane, which hands out a copy when it replaces an item).
_EXCEPTION_DICT: Any = vars(BaseException)["__dict__"]
_HELD_MARK = "_sandbox_held_by_the_program"
_ADMITTED_ARGS = "_sandbox_admitted_args"
#: Keys of the sandbox's own in an instance dict, never shown to the program.
SANDBOX_MARKS = frozenset({_HELD_MARK, _ADMITTED_ARGS})


#: Whether the sandbox's collector is freeing the classes the program dropped (inside
#: Membrane.program_classes_released): a class being freed is still the program's for the
#: finalisers that run meanwhile, though its weak references are already cleared; and no
#: cache may take a new strong reference to a class then (it would keep a dying class).
_collecting_classes = [False]
#: The ids of the classes a release took out: the only ones that can die meanwhile (every
#: other class of the program's is held by the tables). A dead entry of another id, one a
#: prune left behind, is never taken for the class now at that address.
_releasing_ids: list[frozenset[int]] = [frozenset()]


def collecting_classes() -> bool:
    return _collecting_classes[0]


#: How many more classes than at the last release of all of them make another worth its walk.
_RELEASE_EVERY = 64

_Value = typing.TypeVar("_Value")


class ClassRegistry(typing.Generic[_Value]):
    """Classes by identity, held weakly, each with a value: a program that makes and drops
    classes in a loop gets their memory back, as in CPython. Keyed by ``id``, never by
    ``==`` (a class's metaclass could answer ``==``). An entry whose class has died stays
    until ``prune``, which runs right after the collection that freed it: until then the
    id is still that class's (its memory is freed only at the end of the collection), and
    a lookup during the collection finds the class being freed."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[type], _Value]] = {}

    def set(self, cls: type, value: _Value) -> None:
        self._entries[id(cls)] = (weakref.ref(cls), value)

    def lookup(self, cls: object) -> tuple[bool, _Value | None]:
        entry = self._entries.get(id(cls))
        if entry is None:
            return False, None
        alive = entry[0]()
        if alive is cls or (alive is None and _collecting_classes[0] and id(cls) in _releasing_ids[0]):
            return True, entry[1]
        return False, None

    def __contains__(self, cls: object) -> bool:
        return self.lookup(cls)[0]

    def discard(self, cls: type) -> None:
        if cls in self:
            del self._entries[id(cls)]

    def alive(self) -> list[tuple[int, weakref.ref[type]]]:
        return [(key, ref) for key, (ref, _) in self._entries.items() if ref() is not None]

    def prune(self, keys: Iterable[int] | None = None) -> None:
        """Drop the entries whose class has died: all, or those under ``keys``."""
        entries = self._entries
        for key in list(entries) if keys is None else keys:
            entry = entries.get(key)
            if entry is not None and entry[0]() is None:
                del entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def _exception_fields(kind: type) -> tuple[Any, ...]:
    """The C descriptors of those fields for exceptions of ``kind`` (a subclass's
    property of the same name is not what library code set)."""
    fields = builtins.tuple(
        vars(klass)[name]
        for klass, names in _EXCEPTION_OBJECT_FIELDS.items()
        if issubclass(kind, klass)
        for name in names
    )
    if not _collecting_classes[0]:
        _EXCEPTION_FIELDS[kind] = fields
    return fields


#: The sandbox's own container types, plain as the builtin ones (plain_by_construction).
_SANDBOX_PLAIN: set[type] = set()


def plain_by_construction(cls: type) -> type:
    """Mark a container type of the sandbox's own as plain: its contents are checked
    when read, as a dict's are. Usable as a class decorator."""
    _SANDBOX_PLAIN.add(cls)
    PLAIN.add(cls)
    return cls


#: Library classes whose instances their library trusts as its own records: a program
#: subclass could make an attribute say anything (a Field subclass with a ``name``
#: property put any text into the source dataclasses compiles with exec()). Checked
#: wherever a class becomes the program's, however it was built (a class statement,
#: Enum(..., type=Field), make_dataclass(bases=...)).
#: BaseExceptionGroup: ``except*`` calls a group's ``split`` and trusts what it returns;
#: on CPython 3.11 a subclass's split that returns a non-group confuses the interpreter's
#: types (gh-128049) into memory corruption, and a non-exception becomes the handled one.
#: functools.cached_property, enum.property (a DynamicClassAttribute): their __get__ is the
#: library's code, reading and writing an instance dict by a name a subclass's instance
#: holds (a copy hook under "__deepcopy__", any object's dict through cp.__get__(obj)).
#: struct.Struct: a subclass could run __init__ again on a live object, and the C code of
#: an iterator or a pack in progress then read freed memory. zoneinfo.ZoneInfo: its
#: __init_subclass__ puts _weak_cache in the subclass (so the program may replace it), and
#: the C code trusts what that cache returns (a bytes object became a ZoneInfo).
#: super: the guards read a super object's __thisclass__ and __self_class__ to decide
#: what it resolves to; a subclass (with a library base) answered them as it liked.
#: classmethod, staticmethod: the membrane checks what an exact one wraps (a classmethod
#: runs the wrapped object's __get__ with the class as the instance); a subclass's
#: instances would be the program's, which it does not look into.
#: functools.partialmethod, singledispatchmethod: their __get__ calls the __get__ of what
#: they hold with any instance; a subclass's instances are the program's, whose
#: ``func`` it could set to a library descriptor.
#: types.GenericAlias: its C attribute lookup forwards almost every name to the alias's
#: origin, so on a subclass's instance (the program's own object, to the guards) a hook
#: or a private name was looked up on any library object the program chose.
#: ipaddress's addresses, networks and interfaces: is_private, is_global and the netmask
#: are cached per function for the whole worker, keyed by the object; a subclass that
#: hashed and compared as another address filed a library answer under it.
FINAL_LIBRARY_CLASSES = frozenset(
    {dataclasses.Field, BaseExceptionGroup, functools.cached_property, enum.property, types.DynamicClassAttribute,
     # Holders judged by their instance dict: a subclass with __slots__ would hide the value.
     enum.member, enum.nonmember, enum.auto, contextlib.closing, contextlib.nullcontext,
     struct.Struct, zoneinfo.ZoneInfo, classmethod, staticmethod, super, types.GenericAlias,
     functools.partialmethod, functools.singledispatchmethod, ipaddress._IPAddressBase}  # noqa: SLF001
)  # fmt: skip


def _all_subclasses(roots: Iterable[type]) -> set[type]:
    found: set[type] = set()
    pending = list(roots)
    while pending:
        for sub in builtins.type.__dict__["__subclasses__"](pending.pop()):
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    return found


#: Library functions judged safe to hold (held here, so no id is ever reused): a method
#: bound to an object the program holds, whose function is in here, needs no other check.
APPROVED_FUNCTIONS: set[types.FunctionType] = set()

#: The crossing of each library function the program reads as a method of an object it
#: holds (``rng.randint``): made once, bound to each instance as the method was. Filled
#: by crossing.method_crossing for approved functions only; the C attribute guard answers
#: from it (fastguards.py).
METHOD_CROSSINGS: dict[types.FunctionType, Callable[..., Any]] = {}

#: The functions defined in the body of a class the sandbox offers (and the accessors of
#: its properties), with that class: held unbound, each is an UnboundMethod.
METHOD_OWNERS: dict[types.FunctionType, type] = {}

#: The functions a library generated for a class of the program's (a dataclass's
#: ``__init__``/``__repr__``/comparisons, a namedtuple's methods, a Protocol's hook), with
#: that class, weakly both ways: held without its instance, each is an UnboundMethod,
#: whatever route brought it (a class's namespace, a Formatter field, C code). Their
#: code's qualified name is a closure's, and their globals the program's module.
GENERATED_METHOD_OWNERS: weakref.WeakKeyDictionary[types.FunctionType, weakref.ref[type]] = weakref.WeakKeyDictionary()
#: A library function with one of these code names writes any attribute of its ``self``
#: (a frozen dataclass's ``__setattr__`` ends in ``object.__setattr__``): never held, on
#: any route; the guards hand out a checked call of it (guards._library_attribute_hook).
_ATTRIBUTE_WRITERS = frozenset({"__setattr__", "__delattr__"})


#: The metaclasses that exist before a program runs (type's subclasses, by id, each held
#: alive by its place in the tree), and the sandbox's stand-ins' (stand_ins.py adds them):
#: no program can make one (type cannot be subclassed), so any other is refused.
_KNOWN_METACLASS_IDS: set[int] = STAND_IN_METACLASS_IDS


def _note_known_metaclasses() -> None:
    pending = [builtins.type]
    while pending:
        metaclass = pending.pop()
        if id(metaclass) not in _KNOWN_METACLASS_IDS:
            _KNOWN_METACLASS_IDS.add(id(metaclass))
            _KNOWN_METACLASSES.append(metaclass)
        pending.extend(builtins.type.__dict__["__subclasses__"](metaclass))


#: What keeps each noted metaclass alive, so that its id stays its own.
_KNOWN_METACLASSES: list[type] = []


def register_generated_methods(cls: type) -> None:
    """Note every function a library put in the program's class ``cls`` (its own dict)."""
    for value in list(builtins.type.__dict__["__dict__"].__get__(cls).values()):
        function = value.__func__ if builtins.type(value) in (classmethod, staticmethod) else value
        if builtins.type(function) is types.FunctionType and function.__code__.co_filename != SOURCE_FILENAME:
            # The latest class it is put in (dataclass(slots=True) copies them into the
            # class it rebuilds).
            GENERATED_METHOD_OWNERS[function] = weakref.ref(cls)


#: ids of every value the sandbox offers (kept alive by the membrane).
OFFERED_IDS: set[int] = set()

#: The C modules whose classes are an allowed module's own, though nothing the catalogue
#: offers is of them (struct's functions are offered as guarded replacements, deque is
#: collections'): ``struct.iter_unpack`` returns a ``_struct.unpack_iterator``,
#: ``reversed(deque)`` a ``_collections._deque_reverse_iterator``. Classes only: the
#: module's functions stay refused unless offered, and an internal class is not callable.
_C_HALVES = {"struct": "_struct", "collections": "_collections", "re": "_sre"}

#: Methods of offered C classes no route hands out (language/names.py
#: REFUSED_C_METHOD_NAMES says why), by name, with the classes they are refused on.
_REFUSED_C_METHODS: dict[str, tuple[type, ...]] = {"from_file": (zoneinfo.ZoneInfo,)}
assert _REFUSED_C_METHODS.keys() == REFUSED_C_METHOD_NAMES
#: name -> (the classes whose C method it is, the class its argument must be an instance of).
_CHECKED_C_METHODS: dict[str, tuple[tuple[type, ...], type]] = {
    name: ((zoneinfo.ZoneInfo,), datetime.datetime) for name in ("utcoffset", "dst", "tzname", "fromutc")
}
assert _CHECKED_C_METHODS.keys() == CHECKED_C_METHOD_NAMES


def _checked_c_method(method: Any, name: str, argument: type) -> Callable[..., Any]:
    """``method`` (a C method, bound or not), callable only with an ``argument`` instance
    (or None, where the method takes it) as its datetime."""

    def checked(*args: Any) -> Any:
        value = args[-1] if args else None
        if not (isinstance(value, argument) or (value is None and name != "fromutc")):
            raise TypeError(f"{name}() argument must be a {argument.__name__} in the sandbox")
        return method(*args)

    checked.__name__ = name  # its qualified name stays the closure's: the membrane approves it by that
    checked.__doc__ = method.__doc__
    return checked


#: The base of every typing alias (List[int], Annotated[f, m], a Generic class's C[int]).
_TYPING_ALIAS: type = typing._BaseGenericAlias  # type: ignore[attr-defined]  # noqa: SLF001

#: Never held by the program, whatever route brings them.
_REFUSED_INSTANCES: dict[type, str] = {
    types.FrameType: "a frame",
    types.CodeType: "a code object",
    types.CellType: "a closure cell",
    types.ModuleType: "a real module",
    # The placeholder EnumType puts under a member's name until type.__new__ makes the
    # member: its __set_name__, run from another class, makes a member (and its redirect)
    # under a name that class's member checks never saw.
    enum._proto_member: "an enum member that is still being made",  # type: ignore[attr-defined]  # noqa: SLF001
}


#: Those of them a class can derive from: their subclasses' instances are refused too.
_REFUSED_BASES: tuple[type, ...] = tuple(kind for kind in _REFUSED_INSTANCES if kind.__flags__ & (1 << 10))


#: Library objects that hand what they hold to other code later, past the membrane (a
#: call runs it; __set_name__ or a class namespace takes it out): never judged once for
#: all their instances (PLAIN), each is admitted only if what it holds would be.
def _partial_fields(p: Any) -> tuple[Any, ...]:
    """What a partial calls, and with what, read from its C fields through partial's own
    descriptors: on a subclass, class attributes named ``func``/``args``/``keywords``
    would shadow them for an ordinary lookup while a call runs the real fields."""
    kind = vars(functools.partial)
    keywords = kind["keywords"].__get__(p)
    # Its own attributes too: it calls nothing from them, but copy and update_wrapper hand
    # them on, and partialmethod.__get__ stores there what a descriptor's result was bound
    # to (result.__self__ = new_func.__self__: a builtin's real module).
    own = kind["__dict__"].__get__(p)
    extra = dict.values(own) if builtins.type(own) is dict else ()
    return (kind["func"].__get__(p), *kind["args"].__get__(p), *dict.values(keywords), *extra)


def _lru_cache_function_position() -> int | None:
    """Where, among what the collector sees an lru_cache wrapper hold (its C fields, in
    the order of CPython's traverse function), the function it calls is: its
    ``__wrapped__`` is a writable attribute update_wrapper set, not what a call runs.
    None where this interpreter lays the fields out otherwise."""

    def probe() -> None:
        return None

    wrapper = functools.lru_cache(maxsize=None)(probe)
    wrapper()  # a cached result too: its entries come before the fields
    held = gc.get_referents(wrapper)
    found = [index - len(held) for index, value in enumerate(held) if value is probe]
    return found[0] if len(found) == 1 else None


_LRU_FUNCTION_POSITION = _lru_cache_function_position()


def _lru_cache_callables(wrapper: Any) -> tuple[Any, ...]:
    """What an lru_cache wrapper calls: the function in its C field, and its
    ``__wrapped__`` too (where the field cannot be told apart, that alone)."""
    # Read from its dict: a wrapper the program made from the class itself (reached as
    # the type of an offered one) has no __wrapped__, and a failed read must not decide.
    own = getattr(wrapper, "__dict__", None)
    wrapped = own.get("__wrapped__") if builtins.type(own) is dict else None
    if _LRU_FUNCTION_POSITION is None:
        return (wrapped,)
    return (gc.get_referents(wrapper)[_LRU_FUNCTION_POSITION], wrapped)


def _slots(kind: type, *names: str) -> Callable[[Any], tuple[Any, ...]]:
    """What ``kind``'s own slot descriptors hold: a subclass's attribute of the same name
    would shadow them for an ordinary lookup, not for the library code that uses them."""
    descriptors = [vars(kind)[name] for name in names]
    return lambda held: tuple(descriptor.__get__(held) for descriptor in descriptors)


def _instance_fields(*names: str) -> Callable[[Any], tuple[Any, ...]]:
    """What an instance holds under ``names`` (where the library's __init__ put them): in
    its dict, and in a slot of that name a subclass may have declared (the library's
    ``self.isjunk = isjunk`` then stores there, where a look at the dict alone never
    finds it)."""

    def fields(held: Any) -> tuple[Any, ...]:
        own = getattr(held, "__dict__", None)
        found = [own[name] for name in names if name in own] if builtins.type(own) is dict else []
        for klass in builtins.type.__dict__["__mro__"].__get__(builtins.type(held)):
            for name in names:
                slot = vars(klass).get(name)
                if builtins.type(slot) is types.MemberDescriptorType:
                    with contextlib.suppress(AttributeError):  # an empty slot
                        found.append(slot.__get__(held))
        return tuple(found)

    return fields


_CALLABLE_HOLDERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {
    functools.partial: _partial_fields,
    # Final: no subclass; its fields are plain attributes of its own instance dict.
    functools.partialmethod: lambda p: (p.func, *p.args, *p.keywords.values()),
    builtins.type(functools.lru_cache()(lambda: None)): _lru_cache_callables,
    # Field.__set_name__ hands its default to the default's own __set_name__ (an enum
    # member placeholder made a member in another class); the generated __init__ uses both.
    dataclasses.Field: _slots(dataclasses.Field, "default", "default_factory"),
    # A class namespace unwraps these into the class as they are.
    enum.member: _instance_fields("value"),
    enum.nonmember: _instance_fields("value"),
    # Called with the instance on first read; the accessors of a DynamicClassAttribute
    # (enum.property) are called by its __get__/__set__.
    functools.cached_property: _instance_fields("func"),
    types.DynamicClassAttribute: _instance_fields("fget", "fset", "fdel"),
    # EnumType unwraps auto's value as it unwraps member's.
    enum.auto: _instance_fields("value"),
    # cmp_to_key's wrapper and the keys it makes call what they hold (C fields: what the
    # collector sees them hold, their own class first).
    builtins.type(functools.cmp_to_key(operator.sub)): lambda key: tuple(gc.get_referents(key))[1:],
    functools.singledispatchmethod: _instance_fields("func", "dispatcher"),
    # A subclass of property (abc.abstractproperty, the program's): its __get__ calls the
    # accessors. property itself is judged before this table (MEMBRANE._property).
    property: _slots(property, "fget", "fset", "fdel"),
    contextlib.closing: _instance_fields("thing"),
    contextlib.nullcontext: _instance_fields("enter_result"),
    # Library objects that keep a callable (or an object whose methods they call) from
    # their constructor and call it later: C code constructs them positionally
    # (map(difflib.Differ, fs, gs)) from values no guard has seen.
    difflib.SequenceMatcher: _instance_fields("isjunk"),
    difflib.Differ: _instance_fields("linejunk", "charjunk"),
    difflib.HtmlDiff: _instance_fields("_linejunk", "_charjunk"),
    json.JSONDecoder: _instance_fields(
        "object_hook", "object_pairs_hook", "parse_float", "parse_int", "parse_constant"
    ),
    json.JSONEncoder: _instance_fields("default"),
    # Calls each action of its lexicon in scan(); a csv writer calls the write method it
    # read off its file (what the collector sees it hold, its dialect besides), and a
    # DictWriter holds such a writer.
    re.Scanner: lambda scanner: tuple(  # type: ignore[attr-defined]  # undocumented, offered
        part for pair in _instance_fields("lexicon")(scanner) for entry in pair for part in entry
    ),
    builtins.type(csv.writer(io.StringIO())): lambda writer: tuple(
        held for held in gc.get_referents(writer) if not isinstance(held, builtins.type)
    ),
    csv.DictWriter: _instance_fields("writer"),
    # Its stream, unless it is the default (sys.stdout when it was made, read-out refused).
    pprint.PrettyPrinter: lambda printer: tuple(s for s in _instance_fields("_stream")(printer) if s is not sys.stdout),
    # Objects that call a function they hold (each step of an iterator, a missing key of a
    # defaultdict): C code builds them over whatever it holds (map(map, [f], ...)). What
    # an iterator holds is what the collector sees it hold; a defaultdict, its factory
    # (its items are read through the guards).
    **dict.fromkeys(
        (
            map,
            filter,
            itertools.starmap,
            itertools.accumulate,
            itertools.groupby,
            itertools.dropwhile,
            itertools.takewhile,
            itertools.filterfalse,
            builtins.type(iter(int, 1)),  # iter(f, sentinel)
        ),
        lambda held: tuple(gc.get_referents(held)),
    ),
    collections.defaultdict: lambda held: (vars(collections.defaultdict)["default_factory"].__get__(held),),
}


def register_holder(kind: type, *slots: str) -> None:
    """A class of the sandbox's own that keeps a callable in ``slots`` and calls it later
    (library_guards' itertools.groupby)."""
    _CALLABLE_HOLDERS[kind] = _slots(kind, *slots)


def _is_constructor(cls: object) -> bool:
    """By identity: ``cls in _CONSTRUCTORS`` compares with ==, which a class's metaclass
    may answer, and hands it each constructor to compare with."""
    return any(cls is constructor for constructor in _CONSTRUCTORS)


def _library_internal_function(function: types.FunctionType) -> bool:
    """A private function defined at a module's top level, outside the program. By its
    code's qualified name: ``__qualname__`` is whatever update_wrapper last copied."""
    name = function.__code__.co_qualname
    return (
        function.__code__.co_filename != SOURCE_FILENAME
        and "." not in name
        and name.startswith("_")
        and not name.startswith("__")
    )


def _callable_holder(kind: type) -> Callable[[Any], tuple[Any, ...]] | None:
    for klass in kind.__mro__:
        held = _CALLABLE_HOLDERS.get(klass)
        if held is not None:
            return held
    return None


#: Classes whose call builds a function, code object, module, frame or method from
#: parts: replaced by stand-ins that cannot be called.
_CONSTRUCTORS = (
    types.FunctionType, types.CodeType, types.CellType, types.ModuleType, types.MethodType,
    types.FrameType, types.TracebackType, types.BuiltinFunctionType, types.MappingProxyType,
    types.WrapperDescriptorType, types.MethodWrapperType, types.MethodDescriptorType,
    types.ClassMethodDescriptorType, types.GetSetDescriptorType, types.MemberDescriptorType,
    # list[int] is written, not built: calling the class builds an alias over any callable,
    # whose call sets __orig_class__ on what it returns with the real setattr.
    types.GenericAlias,
    # Objects that take any attribute, dunders included (a copy hook in an instance dict):
    # reached as type(time.get_clock_info(...)) and type(json). Their instances pass.
    types.SimpleNamespace, ModuleProxy,
)  # fmt: skip

#: Values whose verdict depends on the instance, not only on its type.
_DESCRIPTORS = (
    types.WrapperDescriptorType, types.MethodDescriptorType, types.ClassMethodDescriptorType,
    types.GetSetDescriptorType, types.MemberDescriptorType,
)  # fmt: skip


#: Kinds of values that are special methods of built-in types, bound or not.
#: A C method of a heap type defined with METH_METHOD (``re.Pattern.match`` bound): a
#: subclass of builtin_function_or_method that the checks below must treat as one.
BUILTIN_METHOD_TYPE: type = type(re.compile("").match)
_SPECIAL_METHOD_KINDS = frozenset(
    {types.BuiltinFunctionType, BUILTIN_METHOD_TYPE, types.MethodWrapperType, *_DESCRIPTORS}
)


#: Special methods a program may define and call, whose C slots it never holds: the
#: guards hand out their guarded forms (guards._GUARDED_SLOT_METHODS).
_SLOTS_HELD_GUARDED = frozenset({"__setattr__", "__delattr__", "__new__"})


def _unheld_special(name: object) -> bool:
    return (
        type(name) is str
        and is_dunder(name)
        and (name not in DEFINABLE_METHODS or name in CLASS_HOOKS or name in _SLOTS_HELD_GUARDED)
    )


def _defined_in_a_class(function: types.FunctionType) -> bool:
    """``A.method`` or ``A.B.method``: a qualified name with a class in it (a nested
    function's has ``<locals>`` after its enclosing function instead). The code object's
    name, which says where the code was written: ``__qualname__`` is whatever
    ``functools.wraps`` copied onto it (contextmanager's helper for a method ``C.m``)."""
    outer, _, _ = function.__code__.co_qualname.rpartition(".")
    return bool(outer) and not outer.endswith("<locals>")


def refuse(what: str) -> SecurityError:
    return refused(
        f"the sandbox refused {what}: frames, code, real modules, the interpreter's builtins and "
        "library internals cannot be held by a program"
    )


def _sealed_operator(function: types.FunctionType) -> types.FunctionType:
    """``function``, with its operands and its result passed through the membrane. The
    interpreter hands an operator's result to the program directly; a library's Python
    operator may return what an overridable hook gave it (``Set.__or__`` returns
    ``self._from_iterable(...)``). Its operands come from C code too: library code that
    compares what it holds with the program's value (``Type[int] == Annotated[u, 0]``
    compares the real ``type`` with ``u``) runs the reflected operator, and
    ``UserList.__eq__`` passes ``other`` on to a hook of the subclass."""

    if function.__name__ in _RESULT_ONLY:

        def operator(*args: Any, **kwargs: Any) -> Any:
            # The value itself, and a tuple's own elements: these mostly hand back what the
            # program stored (UserList's item, ChainMap's value), and a walk into every
            # list a record holds made iterating a UserList of records quadratic.
            return _admitted_shallow(function(*args, **kwargs))

    elif function.__name__ == "__call__":

        def operator(*args: Any, **kwargs: Any) -> Any:
            # What C code calls it with (map(cm, values): ContextDecorator keeps it to call
            # later), not the object called nor what the call makes (a library's own
            # generic class called through its alias, Ruler[T](), is the library's).
            if kwargs:
                admit_values(kwargs)
            return function(args[0], *admitted_arguments(args[1:]), **kwargs)

    else:

        def operator(*args: Any, **kwargs: Any) -> Any:
            return admitted_result(function(*admitted_arguments(args), **kwargs))

    operator.__name__ = function.__name__
    operator.__qualname__ = function.__qualname__
    operator.__module__ = function.__module__
    operator.__doc__ = function.__doc__
    return operator  # type: ignore[return-value]


#: Each sealed operator, with the library function it wraps.
SEALED_OPERATORS: dict[types.FunctionType, types.FunctionType] = {}

#: Special methods besides the operators whose result the interpreter hands to C code
#: when C code uses the object (``dict(m)`` subscripts ``m``, ``next(it)``, ``map(obj,
#: ...)`` calls it): sealed as the operators are, since the program's own subscript or
#: call would admit what they return and C code's does not. (A library ``__iter__``
#: yields what these give it, or the program's own values.)
_SLOT_METHODS = frozenset({"__getitem__", "__missing__", "__call__", "__next__"})
#: Of those, the ones whose arguments are a key or nothing: only what they return passes
#: the membrane (library code subscripts its own aliases with its own classes,
#: ``Iterable[Sample]``, in whatever process the membrane is configured).
_RESULT_ONLY = frozenset({"__getitem__", "__missing__", "__next__"})


def _claims_nothing(cls: type) -> bool:
    return False


# --------------------------------------------------------------------------- the membrane


#: Replaced classes whose instances library code still makes and hands out (itertools'
#: C chain, which Counter.elements returns): library_guards names them.
_INSTANCES_STILL_MADE: set[type] = set()


#: Classes whose instances pass only if the sandbox made them for the program (the files
#: its open() returns): the worker's own objects of the same classes never do.
_MADE_BY_THE_SANDBOX: dict[type, weakref.WeakSet[Any]] = {}


def only_instances_made_by_the_sandbox(*classes: type) -> None:
    """Instances of ``classes`` pass only once :func:`made_by_the_sandbox` noted them;
    the classes themselves are inert stand-ins."""
    instances_still_made(*classes)
    for cls in classes:
        _MADE_BY_THE_SANDBOX.setdefault(cls, weakref.WeakSet())


def made_by_the_sandbox(value: Any) -> Any:
    """Note ``value`` (of a class declared above) as the program's to hold; returns it.
    A value of another class is refused here."""
    made = _MADE_BY_THE_SANDBOX.get(builtins.type(value))
    if made is None:
        raise refuse(f"a {builtins.type(value).__name__}, which the sandbox does not hand out")
    made.add(value)
    return value


def made_objects(cls: type) -> list[Any]:
    """The live instances of ``cls`` the sandbox made for the program."""
    return list(_MADE_BY_THE_SANDBOX.get(cls, ()))


def instances_still_made(*classes: type) -> None:
    _INSTANCES_STILL_MADE.update(classes)


#: A class's own ``__module__`` (type's descriptor: a metaclass cannot answer for it).
_MODULE: Any = vars(builtins.type)["__module__"]

#: The verdict on a class whose class statement failed (ownership.construction_failed),
#: made once: a program that fills its memory must not make the refusal fail.
_FAILED_STATEMENT = refuse("a class whose class statement failed (its metaclass never finished it)")


class Membrane:
    """What the program may hold, given the allow-listed modules' members.

    Built once in the template from the module proxies and the safe builtins; nothing
    in it is per job except the program's classes, which :meth:`add_program_class` marks
    plain as they are made (a worker runs one job, so nothing leaks between jobs)."""

    def __init__(self) -> None:
        #: Until configured, nothing but PLAIN values passes.
        self._sandbox_type: type = builtins.type
        self._library_final_subclasses: frozenset[type] = frozenset()
        #: Every value the sandbox itself offers (builtins table, module proxies' members)
        #: and the classes of each, by identity.
        self._offered_ids: set[int] = set()
        self._offered: list[object] = []  # keeps the ids above meaningful
        #: Of those classes, the ones the catalogue names (and their bases), and the ones
        #: offered only as the class of an offered value (typing.Union's _SpecialForm).
        self._named_classes: set[int] = set()
        self._instance_classes: set[int] = set()
        #: Modules whose classes (and instances of them) the program may hold: the
        #: allowed modules, their submodules, and the C modules behind their functions.
        self._roots: frozenset[str] = frozenset()
        self._class_modules: set[str] = set()
        #: ids of the globals dicts whose functions the program may hold.
        self._function_globals: set[int] = set()
        self._class_verdicts: dict[type, object] = {}
        #: Classes whose statement failed after a hook had seen them (abandon_program_class).
        self._failed_classes: ClassRegistry[None] = ClassRegistry()
        #: id -> class: exception classes found to have instances the program may hold
        #: (each instance's args are still admitted): the next one skips the class rules.
        self._exception_kinds: dict[int, type] = {}
        self._module_dicts: set[int] = set()
        self._module_dict_refs: list[dict[str, Any]] = []
        self._modules_seen = -1
        #: The running program's own globals and builtins table: the guards are names in
        #: them, so holding one would let a program replace a guard.
        self._namespaces: set[int] = set()
        self._namespace_mark: object = _NO_MARK
        self._namespace_refs: tuple[dict[str, Any], ...] = ()
        self._builtins_tables: set[int] = set()
        #: Classes whose Python operators are sealed (held: a class is never freed anyway).
        self._sealed_classes: set[type] = set()
        #: The running program's own classes (a worker runs one job), weakly; and how many
        #: entries the registry had after the last release of dropped classes.
        self._program_classes: ClassRegistry[None] = ClassRegistry()
        self._released_at = 0
        #: Library classes judged during the job (weakly): released with the collections
        #: (library_classes_released) once this many more were judged.
        self._judged_in_job: list[weakref.ref[type]] = []
        self._judged_release_at = _RELEASE_EVERY
        self._job_running = False
        #: (code, id of its module's dict) of the library functions approved: both live as
        #: long as the process.
        self._approved_code: set[tuple[types.CodeType, int]] = set()
        self._main_namespace: dict[str, Any] | None = None
        #: ids of the holders whose fields are being admitted (a holder may hold itself).
        self._holders_judged: set[int] = set()
        #: The classes made since the last release (id, weak reference).
        #: The classes made since the last collection, and those that survived one
        #: collection of the youngest generation since the last of the middle one.
        self._young: list[list[tuple[int, weakref.ref[type]]]] = [[], []]
        self._releasing = 0
        #: Functions of the library's generating (namedtuple's __new__, a dataclass's
        #: __init__) approved since the last release: dropped with their classes.
        self._generated: list[types.FunctionType] = []
        #: The catalogue's refused classes and functions (configure).
        self._refused_members: list[object] = []
        self._refused_ids: set[int] = set()
        #: Makes a class the program's if one of its class statements is building it
        #: (ownership.py; a class reaches __set_name__/__init_subclass__ before the
        #: statement returns it).
        self._claim_being_built: Callable[[type], bool] = _claims_nothing
        self._construction_failed: Callable[[type], bool] = _claims_nothing
        #: Whether a class (or a class of its MRO) is still being built: never granted a
        #: verdict for all its instances (PLAIN, _exception_kinds) until its statement ends,
        #: so a statement cut short (a MemoryError in its cleanup) leaves none behind.
        self._unfinished: Callable[[type], bool] = _claims_nothing

    def configure(
        self, offered: Iterable[object], modules: Iterable[str], sandbox_type: type, refused: Iterable[object] = ()
    ) -> None:
        """Learn what the sandbox offers: once per process, in the template (in-process
        tests configure it again for each set of proxies). ``refused``: the classes and
        functions the catalogue refuses, which stay refused however they are reached
        (``typing.ForwardRef`` as ``type(List['x'].__args__[0])``)."""
        claim, failed, unfinished = self._claim_being_built, self._construction_failed, self._unfinished
        self.__init__()  # type: ignore[misc]  # forget an earlier configuration
        _note_known_metaclasses()  # every library module is imported: its metaclasses exist
        self._claim_being_built, self._construction_failed, self._unfinished = claim, failed, unfinished
        PLAIN.clear()  # in place: the guards hold this very set
        self._exception_kinds.clear()
        PLAIN.update(_BUILT_IN_PLAIN, _SANDBOX_PLAIN)
        APPROVED_FUNCTIONS.clear()
        METHOD_CROSSINGS.clear()
        METHOD_OWNERS.clear()
        OFFERED_IDS.clear()
        self._sandbox_type = sandbox_type
        # The library's own subclasses of final classes (ExceptionGroup, enum.property),
        # which exist before any program runs.
        self._library_final_subclasses = frozenset(_all_subclasses(FINAL_LIBRARY_CLASSES))
        PLAIN.add(ModuleProxy)  # holds only what the catalogue lists, vetted when built
        self._roots = frozenset(modules)
        self._class_modules = {"builtins", "types", "__main__", *self._roots}
        self._class_modules.update(_C_HALVES[root] for root in self._roots if root in _C_HALVES)
        for value in (*offered, *FORMATTING_FUNCTIONS):
            self._learn(value)
        main = sys.modules.get("__main__")
        if main is not None:  # dataclass-generated methods of the program's classes
            self._function_globals.add(id(vars(main)))
            self._main_namespace = vars(main)
        self._add_submodules()
        for value in refused:
            if id(value) in self._offered_ids or not isinstance(value, (type, types.FunctionType)):
                continue  # offered under another name (statistics.sqrt is math.sqrt), or data
            if isinstance(value, type) and value in _INSTANCES_STILL_MADE:
                # Library code hands out its instances (Counter.elements, a C chain): they
                # pass; the class itself is a stand-in the program cannot call.
                message = f"{value.__qualname__}(...) is the library's own: use the module's {value.__name__}"
                self._class_verdicts[value] = stand_in(value, message)
                continue
            if isinstance(value, type) and (
                issubclass(value, builtins.type) or _is_constructor(value) or value.__module__ == "builtins"
            ):
                continue  # re-exports of what the membrane replaces anyway (FunctionType, ABCMeta)
            self._refused_members.append(value)  # held, so the id stays its own
            self._refused_ids.add(id(value))
            if isinstance(value, type):
                self._class_verdicts[value] = refuse(f"{value.__qualname__}, which the catalogue does not offer")

    # ------------------------------------------------------------------ building

    def _offer(self, value: object) -> None:
        self._offered_ids.add(id(value))
        OFFERED_IDS.add(id(value))
        self._offered.append(value)

    def _learn_class(self, cls: type) -> None:
        self._seal_mro(builtins.type(cls))  # the metaclass's operators act on the class
        for klass in cls.__mro__:
            if id(klass) in self._offered_ids:
                continue
            self._offer(klass)
            for member in vars(klass).values():
                if isinstance(member, types.FunctionType):
                    METHOD_OWNERS.setdefault(member, klass)  # an instance method
                elif isinstance(member, property):
                    for accessor in (member.fget, member.fset, member.fdel):
                        if isinstance(accessor, types.FunctionType):
                            METHOD_OWNERS.setdefault(accessor, klass)
                elif not isinstance(member, (staticmethod, classmethod, type, TableCopies)):
                    self._offer(builtins.type(member))  # a descriptor's type (namedtuple's fields)
                function = getattr(member, "__func__", member)
                if isinstance(function, types.FunctionType):
                    # A sealed operator (sealed by an earlier configuration) is judged by
                    # the library function it wraps: its own globals are the membrane's.
                    self._function_globals.add(id(SEALED_OPERATORS.get(function, function).__globals__))
                    APPROVED_FUNCTIONS.add(function)
            self._seal(klass)

    def _seal(self, klass: type) -> None:
        """Seal a library class's own namespace. Done once per class, in the template for
        every class the sandbox offers and when any other library class is first judged (a
        base or metaclass reached only through a value), so by the time the program can
        apply an operator to an instance or read the class, it is sealed:

        * each Python operator method, and each special method whose result C code
          receives (_SLOT_METHODS), is replaced by one whose arguments and result pass the
          membrane (the interpreter's own C operators return new plain values, or the
          result of another operator on their elements);
        * each public table (a list, dict, set or bytearray) is read as a fresh copy."""
        if klass in self._sealed_classes or self.is_program_class(klass):
            return
        self._sealed_classes.add(klass)
        namespace = vars(klass)
        for name, value in list(namespace.items()):
            if builtins.type(value) in TABLE_TYPES and not name.startswith("_"):
                type.__setattr__(klass, name, TableCopies(value))
        # A metaclass's __call__ builds the classes and members the class factory and
        # the enum guards check as they are made, and a typing alias's calls its origin as
        # a class call would: neither is a slot of this rule.
        calls = issubclass(klass, builtins.type) or issubclass(klass, _TYPING_ALIAS)
        names = _SLOT_METHODS - {"__call__"} if calls else _SLOT_METHODS
        for name in OPERATOR_METHODS.union(names).intersection(namespace):
            function = namespace[name]
            if builtins.type(function) is not types.FunctionType or function in SEALED_OPERATORS:
                continue
            if function.__code__.co_filename == SOURCE_FILENAME:
                continue  # the program's own: its results are values it holds
            sealed = _sealed_operator(function)
            SEALED_OPERATORS[sealed] = function
            if self._function(function):
                APPROVED_FUNCTIONS.add(sealed)
            owner = METHOD_OWNERS.get(function)
            if owner is not None:
                METHOD_OWNERS[sealed] = owner
            type.__setattr__(klass, name, sealed)  # past a metaclass's own __setattr__ (Enum's)

    def _seal_mro(self, cls: type) -> None:
        metaclass: type = builtins.type(cls)
        for klass in (*cls.__mro__, *metaclass.__mro__):
            self._seal(klass)  # once per class: _seal remembers

    def _learn(self, value: object) -> None:
        if isinstance(value, type):
            self._named_classes.update(id(klass) for klass in value.__mro__)
            self._learn_class(value)  # offers it, after learning its methods (not before)
            return
        self._instance_classes.update(id(klass) for klass in builtins.type(value).__mro__)
        self._offer(value)
        if isinstance(value, types.FunctionType):
            self._function_globals.add(id(value.__globals__))
        elif isinstance(value, types.BuiltinFunctionType):
            owner = value.__self__
            if isinstance(owner, types.ModuleType):
                self._class_modules.add(owner.__name__)  # _csv for csv.reader's reader objects
            elif owner is not None:
                self._learn_class(owner if isinstance(owner, type) else builtins.type(owner))
        elif not isinstance(value, types.ModuleType):
            self._learn_class(builtins.type(value))

    def _add_submodules(self) -> None:
        """The allowed modules' own submodules (json.decoder, re._parser ...) implement
        the allowed API: their classes and functions are the library's."""
        for name, module in list(sys.modules.items()):
            if name in self._roots or any(name.startswith(root + ".") for root in self._roots):
                self._class_modules.add(name)
                if isinstance(module, types.ModuleType):
                    self._function_globals.add(id(vars(module)))

    def guard_namespace(self, *namespaces: dict[str, Any]) -> None:
        """Refuse these dicts (the running job's globals and its builtins) instead of the
        previous job's. They are held here, so their ids stay theirs: a freed namespace's
        id, reused by a dict of the next job (the template's rehearsal run), refused it."""
        self._namespace_refs = namespaces
        self._namespaces = {id(namespace) for namespace in namespaces}
        # Every namespace the job's code runs in (eval/exec make more, worker/dynamic.py)
        # holds the job's builtins table as __builtins__, and the guards next to it.
        self._builtins_tables = {id(n["__builtins__"]) for n in namespaces if isinstance(n.get("__builtins__"), dict)}
        # The job's write guard, which only the sandbox holds (no builtin is it): any dict
        # that holds it under its name is a namespace the job's code runs in, also one
        # eval/exec made with builtins of the program's own (pass 86, N2; pass 87, F5).
        marks = [n.get(_NAMESPACE_MARK) for n in namespaces]
        self._namespace_mark = next((mark for mark in marks if mark is not None), _NO_MARK)

    def recognize_classes_being_built(
        self, claim: Callable[[type], bool], failed: Callable[[type], bool], unfinished: Callable[[type], bool]
    ) -> None:
        self._claim_being_built = claim
        self._construction_failed = failed
        self._unfinished = unfinished

    def add_program_class(self, cls: type) -> None:
        self._program_classes.set(cls, None)
        self._young[0].append((id(cls), weakref.ref(cls)))
        if _callable_holder(cls) is None and not issubclass(cls, BaseException) and not self._unfinished(cls):
            PLAIN.add(cls)  # a subclass of partial is checked as partial is; an exception's args too
        self._class_verdicts[cls] = cls
        self._seal_mro(cls)  # its library bases' operators, if no value brought them yet

    def abandon_program_class(self, cls: type) -> None:
        """A class whose class statement failed after a hook had seen it: neither it nor
        its instances may be held from now on (its metaclass never finished it)."""
        # The verdict first, and one made in advance: the class's __qualname__ may be a str
        # subclass whose __format__ is the program's, which would run while the class is
        # neither the program's nor judged. Held weakly: a failed class the program drops
        # is freed with what its namespace holds (attack pass 70).
        self._failed_classes.set(cls, None)
        self._class_verdicts.pop(cls, None)
        self._program_classes.discard(cls)
        PLAIN.discard(cls)
        self._exception_kinds.clear()  # it, or a class below it, may be one

    def classes_to_release(self, generation: int) -> list[tuple[int, weakref.ref[type]]] | None:
        """Which of the program's classes to take out of the tables for a collection of
        ``generation`` (program_classes_released), or None. As CPython frees a dropped class
        at the next collection of the generation it has reached, each collection takes out
        the classes of the generations it covers: the youngest, those made since the last
        collection; the middle one, those that survived one; the oldest, every class, once
        the program's classes have doubled since the last time (each such release walks
        them all: a program that keeps its classes pays a constant share per class). A
        class kept in a table meanwhile is never promoted past the collection that could
        free it."""
        self._releasing = generation
        young = self._young[0] if generation == 0 else self._young[0] + self._young[1]
        if generation == 2 and (young or len(self._program_classes) >= 2 * self._released_at + _RELEASE_EVERY):
            return self._program_classes.alive()
        alive = [(key, ref) for key, ref in young if ref() is not None]
        return alive or None

    @contextlib.contextmanager
    def program_classes_released(self, classes: list[tuple[int, weakref.ref[type]]]) -> Iterator[None]:
        """Run a collection (the body) with ``classes`` out of the membrane's own tables, so
        one the program no longer holds is freed with everything it holds; those still
        alive are put back after it (the youngest's survivors wait for the middle
        generation's next collection)."""
        generation = self._releasing
        kept = self._take_out(classes)
        APPROVED_FUNCTIONS.difference_update(self._generated)
        self._generated.clear()
        middle = self._young[1] if generation == 0 else []
        self._young = [[], middle]
        _releasing_ids[0] = frozenset(key for key, _ in classes)
        _collecting_classes[0] = True
        try:
            yield
        finally:
            _collecting_classes[0] = False
            _releasing_ids[0] = frozenset()
            for key, (ref, plain) in zip((key for key, _ in classes), kept, strict=True):
                survivor = ref()
                if survivor is not None:
                    self._class_verdicts[survivor] = survivor
                    if plain:
                        PLAIN.add(survivor)
                    if generation == 0:
                        middle.append((key, ref))
            self._program_classes.prune(key for key, _ in classes)
            if generation == 2:
                self._released_at = len(self._program_classes)

    def _take_out(self, classes: list[tuple[int, weakref.ref[type]]]) -> list[tuple[weakref.ref[type], bool]]:
        """A function of its own: no frame that lives through the collection holds a class."""
        kept: list[tuple[weakref.ref[type], bool]] = []
        for _, ref in classes:
            cls = ref()
            kept.append((ref, cls in PLAIN))  # one entry per class: program_classes_released pairs them
            if cls is not None:
                PLAIN.discard(cls)
                self._class_verdicts.pop(cls, None)
                self._exception_kinds.pop(id(cls), None)
                _EXCEPTION_FIELDS.pop(cls, None)
        return kept

    # ------------------------------------------------------------------ verdicts

    def _is_module_dict(self, value: object) -> bool:
        if len(sys.modules) != self._modules_seen:  # lazily imported modules
            modules = list(sys.modules.values())
            # Held, so that an id stays its dict's: a module removed from sys.modules and
            # freed left its id to whatever dict came next (the program's, then refused).
            self._module_dict_refs = [vars(m) for m in modules if isinstance(m, types.ModuleType)]
            self._module_dicts = {id(namespace) for namespace in self._module_dict_refs}
            self._modules_seen = len(sys.modules)
        return id(value) in self._module_dicts

    def _class(self, cls: type) -> object:
        """The class itself, its stand-in, or a SecurityError to raise."""
        if self._construction_failed(cls) or cls in self._failed_classes:
            return _FAILED_STATEMENT  # whatever was decided while it was built
        if _collecting_classes[0] and self.is_program_class(cls):
            return cls  # its verdict is out of the table while the collector may free it
        verdict = self._class_verdicts.get(cls)
        if verdict is None:
            if self._claim_being_built(cls):  # now the program's, through add_program_class
                return cls
            verdict = self._judge_class(cls)
            if verdict is cls:
                rule_attributes(cls)  # a class of the data tier's: its attributes by allow-list
            self._class_verdicts[cls] = verdict
            if self._job_running and (verdict is cls or isinstance(verdict, SecurityError)) and cls not in PLAIN:
                self._judged_in_job.append(weakref.ref(cls))
            if not isinstance(verdict, SecurityError):
                self._seal_mro(cls)  # its instances may be held: operators on them too
        return verdict

    def begin_job(self) -> None:
        """The job's program starts: the library classes judged from now on are its."""
        self._job_running = True
        self._judged_in_job = []
        _note_known_metaclasses()

    def library_classes_to_release(self) -> list[weakref.ref[type]] | None:
        """The library classes judged during the job, once enough were, to take out of the
        tables for a collection (library_classes_released); None before. A class a library
        makes per call (the base typing.NewType gives a class statement, csv.Sniffer's
        dialect) was kept for the job by its verdict and its seal (attack pass 78: the
        memory limit in 200 ms)."""
        if len(self._judged_in_job) < self._judged_release_at:
            return None
        judged, self._judged_in_job = self._judged_in_job, []
        return judged

    @contextlib.contextmanager
    def library_classes_released(self, judged: list[weakref.ref[type]]) -> Iterator[None]:
        """Run a collection (the body) with ``judged`` out of the membrane's tables. One the
        collection does not free is judged again when next met: its verdict was the class
        itself or a refusal, so the same (a stand-in, whose identity the program may
        hold, is never taken out), and sealing is idempotent."""
        self._take_out_judged(judged)
        try:
            yield
        finally:
            alive = sum(1 for ref in judged if ref() is not None)
            self._judged_release_at = max(_RELEASE_EVERY, 2 * alive)

    def _take_out_judged(self, judged: list[weakref.ref[type]]) -> None:
        """A function of its own: no frame that lives through the collection holds a class."""
        for ref in judged:
            cls = ref()
            if cls is None or self.is_program_class(cls):
                continue
            verdict = self._class_verdicts.get(cls)
            if verdict is cls or isinstance(verdict, SecurityError):
                del self._class_verdicts[cls]
                self._sealed_classes.discard(cls)
                PLAIN.discard(cls)
                self._exception_kinds.pop(id(cls), None)

    def _judge_class(self, cls: type) -> object:
        if cls in STANDS_FOR:
            # A stand-in the sandbox made (inert: it refuses calls and subclasses) passes as
            # it is, every time: judged as a class again it would be replaced by a stand-in
            # of itself, a new class per crossing, kept for the job (attack pass 74).
            return cls
        if issubclass(cls, builtins.type):
            return self._sandbox_type  # the real type or a metaclass: builds classes from dicts
        if cls in SANDBOX_CLASSES:
            return stand_in(cls, f"{cls.__name__}(...) is the sandbox's own and cannot be called")
        mro = builtins.type.__dict__["__mro__"].__get__(cls)
        final = next((klass for klass in mro[1:] if klass in FINAL_LIBRARY_CLASSES), None)
        if final is not None and cls not in self._library_final_subclasses:
            # Every route that builds a class refuses these bases before the class exists;
            # one built anyway (by a factory that checked too late, its hooks keeping it)
            # is not held by any route.
            return refuse(f"a subclass of {final.__name__}, which cannot be subclassed in the sandbox")
        if _is_constructor(cls):
            return stand_in(cls, f"{cls.__name__}(...) cannot be called in the sandbox")
        if cls is SecurityError:
            # The sandbox's own refusal, reached as type(e) of one the program caught: a
            # program that could make one had library or sandbox code raise it with its
            # text, read as the sandbox's verdict (passes 82 and 85). Its instances, the
            # sandbox's refusals, pass as they are.
            return stand_in(
                cls, "SecurityError(...) is the sandbox's own verdict: raise an exception class of your own"
            )
        if _MODULE.__get__(cls) == "__main__" and id(cls) not in self._offered_ids:
            # The program's module: a class of it that no registry holds is one the sandbox
            # lost track of (revived by a finaliser after the collector let it go) or never
            # knew, never a library's (which would switch off every rule on what the
            # program's classes lend to library code).
            return refuse("a class of the program's that the sandbox does not know as its own")
        if id(cls) in self._offered_ids or str(cls.__module__) in self._class_modules:
            named = id(cls) in self._offered_ids and (
                id(cls) in self._named_classes or id(cls) not in self._instance_classes
            )
            if cls.__name__.startswith("_") and not named and not self.is_program_class(cls):
                # A library's internal class (typing._GenericAlias, reached as type(List[int]);
                # typing._SpecialForm, the class of the offered typing.Union): its instances
                # are the library's to make; calling it builds one over anything.
                return stand_in(cls, f"{cls.__name__}(...) is internal to its library and cannot be called")
            return cls
        return refuse(f"the class {cls.__module__}.{cls.__qualname__}, from a module the sandbox does not offer")

    def _mapping_proxy(self, value: types.MappingProxyType[Any, Any]) -> types.MappingProxyType[Any, Any]:
        """A read-only view (``Pattern.groupindex``, a dataclass field's ``metadata``)
        passes if what it views is an ordinary dict the program could hold: not a class's
        namespace (``vars(cls)``, which every class's dict marks with ``__doc__``) nor a
        module's. Its values are read through the guards, as a dict's are."""
        viewed = gc.get_referents(value)
        mapping = viewed[0] if len(viewed) == 1 else None
        if builtins.type(mapping) is not dict or "__doc__" in mapping:
            raise refuse("a read-only view of a class's or a module's namespace")
        self.admit(mapping)  # a module's namespace, the program's globals: refused
        return value

    def _property(self, value: property) -> property:
        """A library class's property (``ChainMap.parents``), held as an object: its
        accessors run with whatever ``self`` the interpreter gives them, a class through
        ``classmethod(prop)``'s chained __get__, a class of the program's where it is
        put. Held, it is a property of the same accessors as UnboundMethods."""
        accessors = (value.fget, value.fset, value.fdel)
        owners = [METHOD_OWNERS.get(a) if isinstance(a, types.FunctionType) else None for a in accessors]
        if not any(owners):
            for accessor in accessors:
                if isinstance(accessor, types.FunctionType) and not self._function(accessor):
                    raise refuse(f"a property of a class the sandbox does not offer ({accessor.__qualname__})")
                if accessor is not None and self.admit(accessor) is not accessor:
                    # What the property calls is called with the instance: it must be a
                    # callable the program could hold (property(f) may be built by C code).
                    raise refuse(f"a property of a {builtins.type(accessor).__name__}")
            return value
        fget, fset, fdel = (
            cast(Any, UnboundMethod(a, owner) if owner is not None else a)
            for a, owner in zip(accessors, owners, strict=True)
        )
        return property(fget, fset, fdel, value.__doc__)

    def _method_wrapper(self, wrapper: classmethod | staticmethod) -> object:  # type: ignore[type-arg]
        """What a classmethod or staticmethod wraps passes the membrane unchanged (it may
        have been made by C code, ``map(classmethod, ...)``). A classmethod runs the
        wrapped object's ``__get__`` with the class as the instance: a library class's
        Python ``__get__`` (cached_property's read the class's namespace by a name the
        program chose) is refused; a property's and a function's only call what they hold."""
        inner = wrapper.__func__
        if self.admit(inner) is not inner:
            raise refuse(f"a {builtins.type(wrapper).__name__} of {builtins.type(inner).__name__}")
        if isinstance(wrapper, classmethod):
            getter = getattr(builtins.type(inner), "__get__", None)
            if isinstance(getter, types.FunctionType) and getter.__code__.co_filename != SOURCE_FILENAME:
                raise refuse(f"a classmethod of a {builtins.type(inner).__name__}, whose __get__ is its library's")
        return wrapper

    def _bound_to_the_programs(self, method: Any) -> bool:
        """A builtin class hook bound to the program's own class or object
        (``super().__init_subclass__``): it acts on that object only."""
        owner = getattr(method, "__self__", None)
        if owner is None:
            return False
        return self.is_program_class(owner if isinstance(owner, builtins.type) else builtins.type(owner))

    def is_program_class(self, cls: type) -> bool:
        return cls in self._program_classes

    def _instances_allowed(self, kind: type) -> bool:
        withheld = isinstance(self._class(kind), SecurityError)
        return not (withheld or issubclass(kind, builtins.type) or _is_constructor(kind))

    def _function(self, function: types.FunctionType) -> bool:
        if function.__code__.co_filename == SOURCE_FILENAME or function in APPROVED_FUNCTIONS:
            return True
        scope = function.__globals__
        if (function.__code__, id(scope)) in self._approved_code:
            return True
        module = scope.get("__name__")
        if builtins.type(module) is str and (
            module.startswith(_SANDBOX_PACKAGE)
            # types is not offered, though classes of it are (enum.property's base): its
            # module-level functions (new_class builds a class from any namespace) are not.
            or module == "types"
        ):
            # The sandbox's own modules hold helpers no program may call (real_class gives
            # the real class behind a stand-in): only what it offers, the methods of its
            # classes (bound to an instance the program holds) and the closures its offered
            # functions make (a decorator's), never a module-level helper.
            return id(function) in self._offered_ids or "." in function.__code__.co_qualname
        copy = PRIVATE_MODULE_COPIES.get(id(scope))
        if copy is not None:
            return function.__code__.co_qualname.startswith(copy[1])  # the code's, never rewritten
        if id(scope) in self._function_globals:
            # A library's: judged once for its code and its module, which is all the verdict
            # depends on. Not by the function itself: a closure a library makes per call
            # (contextmanager's helper, over the program's generator) was kept for the job.
            # Not the code dataclasses generates for each of the program's classes in
            # __main__'s namespace: it dies with its class (attack pass 78 kept 60 kB names).
            if scope is not self._main_namespace:
                self._approved_code.add((function.__code__, id(scope)))
            return True
        if _generated_by_namedtuple(scope) or id(scope) in SANDBOX_CLONE_NAMESPACES:
            # Approved by what it is, never for being no module's: a namespace no registry
            # knows is refused (a library copy the sandbox loads for itself, pass 74).
            if not _collecting_classes[0]:
                APPROVED_FUNCTIONS.add(function)
                self._generated.append(function)  # dropped at the next release
            return True
        return False

    def held_memory_error(self, error: BaseException) -> bool:
        """Whether the program has held ``error`` (runner.py: then never the memory limit).
        A mark in the exception's own dict, not a reference: a registry kept every
        MemoryError the program made (with its message and traceback) until the job ended."""
        own = _EXCEPTION_DICT.__get__(error)
        return builtins.type(own) is dict and own.get(_HELD_MARK) is True

    def admit_slow(self, value: Any) -> Any:
        """The decision for a value whose type is not known to be plain."""
        kind = builtins.type(value)
        # Before any table is consulted (they hash and compare the class they are asked
        # about): a class whose metaclass the sandbox does not know answers __hash__ and
        # __eq__ as it likes, and a set or dict lookup hands it the table's keys.
        metaclass = builtins.type(value) if issubclass(kind, builtins.type) else builtins.type(kind)
        if metaclass is not builtins.type and id(metaclass) not in _KNOWN_METACLASS_IDS:
            raise refuse("a class of a metaclass the sandbox does not know")
        if kind is MemoryError:
            # A private name on a builtin exception: the write guard refuses it to the
            # program; the interpreter clears it when the object is freed (MemoryError's
            # free list reuses objects).
            _EXCEPTION_DICT.__get__(value)[_HELD_MARK] = True
            self._admit_exception(value)
            return value
        if kind in _BUILTIN_EXCEPTIONS or self._exception_kinds.get(id(kind)) is kind:
            self._admit_exception(value)
            return value
        if kind is dict:
            # Any namespace code has run in holds __builtins__: the sandbox's own (a copy
            # of a library module it executes, a clone of a function's globals) are in no
            # registry, so the entry decides too (attack pass 70).
            scope_builtins = value.get("__builtins__")
            if (
                self._is_module_dict(value)
                or id(value) in self._namespaces
                or id(scope_builtins) in self._builtins_tables
                or value.get(_NAMESPACE_MARK) is self._namespace_mark
                or scope_builtins is builtins
                or scope_builtins is _REAL_BUILTINS_DICT
            ):
                raise refuse("a module's namespace")
            return value
        if kind is types.TracebackType:
            return None
        if kind is types.MappingProxyType:
            return self._mapping_proxy(value)
        if issubclass(kind, (classmethod, staticmethod)):  # the library's subclasses too
            return self._method_wrapper(value)
        if kind is property:
            return self._property(value)
        if kind is types.GenericAlias:
            # Calling list[int] calls list; calling type[Any] called the real type(name,
            # bases, ns). An alias passes if what it calls would.
            origin = value.__origin__
            if self.admit(origin) is not origin:
                raise refuse(f"an alias of {getattr(origin, '__name__', 'a class')} that calls it")
            return GuardedAlias(origin, value.__args__)  # its __new__ admits the origin
        if isinstance(value, _TYPING_ALIAS):
            # typing's aliases call what they alias (Annotated[f, m](...) calls f), and C
            # code builds them over anything (map(getitem, [Annotated], ...)): each is
            # judged by its origin, never once for its class (it never becomes plain).
            # One that cannot be called (typing.Type[int]: _inst is False) raises first.
            origin = cast(Any, value).__origin__
            callable_alias = vars(value).get("_inst", True) is not False
            if callable_alias and builtins.type(origin) not in PLAIN and self.admit(origin) is not origin:
                raise refuse(f"a typing alias of {builtins.type(origin).__name__}")
            if kind not in self._sealed_classes:
                self._seal_mro(kind)  # its operators, as any library class's instance's
            return value
        made = _MADE_BY_THE_SANDBOX.get(kind)
        if made is not None:
            if value in made:
                return value
            raise refuse(f"a {kind.__name__} the sandbox did not make for the program")
        what_is_withheld = _REFUSED_INSTANCES.get(kind)
        if what_is_withheld is None and issubclass(kind, _REFUSED_BASES):
            # A subclass is the same capability (a module of a ModuleType subclass:
            # typing.io's class). The bases' metaclass is type: its check reads the MRO
            # and runs nothing of the program's.
            what_is_withheld = next(_REFUSED_INSTANCES[base] for base in _REFUSED_BASES if issubclass(kind, base))
        if what_is_withheld is not None:
            raise refuse(what_is_withheld)
        held = _callable_holder(kind)
        if held is not None:
            # What calling it calls, and with what: each must pass unchanged (it may have
            # been built by C code, map(functools.partial, ...), from values never bound).
            # A holder that holds itself, or its own bound method (a decoder whose
            # object_hook is self.hook), is being judged already: it passes there.
            if id(value) in self._holders_judged:
                return value
            self._holders_judged.add(id(value))
            try:
                for inner in held(value):
                    if builtins.type(inner) not in PLAIN and self.admit(inner) is not inner:
                        raise refuse(f"a {kind.__name__} of {builtins.type(inner).__name__}")
            finally:
                self._holders_judged.discard(id(value))
            return value
        if issubclass(kind, builtins.type):  # a class
            verdict = self._class(value)
            if isinstance(verdict, SecurityError):
                raise verdict
            return verdict
        if kind is types.FunctionType:
            if id(value) in self._refused_ids:
                raise refuse(f"{value.__qualname__}, which the catalogue does not offer")
            owner = METHOD_OWNERS.get(value)
            if owner is not None:
                return UnboundMethod(value, owner)
            code = value.__code__
            if code.co_name in _ATTRIBUTE_WRITERS and code.co_filename != SOURCE_FILENAME:
                raise refuse(f"a library's {code.co_name} held as a value (it writes any attribute of its self)")
            generated = GENERATED_METHOD_OWNERS.get(value)
            if generated is not None:
                generated_for = generated()
                if generated_for is None:
                    raise refuse("a method generated for a class that no longer exists")
                return UnboundMethod(value, generated_for)
            if value.__code__.co_filename != SOURCE_FILENAME and _defined_in_a_class(value):
                # A method of a class the sandbox does not offer, whose class is unknown
                # here (copied out of a class's __dict__ by a library decorator): it would
                # run on any self.
                raise refuse(f"the method {value.__qualname__} without an instance of its class")
            if _library_internal_function(value) and id(value) not in self._offered_ids:
                # A module's own helper (dataclasses._create_fn exec()s the text it is given
                # with the real builtins): never part of what a module offers, whatever
                # route brought it. Closures a library returns (singledispatchmethod's
                # _method) are not module-level and pass as before.
                raise refuse(f"the library-internal function {value.__module__}.{value.__qualname__}")
            if self._function(value):
                return value
            raise refuse(
                f"the function {value.__module__}.{value.__qualname__}, from a module the sandbox does not offer"
            )
        if (
            kind in _SPECIAL_METHOD_KINDS
            and _unheld_special(value.__name__)
            and not (value.__name__ in CLASS_HOOKS and self._bound_to_the_programs(value))
        ):
            # object.__getattribute__, object.__setattr__, type.__subclasses__ ...: a special
            # method the program may not read by name is not a value it may hold by any route.
            raise refuse(f"the special method {value.__name__}")
        if kind is types.BuiltinFunctionType or kind is BUILTIN_METHOD_TYPE:
            owner = value.__self__
            refused_owners = _REFUSED_C_METHODS.get(value.__name__)
            if refused_owners is not None:
                owner_class = owner if isinstance(owner, builtins.type) else builtins.type(owner)
                if issubclass(owner_class, refused_owners):
                    raise refuse(f"{owner_class.__name__}.{value.__name__}, a C parser of the program's bytes")
            if value.__name__ in BUFFER_WRITING_METHOD_NAMES and not isinstance(
                owner, (types.ModuleType, builtins.type)
            ):
                if builtins.type(owner) not in PLAIN and self.admit(owner) is not owner:
                    raise refuse(f"the method {value.__name__} of a {builtins.type(owner).__name__}")
                return checked_buffer_method(value, value.__name__)  # buffers.py
            checked = _CHECKED_C_METHODS.get(value.__name__)
            if checked is not None and isinstance(owner, checked[0]):
                if self.admit(owner) is not owner:
                    raise refuse(f"the method {value.__name__} of a {builtins.type(owner).__name__}")
                return _checked_c_method(value, value.__name__, checked[1])
            if isinstance(owner, types.ModuleType):  # a module's function: only those offered
                if id(value) in self._offered_ids:
                    return value
                raise refuse(f"the built-in function {value.__name__}")
            if value.__name__ == "mro" and isinstance(owner, builtins.type):
                # Its list holds the classes as they are (a C class the membrane replaces):
                # the guards hand out a checked mro() instead; held by another route (a
                # match keyword pattern), it is refused.
                raise refuse("a class's mro method read outside the attribute guard; call cls.mro() directly")
            if owner is not None and self.admit(owner) is not owner:
                # A bound method is as safe as the object it is bound to, held as it is: one
                # bound to what the membrane replaces (the real type) would act on that.
                raise refuse(f"the method {value.__name__} of a {builtins.type(owner).__name__}")
            if value.__name__ == "__class_getitem__" and _cross is not None:
                # A C class's hook (list's, bound to the program's subclass) makes the exact
                # C alias, outside GuardedAlias's rules: whoever calls it (map, a key=), what
                # it returns passes the membrane inside the call, as a library function's.
                return _cross(value)
            # s.format reads "{0.__class__}" with the real getattr: the checked one instead,
            # whatever route brought it; any other method (or a built-in type's static
            # method, str.maketrans) as it is.
            return wrap_format(value)
        if kind is types.MethodType:
            function, owner = value.__func__, value.__self__
            if builtins.type(function) is types.FunctionType:  # bound: self is settled
                if not self._function(function):
                    raise refuse(f"the method {function.__qualname__}, from a module the sandbox does not offer")
                replaced = function
            else:
                # MethodType(x, obj) calls x as it is: it is bound instead to what the
                # membrane holds in x's place (the sandbox's type or GenericAlias; a
                # refusal for the rest). Library code builds such methods from what it
                # looked up (ExitStack's type(cm).__exit__, classmethod(GenericAlias)).
                replaced = self.admit(function)
            # Bound to what the program may hold as it is (a method over the real type
            # would be refused, not replaced: the call would still reach the real one).
            if builtins.type(owner) not in PLAIN and self.admit(owner) is not owner:
                raise refuse(f"a method bound to {builtins.type(owner).__name__}")
            if replaced is not function:
                if function is types.GenericAlias and _cross is not None:
                    # The library's `__class_getitem__ = classmethod(GenericAlias)`: the
                    # alias it makes is admitted as `C[int]`'s is.
                    return _cross(value)
                return types.MethodType(replaced, owner)
            if (
                _cross is not None
                and builtins.type(function) is types.FunctionType
                and not _is_programs(function)
                and not _is_sandbox_own(function)
            ):
                # A library method, as a module's function is offered: what it returns
                # passes the membrane inside the call, whoever calls it (map, a key=). The
                # sandbox's own (print's, bound to its Printer) pass as they are, so a
                # partial or a defaultdict over print holds what the program holds.
                return _cross(value)
            return value
        if kind is types.MethodWrapperType:
            owner = value.__self__
            if builtins.type(owner) not in PLAIN and self.admit(owner) is not owner:
                raise refuse(f"a method bound to {builtins.type(owner).__name__}")
            return value
        if kind is types.MemberDescriptorType and self.is_program_class(value.__objclass__):
            # A slot's descriptor reads and writes that slot under whatever name it is put:
            # in a class with a library base, the slot a library __init__ filled
            # (`restval = Base.parse_string` handed csv the C scanner). The program reads and
            # writes its slots through its instances, as with __dict__ and __weakref__.
            raise refuse(f"the descriptor of the slot {value.__name__!r}; use the attribute of an instance")
        if kind in _DESCRIPTORS:
            verdict = self._class(value.__objclass__)
            if verdict is not value.__objclass__:
                raise refuse(f"a method of {value.__objclass__.__name__}")
            checked = _CHECKED_C_METHODS.get(value.__name__)
            if checked is not None and issubclass(cast(type, value.__objclass__), checked[0]):
                return _checked_c_method(value, value.__name__, checked[1])
            if value.__name__ in BUFFER_WRITING_METHOD_NAMES:
                return checked_unbound_buffer_method(value, value.__name__)  # buffers.py
            return wrap_format(value)  # str.format, unbound
        if kind is _GUARD_TYPE:
            # The sandbox's C guards, judged one by one and never made plain: the builtin
            # getattr is offered; the namespace's others (_admit_, _getitem_ ...) are never
            # values a program holds (attack pass 90, N1).
            if id(value) in self._offered_ids:
                return value
            raise refuse("one of the sandbox's own guards")
        if kind in PLAIN:  # judged meanwhile
            return value
        if not self._instances_allowed(kind):
            raise refuse(f"an instance of {kind.__module__}.{kind.__qualname__}")
        if isinstance(value, BaseException):
            if not self._unfinished(kind) and not _collecting_classes[0]:
                self._exception_kinds[id(kind)] = kind
            self._admit_exception(value)
            return value
        if not self._unfinished(kind) and not _collecting_classes[0]:
            PLAIN.add(kind)  # every instance of it is as safe as this one
        return value

    def _admit_exception(self, exc: BaseException) -> None:
        """The exception's args, each through the membrane, written back in place: the
        program may now read them by any route. One the membrane refuses refuses the
        exception, as reading it did."""
        args = _ARGS.__get__(exc)
        for item in args:  # a loop: this runs for every exception the program raises
            kind = builtins.type(item)
            if kind not in PLAIN or kind in _NESTED:
                # Walked once per args tuple, not at every raise and `except ... as` (a
                # re-raised error carrying a long list was walked each time).
                own = _EXCEPTION_DICT.__get__(exc)
                if dict.get(own, _ADMITTED_ARGS) is not args:
                    admitted = admitted_nested(args)
                    if admitted is not args:
                        _ARGS.__set__(exc, admitted)
                    dict.__setitem__(own, _ADMITTED_ARGS, admitted)
                break
        fields = _EXCEPTION_FIELDS.get(builtins.type(exc))
        for field in _exception_fields(builtins.type(exc)) if fields is None else fields:
            value = field.__get__(exc)
            if builtins.type(value) not in PLAIN:
                try:
                    replaced = self.admit(value)
                except Exception:  # noqa: BLE001 - refused, or undecidable: either way not handed out
                    replaced = None  # what library code failed on need not be handed out
                if replaced is not value:
                    field.__set__(exc, replaced)

    def admit(self, value: Any) -> Any:
        if builtins.type(value) in PLAIN:
            return value
        return self.admit_slow(value)


# --------------------------------------------------------------------------- the guards' view

#: The top-level package of the sandbox's own code.
_SANDBOX_PACKAGE = __name__.partition(".")[0] + "."
#: Modules of this package whose functions the program may hold (_is_sandbox_own): their
#: module-level functions pass the membrane only as offered, like any of the package's.
SANDBOX_FUNCTION_MODULES = ("formatting", "printing", "crossing")
#: Copies of library modules the sandbox loads for itself, outside sys.modules (the pure
#: OrderedDict's collections): by the id of the copy's namespace, the namespace (held, so
#: the id stays its own) and the qualified-name prefix of the functions it offers. Any
#: other function of such a copy (its namedtuple, unguarded) is refused, where a namespace
#: of no module would pass as code generated for the program (attack pass 74, P1).
PRIVATE_MODULE_COPIES: dict[int, tuple[dict[str, Any], str]] = {}


def register_private_copy(namespace: dict[str, Any], offered_prefix: str) -> None:
    PRIVATE_MODULE_COPIES[id(namespace)] = (namespace, offered_prefix)


#: The namespaces of the library functions the sandbox runs as clones, with its guards in
#: place of a builtin (dataclasses' field readers, pprint's dataclass printer): by id, the
#: namespace held so that the id stays its own.
SANDBOX_CLONE_NAMESPACES: dict[int, dict[str, Any]] = {}


def register_clone_namespace(namespace: dict[str, Any]) -> None:
    SANDBOX_CLONE_NAMESPACES[id(namespace)] = namespace


def _generated_by_namedtuple(scope: dict[str, Any]) -> bool:
    """Whether ``scope`` is the namespace collections.namedtuple compiles a class's
    ``__new__`` in (``namedtuple_<typename>``, with the tuple's constructor)."""
    name = dict.get(scope, "__name__")
    return builtins.type(name) is str and name.startswith("namedtuple_") and dict.__contains__(scope, "_tuple_new")


#: How a library callable is offered so that it admits its arguments and its result
#: (crossing.crossing, which registers itself: it is built on this module's admit).
_cross: Callable[[Any], Any] | None = None


def offer_crossings_with(cross: Callable[[Any], Any]) -> None:
    global _cross
    _cross = cross


def _is_programs(function: types.FunctionType) -> bool:
    return function.__code__.co_filename == SOURCE_FILENAME


def _is_sandbox_own(function: types.FunctionType) -> bool:
    """A function of the sandbox's modules whose functions the program may hold."""
    module = function.__globals__.get("__name__")
    return (
        builtins.type(module) is str
        and module.startswith(_SANDBOX_PACKAGE)
        and module.rpartition(".")[2] in SANDBOX_FUNCTION_MODULES
    )


#: The C guards' class (fastguards.py), or None where the C half is not built.
_GUARD_TYPE = guard_type()

#: The process's membrane; the template configures it before any job (runner.py).
MEMBRANE = Membrane()
admit_slow = MEMBRANE.admit_slow


def admit(value: Any, /) -> Any:
    """``_admit_``: the value, or its stand-in; raises SecurityError for a capability.
    (Nothing it consults is a parameter: a caller could pass it.)"""
    if builtins.type(value) in PLAIN:
        return value
    return admit_slow(value)


#: The containers whose elements admitted_nested looks into (exact types: a subclass is
#: a class of the program's, admitted as such).
_NESTED = frozenset({tuple, list, set, frozenset, dict})


def _admitted_shallow(result: Any) -> Any:
    """``result`` through the membrane, and if it is a tuple, each of its elements (not
    what they hold in turn)."""
    kind = builtins.type(result)
    if kind is tuple:
        for item in result:
            if builtins.type(item) not in PLAIN and admit(item) is not item:
                return tuple(admit(item) for item in result)
        return result
    return result if kind in PLAIN else admit(result)


def admitted_result(result: Any) -> Any:
    """What library code returned, through the membrane: a tuple is plain, but what the
    library put in it is not checked when C code takes it out (``Fraction.as_integer_ratio``
    returned what ``Fraction`` had read from the program's object), so its elements too."""
    kind = builtins.type(result)
    if kind is tuple:
        return admitted_nested(result)
    return result if kind in PLAIN else admit(result)


#: fastguards.plain_throughout where the guards run in C (select_nested_check).
_plain_throughout: Callable[[set[type], Any], bool] | None = None


def select_nested_check(accelerated: bool) -> None:
    """admitted_nested follows the guards' mode (runner.build_environment): C or Python."""
    global _plain_throughout  # one mode per process at a time, as for the guards
    _plain_throughout = plain_throughout_check() if accelerated else None


def admitted_nested(value: Any) -> Any:
    """A container library code made (an exception's args, a function's tuple), every
    element through the membrane, and the elements of the containers inside it too: C
    code the program calls (``map(operator.call, ...)``, ``list(s)``) uses elements
    without binding them, at any depth. A container is rebuilt only when something in it
    changes, else it is returned as it is. A walk, not a recursion: nesting can be as deep
    as the program made it (and a list may hold itself)."""
    if builtins.type(value) not in _NESTED:
        return admit(value)
    if _plain_throughout is not None:
        if _plain_throughout(PLAIN, value):  # the common case, decided in C at any depth
            return value
    elif builtins.type(value) is not dict and all(
        builtins.type(item) in PLAIN and builtins.type(item) not in _NESTED for item in value
    ):
        return value
    rebuilt: dict[int, Any] = {}
    started: set[int] = set()
    pending: list[tuple[Any, bool]] = [(value, False)]
    while pending:  # post-order: a container is rebuilt after the containers inside it
        current, expanded = pending.pop()
        if id(current) in rebuilt or (not expanded and id(current) in started):
            continue
        items = [*current.keys(), *current.values()] if builtins.type(current) is dict else list(current)
        if not expanded:
            started.add(id(current))
            pending.append((current, True))
            pending.extend((item, False) for item in items if builtins.type(item) in _NESTED)
            continue
        parts = [rebuilt.get(id(item), item) if builtins.type(item) in _NESTED else admit(item) for item in items]
        if all(part is item for part, item in zip(parts, items, strict=True)):
            rebuilt[id(current)] = current
            continue
        kind = builtins.type(current)
        if kind is dict:
            half = len(parts) // 2
            rebuilt[id(current)] = dict(zip(parts[:half], parts[half:], strict=True))
        else:
            rebuilt[id(current)] = kind(parts)
    return rebuilt[id(value)]


def admitted_args(exc: BaseException, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``e.args``, each element through the membrane (admitted_nested), once per args
    tuple: the membrane marks the tuple it admitted in the exception's own dict (see
    _ADMITTED_ARGS), and reading ``e.args`` in a loop walked a long list each time."""
    own = _EXCEPTION_DICT.__get__(exc)
    marked: object = dict.get(own, _ADMITTED_ARGS)
    if marked is args:
        return args
    admitted = cast("tuple[Any, ...]", admitted_nested(args))
    if admitted is args:
        dict.__setitem__(own, _ADMITTED_ARGS, args)
    return admitted


def admit_capture(value: Any, /) -> Any:
    """``_admit_capture_``: what a ``match`` pattern captured, before it is bound. The
    interpreter reads a pattern's items and attributes without any guard, so a captured
    container may hold what no guard has seen (a star capture of an exception's args).
    A tuple is rebuilt with its elements admitted, at any depth (as ``e.args`` is through
    the guard); a list, dict or set is the object itself, so what it holds must be
    admitted as it is, at any depth."""
    kind = builtins.type(value)
    if kind is tuple:
        return admitted_nested(value)
    if kind in _NESTED and admitted_nested(value) is not value:
        raise refused(
            f"the captured {kind.__name__} holds what a program cannot hold in the sandbox; "
            "read its items through an ordinary loop or index"
        )
    return admit(value)


def admit_handled() -> None:
    """``_admit_handled_()``, before a bare ``raise``: the exception being handled passes
    the membrane before it is raised again. Without an ``except`` of its own around it, a
    bare ``raise`` in the program's function raises what the library code that called the
    function is handling (singledispatch's ``KeyError(cls)`` over the real ``type``), an
    exception no guard has seen."""
    handled = sys.exception()
    if handled is not None:
        admit(handled)


def delegated_iterator(iterable: Any) -> Any:
    """``_yield_from_(x)``, the iterator ``yield from x`` delegates to.

    The interpreter forwards the delegating generator's ``throw(type, value,
    traceback)``, ``send(value)`` and ``close()`` to the iterator's own attributes of those
    names, with what the caller passed, and the caller may be library code:
    contextmanager's ``__exit__`` throws the ``with`` statement's raw traceback. A
    generator takes them in its own frame, as an exception raised at its ``yield`` (which
    the program's ``except`` admits) or a value its ``yield`` admits; an iterator of C
    (a static type) has no such methods. Any other iterator, the program's own class
    above all (its ``throw`` could be a class or a C callable: no parameters admitted),
    is delegated to through ``islice``, which has none: a throw is raised where the
    ``yield from`` is, a send of anything but None fails there, and the values, and the
    value its StopIteration returns, are the same."""
    iterator = iter(iterable)
    kind = builtins.type(iterator)
    if kind is types.GeneratorType or not kind.__flags__ & _HEAP_TYPE:
        return iterator
    return itertools.islice(iterator, None)


_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class built at run time, not a static C type


def admit_unchanged(*values: Any) -> bool:
    """True if the membrane admits every value as it is; raises if it would refuse or
    replace one. For names that cannot be rebound inside an expression: a lambda's
    parameters, a comprehension's variables, a ``match`` pattern's captures."""
    for value in values:
        if builtins.type(value) not in PLAIN and admit(value) is not value:
            raise refused(
                f"{builtins.type(value).__name__!r} objects cannot be bound by a lambda, a comprehension or a "
                "match pattern in the sandbox; use a def function, a for statement or an if statement"
            )
    return True


def admitted_arguments(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Arguments C code passes to a library callable the program holds: what the program
    holds admits as it is (the common case costs a type check each); only a value C code
    brought is replaced or refused."""
    for value in args:  # a loop, not all(<generator>): this runs on every library call
        if builtins.type(value) not in PLAIN:
            return tuple(admit(value) for value in args)
    return args


def admit_each(*values: Any) -> tuple[Any, ...]:
    """``_admit_each_``: every value admitted, as a tuple (many parameters, ``*args``)."""
    return tuple(admit(value) for value in values)


def admit_elements(values: list[Any]) -> list[Any]:
    """``_admit_elements_``: the list a starred target was unpacked into (``a, *rest = x``),
    each element admitted in place: the interpreter filled it with values no guard saw."""
    for index, value in enumerate(values):
        if builtins.type(value) not in PLAIN:
            values[index] = admit(value)
    return values


def admit_values(mapping: dict[str, Any]) -> None:
    """``_admit_values_``: every value of a ``**kwargs`` dict admitted, in place."""
    for key, value in mapping.items():
        if builtins.type(value) not in PLAIN:
            mapping[key] = admit(value)


def add_program_class(cls: type) -> None:
    MEMBRANE.add_program_class(cls)


class AdmittedContext:
    """``with cm as x``: the value ``cm.__enter__()`` returns passes the membrane before it
    is bound. Special methods are looked up on the type, as the ``with`` statement does."""

    __slots__ = ("_enter", "_exit")

    def __init__(self, manager: object) -> None:
        kind = builtins.type(manager)
        enter, exit_ = _special(kind, "__enter__"), _special(kind, "__exit__")
        if enter is None or exit_ is None:
            raise TypeError(f"'{kind.__name__}' object does not support the context manager protocol")
        # Bound as the interpreter binds a special method (a staticmethod's function as
        # it is, a classmethod to the class), once, like the with statement does.
        self._enter = _bound_special(enter, manager, kind)
        self._exit = _bound_special(exit_, manager, kind)

    def __enter__(self) -> Any:
        return admit(self._enter())

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> Any:
        return self._exit(kind, value, traceback)


def _special(kind: type, name: str) -> Any:
    """A special method as the interpreter finds it: in the class's MRO, not the instance."""
    for klass in kind.__mro__:
        if name in vars(klass):
            return vars(klass)[name]
    return None


def _bound_special(raw: Any, manager: object, kind: type) -> Any:
    get = getattr(builtins.type(raw), "__get__", None)
    return raw if get is None else get(raw, manager, kind)


def offered_values(proxies: Mapping[str, Any], table: Mapping[str, Any]) -> list[object]:
    """Every value the sandbox offers: the builtins table and each proxy's members."""
    values: list[object] = list(table.values())
    for proxy in proxies.values():
        values.extend(v for k, v in vars(proxy).items() if not k.startswith("_"))
    return values
