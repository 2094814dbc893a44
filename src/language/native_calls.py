"""Method calls on built-in values that the compiled program makes natively.

``squares.append(x)``, ``counts.get(w, 0)``, ``", ".join(parts)``: through the guards
each is a ``_getattr_`` call that builds a bound method, then a call of it, where CPython
calls the C method directly (a specialised instruction for ``list.append``). For an
object whose exact type is one of ``RECEIVER_TYPES`` the guard's answer depends only on
the type and the name, and for the names listed in the worker's table it is the built-in
method bound to the object, unchanged. So the policy compiles such a call as

    (r.name(args) if _type_(r) in _native_name_ else _getattr_(r, "name")(args))

(an ``if`` statement where the result is thrown away: CPython then specialises
``list.append`` as it does for the plain call), and the worker fills each
``_native_<name>_`` (table_name) by asking its own ``_getattr_`` about each
type and name, once, before any job (worker/native_calls.py): a name the guard answers
differently for a type (``str.format`` is wrapped so that its fields go through the
guards) is not native for that type, and the guarded branch runs.

Only where evaluating the receiver twice is the same as once (a name, a str or bytes
constant: loading them runs no code of the program's) and the arguments are duplicated
only once (no call, lambda, comprehension, await or yield among them: a nested native
call inside would double the code again). The arguments are evaluated after the method
is found in both branches, as CPython evaluates them.
"""

from __future__ import annotations

import collections
import re
import types

#: Built-in classes without an instance dict: what ``obj.name`` finds is the class's.
RECEIVER_TYPES: tuple[type, ...] = (
    list,
    dict,
    set,
    frozenset,
    str,
    bytes,
    bytearray,
    tuple,
    int,
    float,
    collections.deque,
    re.Pattern,
    re.Match,
)

#: The public methods of those classes: the calls the policy compiles with a native branch.
METHOD_NAMES: frozenset[str] = frozenset(
    name
    for kind in RECEIVER_TYPES
    for name, member in vars(kind).items()
    if not name.startswith("_") and isinstance(member, types.MethodDescriptorType)
)


def table_name(method: str) -> str:
    """The guard global holding the exact types for which ``method`` is called natively
    (reserved: names.is_reserved)."""
    return f"_native_{method}_"
