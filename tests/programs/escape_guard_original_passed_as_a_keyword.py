# Tries: hand a guard a replacement for what it guards. The sandbox's own __init__ of
# ipaddress's address classes (and its netmask helper) took the library's original as a
# defaulted keyword parameter, so `IPv4Address("10.0.0.1", real_init=f)` ran the program's
# f on the half-built library object instead of the library's init (attack pass 74, P3).
# Must: a guard closes over what it guards; the keyword is refused as any unknown one,
# and ordinary addresses and networks work.
import ipaddress

seen = []


def fake_init(obj, address):
    seen.append(address)


try:
    ipaddress.IPv4Address("10.0.0.1", real_init=fake_init)
    outcome = "made"
except TypeError:
    outcome = "TypeError"
[
    outcome,
    seen,
    str(ipaddress.IPv4Address(167772161)),
    ipaddress.ip_address("8.8.8.8").is_private,
    str(ipaddress.ip_network("192.168.7.9/20", strict=False).netmask),
    str(ipaddress.IPv6Address("::1")),
]
