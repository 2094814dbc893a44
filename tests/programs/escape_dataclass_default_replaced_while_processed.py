# Tries: dataclasses reads each field's default with getattr(cls, name), running the
# program's descriptors in between: one deleted the class's own `new_child`, so the next
# field's default became ChainMap.new_child, the library's function, stored raw in every
# instance; astuple() handed it to C code, which called it with any self (the real type
# came back). Must: a default the membrane would not hold as it is refuses the class;
# descriptor defaults of ordinary dataclasses keep working.
import collections
import dataclasses

state = {}


class Hook:
    def __get__(self, inst, owner):
        if inst is None and "done" not in state:
            state["done"] = 1
            del owner.new_child
        return 0


class D(collections.ChainMap):
    a: int = Hook()
    new_child: object = 0


try:
    dataclasses.dataclass(D)
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__


class Default:
    def __get__(self, inst, owner):
        return 7


@dataclasses.dataclass
class Ordinary:
    n: int = Default()


[refused, Ordinary().n, dataclasses.astuple(Ordinary(3))]
