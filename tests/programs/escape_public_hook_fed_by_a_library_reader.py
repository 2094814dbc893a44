# Tries: get a value the membrane refuses into the program's list through a public hook.
# pprint reads a dataclass's fields with the real getattr and hands each to self.format; a
# field can be a cached_property alias of a JSONDecoder base's public state (parse_string,
# the C scanner), and format a property returning partial(max, key=box.append), a C
# callable that stores its arguments raw. Must: a public method a library base's code
# calls can only be overridden by a def (in the class statement; not afterwards, on the
# class or an instance), and a cached_property may not read state a library base's code
# uses; an ordinary def override of format, and an ordinary cached_property, work.
import functools
import json
import pprint

box = []
outcome = []
try:

    class Hooked(pprint.PrettyPrinter):
        @property
        def format(self):
            return functools.partial(max, key=box.append)

    outcome.append("property accepted")
except Exception as e:
    outcome.append(str(e)[:50])


class Mine(pprint.PrettyPrinter):
    pass


printer = Mine()
try:
    printer.format = functools.partial(max, key=box.append)
    outcome.append("instance hook accepted")
except Exception as e:
    outcome.append(str(e)[:50])

alias = functools.cached_property(lambda self: 0)


class Decoder(json.JSONDecoder):
    parse_string = alias


Decoder.field = alias
try:
    Decoder().field
    outcome.append("alias read")
except Exception as e:
    outcome.append(str(e)[:60])


class Upper(pprint.PrettyPrinter):
    def format(self, obj, context, maxlevels, level):
        if isinstance(obj, str):
            return repr(obj.upper()), True, False
        return super().format(obj, context, maxlevels, level)


class Circle:
    def __init__(self, r):
        self.r = r

    @functools.cached_property
    def area(self):
        return 3 * self.r * self.r


[outcome, box, Upper().pformat(["a", 1]), Circle(2).area]
