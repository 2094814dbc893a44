# Tries: typing.NamedTuple's functional form names the class after the module of the
# frame that called it, so called through library code (singledispatch's wrapper) the
# program's class was functools', no class of the program: the membrane judged it as a
# library's, its attributes were read-only to the program, and its generated __new__
# (which stores its arguments unseen) was never replaced. Must: the class is the
# program's, of __main__, however it is called; class syntax still works.
import functools
import typing

Direct = typing.NamedTuple("Direct", [("x", int)])
Through = functools.singledispatch(typing.NamedTuple)("Through", [("x", int), ("y", int)])
Through.label = "the program's own class"


class Point(typing.NamedTuple):
    x: int
    y: int = 0


[Direct.__module__, Through.__module__, Through.label, Through(1, 2).y, Point(3)._asdict()]
