# Tries: Enum('E', {...}, type=ExceptionGroup) with a descriptor whose __set_name__ keeps
# the enum class, built over the final class before the factory refused it; its members
# are ExceptionGroups whose split() is the program's. Must: SecurityError before the class
# exists, so __set_name__ never runs.
import enum

kept = []


class Desc:
    def __get__(self, instance, owner):
        return 1

    def __set_name__(self, owner, name):
        kept.append(owner)


def split(self, *args):
    return None


try:
    enum.Enum("E", {"split": split, "A": ("m", [ValueError(1)]), "d": Desc()}, type=ExceptionGroup)
    refused = None
except Exception as error:  # noqa: BLE001
    refused = type(error).__name__
[refused, len(kept)]
