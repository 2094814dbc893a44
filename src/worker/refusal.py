"""SecurityError: what the sandbox raises when it refuses something at run time."""

from __future__ import annotations


class SecurityError(AttributeError):
    """Raised by a guard or a guarded library replacement.

    An AttributeError, so ``hasattr()`` and ``getattr(x, name, default)`` treat a refused
    name like a missing one. Shown to the program (and in its traceback) as a
    builtin-looking ``SecurityError``, without the sandbox's module path.
    """


SecurityError.__module__ = "builtins"
