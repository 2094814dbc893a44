# Tries: update_wrapper copied __annotations__ from any wrapped object, by reference: a
# program function wrapping typing.dataclass_transform held typing's own annotations
# dict, whose values hold an alias over the real type (type[Any]); typing.get_args took
# it apart and C code called it. Must: from a library object only its text is copied;
# annotations read through the guard are admitted; wraps() of the program's own function
# still copies its annotations.
import functools
import typing


def f():
    pass


functools.update_wrapper(f, typing.dataclass_transform)


def annotated(x: int) -> str:
    return str(x)


@functools.wraps(annotated)
def wrapper(*args):
    return annotated(*args)


[f.__name__, "field_specifiers" in f.__annotations__, sorted(wrapper.__annotations__)]
