"""SecurityError: what the sandbox raises when it refuses something at run time."""

from __future__ import annotations

import sys
import weakref

#: The top-level package of the sandbox's own code.
_SANDBOX_PACKAGE = __name__.partition(".")[0] + "."


class SecurityError(AttributeError):
    """Raised by a guard or a guarded library replacement.

    An AttributeError, so ``hasattr()`` and ``getattr(x, name, default)`` treat a refused
    name like a missing one. Shown to the program (and in its traceback) as a
    builtin-looking ``SecurityError``, without the sandbox's module path.

    The program can reach the class (``type(e)`` of a refusal it caught) and make one, and
    library code can raise what the program made (``gen.throw(SE, "text")`` on a library
    generator). So each refusal is noted, with its message, when the sandbox's own code
    makes it (its creator's module is the sandbox's): the reply calls only those the
    sandbox's refusal, and with the message it had then (``e.args`` is writable).
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        creator = sys._getframe(1).f_globals  # noqa: SLF001 - who made it, never the program's to choose
        name = creator.get("__name__")
        if type(name) is str and name.startswith(_SANDBOX_PACKAGE):
            _VERDICTS[self] = str(args[0]) if args and type(args[0]) is str else ""


#: Each refusal the sandbox made, with its message then (weakly: it goes with the exception).
_VERDICTS: weakref.WeakKeyDictionary[SecurityError, str] = weakref.WeakKeyDictionary()


def sandbox_verdict(exc: BaseException) -> str | None:
    """The message of a refusal the sandbox made, or None for anything else (a SecurityError
    the program made, however it was raised)."""
    if type(exc) is not SecurityError:
        return None
    return _VERDICTS.get(exc)


SecurityError.__module__ = "builtins"
