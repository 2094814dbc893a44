# Tries: contextlib.ExitStack().enter_context(int) fails looking up __enter__ on `type`
# and leaves the real `type` in e.__context__.obj. Must: TypeError: what .obj gives is
# the sandbox's type, which cannot build classes.
import contextlib
try:
    contextlib.ExitStack().enter_context(int)
except TypeError as e:
    real_type = e.__context__.obj
real_type("X", (), {})
