# Tries: the interpreter derives a class's __text_signature__ from the docstring it was
# created with ("L(a=os.name)\n--\n\n"); dataclass(init=False) writes a docstring from
# inspect.signature(cls), which falls back to that text signature and evaluates each
# default's dotted name with the real eval in every loaded module (host paths, private
# names). Must: SecurityError for such a docstring; dataclass docstrings of ordinary
# classes keep working.
import dataclasses

try:

    class Leak:
        "Leak(name=os.name)\n--\n\n"

    Leak.__doc__ = ""
    refused = dataclasses.dataclass(init=False)(Leak).__doc__
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__


@dataclasses.dataclass
class P:
    x: int = 1


[refused, P.__doc__]
