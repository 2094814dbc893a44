# Tries: ipaddress.IPv4Network.broadcast_address (the library's own functools
# cached_property, admitted as an instance of an offered class) placed in a program class:
# its __get__ ran the library's method with the program's object as self (pass 39), which
# the membrane refuses a library method held without its instance (UnboundMethod).
# Must: refused on the program's class (the library's cached_property itself is not held:
# what it calls is a library method without its instance); the library's cached
# properties on the library's instances and the program's own cached_property work.
import functools
import ipaddress

calls = []


def fake():
    class Fake:
        broadcast_address = ipaddress.IPv4Network.broadcast_address

        def __init__(self):
            self.network_address = 5
            self.hostmask = 10

        def _address_class(self, value):
            calls.append(value)
            return value

    return Fake


class Own:
    @functools.cached_property
    def total(self):
        return 42


try:
    fake()().broadcast_address
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
[refused, calls, str(ipaddress.IPv4Network("10.0.0.0/24").broadcast_address),
 Own().total]
