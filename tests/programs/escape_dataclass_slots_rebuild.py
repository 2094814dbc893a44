# Tries: dataclass(slots=True) builds the class again from its current namespace. A
# docstring assigned after the class statement became the new class's creation-time
# docstring, whose text signature inspect.signature evaluates with the real eval; and
# the private names a library base's __init_subclass__ wrote again into the new class
# (random.Random's _randbelow) became the program's to read and replace. Must: both
# refused; an ordinary slotted dataclass keeps working.
import dataclasses
import random

refused = []


class Leak:
    x: int = 0


Leak.__doc__ = "Leak(name=os.name)\n--\n\n"
try:
    dataclasses.dataclass(slots=True)(Leak)
    refused.append(None)
except Exception as error:  # noqa: BLE001
    refused.append(type(error).__name__)


@dataclasses.dataclass(slots=True)
class R(random.Random):
    seed_value: int = 0


try:
    R()._randbelow
    refused.append(None)
except Exception as error:  # noqa: BLE001
    refused.append(type(error).__name__)


@dataclasses.dataclass(slots=True)
class Point:
    x: int
    _y: int = 2


q = Point(1)
[refused, q.x + q._y, Point.__doc__]
