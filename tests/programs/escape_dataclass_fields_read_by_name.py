# Tries: asdict/astuple/replace read every field with the real getattr, by the name its
# Field holds. A Field default hid a library base's attribute from the field-name check
# (a field named `format` on a str subclass), and a Field adopted by two classes (one
# processing the other from a descriptor's __get__) was renamed to a library base's
# private name: astuple handed back the real bound str.format, replace() a library
# class's shared table (ipaddress's netmask cache, pprint's dispatch table). Must: each field is read as the program's own getattr reads it
# (the checked format, whose fields refuse __globals__); a Field is claimed by the class
# being processed before any of the program's code runs, so the class processed from the
# descriptor cannot adopt it (and is no dataclass for replace); asdict/astuple/replace of
# ordinary dataclasses keep working.
import dataclasses
import operator
import pprint

refused = []


def probe():
    pass


try:

    @dataclasses.dataclass
    class S(str):
        s: str
        format: int = dataclasses.field(init=False)

    formats = dataclasses.astuple(S("{0.__globals__}"))[1:]
    list(map(operator.call, formats, [probe]))
    refused.append(None)
except Exception as error:  # noqa: BLE001
    refused.append(type(error).__name__)

F = dataclasses.field(default=0)
stash = {}


class Net(pprint.PrettyPrinter):
    label: int = F

    def __init__(self, **kw):
        stash.update(kw)


class Hook:
    def __get__(self, instance, owner):
        if instance is None and "done" not in stash:
            stash["done"] = 1
            dataclasses.dataclass(init=False, repr=False, eq=False)(Net)
        return 0


class Outer:
    a: int = Hook()
    _dispatch: int = F


try:
    dataclasses.dataclass(Outer)
    refused.append(None)
except Exception as error:  # noqa: BLE001
    refused.append(type(error).__name__)
try:
    dataclasses.replace(Net())
    refused.append(None)
except Exception as error:  # noqa: BLE001
    refused.append(type(error).__name__)


@dataclasses.dataclass
class P:
    x: int
    tags: list


p = P(1, [P(2, [])])
[refused, dataclasses.asdict(p), dataclasses.astuple(p), dataclasses.replace(p, x=5).x]
