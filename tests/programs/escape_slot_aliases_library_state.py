# Tries: read library state raw through a slot of the program's class standing under
# another name. JSONDecoder.__init__ stores the C scanner function in the program's
# `parse_string` slot; the slot's descriptor under csv.DictReader's state name `restval`
# made DictReader hand that function, raw, inside a row dict. A slot under a public hook's
# name (`format` in a PrettyPrinter subclass) held a C callable pprint called with what
# it read. Must: the program never holds its slots' descriptors (it reads and writes
# slots through instances), and a slot named like a library hook is refused as a non-def
# override; ordinary slots (own, inherited, in a library subclass) work.
import csv
import io
import json
import pprint

outcome = []


class Base(json.JSONDecoder):
    __slots__ = ("parse_string",)


try:

    class Reader(csv.DictReader, Base):
        restval = Base.parse_string

    outcome.append("alias accepted")
except Exception as e:
    outcome.append(str(e)[:60])

try:

    class Printer(pprint.PrettyPrinter):
        __slots__ = ("format",)

    outcome.append("hook slot accepted")
except Exception as e:
    outcome.append(str(e)[:60])


class Point:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x, self.y = x, y


class Point3(Point):
    __slots__ = ("z",)

    def __init__(self, x, y, z):
        super().__init__(x, y)
        self.z = z


class Tolerant(json.JSONDecoder):
    __slots__ = ("note",)


decoder = Tolerant()
decoder.note = "kept"
p = Point3(1, 2, 3)
[outcome, [p.x, p.y, p.z], decoder.decode("[1]"), decoder.note]
