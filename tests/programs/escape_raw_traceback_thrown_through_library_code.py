# Tries: three routes by which library code handed a C callable of the program the with
# statement's raw traceback: contextmanager's __exit__ throws it into the generator and
# a library generator's `yield from` (KeysView.__iter__) forwards the throw to the
# program's iterator's `throw`; an exit callback pushed onto an ExitStack by another one
# while it exits; ExitStack's callbacks list written directly on a subclass. The C
# callable is Exception.__init__ bound to an exception of the program's, which stores its
# arguments, read back past the class with super(Exception, holder).args. Must: what is
# stored holds no traceback (None in its place), and the list is not reachable.
import collections.abc
import contextlib
import functools

thrown_into = Exception("holder")


class Ones:
    def __iter__(self):
        return self

    def __next__(self):
        return 1

    throw = functools.partial(Exception.__init__, thrown_into)


class Source:
    def __iter__(self):
        return Ones()


@contextlib.contextmanager
def delegating():
    yield from collections.abc.KeysView(Source())


try:
    with delegating():
        {}["missing"]
except BaseException as error:  # noqa: BLE001
    first_outcome = type(error).__name__

pushed_during_exit = Exception("holder")
stack = contextlib.ExitStack()


def pushes_then_fails(*details):
    stack.push(functools.partial(Exception.__init__, pushed_during_exit))
    raise ValueError("boom")


stack.push(pushes_then_fails)
try:
    with stack:
        pass
except ValueError:
    pass


class Stack(contextlib.ExitStack):
    pass


try:
    Stack()._exit_callbacks
    callbacks_reachable = True
except Exception:  # noqa: BLE001
    callbacks_reachable = False


# repr by C code (map), before anything admits the holders (a call with one as its
# argument would): what they really keep.
first_kept = ["traceback" in text for text in map(repr, super(Exception, thrown_into).args)]
second_kept = ["traceback" in text for text in map(repr, super(Exception, pushed_during_exit).args)]
[first_outcome, first_kept, second_kept, callbacks_reachable]
