# Tries: hand ZoneInfo.utcoffset/dst/tzname/fromutc a program object in place of the
# datetime. Their C code reads toordinal() and the time by name, then the datetime's fold
# byte straight out of the object's memory, and indexes a two-entry table with it
# (gh-111306, open upstream): a bytes subclass chose the byte, and 255 read 2 KB past the
# table (attack pass 65: a18). Must: each method, by every route (bound, unbound, map,
# methodcaller, getattr), takes only a datetime (or None); ordinary time zone arithmetic
# keeps working.
import datetime
import operator
import zoneinfo

zone = zoneinfo.ZoneInfo("Europe/Paris")


class Fake(bytes):
    hour = minute = second = 0

    def toordinal(self):
        return 738100


fake = Fake(bytes([0, 0, 0, 255]) + bytes(12))
refused = []
for call in (
    lambda: zone.utcoffset(fake),
    lambda: zoneinfo.ZoneInfo.dst(zone, fake),
    lambda: list(map(zoneinfo.ZoneInfo.tzname, [zone], [fake])),
    lambda: operator.methodcaller("fromutc", fake)(zone),
    lambda: getattr(zone, "utcoffset")(fake),
):
    try:
        call()
        refused.append("ran")
    except TypeError:
        refused.append("TypeError")
moment = datetime.datetime(2021, 10, 21, 12, tzinfo=zone)
[refused, str(moment.utcoffset()), str(moment.astimezone(datetime.timezone.utc)), zone.tzname(None)]
