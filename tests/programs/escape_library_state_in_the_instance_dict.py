# Tries: a library __init__ keeps its state in the instance dict of the program's
# subclass (pprint's _stream and _width, ExitStack's _exit_callbacks, textwrap's
# compiled patterns...), where a private name counted as the program's: the program read
# and replaced what the library's code then trusted (ExitStack popped the program's
# callbacks and called them with the raw traceback). Must: a private name the library
# bases' code uses is the library's on the program's instance too (read or written);
# the program's own private attributes, on plain classes and on subclasses of library
# classes, still work, and __bases__ cannot be rebound to change what counts.
import collections
import contextlib
import pprint


class Printer(pprint.PrettyPrinter):
    pass


class Stack(contextlib.ExitStack):
    pass


class Items(collections.UserList):
    def __init__(self, items):
        super().__init__(items)
        self._label = "mine"


class Plain:
    def __init__(self):
        self._count = 0

    def bump(self):
        self._count += 1
        return self._count


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


printer = Printer()
stack = Stack()


def read_stream():
    return printer._stream


def write_width():
    printer._width = 5


def replace_callbacks():
    stack._exit_callbacks = []


def rebind_bases():
    setattr(Plain, "__" + "bases__", (object,))


refused = [outcome(read_stream), outcome(write_width), outcome(replace_callbacks), outcome(rebind_bases)]
[refused, Items([1])._label, Plain().bump(), printer.pformat([1, 2])]
