# Tries: a library __get__ chained to another (partialmethod.__get__ calls the __get__ of
# what it holds, with any instance): a cached_property of the program's, read with a
# library class as the instance, returns that class's namespace entry under the
# property's name (ChainMap.__dict__["new_child"]: a library method held without its
# class), inside C code (map) where the membrane never sees it. Also a program subclass
# of partialmethod, whose func the program could set. Must: SecurityError from the
# property; partialmethod cannot be subclassed; ordinary cached properties still work.
import collections
import functools
import ipaddress
import operator


class Owner:
    @functools.cached_property
    def new_child(self):
        return "computed once"


descriptor = Owner.new_child  # the property itself, read through its class
pm = functools.partialmethod(descriptor)
outcomes = []
try:
    got = list(map(pm.__get__, [collections.ChainMap], [None]))
    list(map(operator.call, got, [{}]))
    outcomes.append("read")
except Exception as error:  # noqa: BLE001
    outcomes.append(type(error).__name__)
try:

    class Sub(functools.partialmethod):
        pass

    outcomes.append("subclassed")
except Exception as error:  # noqa: BLE001
    outcomes.append(type(error).__name__)
[outcomes, Owner().new_child, str(ipaddress.ip_network("10.0.0.0/8").broadcast_address)]
