# Tries: a program __new__ that returns an object the library made, for library code that
# trusts cls.__new__(cls) to give a fresh instance of cls and then writes onto it or runs
# __init__ on it: copy's reconstruction (state into typing.Optional, a JSONDecoder, the
# slot of an IPv4Address behind ipaddress's shared cache), UserDict.__copy__ (a module
# proxy's dict), enum's members (calendar.day_name re-initialised) (attack pass 83).
# Must: SecurityError each time, and the library objects are unchanged; a singleton and a
# float subclass still work.
import calendar
import collections
import copy
import enum
import json
import typing
refused = []
class Into:
    target = None
    def __new__(cls, *args):
        return Into.target
    def __init__(self, *args):
        pass
for target in (typing.Optional, json.JSONDecoder(), json):
    Into.target = target
    try:
        copy.copy(Into())
    except Exception as exc:
        refused.append(type(exc).__name__)
class U(collections.UserDict):
    made = 0
    def __new__(cls, *args, **kwargs):
        U.made += 1
        return super().__new__(cls) if U.made == 1 else json  # the copy's __new__ gets json
try:
    copy.copy(U())
except Exception as exc:
    refused.append(type(exc).__name__)
try:
    class E(enum.Enum):
        A = "%d-X"
        def __new__(cls, value):
            return calendar.day_name
except Exception as exc:
    refused.append(type(exc).__name__)
class One:
    made = None
    def __new__(cls):
        if One.made is None:
            One.made = super().__new__(cls)
        return One.made
class Round(float):
    def __new__(cls, v):
        return super().__new__(cls, round(v, 1))
[refused, typing.Optional[int] == typing.Union[int, None], calendar.day_name[0], One() is One(), Round(1.26)]
