# Tries: singledispatch sets dispatch/register/registry on its wrapper, then runs
# update_wrapper(wrapper, func), which merged the program function's __dict__ over them:
# with f.dispatch = kept.append, singledispatchmethod called kept.append with the real
# type (the class of the class it dispatched on). Must: a library's wrapper keeps its own
# attributes (the program's are copied onto it only where it has none); a def wrapper made with
# functools.wraps still gets the wrapped function's attributes.
import functools

kept = []


def describe(self, x):
    return "base"


describe.dispatch = kept.append
describe.note = "mine"
method = functools.singledispatchmethod(describe)


@method.register(int)
def _(self, x):
    return "int"


class Thing:
    kind = method


thing = Thing()
results = [thing.kind(int), thing.kind(1), thing.kind("s"), len(kept)]
cached = functools.lru_cache(describe)


def logged(function):
    @functools.wraps(function)
    def inner(*args):
        return function(*args)

    return inner


wrapper = logged(describe)
[results, hasattr(cached, "note"), wrapper.note, wrapper.__name__]
