"""Guarded replacements for library functions that act by name or rewrite what they are
given, the stdlib patches that guard their sinks, and ``build_proxies``.

Every replacement keeps the library's behaviour for ordinary arguments and refuses the
arguments that would hand the program a real object it must not hold (a library's
globals, the real ``type``, a library class to rewrite).
"""

from __future__ import annotations

import _string
import abc
import builtins
import collections
import collections.abc
import contextlib
import copy
import copyreg
import csv
import dataclasses
import decimal
import enum
import functools
import importlib
import importlib.util
import ipaddress
import itertools
import json
import json.encoder
import keyword
import operator
import pprint
import re
import string
import struct
import sys
import types
import typing
import unicodedata
import weakref
import zoneinfo._tzpath as tzpath
from collections.abc import Callable, Iterable
from typing import Any

from ..language.module_rules import RULES
from ..language.names import INTROSPECTION_ATTRIBUTES, is_dunder, is_sunder
from ..language.policy import SOURCE_FILENAME
from . import archives, data_guards, file_copies, file_paths, file_system, ownership, repairs, sys_stand_in
from .buffers import refuse_references
from .crossing import crossing, forget_crossings_of_freed_functions, is_crossable
from .dynamic import sandbox_eval
from .formatting import safe_format, safe_format_map
from .guards import (
    DECIMAL_TEMPLATES,
    TEXT_SIGNATURE_END,
    WRITABLE_LIBRARY_ATTRIBUTES,
    bases_for_a_library_factory,
    exact_keywords,
    exact_str,
    guarded_getattr,
    guarded_getitem,
    make_class_factory,
    refuse_metaclass,
    sanitize_match_args,
    type_of,
)
from .membrane import (
    PRIVATE_MODULE_COPIES,
    UnboundMethod,
    admit,
    instances_still_made,
    register_clone_namespace,
    register_generated_methods,
    register_holder,
    register_private_copy,
    unbound_through_class,
)
from .ownership import is_user_class
from .proxies import ModuleProxy, link_proxies, public_attrs
from .refusal import SecurityError, refused


def _safe_update_wrapper() -> dict[str, Any]:
    """Safe ``functools.update_wrapper`` and ``functools.wraps``.

    The real ones copy the attributes *named* in ``assigned``/``updated`` with the real
    getattr/setattr, so ``updated=("__globals__",)`` merged a library function's globals
    (``os``, the real builtins) into the program's function. Only the default attribute
    lists are accepted, and only functions can be decorated (no library class is rewritten).
    """

    def _check(wrapper: Any, assigned: Any, updated: Any) -> None:
        if tuple(assigned) != functools.WRAPPER_ASSIGNMENTS or tuple(updated) != functools.WRAPPER_UPDATES:
            raise refused("functools.update_wrapper/wraps accept only the default attribute lists in the sandbox")
        if wrapper is not None and not is_program_function(wrapper):
            raise refused("functools.update_wrapper/wraps can only rewrite the program's own functions")

    def update_wrapper(
        wrapper: Any,
        wrapped: Any,
        assigned: Any = functools.WRAPPER_ASSIGNMENTS,
        updated: Any = functools.WRAPPER_UPDATES,
    ) -> Any:
        _check(wrapper, assigned, updated)
        result = functools.update_wrapper(wrapper, wrapped)
        if not _is_programs(wrapped):
            # No __wrapped__ to a library's function: inspect.signature follows it and
            # renders the library's defaults (dataclass writes that text into a docstring).
            del wrapper.__wrapped__
        return result

    def wraps(
        wrapped: Any, assigned: Any = functools.WRAPPER_ASSIGNMENTS, updated: Any = functools.WRAPPER_UPDATES
    ) -> Any:
        _check(None, assigned, updated)
        return functools.partial(update_wrapper, wrapped=wrapped)

    return {"update_wrapper": update_wrapper, "wraps": wraps}


def is_program_function(obj: object) -> bool:
    return isinstance(obj, types.FunctionType) and obj.__code__.co_filename == SOURCE_FILENAME


def _is_programs(obj: object) -> bool:
    """A function or class the program wrote, or a classmethod/staticmethod/property
    around one: what a decorator that sets attributes on its argument may rewrite."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    elif isinstance(obj, property):
        obj = obj.fget
    return is_program_function(obj) or is_user_class(obj)


def _rewrites_its_argument(func: Any, what: str) -> Any:
    """A decorator that sets attributes on what it is given (abc.abstractmethod sets
    ``__isabstractmethod__``, typing.final ``__final__`` ...): only on the program's own
    functions and classes, never on a library's."""

    @functools.wraps(func)
    def guarded(arg: Any, /) -> Any:
        if not _is_programs(arg):
            raise refused(f"{what} can only be applied to the program's own functions and classes")
        return func(arg)

    return guarded


def _program_named_tuple() -> Any:
    """``typing.NamedTuple('P', [...])``: the real one names the class after the module of
    the frame that called it (``typing._caller()``), a library's when library code made
    the call (``cached_property.__get__``), and the class is then no program's class:
    its generated ``__new__`` never replaced. Here the class is the program's, of
    ``__main__``, whoever calls. As a base (``class P(NamedTuple)``) it is the real one's
    marker, which the class statement builds from as before."""
    real = typing.NamedTuple

    @functools.wraps(real)
    def NamedTuple(typename: Any, fields: Any = None, /, **kwargs: Any) -> Any:
        if fields is None:
            fields = kwargs.items()
        elif kwargs:
            raise TypeError("Either list of fields or keywords can be provided to NamedTuple, not both")
        fields = [(exact_str(name, "field name"), kind) for name, kind in fields]
        for name, _ in fields:
            compiled_as_written(name, "NamedTuple: the field name")
        cls = typing._make_nmtuple(exact_str(typename, "class name"), fields, module="__main__")  # type: ignore[attr-defined]  # noqa: SLF001
        ownership.current().add(cls)  # built for the program: its own class
        return _sanitized(cls)

    del NamedTuple.__wrapped__
    NamedTuple.__mro_entries__ = _named_tuple_base  # type: ignore[attr-defined]
    return NamedTuple


def _program_typed_dict() -> Any:
    """``typing.TypedDict('TD', {...})``: as NamedTuple's functional form, the real one
    names the class after the module of the calling frame (a library's, when library
    code made the call, or the sandbox's own through a call with ``*args``), and the
    class is then no program's class. Here it is the program's, of ``__main__``. As a
    base (``class TD(TypedDict)``) it is the real one's marker."""
    real: Any = typing.TypedDict

    @functools.wraps(real)
    def TypedDict(typename: Any, fields: Any = None, /, *, total: Any = True, **kwargs: Any) -> Any:
        if fields is None:
            fields = kwargs
        elif kwargs:
            raise TypeError("TypedDict takes either a dict or keyword arguments, but not both")
        annotations = {exact_str(key, "key name"): value for key, value in dict(fields).items()}
        namespace = {"__annotations__": annotations, "__module__": "__main__"}
        meta = typing._TypedDictMeta  # type: ignore[attr-defined]  # noqa: SLF001 - what the real one calls
        cls = meta(exact_str(typename, "class name"), (), namespace, total=bool(total))
        ownership.current().add(cls)  # built for the program: its own class
        return _sanitized(cls)

    del TypedDict.__wrapped__
    TypedDict.__mro_entries__ = _typed_dict_base  # type: ignore[attr-defined]
    return TypedDict


def _typed_dict_base(bases: tuple[Any, ...]) -> tuple[type, ...]:
    return (typing._TypedDict,)  # noqa: SLF001 - what the real marker stands for


def _named_tuple_base(bases: tuple[Any, ...]) -> tuple[type, ...]:
    return (typing._NamedTuple,)  # type: ignore[attr-defined]  # noqa: SLF001 - what the real marker stands for


def _registered_overload(func: Any) -> Any:
    # typing files it under func.__module__ and __qualname__, texts the program can copy
    # from any function (functools.wraps(json.loads)): only the program's own module's.
    if type(func.__module__) is str and func.__module__ == "__main__":
        typing.overload(func)
    return func


def _mark_no_type_check(arg: Any) -> Any:
    if isinstance(arg, type):
        type.__setattr__(arg, "__no_type_check__", True)
    else:
        arg.__no_type_check__ = True
    return arg


def _decorator_factory_rewriting(factory: Any, what: str) -> Any:
    """``typing.dataclass_transform(...)`` returns a decorator that rewrites its argument."""

    @functools.wraps(factory)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        return _rewrites_its_argument(factory(*args, **kwargs), what)

    return guarded


def _own_class(cls: Any, what: str) -> None:
    if not is_user_class(cls):
        raise refused(f"{what} can only be applied to classes defined by the program")


def _own_classes_only(func: Any, what: str, *, factory: bool = False) -> Any:
    """A class decorator that rewrites its argument, restricted to the program's classes.
    (Applied to a library class it would change that class for everything in the worker.)
    The class is its one positional argument; with ``factory`` (dataclass), calling it
    with keyword options only returns a decorator that checks the class it is given.
    Nothing else is forwarded: ``total_ordering(cls=numbers.Real)`` reached the real
    function with a library class as a keyword."""

    if not factory:

        @functools.wraps(func)
        def guarded(cls: Any, /) -> Any:
            _own_class(cls, what)
            return func(cls)

        return guarded

    @functools.wraps(func)
    def guarded_factory(cls: Any = None, /, **options: Any) -> Any:
        if cls is None:  # @dataclass(frozen=True) style: returns the real decorator
            decorate = func(**options)

            def decorate_own(target: Any, /) -> Any:
                _own_class(target, what)
                return decorate(target)

            return decorate_own
        _own_class(cls, what)
        return func(cls, **options)

    return guarded_factory


def _no_dunder(name: object, what: str) -> None:
    if isinstance(name, str) and name.startswith("__"):
        raise refused(f"{what} may not be a dunder name ({name!r}) in the sandbox")


def _sanitized(cls: Any) -> Any:
    """Every class a library builds for the program passes here: never a metaclass, and
    __match_args__ naming ordinary attributes only."""
    refuse_metaclass(cls)
    sanitize_match_args(cls)
    return cls


def _make_dataclass_as_a_class_statement(dataclass: Any) -> Any:
    """``dataclasses.make_dataclass``, built the way the program's own code would build
    the class: the class statement's factory (every rule a class statement's namespace and
    bases meet, also those its program bases lend), then the ``dataclass`` decorator the
    program is offered (its options decided as exact bools, the class checked after it).
    The library's make_dataclass is only ``types.new_class`` then ``dataclass``; a parallel
    path through the real ones had to repeat each rule, and drifted (lent hooks, options
    that ran the program's ``__bool__`` mid-processing, bases decided as given instead of
    as resolved)."""

    def make_dataclass(cls_name: Any, fields: Any, *args: Any, namespace: Any = None, **options: Any) -> Any:
        if args:
            raise TypeError("make_dataclass() takes its options (bases=, namespace=, ...) as keywords")
        options = exact_keywords(options)
        name = exact_str(cls_name, "class name")
        bases = bases_for_a_library_factory(options.pop("bases", ()))
        annotations: dict[str, Any] = {}
        defaults: dict[str, Any] = {}
        for item in fields:
            spec = (item,) if isinstance(item, str) else tuple(item)
            if len(spec) not in (1, 2, 3):
                raise TypeError(f"Invalid field: {item!r}")
            # Exact strings: a str subclass could answer isidentifier() as it likes.
            field = exact_str(spec[0], "field name")
            if not field.isidentifier():
                raise TypeError(f"Field names must be valid identifiers: {field!r}")
            if keyword.iskeyword(field):
                raise TypeError(f"Field names must not be keywords: {field!r}")
            if field in annotations:
                raise TypeError(f"Field name duplicated: {field!r}")
            _no_dunder(field, "a make_dataclass field name")
            annotations[field] = spec[1] if len(spec) > 1 else "typing.Any"
            if len(spec) == 3:
                defaults[field] = spec[2]
        body = {exact_str(k, "namespace key"): v for k, v in dict(namespace or {}).items()}
        for key in body:
            _no_dunder(key, "a make_dataclass namespace key")
        # What becomes the class's attributes, as a class body's values would: a container
        # C code filled (a field spec, a namespace dict) may hold anything.
        for key, value in (*body.items(), *defaults.items()):
            if admit(value) is not value:
                raise refused(f"make_dataclass: the value of {key!r} cannot be held in the sandbox")

        def fill(prepared: Any) -> None:  # what the class statement's body would bind
            prepared["__module__"] = "__main__"
            prepared["__qualname__"] = name
            for key, value in (*body.items(), *defaults.items()):
                prepared[key] = value
            prepared["__annotations__"] = annotations

        cls = types.new_class(name, bases, {"metaclass": make_class_factory(ownership.current())}, fill)
        return dataclass(cls, **options)

    return make_dataclass


def _text_signature(cls: type) -> Any:
    """The signature the interpreter reads out of the docstring a class was created with
    (what inspect.signature evaluates), whatever ``__doc__`` says now."""
    return type.__dict__["__text_signature__"].__get__(cls)


def _exact_options(options: dict[str, Any]) -> dict[str, Any]:
    """dataclass's options as exact bools, decided here: the real one asks ``if slots:``
    right before it rebuilds the class, and the program's ``__bool__`` could change the
    class in between."""
    return {key: value if type(value) is bool else bool(value) for key, value in exact_keywords(options).items()}


def _sanitized_after(decorate: Any, cls: Any) -> Any:
    """``decorate(cls)``, with ``cls`` sanitized even when the decorator raises halfway
    (dataclass(weakref_slot=True) sets __match_args__ before it refuses the option)."""
    try:
        result = _sanitized(decorate(cls))
    finally:
        sanitize_match_args(cls)
    if result is not cls and isinstance(result, type) and is_user_class(cls):
        # dataclass(slots=True) returns a new class built from the program's: the program's
        # too (its instances take the program's attribute writes), with the same checks.
        if _text_signature(result) is not None:
            raise refused("dataclasses: a class docstring cannot hold a text signature in the sandbox")
        refuse_metaclass(result)
        ownership.current().add(result)
        ownership.settle_rebuilt_class(result, cls, vars(result).get("__dataclass_fields__", {}))
    return result


def _sanitizing(decorator: Any) -> Any:
    """A class decorator whose result gets its __match_args__ checked (dataclass sets it)."""

    @functools.wraps(decorator)
    def guarded(cls: Any = None, /, **options: Any) -> Any:
        options = _exact_options(options)
        if cls is None:  # @dataclass(...) returns a decorator
            decorate = decorator(None, **options)
            return lambda target: _sanitized_after(decorate, target)
        return _sanitized_after(lambda target: decorator(target, **options), cls)

    return guarded


def _copy_replacements() -> dict[str, Any]:
    real_deepcopy = copy.deepcopy

    def deepcopy(x: Any, memo: None = None) -> Any:
        """copy.deepcopy, always with a memo of its own (see the catalogue note)."""
        if memo is not None:
            raise refused("copy.deepcopy takes no memo in the sandbox")
        return real_deepcopy(x)

    return {"deepcopy": deepcopy}


def compiled_as_written(name: str, what: str) -> None:
    """A name library code compiles into source (a dataclass field, a namedtuple field) is
    read by the parser after NFKC normalisation: ``_\uff3fdict\uff3f\uff3f`` passed every
    check as written and compiled to ``self.__dict__`` (pass 86). It must read as written."""
    if not name.isascii():
        normalized = unicodedata.normalize("NFKC", name)
        if normalized != name:
            raise refused(f"{what} {name!r} reads as {normalized!r} in Python: write it that way")


def _collections_replacements() -> dict[str, Any]:
    real = collections.namedtuple

    @functools.wraps(real)
    def namedtuple(typename: Any, field_names: Any, *args: Any, module: Any = None, **kwargs: Any) -> Any:
        # Without module=, namedtuple names the caller's module: this one, not the program's.
        # Another module would make the class a library module's (dataclasses compiles its
        # methods with that module's globals).
        if module not in (None, "__main__"):
            raise refused("namedtuple: the program's classes belong to __main__ (no module=)")
        if isinstance(field_names, str):
            field_names = str.__str__(field_names).replace(",", " ").split()
        field_names = [exact_str(name, "field name") for name in field_names]
        for name in field_names:
            compiled_as_written(name, "namedtuple: the field name")
        cls = real(typename, field_names, *args, module="__main__", **kwargs)
        ownership.current().add(cls)  # built for the program: its own class
        register_generated_methods(cls)
        return _sanitized(cls)

    return {"namedtuple": namedtuple, "OrderedDict": pure_ordered_dict(), "defaultdict": _held_factory_defaultdict()}


@functools.cache
def _held_factory_defaultdict() -> type:
    """``collections.defaultdict`` as the program holds it: the C class, whose
    ``__missing__`` calls ``default_factory`` by a borrowed pointer, so a factory that sets
    ``d.default_factory = None`` while it runs freed itself (and a bound method's object)
    under its own call: a full escape on 3.11 (attack pass 67). Here ``__missing__`` is
    Python code, which holds the factory in its frame for the call."""

    class defaultdict(collections.defaultdict):  # type: ignore[type-arg]
        __doc__ = collections.defaultdict.__doc__
        __slots__ = ()

        def __missing__(self, key: Any) -> Any:
            factory = self.default_factory
            if factory is None:
                raise KeyError(key)
            self[key] = value = factory()
            return value

    defaultdict.__module__ = "collections"
    instances_still_made(collections.defaultdict)
    return defaultdict


@functools.cache
def pure_ordered_dict() -> type:
    """``collections.OrderedDict`` as the program holds it: the standard library's own
    pure-Python class (``collections/__init__.py`` defines it, then replaces it with
    ``_collections``' C one), loaded from that file with the C class hidden. The C class
    walks its linked nodes while it calls the program's ``__eq__``/``__getitem__``/
    ``__setitem__``, which may free them: ``==``, ``copy()``, ``move_to_end``, ``pop`` were
    each a full escape on 3.11 (attack pass 65; gh-119004, gh-142734 and gh-142637, the
    last two open on every version). Python code over a dict can only raise there.
    Its ``__setitem__``/``__delitem__`` take the dict's own functions and its link class
    as defaulted parameters a subclass could pass: here they take only the documented ones."""
    real = sys.modules["_collections"]
    hidden = types.ModuleType("_collections")
    vars(hidden).update({k: v for k, v in vars(real).items() if k != "OrderedDict" and not is_dunder(k)})
    spec = importlib.util.spec_from_file_location("collections", collections.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_collections"] = hidden
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules["_collections"] = real
    pure: Any = module.OrderedDict
    set_item, delete_item = vars(pure)["__setitem__"], vars(pure)["__delitem__"]
    assert isinstance(set_item, types.FunctionType) and isinstance(delete_item, types.FunctionType)

    def __setitem__(self: Any, key: Any, value: Any) -> None:
        set_item(self, key, value)

    def __delitem__(self: Any, key: Any) -> None:
        delete_item(self, key)

    # Built from the pure class's namespace, not on it: a subclass of the pure class
    # (its MRO's next entry) would reach the defaulted parameters again.
    namespace = {k: v for k, v in vars(pure).items() if k not in ("__dict__", "__weakref__")}
    namespace.update(__setitem__=__setitem__, __delitem__=__delitem__, __module__="collections")
    offered = type("OrderedDict", (dict,), namespace)
    # The methods' globals: __eq__ asks isinstance(other, OrderedDict) (order matters only
    # between two of them), __reduce__ reads vars(OrderedDict()): the class offered.
    module.OrderedDict = offered  # type: ignore[attr-defined]
    register_private_copy(vars(module), "OrderedDict.")  # its other functions are not offered
    return offered


def _itertools_replacements() -> dict[str, Any]:
    """itertools' C iterators that run the program's code in the middle of their own step
    and then use what that code could have freed. A dropper lets go of the iterator it
    holds when it sees it exhausted, while an outer step of its own (or of the iterator
    it drops) still runs on it, re-entered from the program's ``__next__``: ``chain``,
    ``islice``, ``cycle``, ``pairwise``, ``zip_longest`` (gh-142732, open on every
    version; full escapes on 3.11, attack passes 65 and 67). ``groupby`` and
    ``accumulate`` compare or add operands they hold by borrowed pointers, which the
    program's ``__eq__``/``__add__`` can make them drop (gh-120298's shape: a full escape
    through groupby, pass 67); ``count`` adds a step of the program's to a total it holds
    (gh-154670). Here each is the documentation's own Python equivalent (a generator, or a
    class of Python code: re-entering one raises ValueError, and Python code frees nothing
    it still uses), with the C one's argument checks; the C classes stay what library code
    (``Counter.elements``) hands out, but the program never gets one to call."""
    c_count, c_islice, c_accumulate = itertools.count, itertools.islice, itertools.accumulate

    def zip_longest(*iterables: Any, fillvalue: Any = None) -> Any:
        iterators = [iter(iterable) for iterable in iterables]
        return _zip_longest(iterators, fillvalue)

    def count(start: Any = 0, step: Any = 1) -> Any:
        c_count(start, step)  # its checks and errors (made, never stepped: no addition runs)
        return _count(start, step)

    class chain:
        __doc__ = itertools.chain.__doc__

        def __new__(cls, *iterables: Any) -> Any:
            return _chain(iterables)

        @classmethod
        def from_iterable(cls, iterables: Any) -> Any:
            return _chain(iterables)

    def islice(iterable: Any, *args: Any) -> Any:
        c_islice((), *args)  # its checks and errors
        return _islice(iter(iterable), slice(*args))

    def cycle(iterable: Any) -> Any:
        return _cycle(iter(iterable))

    def pairwise(iterable: Any) -> Any:
        return _pairwise(iter(iterable))

    def accumulate(iterable: Any, func: Any = None, *, initial: Any = None) -> Any:
        c_accumulate((), func, initial=initial)  # its checks and errors
        return _accumulate(iter(iterable), operator.add if func is None else func, initial)

    for replaced in (zip_longest, count, islice, cycle, pairwise, accumulate):
        replaced.__doc__ = getattr(itertools, replaced.__name__).__doc__
    # Library code (Counter.elements, random.choices) makes and may hand out these.
    instances_still_made(*(getattr(itertools, name) for name in _C_ITERATORS_REPLACED))
    return {
        "zip_longest": zip_longest,
        "count": count,
        "chain": chain,
        "islice": islice,
        "cycle": cycle,
        "pairwise": pairwise,
        "accumulate": accumulate,
        "groupby": _GroupBy,
    }


_C_ITERATORS_REPLACED = ("zip_longest", "count", "chain", "islice", "cycle", "pairwise", "accumulate", "groupby")


def rebind_replaced_iterators(replacements: dict[str, Any], allowed: Iterable[str]) -> None:
    """Library modules bound the replaced C iterators at import (``collections._chain``,
    ``random._accumulate``, ``statistics.groupby``) and build them over what the program
    gives: ``Counter.elements()`` handed the program a C chain over a subclass's
    ``items()``, whose code stepped it again from inside its own step and freed what the
    outer step was running in (attack pass 76). Those bindings in the offered modules (and
    their submodules, and the private copies the sandbox loads) now name the sandbox's
    replacements, so no library path the program reaches makes the C ones."""
    by_class = {id(getattr(itertools, name)): replacements[name] for name in _C_ITERATORS_REPLACED}
    roots = {name.partition(".")[0] for name in allowed}
    namespaces = [
        vars(module)
        for name, module in list(sys.modules.items())
        if isinstance(module, types.ModuleType) and module is not itertools and name.partition(".")[0] in roots
    ]
    namespaces.extend(namespace for namespace, _ in PRIVATE_MODULE_COPIES.values())
    for namespace in namespaces:
        for key, value in list(namespace.items()):
            replacement = by_class.get(id(value))
            if replacement is not None:
                namespace[key] = replacement


def _zip_longest(iterators: list[Any], fillvalue: Any) -> Any:
    active = len(iterators)
    if not active:
        return
    while True:
        values = []
        for index, iterator in enumerate(iterators):
            try:
                value = next(iterator)
            except StopIteration:
                active -= 1
                if not active:
                    return
                iterators[index] = itertools.repeat(fillvalue)
                value = fillvalue
            values.append(value)
        yield tuple(values)


def _count(start: Any, step: Any) -> Any:
    current = start
    while True:
        yield current
        current += step


def _chain(iterables: Any) -> Any:
    for iterable in iterables:
        yield from iterable


def _islice(iterator: Any, bounds: slice) -> Any:
    start, stop, step = bounds.start or 0, bounds.stop if bounds.stop is not None else sys.maxsize, bounds.step or 1
    wanted = iter(range(start, stop, step))
    try:
        following = next(wanted)
    except StopIteration:
        for _ in zip(range(start), iterator, strict=False):
            pass
        return
    index = -1
    try:
        for index, element in enumerate(iterator):
            if index == following:
                yield element
                following = next(wanted)
    except StopIteration:
        for _ in zip(range(index + 1, stop), iterator, strict=False):
            pass


def _cycle(iterator: Any) -> Any:
    saved = []
    for element in iterator:
        yield element
        saved.append(element)
    while saved:
        yield from saved


def _pairwise(iterator: Any) -> Any:
    try:
        previous = next(iterator)
    except StopIteration:
        return
    for element in iterator:
        yield previous, element
        previous = element


def _accumulate(iterator: Any, func: Any, initial: Any) -> Any:
    total = initial
    if initial is None:
        try:
            total = next(iterator)
        except StopIteration:
            return
    yield total
    for element in iterator:
        total = func(total, element)
        yield total


class _GroupBy:
    """itertools.groupby, the documentation's Python equivalent."""

    __slots__ = ("_current", "_id", "_it", "_key", "_target", "_value")

    def __init__(self, iterable: Any, key: Any = None) -> None:
        self._key = key
        self._it = iter(iterable)
        self._target = self._current = self._value = object()
        self._id = object()

    def __iter__(self) -> _GroupBy:
        return self

    def __next__(self) -> tuple[Any, Any]:
        self._id = object()
        while self._current == self._target:
            self._value = next(self._it)
            self._current = self._value if self._key is None else self._key(self._value)
        self._target = self._current
        return self._current, self._grouper(self._target, self._id)

    def _grouper(self, target: Any, ident: object) -> Any:
        while self._id is ident and self._current == target:
            yield self._value
            try:
                self._value = next(self._it)
            except StopIteration:
                return
            self._current = self._value if self._key is None else self._key(self._value)


_GroupBy.__name__ = _GroupBy.__qualname__ = "groupby"
register_holder(_GroupBy, "_key", "_it")  # calls its key function, steps its iterator


def _typing_introspection() -> dict[str, Any]:
    """typing.get_origin(typing.Type[int]) is the real ``type``, whose 3-argument call
    builds classes that skip the class checks: metaclasses come back as the sandbox's type."""

    def clean(value: Any) -> Any:
        if isinstance(value, type) and issubclass(value, type):
            return type_of(int)  # the sandbox's stand-in for `type`
        if isinstance(value, tuple):
            return tuple(clean(item) for item in value)
        if isinstance(value, list):
            return [clean(item) for item in value]
        return value

    def get_origin(tp: Any) -> Any:
        return clean(typing.get_origin(tp))

    def get_args(tp: Any) -> Any:
        return clean(typing.get_args(tp))

    def get_type_hints(obj: Any, globalns: Any = None, localns: Any = None, include_extras: bool = False) -> Any:
        """``typing.get_type_hints``: the annotations of a class (merged over its MRO) or a
        function, ``None`` as ``NoneType``. A string annotation of the program's (a forward
        reference, ``from __future__ import annotations``) is evaluated by the sandbox's
        own eval, in the program's globals or the dicts given: the real one compiles it
        with the real eval. A library class's string annotations stay strings."""
        if isinstance(obj, type):
            hints: dict[str, Any] = {}
            for base in reversed(type.__dict__["__mro__"].__get__(obj)):
                annotations = type.__dict__["__dict__"].__get__(base).get("__annotations__", {})
                if not isinstance(annotations, dict):
                    continue
                for name, value in list(annotations.items()):
                    hints[name] = _hint(value, globalns, localns, evaluate=ownership.is_user_class(base))
        else:
            if getattr(obj, "__no_type_check__", False) is True:
                return {}
            annotations = getattr(obj, "__annotations__", None)
            if not isinstance(annotations, dict):
                raise TypeError(f"{obj!r} is not a module, class, method, or function.")
            own = isinstance(obj, types.FunctionType) and obj.__code__.co_filename == SOURCE_FILENAME
            hints = {name: _hint(value, globalns, localns, evaluate=own) for name, value in annotations.items()}
        if not include_extras:
            hints = {name: typing._strip_annotations(value) for name, value in hints.items()}  # type: ignore[attr-defined]  # noqa: SLF001
        # Each value through the membrane: a dict is plain, so neither the call's result
        # check nor C code reading it (list(h.values())) looks inside, and a library's
        # annotation can be anything it wrote (typing.dataclass_transform's nests
        # type[Any], pass 89).
        return {name: admit(value) for name, value in hints.items()}

    return {"get_origin": get_origin, "get_args": get_args, "get_type_hints": get_type_hints}


def _hint(value: Any, globalns: Any, localns: Any, *, evaluate: bool) -> Any:
    if value is None:
        return type(None)
    if isinstance(value, str) and evaluate:
        hint = sandbox_eval(str.__str__(value), globalns, localns)
        return type(None) if hint is None else hint
    return value


def _match_args_after(decorator: Any) -> Any:
    """``dataclass`` that sets ``__match_args__`` only once it is done with the class.

    The real one sets it from the field names (private ones included) and then calls
    back into the program (``abc.update_abstractmethods`` reads each abstract name with
    getattr, running the program's descriptors): inside that window a ``match`` class
    pattern read private attributes of any object the class claimed through its ABC.
    Here it runs with ``match_args=False``; the same tuple is set after, and sanitized."""

    @functools.wraps(decorator)
    def with_match_args_after(cls: Any = None, /, **options: Any) -> Any:
        wanted = options.pop("match_args", True)

        def finish(result: Any) -> Any:
            if wanted and isinstance(result, type) and "__match_args__" not in vars(result):
                # As dataclasses computes it: the __init__ parameters, InitVars included.
                init_fields = (dataclasses._FIELD, dataclasses._FIELD_INITVAR)  # type: ignore[attr-defined]  # noqa: SLF001
                names = tuple(
                    f.name
                    for f in vars(result)["__dataclass_fields__"].values()
                    if f._field_type in init_fields and f.init and not f.kw_only  # noqa: SLF001
                )
                # Never set, even for a moment, a tuple sanitize_match_args would clear: a
                # match suspended in a generator resumed by a hook in between read it.
                ordinary = all(
                    type(n) is str and not n.startswith("_") and n not in INTROSPECTION_ATTRIBUTES for n in names
                )
                type.__setattr__(result, "__match_args__", names if ordinary else ())
            if isinstance(result, type):
                register_generated_methods(result)
            return result

        if cls is None:
            decorate = decorator(None, match_args=False, **options)
            return lambda target: finish(decorate(target))
        return finish(decorator(cls, match_args=False, **options))

    return with_match_args_after


def _dataclass_readers() -> dict[str, Any]:
    """``asdict``, ``astuple`` and ``replace``: dataclasses' own code, run with a namespace
    in which ``getattr`` is the sandbox's guard. They read every field by the name its
    Field holds, and names kept finding ways past the checks made when the class was
    processed (a Field default hiding ``str.format``, a Field renamed by another class's
    processing); checking the reads first and letting the library read again left a
    window for the program's descriptors in between. Here each field is read once, as the
    program's ``getattr`` would read it (a library's private name refused, a value
    through the membrane)."""
    fields_name = dataclasses._FIELDS  # type: ignore[attr-defined]  # noqa: SLF001 - the protocol's own name

    def read(obj: Any, name: Any, *default: Any) -> Any:
        if name is fields_name:  # the class's table of Fields, which the library trusts
            return getattr(obj, name, *default)
        return guarded_getattr(obj, name, *default)

    namespace = dict(vars(dataclasses), getattr=read)
    register_clone_namespace(namespace)
    made: dict[str, Any] = {}
    for name in ("_asdict_inner", "_astuple_inner", "asdict", "astuple", "replace"):
        real = getattr(dataclasses, name)
        clone = types.FunctionType(real.__code__, namespace, real.__name__, real.__defaults__, real.__closure__)
        clone.__kwdefaults__ = real.__kwdefaults__
        clone.__qualname__, clone.__doc__, clone.__module__ = real.__qualname__, real.__doc__, real.__module__
        namespace[name] = made[name] = clone
    return {name: made[name] for name in ("asdict", "astuple", "replace")}


def _dataclasses_replacements() -> dict[str, Any]:
    dataclass = _sanitizing(
        _match_args_after(_own_classes_only(dataclasses.dataclass, "dataclasses.dataclass", factory=True))
    )
    make_dataclass = _make_dataclass_as_a_class_statement(dataclass)
    functools.update_wrapper(make_dataclass, dataclasses.make_dataclass)
    del make_dataclass.__wrapped__  # the library's stays out of reach
    return {"dataclass": dataclass, "make_dataclass": make_dataclass, **_dataclass_readers()}


def _dispatch_without_eval(dispatcher: Any) -> Any:
    """Give a ``singledispatch`` function a ``register`` that never evaluates annotations.
    ``@f.register(int)`` is the real one; ``@f.register`` on an annotated function made the
    real one call ``typing.get_type_hints``, which eval()s annotation strings outside the
    guards: here the first annotation is taken as it is, and a string is refused."""
    real_register = dispatcher.register

    def register(cls: Any, func: Any = None) -> Any:
        # What it registers, it calls later with the program's arguments: C code calls this
        # too (map(f.register, [str], ...)), with values the program never held.
        cls, func = admit(cls), (func if func is None else admit(func))
        if func is None and _is_dispatch_type(cls):
            # @f.register(int): the decorator it returns registers what it is given, and C
            # code can give it anything (map(f.register(str), values)): this one admits.
            return lambda function: register(cls, function)
        if func is not None or _is_dispatch_type(cls):
            return real_register(cls, func)  # a class or union, or the real error: no annotations read
        annotations = getattr(cls, "__annotations__", None)
        first = next((v for k, v in annotations.items() if k != "return"), None) if type(annotations) is dict else None
        if first is None:
            raise TypeError(
                f"Invalid first argument to `register()`: {cls!r}. "
                "Use either `@register(some_class)` or plain `@register` on an annotated function."
            )
        if isinstance(first, str):
            raise TypeError(
                f"singledispatch: the annotation {first!r} is a string, which the sandbox does not evaluate; "
                "register the type explicitly: @f.register(int)"
            )
        return real_register(first, cls)

    dispatcher.register = register
    return dispatcher


def _is_dispatch_type(cls: object) -> bool:
    """A class, or a union of classes (``int | str``): what register() takes as a type."""
    if isinstance(cls, type):
        return True
    return typing.get_origin(cls) in (typing.Union, types.UnionType) and all(
        isinstance(arg, type) for arg in typing.get_args(cls)
    )


def _safe_singledispatch(func: Any) -> Any:
    return _dispatch_without_eval(functools.singledispatch(func))


def guard_singledispatchmethod() -> None:
    """``singledispatchmethod`` builds its dispatcher with the real ``singledispatch``: in this
    process it gets the ``register`` that never evaluates annotations."""
    method = functools.singledispatchmethod
    if getattr(method.__init__, "sandbox_guarded", False):
        return
    real_init = method.__init__

    def __init__(self: Any, func: Any) -> None:
        real_init(self, func)
        self.dispatcher = _dispatch_without_eval(self.dispatcher)

    __init__.sandbox_guarded = True  # type: ignore[attr-defined]
    method.__init__ = __init__  # type: ignore[method-assign]


def _functools_replacements() -> dict[str, Any]:
    guard_singledispatchmethod()
    return {
        **_safe_update_wrapper(),
        "total_ordering": _own_classes_only(functools.total_ordering, "total_ordering"),
        "singledispatch": _safe_singledispatch,
    }


def _abc_replacements() -> dict[str, Any]:
    return {
        "update_abstractmethods": _own_classes_only(abc.update_abstractmethods, "abc.update_abstractmethods"),
        "abstractmethod": _rewrites_its_argument(abc.abstractmethod, "abc.abstractmethod"),
    }


def guard_protocol_members() -> None:
    """isinstance() with a runtime-checkable protocol probes each of its members with the
    real hasattr. In this process's typing, the members probed are the public ones only: a
    private name (set on the protocol class after runtime_checkable checked it) probed a
    library object's internals."""
    real = typing._get_protocol_attrs  # type: ignore[attr-defined]  # noqa: SLF001 - where the members are listed
    if getattr(real, "sandbox_guarded", False):
        return

    def _get_protocol_attrs(cls: Any) -> Any:
        # Special methods stay members (SupportsInt is __int__): without them a protocol
        # had no members and every object was an instance of it.
        return [name for name in real(cls) if not name.startswith("_") or is_dunder(name)]

    _get_protocol_attrs.sandbox_guarded = True  # type: ignore[attr-defined]
    typing._get_protocol_attrs = _get_protocol_attrs  # type: ignore[attr-defined]  # noqa: SLF001


def _typing_replacements() -> dict[str, Any]:
    rewriting = {
        name: _rewrites_its_argument(getattr(typing, name), f"typing.{name}")
        for name in ("final", "override")
        if hasattr(typing, name)
    }
    # typing.overload registers the function and returns typing's private
    # _overload_dummy, which the program cannot hold: here it returns the function
    # itself (the implementation that follows rebinds the name, as it must).
    rewriting["overload"] = _rewrites_its_argument(_registered_overload, "typing.overload")
    # typing's no_type_check also marks every function in the class's namespace whose
    # __module__ and __qualname__ match the class's, which the program can set to a
    # library's: only the argument itself is marked (get_type_hints, the one reader of
    # the mark, is not offered).
    rewriting["no_type_check"] = _rewrites_its_argument(_mark_no_type_check, "typing.no_type_check")
    # Its alias calls collections' pure-Python OrderedDict, as the program's own does.
    rewriting["OrderedDict"] = typing._SpecialGenericAlias(pure_ordered_dict(), 2, name="OrderedDict")  # type: ignore[attr-defined]  # noqa: SLF001
    rewriting["NamedTuple"] = _program_named_tuple()
    rewriting["TypedDict"] = _program_typed_dict()
    return {
        "runtime_checkable": _own_classes_only(typing.runtime_checkable, "typing.runtime_checkable"),
        "dataclass_transform": _decorator_factory_rewriting(typing.dataclass_transform, "typing.dataclass_transform"),
        **rewriting,
        **_typing_introspection(),
    }


def _operator_replacements() -> dict[str, Any]:

    def resolve(obj: Any, dotted: str) -> Any:
        for part in dotted.split("."):
            obj = guarded_getattr(obj, part)
        return obj

    class attrgetter:
        """operator.attrgetter, reading each attribute through the sandbox's guard."""

        __slots__ = ("_names",)

        def __init__(self, name: str, *names: str) -> None:
            for item in (name, *names):
                if not isinstance(item, str):
                    raise TypeError("attribute name must be a string")
            self._names = (name, *names)

        def __call__(self, obj: Any) -> Any:
            if len(self._names) == 1:
                return resolve(obj, self._names[0])
            return tuple(resolve(obj, name) for name in self._names)

    class methodcaller:
        """operator.methodcaller, looking the method up through the sandbox's guard."""

        __slots__ = ("_args", "_kwargs", "_name")

        def __init__(self, name: str, /, *args: Any, **kwargs: Any) -> None:
            if not isinstance(name, str):
                raise TypeError("method name must be a string")
            self._name, self._args, self._kwargs = name, args, kwargs

        def __call__(self, obj: Any) -> Any:
            return guarded_getattr(obj, self._name)(*self._args, **self._kwargs)

    class itemgetter:
        """operator.itemgetter, reading each item through the sandbox's subscript guard:
        the real one hands C code the item raw (``map(itemgetter(0), ...)``), and a
        library object's ``__getitem__`` computes what it returns (``typing.Union["..."]``
        compiles a ForwardRef)."""

        __slots__ = ("_items",)

        def __init__(self, item: Any, *items: Any) -> None:
            # Admitted: C code may build one over keys the program never held (map).
            self._items = tuple(admit(key) for key in (item, *items))

        def __call__(self, obj: Any) -> Any:
            if len(self._items) == 1:
                return guarded_getitem(obj, self._items[0])
            return tuple(guarded_getitem(obj, item) for item in self._items)

        def __repr__(self) -> str:
            return f"operator.itemgetter({', '.join(map(repr, self._items))})"

    return {
        "attrgetter": attrgetter,
        "methodcaller": methodcaller,
        "itemgetter": itemgetter,
        "getitem": getitem,
    }


def getitem(a: Any, b: Any, /) -> Any:
    """operator.getitem: the subscript's own guard (the item passes the membrane), and the
    key too: C code calls this with keys the program never held (``map(getitem, xs,
    keys)``), which the program's own subscript never does."""
    return guarded_getitem(a, admit(b))


#: Library names replaced by a guarded version, per module.
def _struct_replacements() -> dict[str, Any]:
    """struct's module functions cache the Struct of each format in a dict keyed by the
    format: a str subclass that hashes and compares as another format poisoned every later
    call of the worker. The format is read as an exact str or bytes."""

    def exact_format(fmt: Any) -> Any:
        # Exactly a str or bytes, whatever the program passed: any other object (a bytes
        # subclass, an object that hashes as a format) would be the cache's key.
        if isinstance(fmt, str):
            return exact_str(fmt, "format")
        if isinstance(fmt, bytes):
            return bytes(memoryview(fmt))
        raise TypeError(f"a struct format is a str or bytes, not {type(fmt).__name__}")

    def with_exact_format(function: Any) -> Any:
        @functools.wraps(function)
        def guarded(fmt: Any, /, *args: Any) -> Any:
            return function(exact_format(fmt), *args)

        return guarded

    replaced = {
        name: with_exact_format(getattr(struct, name))
        for name in ("pack", "unpack", "unpack_from", "iter_unpack", "calcsize")
    }

    @functools.wraps(struct.pack_into)
    def pack_into(fmt: Any, buffer: Any, /, *args: Any) -> None:
        refuse_references(buffer, "pack_into()")  # buffers.py: never into object references
        struct.pack_into(exact_format(fmt), buffer, *args)

    replaced["pack_into"] = pack_into
    return replaced


def _sys_replacements() -> dict[str, Any]:
    return {
        "exit": sys_stand_in.exit,
        "stdout": sys_stand_in.StandardStream("stdout"),
        "stderr": sys_stand_in.StandardStream("stderr"),
        "setrecursionlimit": sys_stand_in.setrecursionlimit,
        "set_int_max_str_digits": sys_stand_in.set_int_max_str_digits,
        "argv": list(sys_stand_in.ARGV),
    }


def _contextlib_replacements() -> dict[str, Any]:
    return {"redirect_stdout": sys_stand_in.redirect_stdout, "redirect_stderr": sys_stand_in.redirect_stderr}


#: The real members the proxies hold guarded replacements of (copy.deepcopy,
#: functools.update_wrapper ...): refused by the membrane however they are reached.
REPLACED_ORIGINALS: list[object] = []


def _installed_private_helpers() -> list[object]:
    """The guarded versions this module installed under a library's private names (and
    copy's module-level getattr): the library's own code calls them; no program holds
    them. They are closures of this module, which the membrane would otherwise approve
    as a decorator's (the "." in their qualname)."""
    candidates = [
        getattr(dataclasses, "_process_class", None),
        getattr(dataclasses, "_create_fn", None),
        getattr(copy, "_reconstruct", None),
        getattr(copy, "getattr", None),
        getattr(json.encoder, "c_make_encoder", None),
        getattr(typing, "_get_protocol_attrs", None),
        vars(enum.EnumType).get("_create_"),
        vars(ipaddress._BaseV4).get("_make_netmask"),  # noqa: SLF001 - guarded here
        vars(ipaddress._BaseV6).get("_make_netmask"),  # noqa: SLF001
        vars(contextlib._BaseExitStack).get("_push_exit_callback"),  # noqa: SLF001
    ]
    found: list[object] = []
    for candidate in candidates:
        function = getattr(candidate, "__func__", candidate)
        if isinstance(function, types.FunctionType) and function.__globals__.get("__name__") == __name__:
            found.append(function)
    return found


def _decimal_replacements() -> dict[str, Any]:
    """The templates as the program's copies (guards.DECIMAL_TEMPLATES), and setcontext,
    which copies a template it is given, as decimal does with its own templates: the
    current context is the program's to change (``setcontext(BasicContext)`` then
    ``getcontext().prec = 5``), a template never is."""
    templates = tuple(DECIMAL_TEMPLATES.values())
    # A context's flags and traps are instances of a class _decimal makes at import, named
    # after the module of its metaclass ("abc.SignalDict"): its instances pass, the class
    # is a stand-in. Called, it made a dict with no signal words, which Context(flags=)
    # read through a NULL pointer (attack pass 80: the worker crashed).
    signal_dict = type(decimal.Context().flags)
    instances_still_made(signal_dict)
    REPLACED_ORIGINALS.append(signal_dict)

    @functools.wraps(decimal.setcontext)
    def setcontext(context: Any, /) -> None:
        if any(context is template for template in templates):
            context = context.copy()
        decimal.setcontext(context)

    return {**DECIMAL_TEMPLATES, "setcontext": setcontext}


def _os_replacements() -> dict[str, Any]:
    names = (
        "listdir",
        "mkdir",
        "makedirs",
        "remove",
        "unlink",
        "rmdir",
        "rename",
        "replace",
        "walk",
        "getcwd",
        "getenv",
    )
    return {**{name: getattr(file_system, name) for name in names}, "stat": file_system.stat_of, "environ": {}}


def _os_path_replacements() -> dict[str, Any]:
    names = (
        "exists", "lexists", "isfile", "isdir", "islink", "getsize", "getmtime", "getatime", "getctime", "samefile",
        "abspath", "realpath", "relpath",
    )  # fmt: skip
    return {name: getattr(file_system, name) for name in names}


def _pathlib_replacements() -> dict[str, Any]:
    return dict.fromkeys(("Path", "PosixPath", "PurePath", "PurePosixPath"), file_paths.Path)


def _shutil_replacements() -> dict[str, Any]:
    names = ("copyfile", "copy", "copy2", "copytree", "move", "rmtree", "copyfileobj")
    return {name: getattr(file_copies, name) for name in names}


def _glob_replacements() -> dict[str, Any]:
    return {"glob": file_system.glob, "iglob": file_system.iglob}


def _zipfile_replacements() -> dict[str, Any]:
    return {"ZipFile": archives.ZipFile, "is_zipfile": archives.is_zipfile}


def _tarfile_replacements() -> dict[str, Any]:
    return {"open": archives.open, "is_tarfile": archives.is_tarfile}


REPLACEMENTS: dict[str, Any] = {
    "os": _os_replacements,
    "os.path": _os_path_replacements,
    "pathlib": _pathlib_replacements,
    "shutil": _shutil_replacements,
    "glob": _glob_replacements,
    "zipfile": _zipfile_replacements,
    "tarfile": _tarfile_replacements,
    "decimal": _decimal_replacements,
    "struct": _struct_replacements,
    "sys": _sys_replacements,
    "contextlib": _contextlib_replacements,
    "copy": _copy_replacements,
    "operator": _operator_replacements,
    "collections": _collections_replacements,
    "functools": _functools_replacements,
    "dataclasses": _dataclasses_replacements,
    "abc": _abc_replacements,
    "typing": _typing_replacements,
    "itertools": _itertools_replacements,
    **data_guards.REPLACEMENTS,  # called only in the data tier's template
}


def _exact_text(value: Any) -> Any:
    """A str or bytes subclass's contents as the exact type (its own methods never run);
    anything else as it is."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes(memoryview(value))
    return value


def _exact_prefix(value: Any) -> Any:
    """A network prefix as ipaddress's netmask cache may be keyed by it: an exact int or
    str. Any other object (one that hashes as a prefix's text) is refused before it
    reaches the cache every network of the worker shares."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__int__(value)
    if isinstance(value, str):
        return str.__str__(value)
    raise TypeError(f"a network prefix is an int or a str, not {type(value).__name__}")


def guard_update_wrapper() -> None:
    """``functools.update_wrapper`` (also what ``wraps``, ``lru_cache``, ``singledispatch``
    and ``contextlib.contextmanager`` run on whatever callable they are given) merges
    ``wrapped.__dict__`` into the wrapper with the real getattr: for a library class, its
    namespace, with the raw descriptors (an ``enum.property`` the program then renamed
    through ``__set_name__``); for a library object, its private state. Only the
    program's own functions, classes and objects have their ``__dict__`` merged; the other
    attributes (``__name__``, ``__doc__``, ``__wrapped__`` ...) are set as before; a
    library's wrapper gets only the names it does not have already. Patched
    in this process's functools, where the library's own callers find it."""
    real = functools.update_wrapper
    if getattr(real, "sandbox_guarded", False):
        return

    def programs_own(wrapped: Any) -> bool:
        if isinstance(wrapped, type):
            return is_user_class(wrapped)
        return is_program_function(wrapped) or is_user_class(type(wrapped))

    @functools.wraps(real)
    def update_wrapper(
        wrapper: Any,
        wrapped: Any,
        assigned: Any = functools.WRAPPER_ASSIGNMENTS,
        updated: Any = functools.WRAPPER_UPDATES,
    ) -> Any:
        if programs_own(wrapped):
            library_state = (
                ownership.names_library_code_uses(type(wrapped))
                if not isinstance(wrapped, type) and not is_program_function(wrapped)
                else frozenset()
            )
            if library_state and is_program_function(wrapper) and "__dict__" in updated:
                # An instance of the program's subclass of a library class holds that class's
                # state in its dict (PrettyPrinter's _stream, JSONDecoder's parse_string):
                # the program's, but not its to copy.
                result = real(wrapper, wrapped, assigned, tuple(name for name in updated if name != "__dict__"))
                own = vars(wrapper)
                for name, value in vars(wrapped).items():
                    if name not in library_state:
                        own[name] = value
                return result
            if is_program_function(wrapper):
                return real(wrapper, wrapped, assigned, updated)
            # A library's wrapper (singledispatch's, lru_cache's) keeps the attributes it
            # has: the program's function's would replace what its own code reads back
            # (f.dispatch = items.append, called by singledispatchmethod with the real type).
            result = real(wrapper, wrapped, assigned, ())
            own = getattr(wrapper, "__dict__", None)
            if type(own) is dict:
                for name, value in vars(wrapped).items():
                    own.setdefault(name, value)
            return result
        # From anything else only text (__name__, __doc__ ...): __annotations__ is the
        # library's own dict, shared by reference, with aliases over the real type in it.
        texts = tuple(name for name in assigned if type(getattr(wrapped, name, None)) is str)
        return real(wrapper, wrapped, texts, ())

    update_wrapper.sandbox_guarded = True  # type: ignore[attr-defined]
    functools.update_wrapper = update_wrapper


def guard_text_taking_library_code() -> None:
    """Library functions that call methods of a text or number they are given, or key a
    shared cache by it, see the exact value instead of the program's subclass. Patched in
    this process's modules, where the library's own callers find them too:

    * ``re.escape(s)`` calls ``s.translate(re._special_chars_map)``: a subclass's translate
      received (and could change) that module table, and every later escape with it;
    * zoneinfo validates a key, then ``os.path.join(tzpath, key)`` computes
      ``path + sep + key``: a subclass's ``__radd__`` chose the file opened;
    * ipaddress caches netmasks per class keyed by the prefix: a subclass that hashes and
      compares as another prefix gave every later network of the worker its netmask."""
    if getattr(re.escape, "sandbox_guarded", False):
        return
    escape = re.escape

    @functools.wraps(escape)
    def guarded_escape(pattern: Any) -> Any:
        return escape(_exact_text(pattern))

    validate = tzpath._validate_tzfile_path  # type: ignore[attr-defined]  # noqa: SLF001 - guarded here

    def exact_key(path: Any, *args: Any, **kwargs: Any) -> Any:
        if type(path) is not str:
            raise TypeError(f"a ZoneInfo key is a str, not {type(path).__name__}")
        return validate(path, *args, **kwargs)

    for base, network in (
        (ipaddress._BaseV4, ipaddress.IPv4Network),  # noqa: SLF001 - their netmask cache is guarded here
        (ipaddress._BaseV6, ipaddress.IPv6Network),  # noqa: SLF001
    ):
        exact_prefix = _exact_prefix_netmask(vars(base)["_make_netmask"].__func__, network)
        type.__setattr__(base, "_make_netmask", classmethod(exact_prefix))
    for address_class in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        type.__setattr__(address_class, "__init__", _exact_address_init(vars(address_class)["__init__"]))
    guarded_escape.sandbox_guarded = True  # type: ignore[attr-defined]
    re.escape = guarded_escape
    tzpath._validate_tzfile_path = exact_key  # type: ignore[attr-defined]  # noqa: SLF001


def _exact_prefix_netmask(make: Any, network: type) -> Callable[[Any, Any], Any]:
    """ipaddress's _make_netmask over an exact prefix. What it guards is closed over, not
    a defaulted parameter: a caller could pass its own (attack pass 74, P3)."""

    def _make_netmask(cls: Any, arg: Any) -> Any:
        # Computed and cached with the library's own class, whatever cls is: a program
        # subclass's parsing hooks (_prefix_from_prefix_string) filed their answer in
        # the cache every network of the worker shares.
        return make(network, _exact_prefix(arg))

    return _make_netmask


def _exact_address_init(real_init: Any) -> Callable[[Any, Any], None]:
    """An address class's __init__ over an exact int or text (closed over, as above)."""

    def __init__(self: Any, address: Any) -> None:
        # An int (or bytes, str) address is kept as the object's own state and read by
        # __eq__, __hash__ and the is_private/is_global caches every address of the
        # worker shares: a subclass's operators answered for 8.8.8.8.
        if isinstance(address, int) and not isinstance(address, bool):
            address = int.__int__(address)
        real_init(self, _exact_text(address))

    return __init__


def guard_library_flag_values() -> None:
    """``re.RegexFlag(value)`` with a value that is no member makes a pseudo-member and
    files it in the library class's own table, keeping the caller's value: an ``int``
    subclass of the program's that hashes as 10 became what every later ``re.I | re.M``
    returns, and re's compiler ran its operators (pass 87). A library Flag keeps the exact
    int of such a value (its digits, read without the program's methods); the program's
    own flags keep what it gives them, as in CPython."""
    real = vars(enum.Flag)["_missing_"].__func__
    if getattr(real, "sandbox_guarded", False):
        return

    def _missing_(cls: Any, value: Any) -> Any:
        if isinstance(value, int) and type(value) is not int and not ownership.is_user_class(cls):
            value = int.__int__(value)
        return real(cls, value)

    _missing_.sandbox_guarded = True  # type: ignore[attr-defined]
    enum.Flag._missing_ = classmethod(_missing_)  # type: ignore[assignment,method-assign]


def guard_enum_members_and_value_repr() -> None:
    """Two decisions EnumType makes before any of the program's hooks can run, checked
    where it makes them (a check after the class statement came after the program's
    ``__init_subclass__`` and descriptors' ``__set_name__`` had used the class):

    * ``_find_data_repr_`` takes a mixin's ``__repr__`` as the members' ``_value_repr_``
      even when the mixin is not the data type (it has no ``__new__``), and a Flag's
      pseudo-members keep whatever value the caller gave: a library function there is
      held as an UnboundMethod, which runs only on an instance of its class (``class
      E(NormalDist, Enum)`` ran ``NormalDist.__repr__`` on the program's objects);
    * each member, as ``_proto_member.__set_name__`` makes it, must pass the membrane as
      it is: C code iterates the class without the membrane (``map(operator.call, E,
      ...)`` called a member over partial holding a refused callable)."""
    find_repr = vars(enum.EnumType)["_find_data_repr_"].__func__
    if getattr(find_repr, "sandbox_guarded", False):
        return

    def _find_data_repr_(mcls: Any, class_name: str, bases: tuple[type, ...]) -> Any:
        found = find_repr(mcls, class_name, bases)
        if not ownership.building_a_class() or type(found) is not types.FunctionType or is_program_function(found):
            return found  # a library's own enum; None, a C slot (which checks its self), the program's
        owner = next(
            (klass for chain in bases for klass in chain.__mro__ if vars(klass).get("__repr__") is found), None
        )
        if owner is None:
            raise refused(f"enum {class_name}: its values would be shown by a library function of no class")
        return UnboundMethod(found, owner)

    _find_data_repr_.sandbox_guarded = True  # type: ignore[attr-defined]
    enum.EnumType._find_data_repr_ = classmethod(_find_data_repr_)  # type: ignore[attr-defined]

    make_member = enum._proto_member.__set_name__  # type: ignore[attr-defined]  # noqa: SLF001

    def __set_name__(self: Any, enum_class: Any, member_name: str) -> None:
        make_member(self, enum_class, member_name)
        if not ownership.built_by_the_program(enum_class):
            return  # a library's own enum
        namespace = vars(enum_class)
        member = dict.get(namespace["_member_map_"], member_name)
        try:
            withheld = member is not None and admit(member) is not member
        except SecurityError:
            withheld = True
        if withheld:
            # Out of every table of the class first: a hook may have kept the class, whose
            # statement now fails, and C code iterates it without the membrane.
            dict.pop(namespace["_member_map_"], member_name, None)
            names = namespace["_member_names_"]
            if member_name in names:
                list.remove(names, member_name)
            values = namespace["_value2member_map_"]
            for key in [key for key, value in dict.items(values) if value is member]:
                dict.pop(values, key)
            raise refused(f"enum {enum_class.__name__}: a member that cannot be held in the sandbox")

    enum._proto_member.__set_name__ = __set_name__  # type: ignore[attr-defined]  # noqa: SLF001


def guard_enum_functional_api() -> None:
    """``Enum("E", names, type=...)`` builds a class from names and values, outside the
    class statement: a name like ``__getattribute__`` became a class attribute, and each
    rule the class statement applies to its namespace and its bases (lent hooks, state
    descriptors) had to be repeated here for each spelling of ``names``. The class is now
    built as a class statement builds it: ``types.new_class`` over the class statement's
    factory, the members written into the namespace the metaclass prepared as the body
    would write them. Member names must be ordinary public names (as members are).
    Patched in this process's enum module (the functional API is EnumType.__call__)."""

    real = enum.EnumType._create_  # type: ignore[attr-defined]  # the functional API's entry point
    if getattr(real, "sandbox_guarded", False):
        return

    def members(cls: Any, class_name: str, names: Any, bases: tuple[Any, ...], start: Any) -> list[tuple[str, Any]]:
        """(name, value) pairs, read once into plain values (an iterable could answer
        differently the second time), as enum's own _create_ reads them."""
        if isinstance(names, str):
            names = str.__str__(names).replace(",", " ").split()
        if isinstance(names, (tuple, list)) and names and isinstance(names[0], str):
            first_enum = cls._get_mixins_(class_name, bases)[1]
            pairs: list[tuple[Any, Any]] = []
            last_values: list[Any] = []
            for count, name in enumerate(list(names)):
                value = first_enum._generate_next_value_(name, start, count, last_values[:])
                last_values.append(value)
                pairs.append((name, value))
        elif names is None:
            pairs = []
        elif isinstance(names, dict):
            pairs = list(dict.items(names))
        else:
            pairs = [(item, names[item]) if isinstance(item, str) else tuple(item) for item in names]
        for pair in pairs:
            if len(pair) != 2:
                raise TypeError(f"an enum member is a (name, value) pair, not {pair!r}")
            name = pair[0]
            if type(name) is not str or name.startswith("_"):
                raise refused(f"enum member names must be ordinary names, not {name!r}")
            # As a class body's value would be: a container C code filled may hold anything.
            if admit(pair[1]) is not pair[1]:
                raise refused(f"enum: the value of the member {name!r} cannot be held in the sandbox")
        return pairs

    def _create_(cls: Any, class_name: Any, names: Any, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError("Enum() takes its options (module=, type=, ...) as keywords")
        options = exact_keywords(kwargs)
        module = options.pop("module", None)
        if module is not None and not (type(module) is str and module == "__main__"):
            # Another module (or a str subclass that compares equal to "__main__") makes
            # the class a library module's: dataclasses compiles methods in its globals.
            raise refused("enum: the program's classes belong to __main__ (no module=)")
        qualname = options.pop("qualname", None)
        mixin = options.pop("type", None)
        start = options.pop("start", 1)
        boundary = options.pop("boundary", None)
        if options:
            raise TypeError(f"Enum() got an unexpected keyword argument {next(iter(options))!r}")
        name = exact_str(class_name, "class name")
        if mixin is not None and not isinstance(mixin, type):
            raise TypeError("Enum(type=...) must be a class")
        bases = bases_for_a_library_factory((cls,) if mixin is None else (mixin, cls))
        pairs = members(cls, name, names, bases, start)  # the program's _generate_next_value_ runs here

        def fill(prepared: Any) -> None:  # what the class statement's body would bind
            prepared["__module__"] = "__main__"
            prepared["__qualname__"] = name if qualname is None else exact_str(qualname, "qualname")
            for member, value in pairs:
                prepared[member] = value

        keywords = {"metaclass": make_class_factory(ownership.current())}
        if boundary is not None:
            keywords["boundary"] = boundary
        return _sanitized(types.new_class(name, bases, keywords, fill))

    _create_.sandbox_guarded = True  # type: ignore[attr-defined]
    enum.EnumType._create_ = _create_  # type: ignore[attr-defined]


#: Py_TPFLAGS_SEQUENCE | Py_TPFLAGS_MAPPING: what `match` asks a class, and what
#: ABCMeta.register copies from the ABC onto the class registered.
_COLLECTION_FLAGS = (1 << 5) | (1 << 6)


def guard_forward_reference_parsing() -> None:
    """``typing.Union['...']`` compiles the string into a ForwardRef in the worker, outside
    the checker: the parser's MemoryError for nesting (its stack, not the heap) read as
    the memory limit. A forward reference is a name or a short expression; one the
    parser cannot hold is a syntax error, as eval() reports it (worker/dynamic.py)."""
    real = typing.ForwardRef.__init__
    if getattr(real, "sandbox_guarded", False):
        return

    def __init__(self: typing.ForwardRef, arg: Any, *args: Any, **kwargs: Any) -> None:
        try:
            real(self, arg, *args, **kwargs)
        except MemoryError:
            raise SyntaxError("Forward reference is nested too deeply for the parser") from None

    __init__.sandbox_guarded = True  # type: ignore[attr-defined]
    typing.ForwardRef.__init__ = __init__  # type: ignore[method-assign]


def guard_abc_register() -> None:
    """``SomeABC.register(cls)`` edits the ABC's registry, which isinstance() and every
    library check that uses it trust. In this process's abc module: the ABC or the class
    registered must be the program's own (``Sequence.register(MyList)`` and
    ``MyABC.register(int)`` work; making a library class a virtual subclass of a library
    ABC does not)."""
    real = abc.ABCMeta.register
    if getattr(real, "sandbox_guarded", False):
        return
    registering: list[Any] = []  # the registration running in this process, if any

    def register(cls: Any, subclass: Any) -> Any:
        # A registration answers isinstance() for every ABC above cls too: registering a
        # library class needs an ABC whose ABC ancestors are all the program's (or ABC).
        own_line = is_user_class(cls) and all(
            is_user_class(k) or k is abc.ABC for k in cls.__mro__ if isinstance(k, abc.ABCMeta)
        )
        if not (is_user_class(subclass) or own_line):
            raise refused("ABC.register: the registered class, or the ABC and its ABC bases, must be the program's own")
        if not is_user_class(subclass) and cls.__flags__ & _COLLECTION_FLAGS:
            # register() copies the ABC's sequence/mapping flag onto the registered class
            # (and its subclasses): Seqy(list, ABC).register(UserDict) made every UserDict
            # a sequence to `match`. A library class keeps its own flags.
            raise refused(
                "ABC.register: an ABC that is a sequence or a mapping may register only the program's own classes"
            )
        if not own_line and isinstance(subclass, abc.ABCMeta):
            # The program's own ABC has a registry of its own: Mapping.register(Mine) and
            # Mine.register(int) would make every int a Mapping to the library.
            raise refused(
                "ABC.register: a library ABC may register the program's concrete classes, not its ABCs; "
                "subclass the library ABC instead"
            )
        if registering:
            # register() runs the program's __subclasshook__s (through issubclass) before
            # it copies the ABC's collection flag onto the registered class: a hook that
            # registered meanwhile changed the flag the checks above read.
            raise refused("ABC.register cannot be called while another registration runs")
        if ownership.unfinished(subclass):
            # Its own class statement is running (its __init_subclass__ registers it): the
            # statement may still fail, and a failed class must not stay in the registry.
            ownership.defer_registration(cls, subclass, register_now)
            return subclass
        register_now(cls, subclass)
        return subclass

    def register_now(cls: Any, subclass: Any) -> bool:
        if registering:
            return False  # a class statement ended inside a registration: after it
        registering.append(cls)
        try:
            real(cls, subclass)
        finally:
            registering.pop()
        return True

    register.sandbox_guarded = True  # type: ignore[attr-defined]
    abc.ABCMeta.register = register  # type: ignore[method-assign]


#: dataclasses' own markers of a field's kind, compared by identity (its `in` compares
#: with ==, which an object of the program's may answer as it likes).
_FIELD_TYPES = (dataclasses._FIELD, dataclasses._FIELD_INITVAR, dataclasses._FIELD_CLASSVAR)  # type: ignore[attr-defined]  # noqa: SLF001


#: The Field each dataclass of this process adopted (held, so an id stays its own), and
#: the class, weakly (a dataclass the program drops is freed): an entry whose class has
#: been freed is dropped after the collection that freed it.
_ADOPTED_FIELDS: dict[int, tuple[dataclasses.Field[Any], weakref.ref[type]]] = {}


def _adopted_by(field: dataclasses.Field[Any], cls: type) -> bool:
    """Adopt ``field`` for ``cls`` unless another class adopted it first."""
    owner = _ADOPTED_FIELDS.setdefault(id(field), (field, weakref.ref(cls)))[1]()
    return owner is cls


def _forget_fields_of_freed_classes() -> None:
    for key in [key for key, (_, owner) in _ADOPTED_FIELDS.items() if owner() is None]:
        del _ADOPTED_FIELDS[key]


ownership.after_release(_forget_fields_of_freed_classes)
ownership.after_release(forget_crossings_of_freed_functions)


def guard_dataclass_fields() -> None:
    """Guard the sink of dataclasses in this process: ``_process_class`` writes the names of
    the fields it inherits into the source of the methods it compiles with exec(), with the
    real builtins. Every inherited field must still be the plain ``Field`` dataclasses made,
    under the name it was made with, and that name an identifier (a renamed or forged field
    was code injection). Covers dataclass() and make_dataclass(), which calls it."""
    real = dataclasses._process_class  # type: ignore[attr-defined]  # noqa: SLF001 - the one place fields meet exec
    if getattr(real, "sandbox_guarded", False):
        return

    def _process_class(cls: Any, *args: Any, **kwargs: Any) -> Any:
        for value in list(vars(cls).values()):
            if type(value) is dataclasses.Field:
                _exact_field_options(value)
        for name in vars(cls).get("__annotations__", {}):
            if not (type(name) is str and name.isidentifier() and not keyword.iskeyword(name)):
                raise refused(f"dataclasses: the field name {name!r} is not an identifier")
            compiled_as_written(name, "dataclasses: the field name")
            if name.startswith("__") and name.endswith("__"):
                # With slots=True a field becomes a slot: __getattr__ as a field put an
                # unfenced __getattr__ on the class.
                raise refused(f"dataclasses: a field may not be named {name!r}")
            if is_sunder(name):
                raise refused(f"dataclasses: a field may not be named {name!r} (reserved by Python)")
            if name in ownership.LIBRARY_STATE_NAMES:
                # A library's state whatever the bases: ABCMeta writes _abc_impl into the
                # class itself, and the field took that object as its default.
                raise refused(f"dataclasses: a field may not be named {name!r} (a library's state)")
            if name.startswith("_") and any(name in vars(base) and not is_user_class(base) for base in cls.__mro__[1:]):
                # replace()/asdict() read every field with the real getattr: a private name
                # a library base defines would hand over the library's attribute.
                raise refused(f"dataclasses: the field {name!r} is a private name of a library base")
            owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
            if owner is not None and owner is not cls and not is_user_class(owner):
                # The default is read with the real getattr(cls, name), and replace()/asdict()
                # read every field the same way: a name a library base defines handed over
                # the library's attribute (ChainMap.new_child, held without its class and
                # called with any self; a private table).
                raise refused(
                    f"dataclasses: the field {name!r} names an attribute of the library base {owner.__name__}"
                )
            metaclass: type = type(cls)
            if not any(name in vars(k) for k in cls.__mro__) and any(name in vars(k) for k in metaclass.__mro__):
                # The default is read with getattr(cls, name), which falls through to the
                # metaclass: EnumType._convert_ as a field's default wrote module globals.
                raise refused(f"dataclasses: the field {name!r} names an attribute of the metaclass")
        inherited: set[Any] = set(vars(cls).get("__annotations__", {}))
        for base in cls.__mro__[1:]:
            declared = vars(base).get("__dataclass_fields__")
            if type(declared) is dict:
                inherited.update(declared)
        state = sorted(name for name in inherited & ownership.names_library_code_uses(cls) if type(name) is str)
        if state:
            # pprint, repr, eq and replace read every field of an instance with the real
            # getattr: a field named like state a library base's code keeps in the instance
            # (PrettyPrinter._stream, JSONDecoder.parse_string) handed that state over.
            raise refused(
                f"dataclasses: the field {state[0]!r} is a name the code of a library base of this class uses"
            )
        for klass in cls.__mro__:
            # Every method dataclasses generates reads the fields with the real getattr:
            # a field, the class's own or inherited, that a library class of this MRO
            # defines reads the library's attribute from an instance without its own.
            clash = sorted(name for name in inherited & vars(klass).keys() if type(name) is str)
            if clash and not is_user_class(klass) and klass is not cls:
                raise refused(
                    f"dataclasses: the field {clash[0]!r} names an attribute of the library class {klass.__name__}"
                )
        module = cls.__module__
        if is_user_class(cls) and not (type(module) is str and module == "__main__"):
            # The methods it compiles run with sys.modules[cls.__module__] as globals: exec
            # would write into that module.
            raise refused("dataclasses: the program's classes belong to __main__")
        for value in vars(cls).values():
            # dataclasses adopts a Field default as the field and sets its name: only a
            # plain Field keeps the name it is given, and only a new one (a Field of another
            # dataclass, renamed here, made replace()/asdict() read any attribute).
            if isinstance(value, dataclasses.Field) and (
                type(value) is not dataclasses.Field or value.name or not _adopted_by(value, cls)
            ):
                # Claimed for this class before the library runs the program's code: a
                # class processed meanwhile (from a descriptor's __get__) cannot adopt it.
                raise refused("dataclasses: a field must be made by dataclasses.field(), for this class")
        doc = vars(cls).get("__doc__")
        if (isinstance(doc, str) and str.__contains__(doc, TEXT_SIGNATURE_END)) or _text_signature(cls) is not None:
            # slots=True builds the class again from this namespace: the docstring becomes
            # the new class's, and its text signature what inspect.signature evaluates.
            raise refused("dataclasses: a class docstring cannot hold a text signature in the sandbox")
        for base in cls.__mro__[1:]:
            # Read as dataclasses reads it (getattr, through the metaclass too): anything
            # there that is not a plain dict of plain Fields is refused, not skipped.
            fields = getattr(base, "__dataclass_fields__", None)
            if fields is None:
                continue
            if type(fields) is not dict:
                raise refused(f"dataclasses: the fields of {base.__name__} were altered")
            for name, field in fields.items():
                if not (
                    type(field) is dataclasses.Field
                    and type(name) is str
                    and type(field.name) is str
                    and field.name == name
                    and any(getattr(field, "_field_type", None) is marker for marker in _FIELD_TYPES)
                    and name.isidentifier()
                    and not keyword.iskeyword(name)
                ):
                    raise refused(f"dataclasses: the inherited field {name!r} of {base.__name__} was altered")
        if isinstance(cls, type) and ownership.unfinished(cls):
            # Inside a hook of its own class statement, its namespace still holds what the
            # metaclass has yet to turn into attributes (enum's member placeholders), which
            # dataclasses would read as defaults.
            raise refused("dataclasses: a class becomes a dataclass after its class statement has finished")
        _PROCESSING_PROGRAM_CLASS.append(is_user_class(cls))
        try:
            result = real(cls, *args, **kwargs)
        finally:
            _PROCESSING_PROGRAM_CLASS.pop()
        # The program's code runs while the class is processed (a default's __get__): a
        # Field another class's processing adopted meanwhile would be renamed by both.
        fields = vars(result).get("__dataclass_fields__", {})
        for name, field in fields.items():
            if field.name != name:
                raise refused(f"dataclasses: the field {name!r} was renamed while the class was built")
        for name in vars(cls).get("__annotations__", {}):  # its own fields (a base's are shared)
            field = fields.get(name)
            if field is None:
                continue
            if not _adopted_by(field, cls):
                raise refused(f"dataclasses: the field {name!r} was adopted by another class")
            for default in (field.default, field.default_factory):
                # Read with getattr(cls, name) while the program's descriptors ran: one of
                # them could delete the class's own attribute and leave a library base's
                # (ChainMap.new_child) to become every instance's value.
                if default is not dataclasses.MISSING and admit(default) is not default:
                    raise refused(f"dataclasses: the default of the field {name!r} cannot be held")
        return result

    _process_class.sandbox_guarded = True  # type: ignore[attr-defined]
    dataclasses._process_class = _process_class  # type: ignore[attr-defined]  # noqa: SLF001
    _guard_generated_init()
    _guard_slots_rebuild()


def _guard_slots_rebuild() -> None:
    """``dataclass(slots=True)`` builds a new class from the processed one's namespace
    (``dataclasses._add_slots``), which runs the bases' ``__init_subclass__`` (a program
    base can keep the new class) before anything after the decorator can look at it. Its
    docstring becomes the new class's text signature, which ``inspect.signature`` (run by
    dataclasses for a subclass's docstring) evaluates with the real eval: the program's
    code that ran during processing (a field option's ``__bool__``) could have written
    one. Checked here, before the class exists."""
    real = dataclasses._add_slots  # type: ignore[attr-defined]  # noqa: SLF001 - the rebuild
    if getattr(real, "sandbox_guarded", False):
        return

    def _add_slots(cls: Any, *args: Any, **kwargs: Any) -> Any:
        doc = vars(cls).get("__doc__")
        if isinstance(doc, str) and str.__contains__(doc, TEXT_SIGNATURE_END):
            raise refused("dataclasses: a class docstring cannot hold a text signature in the sandbox")
        if not is_user_class(cls):
            return real(cls, *args, **kwargs)
        # The rebuild is a class statement of the program's, as far as the hooks it runs can
        # tell: the namespace it copies carries a construction's token, so the new class is
        # the program's while its bases' __init_subclass__ see it, and one a hook kept from a
        # rebuild that then failed is abandoned (never a class nobody knows, which the
        # membrane would have taken for a library's).
        token = ownership.begin_construction({})
        type.__setattr__(cls, ownership.CONSTRUCTION_MARKER, token)
        rebuilt = None
        try:
            rebuilt = real(cls, *args, **kwargs)
            return rebuilt
        finally:
            if vars(cls).get(ownership.CONSTRUCTION_MARKER) is token:
                type.__delattr__(cls, ownership.CONSTRUCTION_MARKER)
            ownership.end_construction(token, rebuilt)

    _add_slots.sandbox_guarded = True  # type: ignore[attr-defined]
    dataclasses._add_slots = _add_slots  # type: ignore[attr-defined]  # noqa: SLF001


def _exact_field_options(field: dataclasses.Field[Any]) -> None:
    """A field's options as exact values, decided before the class is processed: the
    library asks ``if f.init:`` (``repr``, ``compare``, ``hash``, ``kw_only``) in the
    middle of processing, after the checks of the class, and an option's ``__bool__``
    is the program's code (it wrote a text-signature docstring right before
    ``slots=True`` rebuilt the class)."""
    for name in ("init", "repr", "compare"):
        option = getattr(field, name)
        if type(option) is not bool:
            setattr(field, name, bool(option))
    if field.hash is not None and type(field.hash) is not bool:
        field.hash = bool(field.hash)
    if field.kw_only is not dataclasses.MISSING and type(field.kw_only) is not bool:
        field.kw_only = bool(field.kw_only)


#: For each dataclass being processed, innermost last: whether it is the program's.
_PROCESSING_PROGRAM_CLASS: list[bool] = []


def _guard_generated_init() -> None:
    """The ``__init__`` dataclasses generates for the program's class stores what it is
    called with, and library code calls the class with values of its own (an exit
    callback); C code then reads them out of the instance unseen. The generated source
    starts by admitting each parameter, as the program's own ``def`` does (a wrapper
    around it cost dataclass_records 70 %; a line in the source costs a call per field).
    Patched in ``dataclasses._create_fn``, which compiles it; only for the program's
    classes (a library's dataclass is built by library code with values of its own)."""
    global _REAL_CREATE_FN
    if _REAL_CREATE_FN is None:
        _REAL_CREATE_FN = dataclasses._create_fn  # type: ignore[attr-defined]  # noqa: SLF001 - what compiles the methods
        dataclasses._create_fn = _admitting_create_fn  # type: ignore[attr-defined]  # noqa: SLF001


_REAL_CREATE_FN: Any = None
#: Values a generated __init__ stores without calling the membrane (immutable: the
#: function's closure holds it).
_EXACT_PLAIN = frozenset({int, float, str, bool, type(None), bytes, complex})


def _admitting_create_fn(name: str, args: list[str], body: list[str], **options: Any) -> Any:
    # Module level, not a closure: exec() of any text is behind it, and the membrane
    # refuses a sandbox module's own functions but approves the closures its offered
    # functions make.
    if name == "__init__" and _PROCESSING_PROGRAM_CLASS and _PROCESSING_PROGRAM_CLASS[-1]:
        parameters = [arg.split(":")[0].split("=")[0].strip() for arg in args[1:]]
        # __class__ rather than type(): a field may be named type, and a program's class
        # cannot define __class__ (a lie would only skip the call for its own object).
        body = [
            *(
                f"if {p}.__class__ not in __sandbox_exact__: {p} = __sandbox_admit__({p})"
                for p in parameters
                if p.isidentifier()
            ),
            *body,
        ]
        options["locals"] = {
            **(options.get("locals") or {}),
            "__sandbox_admit__": admit,
            "__sandbox_exact__": _EXACT_PLAIN,
        }
    return _REAL_CREATE_FN(name, args, body, **options)


def guard_user_string_format() -> None:
    """``collections.UserString.format``/``format_map`` call the real ``str.format`` on the
    program's template, which resolves ``"{0.__globals__[sys]}"`` fields with the real
    getattr (CVE-2023-41039 again, through a library method). In this process they format
    through the same check as ``str.format``."""
    user_string = collections.UserString
    if getattr(user_string.format, "sandbox_guarded", False):
        return

    def format(self: Any, /, *args: Any, **kwargs: Any) -> Any:  # noqa: A001 - UserString's own name
        return safe_format(str(self.data))(*args, **kwargs)

    def format_map(self: Any, mapping: Any) -> Any:
        return safe_format_map(str(self.data))(mapping)

    format.sandbox_guarded = True  # type: ignore[attr-defined]
    user_string.format = format  # type: ignore[method-assign,assignment]
    user_string.format_map = format_map  # type: ignore[method-assign]


def guard_callable_alias_unpacking() -> None:
    """``collections.abc.Callable[[int], str]`` is the library's own subclass of the C
    alias, whose iteration yields a starred alias of the exact C class, outside
    GuardedAlias's rules (``list(alias)`` handed C code that value). In this process it
    cannot be unpacked, as GuardedAlias cannot (TypeVarTuple unpacking, which programs
    here have no use for)."""
    alias: Any = type(collections.abc.Callable[[int], str])
    if getattr(vars(alias).get("__iter__"), "sandbox_guarded", False):
        return

    def __iter__(self: Any) -> Any:
        raise TypeError("a generic alias cannot be unpacked in the sandbox")

    __iter__.sandbox_guarded = True  # type: ignore[attr-defined]
    alias.__iter__ = __iter__


def guard_csv_reader_reentry() -> None:
    """``csv.reader`` re-entered from its own input iterator hands its row out and drops
    its field list, then the outer parse appends to nothing: a NULL dereference that kills
    the worker (gh-157379, open upstream; attack pass 65). In this process every reader
    (``csv.reader``, and ``DictReader``, which calls the module's ``reader``) reads its
    input through a generator: re-entering the reader from the input re-enters that
    generator, which raises ValueError instead."""
    real = csv.reader
    if getattr(real, "sandbox_guarded", False):
        return

    def reader(csvfile: Any, *args: Any, **kwargs: Any) -> Any:
        return real(_one_at_a_time(iter(csvfile)), *args, **kwargs)

    reader.__doc__ = real.__doc__
    reader.sandbox_guarded = True  # type: ignore[attr-defined]
    csv.reader = reader


def _one_at_a_time(lines: Any) -> Any:
    yield from lines


def guard_json_encoder_default() -> None:
    """json's C encoder walks a list by borrowed pointers and hands an item it cannot
    encode to ``default`` (gh-142831, fixed upstream from 3.13 only): a ``default`` that
    runs the program's code (``tuple`` calls the item's ``__iter__``, ``dict`` its
    ``keys()``) may clear the list, which frees the item while ``default`` still uses it
    (attack pass 68: a full escape). In this process the encoder calls ``default``
    through a Python frame that holds the item until ``default`` returns; the encoder
    does not use the item after."""
    real = json.encoder.c_make_encoder  # type: ignore[attr-defined]  # None where _json is missing
    if real is None or getattr(real, "sandbox_guarded", False):
        return

    def make_encoder(markers: Any, default: Any, *settings: Any) -> Any:
        def holding_the_item(item: Any) -> Any:
            return default(item)

        return real(markers, holding_the_item, *settings)

    make_encoder.sandbox_guarded = True  # type: ignore[attr-defined]
    json.encoder.c_make_encoder = make_encoder  # type: ignore[attr-defined]


def guard_string_formatter() -> None:
    """``string.Formatter.get_field`` resolves each ``.attr`` and ``[key]`` step of a field
    with the real getattr and getitem (CVE-2023-41039). In this process it takes the
    guards' steps, as ``str.format`` does, and the value a field names passes the
    membrane; ``vformat`` and a program's subclass (``get_value`` with defaults) reach
    fields only through it."""
    formatter = string.Formatter
    if getattr(formatter.get_field, "sandbox_guarded", False):
        return

    def get_field(self: Any, field_name: str, args: Any, kwargs: Any) -> tuple[Any, Any]:
        first, rest = _string.formatter_field_name_split(exact_str(field_name, "field name"))
        value = admit(self.get_value(first, args, kwargs))
        for is_attribute, key in rest:
            value = guarded_getattr(value, key) if is_attribute else guarded_getitem(value, key)
        return value, first

    get_field.sandbox_guarded = True  # type: ignore[attr-defined]
    formatter.get_field = get_field  # type: ignore[method-assign]


def guard_generic_alias_call() -> None:
    """``List[int]()``, ``Annotated[cls, meta]()``: typing's alias calls its origin and
    records itself on the result as ``__orig_class__`` with the real setattr, whatever
    object the origin returned (``Annotated[json.JSONDecoder, 0]()`` wrote onto a library
    instance). In this process the record is made on the program's own objects only."""
    alias = typing._BaseGenericAlias  # type: ignore[attr-defined]  # noqa: SLF001 - the one place the write is
    if getattr(alias.__call__, "sandbox_guarded", False):
        return

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        origin = self.__origin__
        if not self._inst:
            raise TypeError(f"Type {self._name} cannot be instantiated; use {origin.__name__}() instead")
        if isinstance(origin, type) and issubclass(origin, type):
            # _inst is the alias's own state: a write flipped it on typing.Type, whose origin
            # is the real type (pass 84). Whatever the flag says, an alias of a metaclass
            # never builds a class.
            raise refused(f"Type {self._name} cannot be instantiated in the sandbox")
        result = origin(*args, **kwargs)
        if is_user_class(type(result)):
            with contextlib.suppress(AttributeError):  # __slots__, as typing itself allows
                result.__orig_class__ = self
        return result

    __call__.sandbox_guarded = True  # type: ignore[attr-defined]
    alias.__call__ = __call__


def guard_generic_alias_forwarding() -> None:
    """``Annotated[UserString, 0].encode``: typing's alias answers any other public name
    with its origin's, through the real getattr, so library code reading a method off an
    alias the program passed it (difflib's ``line.encode(...)``, base64's ``input.read(n)``)
    got the class's plain function and ran it with its own first argument as ``self``. In
    this process a function read through a class origin is the checked UnboundMethod, as
    the program's own ``Cls.method`` is: callable on an instance of that class only."""
    alias = typing._BaseGenericAlias  # type: ignore[attr-defined]  # noqa: SLF001 - the one place the read is
    original = alias.__getattr__
    if getattr(original, "sandbox_guarded", False):
        return

    def __getattr__(self: Any, attr: str) -> Any:
        value = original(self, attr)
        origin = vars(self).get("__origin__")
        if isinstance(origin, type) and attr not in {"__origin__", "__args__"}:
            return unbound_through_class(origin, origin.__mro__, attr, value)
        return value

    __getattr__.sandbox_guarded = True  # type: ignore[attr-defined]
    alias.__getattr__ = __getattr__


#: sys.getrefcount of an object referenced only by one local variable (and the call's own
#: argument).
_HELD_ONLY_HERE = 2


def guard_copy_reconstruct() -> None:
    """Guard the sink of the reduce protocol in this process's ``copy`` module.

    copy()/deepcopy() rebuild an object as ``y = func(*args)`` from its reducer and then
    apply ``state`` with the real setattr/``__dict__``/item assignment. A reducer written
    by the program can return a library class or function as ``y``, which would let it
    rewrite that object. The object ``func`` returns may not be a class, module or
    function when anything is to be applied to it. (Patching the stdlib is fine here:
    the template and its workers are this service's own processes.)
    """
    real = copy._reconstruct  # type: ignore[attr-defined]  # noqa: SLF001 - where copy applies state
    if getattr(real, "sandbox_guarded", False):
        return
    forbidden = (type, types.ModuleType, ModuleProxy, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
    # What builds a new object (copyreg's reducers call cls.__new__, a class builds an
    # instance; an Enum class returns an existing member): state may be applied to it.
    # Any other callable may return an object that already exists (a library's).
    fresh = (copyreg.__newobj__, copyreg.__newobj_ex__, copyreg._reconstructor)  # type: ignore[attr-defined]  # noqa: SLF001

    def _reconstruct(  # noqa: PLR0917 - copy's own signature
        x: Any, memo: Any, func: Any, args: Any, state: Any = None, listiter: Any = None,
        dictiter: Any = None, *, deepcopy: Any = None,
    ) -> Any:  # fmt: skip
        def create(*a: Any) -> Any:
            if func is builtins.getattr:
                # A bound method reduces to getattr(self, its function's __name__), a name the
                # program may set: copy would read any attribute with the real getattr.
                raise refused("copy: methods cannot be copied in the sandbox")
            returned_again = ownership.NEW_RETURNED_AGAIN[0]
            y = func(*a)
            if state is None and listiter is None and dictiter is None:
                return y
            if isinstance(y, forbidden):
                raise refused("copy: a reducer may not hand back a class, module or function to modify")
            # By identity: `in` would ask a reducer's own __eq__ (pass 76, H2: no route found).
            builds = any(func is maker for maker in fresh) or (
                isinstance(func, type) and not issubclass(func, enum.Enum)
            )
            # A maker's result is a new object only if its class is the one asked for (a
            # program __new__ may return what exists: checked where it is defined too).
            asked = a[0] if a and any(func is maker for maker in fresh) else func
            made_as_asked = isinstance(asked, type) and any(
                k is asked for k in type.__dict__["__mro__"].__get__(type(y))
            )
            # New only if no program __new__ handed back an object it had returned before:
            # state applied to a live object of a library C class (a partial whose repr or
            # call is running) swaps what its C code is using (attack pass 90). An existing
            # object takes state only if all its classes are the program's (plain attributes).
            # And held by nothing but this frame: an object someone else holds may be in use
            # by C code (a partial a program __new__ made on the side and returns here for
            # the first time, pass 91).
            unshared = sys.getrefcount(y) <= _HELD_ONLY_HERE
            new = builds and made_as_asked and unshared and ownership.NEW_RETURNED_AGAIN[0] == returned_again
            if not (new or ownership.only_the_programs_classes(type(y))):
                raise refused(
                    "copy: state is only applied to a new object, or to an existing one whose classes are all "
                    "the program's"
                )
            return y

        # The module's deepcopy at the time of the call: the guarded one below, so the
        # state copied here is checked as the object was.
        return real(x, memo, create, args, state, listiter, dictiter, deepcopy=deepcopy or copy.deepcopy)

    _reconstruct.sandbox_guarded = True  # type: ignore[attr-defined]
    copy._reconstruct = _reconstruct  # type: ignore[attr-defined]  # noqa: SLF001


#: The copy protocol's hooks. copy and deepcopy look some of them up on the instance
#: (``getattr(x, "__deepcopy__")``), where a class never puts them: an object whose own
#: dict has one was given it by the program, through an object that takes any attribute
#: (SimpleNamespace) or a library descriptor that writes one (cached_property), and the
#: hook would receive deepcopy's memo, which holds every original it copied.
_COPY_HOOKS = frozenset(
    {"__copy__", "__deepcopy__", "__reduce_ex__", "__reduce__", "__getstate__", "__setstate__",
     "__getnewargs__", "__getnewargs_ex__"}
)  # fmt: skip


#: Special names that are never an instance's own attribute unless put there past the
#: guards: copy's hooks, and the names whose setattr changes what the object is
#: (``__class__``, ``__dict__``). Other dunders libraries do set there (an Enum member's
#: ``__objclass__``).
_SMUGGLED_NAMES = _COPY_HOOKS | {"__class__", "__dict__", "__weakref__"}


def _refuse_smuggled_names(value: object) -> None:
    """A special name in an object's own dict was put there past the guards (the program
    cannot assign one): a copy hook would be called, and the state copy applies with the
    real setattr would set it (``__class__`` made the copy an instance of a library class)."""
    try:
        namespace = object.__getattribute__(value, "__dict__")
    except AttributeError:  # no instance dict: no instance-level hook (anything else fails closed)
        return
    if type(namespace) is not dict:
        return
    # Keys are compared as exact strs, each once: a key of the program's class could
    # answer "not __deepcopy__" to this check and "__deepcopy__" to copy's lookup after it.
    if any(type(key) is not str for key in namespace):
        raise refused("copy: an object's own attributes must have str names in the sandbox")
    if not _SMUGGLED_NAMES.isdisjoint(namespace):
        raise refused("copy: an object's own attributes may not have special names in the sandbox")


def guard_copy_instance_hooks() -> None:
    """In this process's copy module, every lookup of a hook (``getattr(x, "__deepcopy__",
    None)`` in copy(), deepcopy() and the helpers deepcopy recurses through, which hold
    the real deepcopy as a default) refuses an object that carries that hook in its own
    dict: copy's own name ``getattr`` is shadowed in its module namespace."""
    if getattr(getattr(copy, "getattr", None), "sandbox_guarded", False):
        return

    def hook_lookup(obj: Any, name: str, *default: Any) -> Any:
        if name in _COPY_HOOKS:
            _refuse_smuggled_names(obj)
        return builtins.getattr(obj, name, *default)

    hook_lookup.sandbox_guarded = True  # type: ignore[attr-defined]
    copy.getattr = hook_lookup  # type: ignore[attr-defined]  # found before the builtin by copy's code


def clear_library_caches() -> None:
    """Empty the stdlib's object caches before the template forks.

    Caches keyed by hash and ``==`` hand their stored objects to a program's ``__eq__``
    when its ``__hash__`` collides on purpose. typing's subscription cache held, from
    typing's own import, ``type[Any]``: calling that alias calls the real ``type``. A worker
    starts with empty caches, so anything found in one was put there by the program
    itself (and a program cannot build such an alias: it never holds the real type).
    """
    for clear in list(typing._cleanups):  # type: ignore[attr-defined]  # noqa: SLF001 - typing's own hook
        clear()
    import re  # noqa: PLC0415 - only here

    re.purge()


def _forget_the_originals(attrs_by_name: dict[str, dict[str, Any]]) -> None:
    """functools.wraps leaves the real function a guarded replacement wraps in its
    ``__wrapped__``: a program that read it would hold the unguarded original."""
    for attrs in attrs_by_name.values():
        for value in attrs.values():
            if isinstance(value, types.FunctionType) and value.__code__.co_filename == __file__:
                value.__dict__.pop("__wrapped__", None)


def guard_contextmanager_generators() -> None:
    """``contextmanager(f)()`` forwards the ``with`` statement's exception and traceback to
    ``self.gen.throw``, and never checks that ``f()`` made a generator: an object of the
    program's whose ``throw`` is a C callable (or a generated constructor) kept them raw.
    In this process it must be a real generator (asynccontextmanager is not offered),
    which raises the exception where the program's code can only bind it admitted."""
    base = contextlib._GeneratorContextManagerBase  # noqa: SLF001 - contextmanager's own base
    real = base.__init__
    if getattr(real, "sandbox_guarded", False):
        return

    def __init__(self: Any, func: Any, args: Any, kwds: Any) -> None:
        real(self, func, args, kwds)
        if type(self.gen) not in (types.GeneratorType, types.AsyncGeneratorType):
            raise TypeError("contextmanager: the decorated function must be a generator function (with yield)")

    __init__.sandbox_guarded = True  # type: ignore[attr-defined]
    base.__init__ = __init__  # type: ignore[method-assign]


def guard_contextmanager_throw() -> None:
    """``contextmanager``'s ``__exit__`` throws the ``with`` statement's exception and raw
    traceback into the generator, and the interpreter forwards a throw along ``yield
    from``, also a library generator's (``KeysView.__iter__`` is ``yield from
    self._mapping``), to the ``throw`` of whatever iterator the program supplied. In this
    process the generator is thrown the exception without its traceback (an exception
    the program catches passes the membrane in its ``except``); the traceback is given
    back to the exception when it goes on out of the ``with`` (the real ``__exit__`` sets
    the one it was given), so errors still point at the line that raised them."""
    real_exit = contextlib._GeneratorContextManager.__exit__  # noqa: SLF001 - contextmanager's class
    if getattr(real_exit, "sandbox_guarded", False):
        return

    def __exit__(self: Any, typ: Any, value: Any, traceback: Any) -> Any:
        if typ is None:
            return real_exit(self, typ, value, traceback)
        if value is None:
            value = typ()  # as the real one does, so that its identity tests hold
        # Its args and fields (AttributeError.obj ...) admitted in place before a throw
        # can hand it on; one the membrane refuses outright goes on as it is (the
        # program's except refuses it where it is caught).
        with contextlib.suppress(SecurityError):
            admit(value)
        suppressed = real_exit(self, typ, value, None)
        if not suppressed and isinstance(value, BaseException):
            value.__traceback__ = traceback
        return suppressed

    __exit__.sandbox_guarded = True  # type: ignore[attr-defined]
    manager: Any = contextlib._GeneratorContextManager  # noqa: SLF001 - contextmanager's class
    manager.__exit__ = __exit__


def guard_exit_stack_exit() -> None:
    """An ExitStack calls each exit callback with the exception being handled and its
    traceback, as they are: a function of the program's checks its parameters, but a C
    callable stores them unseen (``partial(max, key=items.append)`` kept a raw traceback,
    whose frames a format field then read). In this process every callback gets the
    values as the membrane admits them (the traceback as None, as a context manager's
    ``__exit__`` gets it), however it was registered: wrapped when it is registered, and
    again when the stack exits (the callbacks list is the library's state, which the
    program cannot reach: ownership.LIBRARY_STATE_NAMES)."""
    real_exit = contextlib.ExitStack.__exit__
    if getattr(real_exit, "sandbox_guarded", False):
        return

    def __exit__(self: Any, *details: Any) -> Any:
        callbacks = self._exit_callbacks
        entries = [(is_sync, _admitting_exit(callback)) for is_sync, callback in callbacks]
        callbacks.clear()
        callbacks.extend(entries)
        return real_exit(self, *details)

    __exit__.sandbox_guarded = True  # type: ignore[attr-defined]
    contextlib.ExitStack.__exit__ = __exit__  # type: ignore[method-assign]
    # Every registration (push, callback, enter_context, and one made by a callback while
    # the stack exits, after the callbacks above were wrapped) goes through this method.
    base: Any = contextlib._BaseExitStack  # noqa: SLF001 - ExitStack's own base
    real_push = base._push_exit_callback  # noqa: SLF001 - guarded here

    def _push_exit_callback(self: Any, callback: Any, is_sync: bool = True) -> None:
        real_push(self, _admitting_exit(callback), is_sync)

    base._push_exit_callback = _push_exit_callback  # noqa: SLF001
    # callback() writes __wrapped__ onto what _create_cb_wrapper returns, a hook a program
    # subclass may override with a def that returns a library class (pass 84, F4): the
    # write lands only on the library's own wrapper or on the program's objects.
    real_create = base._create_cb_wrapper  # noqa: SLF001
    real_callback = base.callback

    def callback(self: Any, callback: Any, /, *args: Any, **kwds: Any) -> Any:
        wrapper = self._create_cb_wrapper(callback, *args, **kwds)
        own = type(wrapper) is types.FunctionType and wrapper.__code__.co_filename == SOURCE_FILENAME
        if not (own or is_user_class(type(wrapper)) or _made_by(wrapper, real_create)):
            raise refused("ExitStack._create_cb_wrapper must return a function or object of the program's")
        wrapper.__wrapped__ = callback
        self._push_exit_callback(wrapper)
        return callback

    callback.__doc__ = real_callback.__doc__
    base.callback = callback


def _made_by(wrapper: Any, factory: Any) -> bool:
    """Whether ``wrapper`` is a closure ``factory`` (a library function) makes."""
    inner = [c for c in factory.__code__.co_consts if isinstance(c, types.CodeType)]
    return type(wrapper) is types.FunctionType and any(wrapper.__code__ is code for code in inner)


def _admitting_exit(callback: Any) -> Any:
    """``callback`` called with the exception and traceback as the membrane admits them
    (the traceback as None, as a context manager's ``__exit__`` gets it)."""
    if type(callback) is types.FunctionType and callback.__code__ is _ADMITTED_EXIT_CODE:
        return callback  # wrapped already (by identity of code: an attribute could lie)

    def admitted_exit(*details: Any) -> Any:
        return callback(*(admit(value) for value in details))

    return admitted_exit


_ADMITTED_EXIT_CODE = _admitting_exit(print).__code__


def guard_pprint_dataclass_reader() -> None:
    """pprint prints a dataclass instance by reading every field with the real getattr and
    handing each value to ``self.format`` (a hook the program may override with its def):
    read here through the sandbox's getattr, as ``dataclasses.asdict`` reads them, so
    what it hands on is what the program could read itself (a field the program made an
    alias of a library base's state is refused at the read)."""
    real = pprint.PrettyPrinter._pprint_dataclass  # type: ignore[attr-defined]  # noqa: SLF001 - the reader replaced
    if getattr(real, "sandbox_guarded", False):
        return
    namespace = dict(real.__globals__, getattr=guarded_getattr)
    register_clone_namespace(namespace)
    clone = types.FunctionType(real.__code__, namespace, real.__name__, real.__defaults__, real.__closure__)
    clone.__qualname__, clone.__doc__, clone.__module__ = real.__qualname__, real.__doc__, real.__module__
    clone.sandbox_guarded = True  # type: ignore[attr-defined]
    pprint.PrettyPrinter._pprint_dataclass = clone  # type: ignore[attr-defined]  # noqa: SLF001 - the reader replaced


def guard_cached_property_get() -> None:
    """``cached_property.__get__(instance)`` reads and writes ``instance.__dict__`` under
    the name the property was given: called through a chain of library ``__get__``s
    (``partialmethod.__get__`` calls its function's) with an object whose class does not
    hold that property, it read any object's namespace by a name the program chose (a
    class's: ``ChainMap.__dict__["new_child"]``, a function held without its class). In
    this process it runs only for an instance whose class has this very property, which
    is how the interpreter calls it (ipaddress's own cached properties included)."""
    real = functools.cached_property.__get__
    if getattr(real, "sandbox_guarded", False):
        return

    def __get__(self: Any, instance: Any, owner: Any = None) -> Any:
        if instance is not None:
            holders = [klass for klass in type(instance).__mro__ if vars(klass).get(self.attrname) is self]
            if not holders:
                raise refused("a cached_property can only be read from an instance of its class")
            name = self.attrname
            if is_user_class(type(instance)) and (
                name in ownership.LIBRARY_STATE_NAMES or name in ownership.names_library_code_uses(type(instance))
            ):
                # On the program's instance it reads and writes the instance dict under its own
                # name, whatever name it was found under (an alias, or a NamedTuple's copy):
                # there, a library base's state, private (pprint's _stream, which Fraction
                # then read as a numerator) or public (JSONDecoder's parse_string, the C
                # scanner, which pprint then read as a dataclass field). A library's own
                # instances keep theirs.
                raise refused(f"a cached_property named {name!r} would read a library base's own state")
            function = self.func
            if (
                type(function) is types.FunctionType
                and function.__code__.co_filename != SOURCE_FILENAME
                and "." in function.__qualname__
                and all(is_user_class(klass) for klass in holders)
            ):
                # A library class's own (IPv4Network.broadcast_address) copied into the
                # program's class: its method would run on any self, which the membrane
                # refuses a library method held without its instance (UnboundMethod).
                raise refused("a library class's cached_property runs only on instances of that class")
        return real(self, instance, owner)

    __get__.sandbox_guarded = True  # type: ignore[attr-defined]
    functools.cached_property.__get__ = __get__  # type: ignore[method-assign]


#: One crossing per library function, however many modules offer it (statistics.sqrt is
#: math.sqrt; a function offered twice is the same object to the program).
_crossings: dict[Any, Any] = {}


def build_proxies(allowed: list[str]) -> dict[str, ModuleProxy]:
    """Proxies for every allowed module and for the packages above dotted ones.

    ``import collections.abc`` binds ``collections``, so the ``collections`` proxy gets an
    ``abc`` attribute; a package that is not itself allowed (``urllib``) becomes a proxy
    holding only its allowed submodules. Raises KeyError for a name not in the catalogue.
    """
    attrs_by_name: dict[str, dict[str, Any]] = {}
    repairs.apply()  # before any class of the program's exists
    if "copy" in allowed or "dataclasses" in allowed:  # dataclasses.asdict deep-copies too
        guard_copy_reconstruct()
        guard_copy_instance_hooks()
    if "enum" in allowed:
        guard_enum_functional_api()
        guard_enum_members_and_value_repr()
        guard_library_flag_values()
    if "dataclasses" in allowed:
        guard_dataclass_fields()
    if "csv" in allowed:
        guard_csv_reader_reentry()
    if "json" in allowed:
        guard_json_encoder_default()
    if "collections" in allowed:
        guard_user_string_format()
        guard_callable_alias_unpacking()
    if "typing" in allowed:
        guard_generic_alias_call()
        guard_generic_alias_forwarding()
    if "string" in allowed:
        guard_string_formatter()
    if "typing" in allowed:
        guard_protocol_members()
        guard_forward_reference_parsing()
    guard_text_taking_library_code()
    guard_update_wrapper()
    guard_cached_property_get()
    if "pprint" in allowed:
        guard_pprint_dataclass_reader()
    guard_exit_stack_exit()
    guard_contextmanager_generators()
    guard_contextmanager_throw()
    for name in sorted(allowed, key=lambda n: n.count(".")):
        rule = RULES[name]
        attrs_by_name[name] = public_attrs(importlib.import_module(name), rule)
        if name in REPLACEMENTS:  # the catalogue decides what exists; replacements only guard it
            replaced = REPLACEMENTS[name]()
            module = sys.modules[name]
            REPLACED_ORIGINALS.extend(getattr(module, k) for k in replaced if hasattr(module, k))
            attrs_by_name[name].update({k: v for k, v in replaced.items() if k in attrs_by_name[name]})
    if "zoneinfo" in allowed:
        # available_timezones() imports importlib.resources, which registers its ABCs:
        # imported here, before the register guard, as the template's own import.
        importlib.import_module("importlib.resources")
    guard_abc_register()  # after the imports above, which register their own classes
    if "itertools" in attrs_by_name:
        rebind_replaced_iterators(attrs_by_name["itertools"], allowed)
    repairs.hold_new_types()  # the C types of the modules imported above
    REPLACED_ORIGINALS.extend(_installed_private_helpers())
    _forget_the_originals(attrs_by_name)
    if any(name in data_guards.REPLACEMENTS for name in allowed):
        data_guards.configure_rules(attrs_by_name, WRITABLE_LIBRARY_ATTRIBUTES)
    for attrs in attrs_by_name.values():
        for key, value in attrs.items():
            if is_crossable(value):
                attrs[key] = _crossings.get(value) or _crossings.setdefault(value, crossing(value))
    proxies = link_proxies(attrs_by_name)
    data_guards.alias_submodules(proxies)
    return proxies
