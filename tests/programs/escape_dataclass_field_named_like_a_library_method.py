# Tries: a dataclass field named like a public method of a library base (ChainMap.new_child)
# gets that raw function as its default (dataclasses reads defaults with the real getattr),
# and astuple()/asdict() hand it back unwrapped: a library method called on any self,
# whose self.__class__(...) is the real type. Must: SecurityError when the class is made.
import collections
import dataclasses

try:

    @dataclasses.dataclass
    class Dc(collections.ChainMap):
        new_child: object

    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__


@dataclasses.dataclass
class Own(collections.ChainMap):
    label: str = "ordinary fields of a library base's subclass still work"


[refused, dataclasses.astuple(Own())]
