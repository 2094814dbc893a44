"""SecurityError: what the sandbox raises when it refuses something at run time."""

from __future__ import annotations

import weakref


class SecurityError(AttributeError):
    """Raised by a guard or a guarded library replacement.

    An AttributeError, so ``hasattr()`` and ``getattr(x, name, default)`` treat a refused
    name like a missing one. Shown to the program (and in its traceback) as a
    builtin-looking ``SecurityError``, without the sandbox's module path.

    The program can reach instances (a refusal it caught) and library code can raise or
    copy what it is handed (``gen.throw(SE, "text")`` on a library generator,
    ``copy.copy(e)``). So an instance is the sandbox's verdict only when ``refused()``
    made it: the reply calls only those the sandbox's refusal, with the message they had
    then (``e.args`` is writable). However else one is made, it is the program's.
    """


#: Each refusal the sandbox made, with its message then (weakly: it goes with the exception).
_VERDICTS: weakref.WeakKeyDictionary[SecurityError, str] = weakref.WeakKeyDictionary()


def refused(message: str) -> SecurityError:
    """The sandbox's refusal, saying ``message``: the one way the sandbox makes one."""
    verdict = SecurityError(message)
    _VERDICTS[verdict] = message
    return verdict


def sandbox_verdict(exc: BaseException) -> str | None:
    """The message of a refusal the sandbox made, or None for anything else (a SecurityError
    the program made, however it was raised)."""
    if type(exc) is not SecurityError:
        return None
    return _VERDICTS.get(exc)


SecurityError.__module__ = "builtins"
