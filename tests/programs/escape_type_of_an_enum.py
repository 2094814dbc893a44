# Tries: reach the real EnumType through type() of its own enum and build a class from a
# dict with it. Must: TypeError (type() of a class is the sandbox's, which takes one argument).
import enum
class C(enum.Enum):
    A = 1
type(C)('W', (), {})
