# Tries: field(init=Sneaky()): dataclasses asks `if f.init:` in the middle of processing,
# after the checks of the class; Sneaky.__bool__ wrote a docstring with a text signature
# (`Made(a=sys.executable)\n--\n\n`) onto the class right before slots=True rebuilt it, and
# a program base's __init_subclass__ kept the rebuilt class, whose subclass's docstring
# inspect.signature then built by evaluating the dotted names with the real eval (pass 39).
# Must: field options are exact values decided before the checks, and the slots rebuild
# refuses a text signature before the new class exists: no class the program keeps has
# one; ordinary field options and slots=True still work.
import dataclasses

stash = []


class Base:
    def __init_subclass__(cls, **kwargs):
        stash.append(cls)


class Sneaky:
    def __bool__(self):
        stash[0].__doc__ = "Made(a=sys.executable, b=sys.prefix)\n--\n\n"
        return False


try:
    @dataclasses.dataclass(slots=True, init=False)
    class Made(Base):
        x: dataclasses.InitVar[int] = dataclasses.field(init=Sneaky())
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__


docs = []
for kept in list(stash):
    class Sub(kept):
        pass

    docs.append(str(dataclasses.dataclass(init=False)(Sub).__doc__))


@dataclasses.dataclass(slots=True)
class Point:
    x: int
    y: int = dataclasses.field(default=0, repr=False, compare=1)


[refused, any("executable" in doc or "/" in doc for doc in docs), repr(Point(1, 2)), Point(1, 2) == Point(1, 3)]
