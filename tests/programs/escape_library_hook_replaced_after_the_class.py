# Tries: UserList's operators call self._UserList__cast(other) with the operand, which
# library code (typing's __eq__) can make a value the program must not hold; the class
# statement lets a program override that hook only with a def (parameters admitted). Here
# the override is put in place after the class statement, by an attribute store (which
# does not see the value), setattr, on an instance, or through make_dataclass's namespace,
# as a C callable that keeps its argument. Must: each is refused; a def override in the
# class statement still works, and ordinary private and public attributes stay writable.
import collections
import dataclasses

kept = []


class Cast(collections.UserList):
    def _UserList__cast(self, other):
        return list(other)


def refusal(action):
    try:
        action()
    except Exception as error:  # noqa: BLE001
        return type(error).__name__
    return None


def store_on_the_class():
    Cast._UserList__cast = kept.append


def setattr_on_the_class():
    setattr(Cast, "_UserList__cast", len)


def store_on_an_instance():
    item = Cast()
    item._UserList__cast = kept.append


def through_make_dataclass():
    dataclasses.make_dataclass("Made", [], bases=(collections.UserList,), namespace={"_UserList__cast": kept.append})


refusals = [
    refusal(store_on_the_class),
    refusal(setattr_on_the_class),
    refusal(store_on_an_instance),
    refusal(through_make_dataclass),
]

item = Cast([1, 2])
item.note = "public"
item._own = "private of the program"
Cast.label = "class attribute"
[refusals, item == (1, 2), item.note, item._own, Cast.label, kept]
