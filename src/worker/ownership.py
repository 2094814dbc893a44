"""Which classes the running program made itself.

Only the program's own classes accept attribute writes (``_write_``) and class
decorators that rewrite a class (``dataclass``, ``total_ordering`` ...). Each job starts a
fresh registry with ``begin_job``; library wrappers built once in the template consult
the current one.
"""

from __future__ import annotations

import _abc  # type: ignore[import-not-found]  # abc's C half: _abc_init
import abc
import enum
import types
import typing
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import cast

from ..language.names import is_dunder
from . import repairs
from .crossing import admit_generated_constructor
from .instance_rules import in_a_data_library
from .membrane import (
    FINAL_LIBRARY_CLASSES,
    MEMBRANE,
    PLAIN,
    SEALED_OPERATORS,
    ClassRegistry,
    add_program_class,
    collecting_classes,
    register_generated_methods,
)
from .proxies import ModuleProxy
from .refusal import refused

#: How deep the program's classes may nest (ordinary code: a handful). The repairs hold a
#: class's subclasses again, without allocating, to a depth of 1000
#: (interpreter_repairs/operands.c, hold_in_place): a deeper chain could leave one with an
#: unheld slot (attack pass 71).
MAX_CLASS_DEPTH = 256


def refuse_final_bases(cls: type) -> None:
    mro = cls.__mro__
    for final in FINAL_LIBRARY_CLASSES:
        if final in mro:
            raise refused(f"{final.__name__} cannot be subclassed in the sandbox")
    for klass in mro[1:]:
        if in_a_data_library(klass):
            # A subclass's methods would be the program's, called by the library as its
            # own (ndarray.__new__ with a buffer of chosen bytes as objects, a DataFrame
            # whose _constructor is the program's): the data libraries' classes are final.
            raise refused(
                f"{klass.__name__} (from {klass.__module__.partition('.')[0]}) cannot be subclassed in the sandbox"
            )
    if len(mro) > MAX_CLASS_DEPTH:
        raise refused(f"classes nest at most {MAX_CLASS_DEPTH} deep in the sandbox")


#: id -> class: the running job's classes whose instances the write guard found to take
#: any public attribute (its fast path), emptied when a job begins. Held strongly: an id
#: is never reused meanwhile. One dict for the process, which the C guard holds.
PUBLIC_ATTRIBUTES_WRITABLE: dict[int, type] = {}
#: The running job's finished classes whose instances the compiled program reads and
#: writes public attributes of natively (language/native_attributes.py): the guards'
#: answer for them depends on the value read alone. Emptied when a job begins; one set
#: for the process, which the program's namespace holds as ``_own_kinds_``.
NATIVE_ATTRIBUTE_KINDS: set[type] = set()
#: id -> class: the running job's classes found to hold no private name but the program's
#: (guards.note_private_names_of): their instances' private attributes are read and
#: written as public ones are. Emptied when a job begins and whenever a class statement
#: ends (a class it claimed and abandoned may be a base of one noted meanwhile).
PRIVATE_ATTRIBUTES_OF_INSTANCES: dict[int, type] = {}


class UserClasses:
    # Keyed by identity, never by ==: a program's metaclass could define __eq__ to claim
    # that a library class is one of its own (a WeakSet compares with ==). Weakly: a class
    # the program drops is freed (release_dropped_classes).
    def __init__(self) -> None:
        self._classes: ClassRegistry[None] = ClassRegistry()

    def add(self, cls: type) -> None:
        refuse_final_bases(cls)
        self._classes.set(cls, None)
        admit_generated_constructor(cls)
        register_generated_methods(cls)  # what a library (or the line above) put in it
        add_program_class(cls)  # its instances are the program's: plain to the membrane
        repairs.hold_operands(cls)

    def discard(self, cls: type) -> None:
        if cls in self._classes:
            self._classes.discard(cls)
            if PUBLIC_ATTRIBUTES_WRITABLE.get(id(cls)) is cls:
                del PUBLIC_ATTRIBUTES_WRITABLE[id(cls)]
            NATIVE_ATTRIBUTE_KINDS.discard(cls)
            PRIVATE_ATTRIBUTES_OF_INSTANCES.clear()

    def __contains__(self, cls: object) -> bool:
        return cls in self._classes and not construction_failed(cast(type, cls))

    def prune(self, keys: Iterable[int]) -> None:
        self._classes.prune(keys)


_current = UserClasses()


def begin_job() -> UserClasses:
    """A fresh registry for the job about to run, which also becomes the current one."""
    global _current  # one job per process; the registry is per job
    _current = UserClasses()
    PUBLIC_ATTRIBUTES_WRITABLE.clear()
    PRIVATE_ATTRIBUTES_OF_INSTANCES.clear()
    NATIVE_ATTRIBUTE_KINDS.clear()
    _pending_registrations.clear()
    return _current


#: What else forgets the classes a release freed (library_guards' adopted fields).
_after_release: list[Callable[[], None]] = []


def after_release(forget: Callable[[], None]) -> None:
    _after_release.append(forget)


def release_dropped_classes(classes: list[tuple[int, weakref.ref[type]]], collect: Callable[[], int]) -> int:
    """Run ``collect`` (a collection; its count is returned) with ``classes`` (the
    program's, MEMBRANE.classes_to_release) out of every table that holds classes
    strongly, so that one the program no longer holds is freed, as CPython frees it (a
    loop that made a class per call kept them all and hit the memory limit). The
    finalisers of its instances run meanwhile, the class still the program's
    (ClassRegistry). The tables are caches, filled again as the program runs, except the
    native-attribute set, put back for the classes still alive."""
    native = _take_out(classes)
    with MEMBRANE.program_classes_released(classes):
        collected = collect()
    for ref in native:
        survivor = ref()
        if survivor is not None and survivor in _current:
            NATIVE_ATTRIBUTE_KINDS.add(survivor)
    keys = [key for key, _ in classes]
    _current.prune(keys)
    _library_names.prune(keys)
    for forget in _after_release:
        forget()
    return collected


def _take_out(classes: list[tuple[int, weakref.ref[type]]]) -> list[weakref.ref[type]]:
    """The classes out of this module's tables; those that were in the native-attribute
    set. A function of its own: no frame that lives through the collection holds a class."""
    native = []
    for key, ref in classes:
        cls = ref()
        if cls is not None:
            if cls in NATIVE_ATTRIBUTE_KINDS:
                native.append(ref)
                NATIVE_ATTRIBUTE_KINDS.discard(cls)
            PUBLIC_ATTRIBUTES_WRITABLE.pop(key, None)
            PRIVATE_ATTRIBUTES_OF_INSTANCES.pop(key, None)
            _names_used_below.pop(cls, None)
            _private_names_used_below.pop(cls, None)
    return native


class _CurrentJob(UserClasses):
    """The registry of whichever job is running: lets guards be built once, in the
    template, before any job exists."""

    def add(self, cls: type) -> None:
        _current.add(cls)

    def discard(self, cls: type) -> None:
        _current.discard(cls)

    def __contains__(self, cls: object) -> bool:
        return cls in _current


CURRENT_JOB: UserClasses = _CurrentJob()


def current() -> UserClasses:
    return _current


#: Classes whose instances the guards treat by more than the value read: an exception's
#: args are admitted element by element, a class's functions are unbound methods, a module
#: or a typing alias is read-only.
_NOT_NATIVE_KINDS: tuple[type, ...] = (
    BaseException,
    type,
    super,
    types.ModuleType,
    ModuleProxy,
    types.GenericAlias,
    typing._BaseGenericAlias,  # type: ignore[attr-defined]  # noqa: SLF001 - every typing alias
    typing._SpecialForm,  # noqa: SLF001
)


def note_native_attributes(cls: type) -> None:
    """After the program's class statement (or a library factory building the program a
    class) finished: its instances' public attributes are read and written natively if
    the membrane holds them as plain values (not a holder like a partial subclass)."""
    if (
        cls in _current
        and cls in PLAIN
        and not issubclass(cls, _NOT_NATIVE_KINDS)
        and not unfinished(cls)
        and not collecting_classes()
    ):
        NATIVE_ATTRIBUTE_KINDS.add(cls)


def is_user_class(obj: object) -> bool:
    return obj in _current


def only_the_programs_classes(cls: type) -> bool:
    """Whether every class of ``cls``'s MRO is the program's, or ``object``: its instances
    hold only what the program's own code and ``object`` keep, no library C state."""
    return all(klass is object or is_user_class(klass) for klass in type.__dict__["__mro__"].__get__(cls))


# --------------------------------------------------------------------------- what a program __new__ returns

#: Each object a program-defined ``__new__`` returned, by id, held weakly.
_RETURNED_BY_NEW: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
#: How many times a program ``__new__`` returned an object one had returned before (or one
#: that takes no weak reference, of which that cannot be told): library code that trusts
#: ``cls.__new__(cls)`` to make a new object (copy's reconstruction, which then applies
#: state) reads this before and after (attack pass 90: the state of a live
#: ``functools.partial``, swapped in while its C repr or call was using the old one).
NEW_RETURNED_AGAIN = [0]


def note_returned_by_new(made: object) -> None:
    """Called with what each program ``__new__`` returns (guards._fence_new)."""
    if _RETURNED_BY_NEW.get(id(made)) is made:
        NEW_RETURNED_AGAIN[0] += 1
        return
    try:
        _RETURNED_BY_NEW[id(made)] = made
    except TypeError:  # no weak reference to it: whether it is new cannot be told
        NEW_RETURNED_AGAIN[0] += 1


# --------------------------------------------------------------------------- classes being built

#: The key a class statement's namespace carries while the interpreter builds the class:
#: a dunder no program can define, read or write.
CONSTRUCTION_MARKER = "__sandbox_under_construction__"
#: The token in the namespace of each class statement being built, innermost last.
_building: list[object] = []
#: The classes claimed under each token (normally the one class the statement returns),
#: keyed by the token itself: looking it up allocates nothing (see end_construction).
_claimed: dict[object, list[type]] = {}


def begin_construction(namespace: dict[str, object]) -> object:
    """Mark a class statement's namespace: the hooks the interpreter runs while it builds
    the class (``__set_name__`` of the descriptors in it, ``__init_subclass__`` of its
    bases) receive the new class before the statement has returned it, and it is already
    the program's there (``cls.registry = []`` in ``__init_subclass__``)."""
    token = object()
    namespace[CONSTRUCTION_MARKER] = token
    _building.append(token)
    return token


def repair_half_built_abcs(bases: tuple[type, ...]) -> None:
    """After a class statement (or a library class factory) failed: a class that
    ``type.__new__`` made before the failure (a bad class keyword raised in
    ``__init_subclass__``) is a subclass of its bases until it is collected, and ABCMeta
    never gave it a registry of its own; a library ABC asking its subclasses found the
    first base's instead (an ABC of the program's, where anything may be registered).
    Every such subclass of the bases gets its own, empty, as ABCMeta.__new__ would have
    given it."""
    for base in bases:
        if not isinstance(base, type):
            continue
        sub: type
        for sub in type.__subclasses__(base):
            if isinstance(sub, abc.ABCMeta) and "_abc_impl" not in vars(sub):
                _abc._abc_init(sub)  # noqa: SLF001 - what ABCMeta.__new__ calls


def end_construction(token: object, cls: type | None) -> None:
    """``cls``: what the statement built, None if it failed. A class a hook received while
    it was built but the statement did not return (it raised after ``__set_name__`` or
    ``__init_subclass__`` had stashed the class) was never finished by its metaclass
    (ABCMeta had not given it its own registry, so ``register`` wrote into a library
    base's): it stops being the program's, and the membrane refuses it."""
    PRIVATE_ATTRIBUTES_OF_INSTANCES.clear()  # first: it allocates nothing
    _building.remove(token)
    claims = _claimed.pop(token, ())
    # A program can fill its memory and catch the MemoryError: first what allocates
    # nothing (instances of a failed class stop being plain), then the rest; whatever
    # that leaves undone, construction_failed still says (the marker stays in the class).
    for claimed in claims:
        if claimed is not cls:
            PLAIN.discard(claimed)
            # Keyed by id: a later class at the same address must not inherit the names
            # its hooks wrote (settle_library_names pops it only for a finished class).
            _written_while_built.pop(id(claimed), None)
    if not _building:
        # The outermost statement has ended: every finished class was settled before it
        # ended, so what is left belongs to classes that failed (claimed or not).
        _written_while_built.clear()
    for claimed in claims:
        if claimed is not cls:
            _current.discard(claimed)
            MEMBRANE.abandon_program_class(claimed)
            if isinstance(claimed, abc.ABCMeta):
                # It stays a subclass of its bases (the program may still hold it), and a
                # library ABC asks its subclasses: with no registry of its own it answered
                # with the first base's (an ABC of the program's, where anything may be
                # registered). Its own, empty, as ABCMeta.__new__ would have given it.
                _abc._abc_init(claimed)  # noqa: SLF001 - what ABCMeta.__new__ calls
            _make_inert(claimed)
    if cls is not None and vars(cls).get(CONSTRUCTION_MARKER) is token:
        type.__delattr__(cls, CONSTRUCTION_MARKER)


def _refuse_abandoned(cls: type, *args: object, **kwargs: object) -> None:
    raise refused(f"{type.__dict__['__name__'].__get__(cls)!s}: its class statement failed; it makes nothing")


#: What EnumType keeps of an enum's members: emptied in an abandoned enum.
_ENUM_TABLES = {"_member_map_": dict, "_member_names_": list, "_value2member_map_": dict, "_unhashable_values_": list}


def _make_inert(cls: type) -> None:
    """A class abandoned mid-statement is refused to the program, but a hook may have
    left it where no guard looks: in a container C code reads (``map(operator.call,
    box)``), in a partial, a library registry. There it makes nothing: calling it raises
    (its metaclass may never have given it the ``__new__`` it meant to, a ``partial``
    base's stood in), and an enum of it has no members to iterate or look up."""
    type.__setattr__(cls, "__new__", staticmethod(_refuse_abandoned))
    if not isinstance(cls, enum.EnumType):
        return
    namespace = vars(cls)
    members = namespace.get("_member_map_")
    for name, value in list(members.items()) if type(members) is dict else ():
        if type(name) is str and namespace.get(name) is value:
            type.__delattr__(cls, name)
    for name, empty in _ENUM_TABLES.items():
        if name in namespace:
            type.__setattr__(cls, name, empty())


# --------------------------------------------------------------------------- registrations

#: Registrations into an ABC asked for while the class registered was still being built
#: (its own __init_subclass__ registering it), each with the function that makes it and
#: answers whether it could: made once the class's statement has finished, dropped if it
#: failed, so a class no statement finished never stands in a library ABC's registry.
_pending_registrations: list[tuple[type, type, Callable[[type, type], bool]]] = []


def defer_registration(abstract: type, subclass: type, register: Callable[[type, type], bool]) -> None:
    _pending_registrations.append((abstract, subclass, register))


def settle_registrations() -> None:
    """After a class statement has ended (the class factory, past its construction's
    cleanup): the registrations whose class has finished are made, each on its own (the
    program's __subclasshook__ runs in one and may raise: the others are made all the
    same, and the first error is the statement's, as it would have been from the
    __init_subclass__ that asked)."""
    if not _pending_registrations:
        return
    pending = list(_pending_registrations)
    _pending_registrations.clear()
    failure: BaseException | None = None
    for abstract, subclass, register in pending:
        if construction_failed(subclass):
            continue
        try:
            if unfinished(subclass) or not register(abstract, subclass):
                _pending_registrations.append((abstract, subclass, register))
        except Exception as error:  # noqa: BLE001 - the program's hook; reported below
            failure = failure or error
    if failure is not None:
        raise failure


def building_a_class() -> bool:
    """Whether one of the program's class statements is running (library code the class
    factory called, the metaclass's included, runs inside it)."""
    return bool(_building)


def built_by_the_program(cls: type) -> bool:
    """Whether ``cls`` is being built by a class statement of the program right now."""
    marker = vars(cls).get(CONSTRUCTION_MARKER)
    return marker is not None and any(marker is token for token in _building)


def claim_if_being_built(cls: type) -> bool:
    """Make ``cls`` the program's if it is a class one of its class statements is building
    right now: its namespace holds the token of a construction in progress, which only
    the class factory puts there."""
    if not _building:
        return False
    marker = vars(cls).get(CONSTRUCTION_MARKER)
    if marker is None or not any(marker is token for token in _building):
        return False
    # Recorded before it is granted: a MemoryError in between leaves a claim that
    # end_construction undoes, never a grant it does not know of.
    _claimed.setdefault(marker, []).append(cls)
    _current.add(cls)
    return True


def unfinished(cls: type) -> bool:
    """Whether ``cls`` or a class of its MRO still carries a construction marker: its class
    statement has not finished (a hook holds it) or failed. No rule that reads a class's
    namespace or metaclass can judge such a class yet: the library's steps after the hooks
    (Protocol's subclass hook, ABCMeta's registry, a base's own refusal) have not run."""
    mro = type.__dict__["__mro__"].__get__(cls)
    return any(vars(klass).get(CONSTRUCTION_MARKER) is not None for klass in mro)


def construction_failed(cls: type) -> bool:
    """Whether ``cls`` was made by a class statement that failed: its namespace still
    holds the marker of a construction that has ended (end_construction removes it from
    the class the statement returns). Such a class is never the program's and the
    membrane refuses it, whatever of end_construction's work a MemoryError cut short."""
    marker = vars(cls).get(CONSTRUCTION_MARKER)
    return marker is not None and not any(marker is token for token in _building)


MEMBRANE.recognize_classes_being_built(claim_if_being_built, construction_failed, unfinished)


# --------------------------------------------------------------------------- names a library wrote

#: Private names a library put into the program's class while the interpreter built it
#: (ABCMeta's _abc_impl, the caches a base's __init_subclass__ sets): in the class's own
#: dict, but the library's state, not the program's to read, replace or delete.
_library_names: ClassRegistry[frozenset[str]] = ClassRegistry()
#: Private names the program itself wrote on a class while it was being built.
_written_while_built: dict[int, set[str]] = {}


def note_program_write(cls: object, name: str) -> None:
    if _building and isinstance(cls, type) and vars(cls).get(CONSTRUCTION_MARKER) is not None:
        _written_while_built.setdefault(id(cls), set()).add(name)


#: Private names whose value is always a library's state, in any class: ABCMeta writes its
#: registry there after every hook has run, so "the program wrote it first" says nothing.
#: typing's protocol flags likewise: a class body that set ``_is_protocol = True`` made a
#: Protocol that did not list typing.Protocol among its bases (the class factory's check
#: for protocols under library ABCs looked at the bases).
#: ExitStack's callbacks list: its __init__ puts it in the instance dict of the program's
#: subclass, where a callback appended directly was called with the raw traceback.
LIBRARY_STATE_NAMES = frozenset({"_abc_impl", "_is_protocol", "_is_runtime_protocol", "_exit_callbacks"})


def _own_slot(cls: type, value: object) -> bool:
    """A slot of the class's own ``__slots__`` (``__slots__ = ("_x",)``): type.__new__ puts
    its descriptor there, for the program's own attribute."""
    return type(value) is types.MemberDescriptorType and getattr(value, "__objclass__", None) is cls


def settle_library_names(cls: type, body: Mapping[str, object]) -> None:
    """After a class statement: the private names in the class that neither its body nor the
    program's hooks wrote. ``body``: the namespace the class body made, name -> value. A
    name the body defined but the metaclass replaced (``_abc_impl = None``, which ABCMeta
    then sets to its registry) holds the library's value: the library's name."""
    written = _written_while_built.pop(id(cls), set())
    namespace = vars(cls)
    added = {
        name for name in namespace
        if type(name) is str and name.startswith("_") and not name.startswith("__")
        and (name not in body or namespace[name] is not body[name])
        and not _own_slot(cls, namespace[name])
    }  # fmt: skip
    library = (added - written) | (LIBRARY_STATE_NAMES & namespace.keys())
    if library:
        _library_names.set(cls, frozenset(library))


def settle_rebuilt_class(rebuilt: type, original: type, own: Iterable[str]) -> None:
    """A class a library factory built again from the program's (``dataclass(slots=True)``):
    the library's private names of the original are the library's here too (its bases'
    ``__init_subclass__`` wrote them again), as is any other private name the rebuild
    added besides ``own`` (the fields, now slots)."""
    before = vars(original)
    added = {
        name for name in vars(rebuilt)
        if type(name) is str and name.startswith("_") and not name.startswith("__")
        and name not in before and name not in own
    }  # fmt: skip
    library = library_names(original) | added
    if library:
        _library_names.set(rebuilt, frozenset(library))


def library_names(cls: type) -> frozenset[str]:
    return _library_names.lookup(cls)[1] or frozenset()


#: Per library class: the names its own code (every function in its namespace, nested
#: ones too) mentions, as attributes or otherwise.
_names_used_by_code: dict[type, frozenset[str]] = {}
#: The same for a class and all its bases (a class's bases never change: __bases__ cannot
#: be assigned in the sandbox).
_names_used_below: dict[type, frozenset[str]] = {}
_private_names_used_below: dict[type, frozenset[str]] = {}


def forget_library_classes(judged: list[weakref.ref[type]]) -> None:
    """The names cached for library classes the membrane takes out for a collection
    (Membrane.library_classes_to_release): recomputed when next asked, if they live."""
    for ref in judged:
        cls = ref()
        if cls is not None:
            _names_used_by_code.pop(cls, None)
            _names_used_below.pop(cls, None)
            _private_names_used_below.pop(cls, None)


def names_library_code_uses(cls: type) -> frozenset[str]:
    """The names the code of the library classes in ``cls``'s MRO mentions: the state a
    library ``__init__`` or method keeps in an instance dict (``ExitStack``'s
    ``_exit_callbacks``, pprint's ``_stream``, ``JSONDecoder``'s ``parse_string``) is
    under one of them. A superset (a name a method only reads elsewhere counts too)."""
    found = _names_used_below.get(cls)
    if found is not None:
        return found
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or is_user_class(klass):
            continue
        known = _names_used_by_code.get(klass)
        if known is None:
            known = _names_used_by_code[klass] = frozenset(_names_in(vars(klass).values()))
        names |= known
    found = frozenset(names)
    if not collecting_classes():  # no new reference to a class the collector may be freeing
        _names_used_below[cls] = found
    return found


def private_names_library_code_uses(cls: type) -> frozenset[str]:
    """Of names_library_code_uses, the private ones: on an instance of the program's
    subclass they are the library's, though they are in the instance dict (the library
    trusts what it finds there). A program that wants its own private attribute of such
    a name is refused, with a message, rather than let write the library's state."""
    found = _private_names_used_below.get(cls)
    if found is None:
        used = names_library_code_uses(cls)
        found = frozenset(n for n in used if n.startswith("_") and not is_dunder(n))
        if not collecting_classes():
            _private_names_used_below[cls] = found
    return found


def _names_in(members: Iterable[object]) -> set[str]:
    codes = []
    for member in members:
        for part in (member, getattr(member, "__func__", None), getattr(member, "fget", None),
                     getattr(member, "fset", None), getattr(member, "fdel", None)):  # fmt: skip
            if type(part) is not types.FunctionType:
                continue
            codes.append(SEALED_OPERATORS.get(part, part).__code__)  # a sealed operator: the library's own
    names: set[str] = set()
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(const for const in code.co_consts if type(const) is types.CodeType)
    return names
