# Tries: take the C GenericAlias class out of the sandbox's alias class's __mro__ (or its
# mro(), or __bases__) and subclass it: the subclass's instances are the program's own
# objects to the guards, but their C attribute lookup forwards every name to any
# library object (uuid.NAMESPACE_DNS re-initialised, pprint's private dispatch table).
# Must: every route is refused (the class graph of a class that is not the program's) or
# gives the membrane's stand-in, not the class; no class is built on it.
import uuid

G = type(list[int])
outcomes = []
for route in (lambda: G.__mro__[1:2], lambda: G.mro()[1:2], lambda: G.__bases__):
    try:
        class X(*route()):
            pass
        X(uuid.NAMESPACE_DNS, ()).__init__(int=0)
        outcomes.append("built")
    except (TypeError, Exception) as error:  # noqa: BLE001
        outcomes.append(type(error).__name__)
[outcomes, str(uuid.NAMESPACE_DNS)]
