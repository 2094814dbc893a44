# Tries: run program code in the middle of the sandbox abandoning a class whose class
# statement failed after a hook saw it. The hook renames the class with a str subclass
# whose __format__ is the program's; the membrane's refusal message formatted the name
# while the class was already no longer the program's but not yet judged, so code of the
# program's ran with the class in neither state. Must: nothing of the program's runs
# there, and the stashed class is refused; renaming a class of one's own still works.
log = []


class Q(str):
    def __format__(self, spec):
        log.append("format ran")
        return "q"


stash = []


class Grab:
    def __set_name__(self, owner, name):
        stash.append(owner)
        owner.__qualname__ = Q("Half")
        raise ValueError


try:

    class Half:
        g = Grab()

except (RuntimeError, ValueError):
    failed = True


def use():
    try:
        stash[0]
        return "held"
    except Exception as error:  # noqa: BLE001
        return type(error).__name__


class Fine:
    pass


Fine.__qualname__ = "Renamed"
[failed, log, use(), Fine.__qualname__]
