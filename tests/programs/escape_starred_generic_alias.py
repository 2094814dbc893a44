# Tries: unpack the sandbox's GenericAlias, whose inherited C __iter__ yields an alias of
# the exact C class, and call that one through C code: it writes __orig_class__ with the
# real setattr onto whatever its origin returns (typing.cast: any library object).
# Must: TypeError at the unpacking; json.dumps never gets the attribute.
import json
import operator
import typing

alias = type(list[int])(typing.cast, (int,))
try:
    raw = (*alias,)
    list(map(operator.call, raw, [int], [json.dumps]))
    refused = None
except TypeError as error:
    refused = str(error)
[refused, "__orig_class__" in dir(json.dumps)]
