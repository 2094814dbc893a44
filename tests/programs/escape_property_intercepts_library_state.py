# Tries: a property in the program's subclass, named like state the library base's code
# keeps in the instance, is found before the instance dict, so the library's own writes
# (PrettyPrinter.__init__'s self._stream = sys.stdout, JSONDecoder's scan_once, a C
# scanner) went to its setter; a C callable there (box.setdefault) kept them raw. Must:
# under such a name a property's accessors are the program's functions (a class
# statement or make_dataclass's namespace); with defs it works and its setter sees the
# library's values through the membrane; properties elsewhere are unchanged.
import dataclasses
import json
import pprint

box = {}


def refusal(build):
    try:
        build()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return None


def printer_stream():
    class Printer(pprint.PrettyPrinter):
        _stream = property(None, box.setdefault)


def decoder_scanner():
    class Decoder(json.JSONDecoder):
        scan_once = property(None, box.setdefault)


def made_printer():
    dataclasses.make_dataclass("Made", [], bases=(pprint.PrettyPrinter,), namespace={"_width": property(None, box.setdefault)})


seen = []


class Narrow(pprint.PrettyPrinter):
    def _get_width(self):
        return 20

    def _set_width(self, value):
        seen.append(value)

    _width = property(_get_width, _set_width)


class Circle:
    def __init__(self, r):
        self.r = r

    area = property(lambda self: 3 * self.r * self.r)


[
    [refusal(printer_stream), refusal(decoder_scanner), refusal(made_printer)],
    box,
    Narrow(width=80).pformat(list(range(8))).count("\n"),
    seen,
    Circle(2).area,
]
