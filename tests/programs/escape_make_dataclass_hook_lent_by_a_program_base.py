# Tries: dataclasses.make_dataclass(bases=(Hooks, pprint.PrettyPrinter)) where the program
# base Hooks (no library base of its own) binds PrettyPrinter's private hook _format to a
# C callable: pprint then calls it with its own stream, raw (passes 39 and 41). The class
# statement refused the combination; make_dataclass ran its own, shorter list of rules.
# Must: make_dataclass is the class statement plus the dataclass decorator, so the same
# rule refuses it; an ordinary make_dataclass over a program base still works.
import dataclasses
import functools
import pprint

got = []


class Hooks:
    _format = functools.partial(max, key=got.append)


class Plain:
    def describe(self):
        return "plain"


outcomes = []
try:
    dataclasses.make_dataclass("Made", [], bases=(Hooks, pprint.PrettyPrinter), init=False)
    outcomes.append("built")
except Exception as error:
    outcomes.append(type(error).__name__)
Point = dataclasses.make_dataclass("Point", ["x", ("y", int, dataclasses.field(default=2))], bases=(Plain,))
[outcomes, got, repr(Point(1)), Point(1).describe()]
