# Tries: hand library code an alias whose origin is a library class, so that the method it
# reads off the alias (with the real getattr: typing's alias and the C alias forward every
# other name to their origin) is the class's plain function, run by the library with its
# own first argument as `self` (attack pass 64: difflib.diff_bytes calls `line.encode`,
# base64.encode calls `input.read(57)`, on what it was given). Must: the forwarded function
# is the checked unbound method whatever reads it (the library's calls and the program's
# are refused alike); the aliases' ordinary uses keep working.
import base64
import collections
import difflib
import io
import typing

refused = []
alias = typing.Annotated[collections.UserString, 0]
c_alias = type(list[int])(collections.UserString, ())
for name, call in [
    ("program reads through typing", lambda: alias.encode("ascii")),
    ("program reads through the C alias", lambda: c_alias.encode("ascii")),
    ("diff_bytes", lambda: list(difflib.diff_bytes(lambda *a: [alias], [b"a"], [b"b"]))),
    ("diff_bytes, C alias", lambda: list(difflib.diff_bytes(lambda *a: [c_alias], [b"a"], [b"b"]))),
    ("base64.encode", lambda: base64.encode(typing.Annotated[typing.IO, 0], io.BytesIO())),
]:
    try:
        call()
        refused.append(name + ": ran")
    except Exception as error:  # noqa: BLE001
        refused.append(type(error).__name__)
text = alias("héllo")
[refused, alias.encode(text, "utf-8"), c_alias.upper(collections.UserString("a")), str(typing.List[int])]
