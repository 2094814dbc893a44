# Tries: a runtime-checkable Protocol that inherits library ABCs typing allows as protocol
# bases (Iterable, Sized, SupportsIndex): Protocol installs its own __subclasshook__ once
# the class exists, the library ABCs ask their subclasses, and the vacuous structural
# check claims every class for the rest of the worker. Also a protocol whose class
# statement fails halfway, left half-built under numbers.Number. Must: SecurityError
# before any class exists; the library ABCs answer as before.
import collections.abc
import numbers
import typing

refused = []
try:

    @typing.runtime_checkable
    class P(typing.Protocol, collections.abc.Iterable):
        pass

except Exception as error:  # noqa: BLE001
    refused.append(type(error).__name__)
try:

    class Bad(typing.SupportsIndex, numbers.Number, typing.Protocol):
        pass

except Exception as error:  # noqa: BLE001
    refused.append(type(error).__name__)
[refused, isinstance(5, collections.abc.Iterable), isinstance("text", numbers.Number)]
