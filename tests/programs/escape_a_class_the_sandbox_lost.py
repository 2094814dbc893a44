# Tries: hold a class of the program's that the sandbox does not know as the program's, so
# that the membrane takes it for a library's (the program's module, __main__, is one whose
# classes library code may make) and every rule on what the program's classes lend to
# library code skips it (attack pass 66): (1) a class dataclass(slots=True) rebuilt, kept by
# a program base's __init_subclass__ that then failed the decorator; (2) classes a
# generator's finally revives while the collector frees them (their weak references are
# already cleared), with a __subclasshook__ that would then answer for collections.abc.Mapping.
# Must: neither is ever a library class (the kept class is refused as a failed one; a
# revived one as unknown, or it stays the program's), Mapping's cache is never poisoned;
# dataclass(slots=True) under a base whose hook records and marks the class works.
import collections.abc
import dataclasses

stash = []
rebuilding = []


class Base:
    def __init_subclass__(cls, **kwargs):
        if rebuilding:
            stash.append(cls)
            raise ValueError("keep the rebuilt class and fail the decorator")


class Hook(Base):
    @classmethod
    def __subclasshook__(cls, other):
        return True


outcome = []
rebuilding.append(True)
try:
    dataclasses.dataclass(slots=True)(Hook)
except ValueError:
    pass
rebuilding.clear()
try:
    kept = stash[0]
    outcome.append("held")
except Exception as error:  # noqa: BLE001
    outcome.append(type(error).__name__)


def laundered(count=300):
    keep = []

    def make():
        class Revived:
            @classmethod
            def __subclasshook__(cls, other):
                return True

        def hold():
            try:
                yield 1
            finally:
                keep.append(Revived)

        step = hold()
        next(step)
        box = [step]
        box.append(box)

    for _ in range(count):
        make()
    junk = [[i] for i in range(3000)]
    return keep


poisoned = 0
revived_classes = laundered()
for index in range(len(revived_classes)):
    try:
        revived = revived_classes[index]

        class Poison(revived, collections.abc.Mapping):
            def __getitem__(self, key):
                raise KeyError(key)

            def __len__(self):
                return 0

            def __iter__(self):
                return iter(())
        poisoned += 1
    except Exception:  # noqa: BLE001 - refused: unknown, or the program's hook under a library ABC
        pass
outcome.append(isinstance(5, collections.abc.Mapping) or issubclass(float, collections.abc.Mapping))


class Plugin:
    registry = []

    def __init_subclass__(cls, **kwargs):
        cls.kind = cls.__name__.lower()
        Plugin.registry.append(cls.kind)


@dataclasses.dataclass(slots=True)
class Store(Plugin):
    items = []
    name: str = ""

    def remember(self):
        Store.items.append(self.name)


Store("a").remember()
Store("b").remember()
[outcome, poisoned, Store.items, Store.kind, Plugin.registry]
