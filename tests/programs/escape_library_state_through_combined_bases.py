# Tries: three ways the program's values became a library's trusted state. A program
# dataclass declaring _stream (no library base, so no check) combined with
# PrettyPrinter in a plain class: pprint read the field with the real getattr and
# handed the worker's stream to the program's hook. An IPv4Address keeps an int
# subclass as its own state, whose operators answered is_private for every later
# 8.8.8.8 of the worker (the lru cache is keyed by the address). typing.overload filed a
# function under the module and name functools.wraps copied from json.loads. Must: the
# combined class is refused; the address keeps an exact int; ordinary code works.
import dataclasses
import ipaddress
import pprint


@dataclasses.dataclass
class Declares:
    _stream: object = None


try:

    class Combined(pprint.PrettyPrinter, Declares):
        pass

    combined = None
except Exception as error:  # noqa: BLE001
    combined = type(error).__name__

PRIVATE = int(ipaddress.ip_address("10.0.0.1"))


class Lying(int):
    def __eq__(self, other):
        return True

    def __hash__(self):
        return int.__hash__(self)

    def __and__(self, other):
        return PRIVATE & other

    def __rand__(self, other):
        return other & PRIVATE


forged = ipaddress.IPv4Address(Lying(int(ipaddress.ip_address("8.8.8.8"))))


@dataclasses.dataclass
class Record:
    name: str
    size: int = 0


[
    combined,
    forged.is_private,
    ipaddress.ip_address("8.8.8.8").is_private,
    str(ipaddress.IPv4Address(167772161)),
    pprint.pformat(Record("a")),
]
