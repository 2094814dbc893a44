# Tries: a dataclass without library bases declares a field `_dispatch`; a class that
# combines it with pprint.PrettyPrinter inherits the field, and every method dataclasses
# generated (__eq__, __repr__, pprint's dataclass support) reads it with the real
# getattr: an instance without the attribute read PrettyPrinter's shared dispatch table.
# Must: the combining class is refused; dataclass inheritance without such a clash works.
import dataclasses
import pprint


@dataclasses.dataclass
class B0:
    _dispatch: object = dataclasses.field(init=False, default=None)


try:

    class B(B0, pprint.PrettyPrinter):
        pass

    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__


@dataclasses.dataclass
class Base:
    x: int = 1


@dataclasses.dataclass
class Child(Base):
    y: int = 2


[refused, Child() == Child(), repr(Child(3))]
