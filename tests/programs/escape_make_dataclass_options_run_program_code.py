# Tries: make_dataclass("Made", ..., slots=Sneaky()): the library asked `if slots:` inside
# its processing, after the checks of the class, and Sneaky.__bool__ wrote a docstring
# with a text signature (`Made(a=sys.executable)\n--\n\n`) onto the class before it was
# rebuilt; a subclass's docstring then came from inspect.signature, which evaluates the
# dotted names with the real eval in every loaded module (pass 39).
# Must: the options are exact bools decided before processing (the decorator's rule), so
# the program's __bool__ runs before any class exists; the docstring stays plain.
import dataclasses

seen = []


class Sneaky:
    def __bool__(self):
        seen.append(len(made))
        for cls in made:
            cls.__doc__ = "Made(a=sys.executable)\n--\n\n"
        return True


class Keep:
    def __set_name__(self, owner, name):
        made.append(owner)


made = []
Made = dataclasses.make_dataclass("Made", [("a", int, dataclasses.field(default=1))], namespace={"k": Keep()},
                                  slots=Sneaky())
[seen, "sys.executable" in (Made.__doc__ or ""), Made().a]
