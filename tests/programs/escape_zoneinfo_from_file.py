# Tries: reach zoneinfo.ZoneInfo.from_file, a classmethod of an offered C class that hands
# bytes the program wrote to CPython 3.11's C TZif loader, whose check of a transition's
# index is off by one (gh-145883, never fixed in 3.11): with the heap laid out by the
# program, the stray entry it reads named a fake object (attack pass 63, a full escape of
# the language layer). Here the file is a valid one: only the routes are tried. Must:
# from_file is refused by every route (the class's, an instance's, getattr, attrgetter,
# methodcaller, a format field); ZoneInfo by key keeps working.
import io
import operator
import string
import struct
import zoneinfo


def block(width):
    head = b"TZif2" + b"\0" * 15 + struct.pack(">6l", 0, 0, 0, 1, 1, 4)
    return head + struct.pack(">q" if width == 8 else ">l", 0) + bytes([0]) + struct.pack(">lBB", 0, 0, 0) + b"UTC\0"


data = block(4) + block(8) + b"\nUTC0\n"
outcome = []
for route in (
    lambda: zoneinfo.ZoneInfo.from_file,
    lambda: zoneinfo.ZoneInfo("UTC").from_file,
    lambda: getattr(zoneinfo.ZoneInfo, "from_file"),
    lambda: operator.attrgetter("from_file")(zoneinfo.ZoneInfo),
    lambda: list(map(operator.attrgetter("from_file"), [zoneinfo.ZoneInfo]))[0],
):
    try:
        route()(io.BytesIO(data), key="k")
        outcome.append("parsed")
    except Exception as e:
        outcome.append(type(e).__name__)
for route in (
    lambda: operator.methodcaller("from_file", io.BytesIO(data))(zoneinfo.ZoneInfo),
    lambda: "{0.from_file}".format(zoneinfo.ZoneInfo),
    lambda: string.Formatter().format("{0.from_file}", zoneinfo.ZoneInfo),
):
    try:
        route()
        outcome.append("reached")
    except Exception as e:
        outcome.append(type(e).__name__)
[outcome, str(zoneinfo.ZoneInfo("Europe/Paris"))]
