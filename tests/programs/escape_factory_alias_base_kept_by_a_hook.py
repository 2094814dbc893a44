# Tries: make_dataclass(bases=(P, ExceptionGroup[int])): the alias resolves to the final
# class ExceptionGroup only inside the factory, and P.__init_subclass__ keeps the class
# the factory then refuses (its split() would confuse except* into memory corruption).
# Must: SecurityError before the class exists, so no hook ever sees it.
import dataclasses

kept = []


class P:
    def __init_subclass__(cls, **kwargs):
        kept.append(cls)


try:
    dataclasses.make_dataclass("D", [], bases=(P, ExceptionGroup[int]), init=False)
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
[refused, len(kept)]
