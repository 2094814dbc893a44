# Tries: free zoneinfo's cache while its C code walks it. ZoneInfo(key) first walks the
# strong cache (a C linked list of its own) comparing the key with each node's key, then
# follows the node's next; a str subclass's __eq__ ran inside the walk, cleared the cache
# (freeing every node) and refilled the memory: the walk followed a forged node (attack
# pass 75: a full escape); clear_cache(only_keys=...) walks it the same way. Must: a key
# reaches the walk as an exact str (repairs' zoneinfo.c), so the program's __eq__ never
# runs there; a key that is no str is refused as zoneinfo refuses it; ordinary zones and
# cache clearing work.
import zoneinfo

calls = []


class Key(str):
    def __eq__(self, other):
        calls.append(type(other).__name__)
        zoneinfo.ZoneInfo.clear_cache()
        return str.__eq__(self, other)

    def __hash__(self):
        return str.__hash__(self)


zoneinfo.ZoneInfo("UTC")
zoneinfo.ZoneInfo("Asia/Tokyo")
zone = zoneinfo.ZoneInfo(Key("Europe/Paris"))
try:
    zoneinfo.ZoneInfo(5)
    refused = None
except TypeError as e:
    refused = str(e)
zoneinfo.ZoneInfo.clear_cache(only_keys=[Key("UTC"), 5])
zoneinfo.ZoneInfo.clear_cache()
[calls, str(zone), refused, str(zoneinfo.ZoneInfo("UTC")), zone is zoneinfo.ZoneInfo("Europe/Paris")]
