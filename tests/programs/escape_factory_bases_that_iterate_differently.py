# Tries: bases=Lying((P, ExceptionGroup)), a tuple subclass whose __iter__ shows nothing:
# the check iterates it and sees no final class, type() reads the real items. Must: the
# factory builds from the exact tuple it checked (here: no bases at all), so no hook sees
# a class with a final base.
import dataclasses

kept = []


class P:
    def __init_subclass__(cls, **kwargs):
        kept.append(cls)


class Lying(tuple):
    def __iter__(self):
        return iter(())


try:
    dataclasses.make_dataclass("D", [], bases=Lying((P, ExceptionGroup)), init=False)
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
[refused, len(kept)]
