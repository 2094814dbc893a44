# Tries: an alias whose origin is the sandbox's GenericAlias class itself: the alias
# forwards `mro` to that class, so mro() is type.mro of GuardedAlias and its list holds the
# C GenericAlias class (a constructor the membrane replaces), whose aliases write
# __orig_class__ onto library objects. Must: SecurityError for such an alias; mro() of an
# ordinary alias's origin stays checked.
G = type(list[int])
try:
    G(G, (int,))
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
[refused, [c.__name__ for c in list[int].mro()]]
