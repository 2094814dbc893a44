# Tries: a program subclass of IPv4Network defines the private classmethod that parses a
# prefix; ipaddress's _make_netmask runs it with cls = the subclass and files the answer
# in the netmask cache every network of the worker shares, so a later /20 is a /32.
# Must: ipaddress's classes cannot be subclassed (their caches are keyed by the object
# and shared by the worker); later networks are unchanged.
import ipaddress

try:

    class Mine(ipaddress.IPv4Network):
        @classmethod
        def _prefix_from_prefix_string(cls, prefixlen_str):
            return 32

    Mine("10.0.0.0/20", strict=False)
    subclassed = None
except Exception as error:  # noqa: BLE001
    subclassed = type(error).__name__
[
    subclassed,
    str(ipaddress.ip_network("10.0.0.0/20")),
    str(ipaddress.ip_network("192.168.7.9/20", strict=False).netmask),
]
