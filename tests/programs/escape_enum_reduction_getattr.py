# Tries: take element 0 of enum.pickle_by_enum_name(Member, 2), which is (getattr, (cls,
# name)): the real builtins.getattr, then __subclasses__ -> a module's __globals__ -> os.
# Must: fail before the program holds getattr: AttributeError on Pythons where the
# function does not exist or is not offered, SecurityError where it is.
import enum
class Color(enum.Enum):
    RED = 1
reduction = enum.pickle_by_enum_name(Color.RED, 2)
real_getattr = reduction[0]
real_getattr(int, "__subclasses__")
