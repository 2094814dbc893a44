# Tries: library caches the whole worker shares, keyed by an object the program passes
# or builds: ipaddress's netmask cache given a plain object that hashes and compares as
# the text "27" (every later /27 became a /8), struct's format cache given a bytes
# subclass that compares as another format; and a make_dataclass base that resolves to an
# object, whose class the factory then called as the metaclass with the namespace it was
# building (the construction token in it). Must: a prefix is an exact int or str, a
# format an exact str or bytes, a base a class; ordinary networks, formats and
# make_dataclass calls work, and typing.overload can decorate the program's stubs.
import dataclasses
import ipaddress
import struct
import typing


class Mask:
    def __hash__(self):
        return hash("27")

    def __eq__(self, other):
        return other == "27"


class Format(bytes):
    def __eq__(self, other):
        return True

    def __hash__(self):
        return hash("<3sxI")


class Meta:
    def __init__(self, name, bases, namespace):
        seen.append(sorted(namespace))


seen = []


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


alias = type(list[int])
refused = [
    outcome(lambda: ipaddress.IPv4Network(("10.0.0.0", Mask()))),
    outcome(lambda: struct.calcsize(Format(b"<h"))),
    outcome(lambda: dataclasses.make_dataclass("X", [("a", int)], bases=(alias(Meta(1, 2, {}), ()),))),
]


@typing.overload
def double(x: int) -> int: ...


@typing.overload
def double(x: str) -> str: ...


def double(x):
    return x * 2


[
    refused,
    seen,
    str(ipaddress.ip_network("10.1.2.0/27").netmask),
    struct.calcsize("<3sxI"),
    struct.calcsize(b"<h"),
    dataclasses.make_dataclass("Y", [("a", int)])(1).a,
    [double(2), double("ab")],
]
