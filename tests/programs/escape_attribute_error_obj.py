# Tries: typing.Type.nope raises AttributeError whose .obj is the real `type`, which
# builds a class from a dict with no checks. Must: SecurityError or TypeError: .obj is
# the sandbox's type, whose three-argument call is refused.
import typing
try:
    typing.Type.nope
except AttributeError as e:
    real_type = e.obj
real_type("X", (), {"__getattribute__": lambda self, name: name})
