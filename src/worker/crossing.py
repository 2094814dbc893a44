"""Library functions as the program holds them: what they return passes the membrane
inside the call, whoever calls them.

The guards admit what a call returns where the program's code makes the call, but C code
calls functions too: ``map(statistics.mean, data)`` hands each result to ``list``
without the program binding it, and library code (``statistics._convert``) derives
classes from the program's data with the real ``type()``, so a mean could be a real
metaclass. A module's Python functions (and the methods of its hidden instance,
``random.randint``) are therefore offered as a crossing: a function of this module that
calls the library's and admits its arguments and its result. The arguments too, because
library code calls what the program hands it (an exit callback, a key function) with its
own values, and a library function that stores its arguments
(``collections.Counter.update``) would keep them unseen. Built-in (C) functions are
offered as they are: they compute from their arguments, as the interpreter's operators
do (see docs/security.md, "Residual risks")."""

from __future__ import annotations

import builtins
import functools
import inspect
import sys
import types
from collections.abc import Callable
from typing import Any

from .fastguards import built_call_through
from .membrane import (
    METHOD_CROSSINGS,
    PLAIN,
    admit,
    admit_values,
    admitted_arguments,
    admitted_nested,
    admitted_result,
    offer_crossings_with,
)

#: The library function behind each crossing (tests read through it; the program cannot:
#: a crossing has no ``__wrapped__`` and its closure is refused like any library one's).
ORIGINALS: dict[Callable[..., Any], Callable[..., Any]] = {}


def crossing(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, its arguments and its result passing the membrane; made once per
    module function, in the template."""
    call = _crossing(function)
    functools.update_wrapper(call, function)
    call.__dict__.update(vars(function))  # the sandbox's update_wrapper merges only the program's
    # After the merge: a function made by a decorator (contextmanager's) has a __wrapped__
    # of its own in its dict, the raw function (attack pass 90, N2).
    call.__dict__.pop("__wrapped__", None)  # the original stays out of reach
    ORIGINALS[call] = function
    return call


def method_crossing(method: types.MethodType | types.BuiltinMethodType) -> Callable[..., Any]:
    """A library method as the program holds it (``counter.most_common``, ``super().f``):
    the crossing of its function, made once per function and carrying only its names,
    bound to the method's object. (The object comes first among the admitted arguments:
    it is one the membrane let the program hold.) A method over anything but a function
    (``classmethod(GenericAlias)``, a C class's ``__class_getitem__`` bound to a class)
    gets a crossing of its own each time."""
    function = getattr(method, "__func__", method)
    if builtins.type(function) is types.FunctionType and function in ORIGINALS:
        return method  # already a crossing, bound
    if builtins.type(function) is not types.FunctionType:
        call = _crossing(method)
        call.__name__, call.__qualname__, call.__doc__ = method.__name__, method.__qualname__, method.__doc__
        return call
    made = METHOD_CROSSINGS.get(function)
    if made is None:
        made = _crossing(function)
        made.__name__, made.__qualname__, made.__doc__ = function.__name__, function.__qualname__, function.__doc__
        METHOD_CROSSINGS[function] = made
        ORIGINALS[made] = function
    return types.MethodType(made, method.__self__)


#: References to a library function when only the crossings' own tables hold it: its key
#: in METHOD_CROSSINGS, its value in ORIGINALS, the crossing's closure cell, and, in
#: forget_crossings_of_freed_functions, the list, the loop's name and getrefcount's argument.
_HELD_ONLY_BY_THE_CROSSINGS = 6


def forget_crossings_of_freed_functions() -> None:
    """After a release freed the program's classes: the crossings made for library methods
    no one else holds any more (a namedtuple class's ``_replace``, one per class the
    program made and dropped), which the tables kept for the whole job. A crossing the
    program still holds bound keeps working (its closure holds the function); a later
    read makes a new one."""
    for function in list(METHOD_CROSSINGS):
        if sys.getrefcount(function) <= _HELD_ONLY_BY_THE_CROSSINGS:
            made = METHOD_CROSSINGS.pop(function)
            ORIGINALS.pop(made, None)


#: How many method crossings the last growth sweep left (prune_method_crossings), and how
#: many more before the first: each may hold what its library closure holds (a 1 MB
#: argument: pass 79 filled the memory limit with 256 of them).
_swept_at = [0]
_SWEEP_AFTER = 32


def prune_method_crossings() -> None:
    """At a collection: the crossings of library methods no one holds, forgotten once the
    table has doubled since the last sweep. A library method made per read (a
    ``partialmethod`` read through an instance binds a fresh closure each time) filled it
    with no class of the program's ever released (attack pass 78); doubling keeps the
    sweeps' cost a constant share per crossing."""
    if len(METHOD_CROSSINGS) >= 2 * _swept_at[0] + _SWEEP_AFTER:
        forget_crossings_of_freed_functions()
        _swept_at[0] = len(METHOD_CROSSINGS)


def _call_through_python(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A crossing's work: the arguments admitted (as they would be by a function of the
    program's), the library's code, the result admitted."""
    if kwargs:
        admit_values(kwargs)
    # A tuple's elements too (typing.get_args held a ForwardRef, astuple a library method).
    return admitted_result(function(*admitted_arguments(args), **kwargs))


#: The same in C (fastguards.built_call_through), for calls whose arguments are all
#: plain; None where the C half is not built.
_CALL_THROUGH_C = built_call_through(PLAIN, _call_through_python, admitted_nested, admit)
#: What every crossing calls: the C one where the environment runs the C guards.
_call_through: Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any] = _call_through_python


def select_call_through(accelerated: bool) -> None:
    """Crossings follow the guards' mode (runner.build_environment): C or pure Python."""
    global _call_through  # one mode per process at a time, as for the guards
    _call_through = _CALL_THROUGH_C if accelerated and _CALL_THROUGH_C is not None else _call_through_python


def _crossing(function: Callable[..., Any]) -> Callable[..., Any]:
    """The call itself, made once per library function: what it holds (``function``) is
    in its closure, which the program cannot read."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return _call_through(function, args, kwargs)

    return call


def is_crossable(value: object) -> bool:
    """A module member to offer as a crossing: a Python function, or a method bound to
    the module's hidden instance (``random.randint`` is ``random._inst.randint``)."""
    if isinstance(value, types.FunctionType):
        # Not a function that stands for a base class (typing.NamedTuple, TypedDict): its
        # __mro_entries__ looks for that very function among the bases.
        return "__mro_entries__" not in vars(value)
    return isinstance(value, types.MethodType) and isinstance(value.__func__, types.FunctionType)


def admit_generated_constructor(cls: type) -> None:
    """A namedtuple's ``__new__`` is code collections generated for the program's class:
    it stores its arguments in the tuple without a def's admission, and library code
    calls the class with values of its own (an exit callback, ``throw``), which C code
    then takes out of the tuple unseen (``list(record)``). Replaced in the class by one
    that admits them first, as the program's own ``__new__`` would; the signature stays
    the generated one's."""
    # The one the class's instances are made by: its own, or a base's (a program class
    # over a namedtuple, the program's or a library's, inherits the generated one).
    owner = next((klass for klass in cls.__mro__ if "__new__" in vars(klass)), None)
    new = vars(owner).get("__new__") if owner is not None else None
    generated = new.__func__ if builtins.type(new) is staticmethod else None
    if builtins.type(generated) is not types.FunctionType:
        return
    namespace = generated.__globals__
    if "_tuple_new" not in namespace or not str(namespace.get("__name__", "")).startswith("namedtuple_"):
        return

    def __new__(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            admit_values(kwargs)
        return generated(cls, *admitted_arguments(args), **kwargs)

    __new__.__name__, __new__.__qualname__, __new__.__doc__ = "__new__", generated.__qualname__, generated.__doc__
    __new__.__signature__ = inspect.signature(generated)  # type: ignore[attr-defined]
    builtins.type.__setattr__(cls, "__new__", staticmethod(__new__))


offer_crossings_with(method_crossing)
