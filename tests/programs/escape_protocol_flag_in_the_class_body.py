# Tries: `_is_protocol = True` in a class body makes typing treat the class as a Protocol
# (its __init_subclass__ reads the flag from the class dict) without typing.Protocol among
# the bases, where the check for protocols under library ABCs looks: Iterable then asks a
# vacuous structural hook about every class. Must: SecurityError (typing's protocol flags
# are a library's state); Iterable answers as before.
import collections.abc
import typing

try:

    @typing.runtime_checkable
    class P(typing.SupportsIndex, collections.abc.Iterable):
        _is_protocol = True

    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
[refused, isinstance(5, collections.abc.Iterable)]
