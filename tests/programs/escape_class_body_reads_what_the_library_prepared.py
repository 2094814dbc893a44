# Tries: names a class body reads that the program never bound: EnumType.__prepare__
# stores the base's _generate_next_value_ (a library method) in the namespace before the
# body runs, and a name read in a class body passes no guard; held raw, C code
# (map(operator.call, ...)) ran it with any first argument. And `except E as e` in an
# Enum body bound the raw exception into the namespace (a member candidate, appended to
# _last_values) before the membrane saw it (pass 40).
# Must: the prepared value is read as the membrane admits it (a library method held
# without its instance refuses a foreign self); except binds a temporary and the name
# only what the membrane admits, unbound after the handler as in CPython; enum.auto()
# and a program _generate_next_value_ still work.
import enum
import operator

box = []


class Bits(enum.Flag):
    box.append(_generate_next_value_)
    A = enum.auto()


def raw_call():
    return list(map(operator.call, box, ["x"], [1], [0], [[]]))


def outcome(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return "done"


def handler_name():
    try:
        raise ValueError("v")
    except ValueError as error:
        text = str(error)
    try:
        error
    except NameError:
        return [text, "unbound"]
    return [text, "bound"]


class Named(enum.Enum):
    def _generate_next_value_(name, start, count, last_values):
        return name.lower()

    B = enum.auto()


[outcome(raw_call), handler_name(), Bits.A.value, Named.B.value]
