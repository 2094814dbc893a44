# Tries: a data descriptor whose setter is a C callable, under a name a library base keeps
# its instance state by (PrettyPrinter's _stream, JSONDecoder's scan_once/parse_string),
# placed where the class statement's rule did not look: written onto the class after its
# statement, lent by a program base with no library base, a program subclass of property
# in the body, a value of the functional Enum API's mapping (passes 39 and 41). The
# library's __init__ then stored its own objects (the worker's stream, _json's scanner)
# into the program's dict, raw.
# Must: each is refused; a property with def accessors under such a name, and properties
# and class attributes under the program's own names, keep working.
import enum
import json
import pprint

kept = {}


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


class Printer(pprint.PrettyPrinter):
    pass


def written_after():
    Printer._stream = property(None, kept.setdefault)


class Lender:
    parse_string = property(None, kept.setdefault)


def lent():
    class Decoder(Lender, json.JSONDecoder):
        pass


class Intercepting(property):
    pass


def subclass_of_property():
    class Decoder(json.JSONDecoder):
        scan_once = Intercepting(None, kept.setdefault)


def enum_mapping():
    enum.Enum("E", {"A": (), "scan_once": property(None, kept.setdefault)}, type=json.JSONDecoder)


class Stream:
    def __init__(self):
        self.lines = []

    def write(self, text):
        self.lines.append(text)


streams = []


class Logged(pprint.PrettyPrinter):
    @property
    def _stream(self):
        return streams[-1]

    @_stream.setter
    def _stream(self, value):
        streams.append(value)


class Own:
    pass


def own_names():
    Own.size = property(lambda self: 3)
    Printer.colour = "blue"
    return [Own().size, Printer.colour]


logged = Logged(stream=Stream())
logged.pprint({"a": 1})
[
    [outcome(written_after), outcome(lent), outcome(subclass_of_property), outcome(enum_mapping)],
    kept,
    streams[-1].lines,
    own_names(),
]
