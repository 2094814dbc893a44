# Tries: typing.TypedDict's functional form names the class after the calling frame's
# module (typing._caller()): called by a library frame (singledispatch's wrapper) the
# class was functools', never the program's; through a call with *args the frame was the
# sandbox's own guard and the class was refused (pass 41).
# Must: the class is the program's, of __main__, however it is called; the class form
# still works.
import functools
import typing


@functools.singledispatch
def make(name):
    return typing.TypedDict(name, {"x": int})


Direct = typing.TypedDict("Direct", {"x": int, "y": str}, total=False)
Starred = typing.TypedDict(*["Starred", {"x": int}])
Via = make("Via")


class Stated(typing.TypedDict):
    a: int


Direct.note = "writable: the program's class"
[Direct.__module__, Starred.__module__, Via.__module__, sorted(Direct.__optional_keys__),
 sorted(Stated.__required_keys__), Direct.note, dict(Via(x=1))]
