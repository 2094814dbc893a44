"""The catalogue as an allow-list: every public member of a listed module was reviewed
(allowed or refused, with a reason), and a proxy holds exactly the allowed names.

The upgrade guard is ``test_every_public_member_is_allowed_or_refused``: a Python version
that adds a public name to a listed module fails it until someone reviews the name.
"""

from __future__ import annotations

import importlib
import re
import types
from pathlib import Path

import pytest

from src.language.catalogue import CATALOGUE, GUARDED, ModuleRule, allow, refuse, rule
from src.worker.library_guards import REPLACEMENTS
from src.worker.proxies import public_attrs, public_members, unlisted_members
from tests.support.inprocess import Proxies, run

MODULES = sorted(CATALOGUE)
MODULES_PAGE = Path(__file__).resolve().parents[2] / "docs" / "modules.md"


def _module(name: str) -> types.ModuleType:
    return importlib.import_module(name)


# --------------------------------------------------------------------------- every member reviewed


@pytest.mark.parametrize("name", MODULES)
def test_every_public_member_is_allowed_or_refused(name: str) -> None:
    unlisted = unlisted_members(_module(name), CATALOGUE[name])
    assert unlisted == [], (
        f"{name} has public members that are neither allowed nor refused: {', '.join(unlisted)}. "
        f"Review each (files, processes, the interpreter, eval/exec, setattr or getattr by a chosen name) "
        f"and list it in CATALOGUE[{name!r}] in src/language/catalogue.py with allow(reason, ...) "
        f"or refuse(reason, ...); until then it does not exist in the sandbox."
    )


def _fake_module() -> types.ModuleType:
    fake = types.ModuleType("fake")
    fake.known = 1  # type: ignore[attr-defined]
    fake.new_in_this_version = 2  # type: ignore[attr-defined]
    fake._private = 3  # type: ignore[attr-defined]
    fake.main = print  # type: ignore[attr-defined]
    fake.sub = types.ModuleType("fake.sub")  # type: ignore[attr-defined]
    return fake


def test_a_member_nobody_listed_is_reported() -> None:
    assert unlisted_members(_fake_module(), rule(allow("a constant", "known"))) == ["new_in_this_version"]


def test_a_member_nobody_listed_is_not_copied() -> None:
    assert public_attrs(_fake_module(), rule(allow("a constant", "known"))) == {"known": 1}


def test_private_names_entry_points_and_modules_are_not_members() -> None:
    assert public_members(_fake_module()) == {"known", "new_in_this_version"}


def test_a_name_listed_for_another_python_version_is_skipped() -> None:
    assert public_attrs(_fake_module(), rule(allow("3.99+", "not_in_this_python", "known"))) == {"known": 1}


REVIEWED_FAKE = rule(allow("a constant", "known"), refuse("reviewed: not offered", "new_in_this_version"))


def test_a_refused_name_counts_as_reviewed() -> None:
    assert unlisted_members(_fake_module(), REVIEWED_FAKE) == []


def test_a_refused_name_is_not_copied() -> None:
    assert public_attrs(_fake_module(), REVIEWED_FAKE) == {"known": 1}


def test_an_allowed_module_value_is_still_never_copied() -> None:
    assert public_attrs(_fake_module(), rule(allow("a submodule", "sub", "known"))) == {"known": 1}


# --------------------------------------------------------------------------- the table itself


def test_a_name_listed_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        rule(allow("pure", "x"), refuse("not offered", "x"))


def test_a_group_without_a_reason_is_an_error() -> None:
    with pytest.raises(ValueError, match="reason"):
        rule(allow("", "x"))


@pytest.mark.parametrize("name", MODULES)
def test_every_listed_name_has_a_reason(name: str) -> None:
    entry: ModuleRule = CATALOGUE[name]
    assert [n for n, reason in {**entry.allowed, **entry.refused}.items() if not reason.strip()] == []


def test_no_allowed_name_is_private_or_an_entry_point() -> None:
    wrong = sorted(
        f"{module}.{name}"
        for module, entry in CATALOGUE.items()
        for name in entry.allowed
        if name.startswith("_") or name in ("main", "test")
    )
    assert wrong == []


@pytest.mark.parametrize("module", sorted(REPLACEMENTS.keys() & CATALOGUE.keys()))
def test_every_replaced_name_is_allowed_as_a_guarded_replacement(module: str) -> None:
    allowed = CATALOGUE[module].allowed
    assert [name for name in REPLACEMENTS[module]() if not allowed.get(name, "").startswith(GUARDED)] == []


def test_the_modules_page_lists_every_catalogue_module_and_nothing_else() -> None:
    text = MODULES_PAGE.read_text(encoding="utf-8")
    listed = text.split("only these", 1)[1].split("\n\n", 2)[1]
    assert sorted(re.findall(r"[a-z][a-z0-9_.]*[a-z0-9]", listed)) == MODULES


# --------------------------------------------------------------------------- the proxies


@pytest.mark.parametrize("name", MODULES)
def test_proxy_holds_exactly_the_allowed_names_this_python_has(proxies: Proxies, name: str) -> None:
    module = _module(name)
    expected = {
        attr
        for attr in CATALOGUE[name].allowed
        if hasattr(module, attr) and not isinstance(getattr(module, attr), types.ModuleType)
    }
    children = {other.rpartition(".")[2] for other in CATALOGUE if other.rpartition(".")[0] == name}
    assert {attr for attr in vars(proxies[name]) if not attr.startswith("_")} == expected | children


@pytest.mark.parametrize("name", MODULES)
def test_no_refused_name_reaches_the_proxy(proxies: Proxies, name: str) -> None:
    assert sorted(set(vars(proxies[name])) & CATALOGUE[name].refused.keys()) == []


# --------------------------------------------------------------------------- escapes closed by the allow-list


def test_contextlib_wraps_is_not_the_unguarded_functools_wraps(proxies: Proxies) -> None:
    # contextlib imports functools.wraps for its own use; the proxy copied it, and with it
    # the real update_wrapper: updated=("__globals__",) merged uuid's globals (os, sys) into
    # the program's function, whose globals are the program's namespace.
    code = (
        "import contextlib\n"
        "import uuid\n"
        "def h():\n"
        "    pass\n"
        "contextlib.wraps(uuid.uuid4, assigned=(), updated=('__globals__',))(h)\n"
        "os.getcwd()\n"
    )
    assert run(code, proxies).error["type"] == "AttributeError"


def test_contextlib_context_managers_still_work(proxies: Proxies) -> None:
    code = (
        "import contextlib\n"
        "@contextlib.contextmanager\n"
        "def tag(name):\n"
        "    yield '<' + name + '>'\n"
        "with tag('b') as opened, contextlib.suppress(KeyError):\n"
        "    {}['missing']\n"
        "opened\n"
    )
    assert run(code, proxies).result == "<b>"


def test_enum_pickle_helpers_do_not_hand_out_the_real_getattr(proxies: Proxies) -> None:
    # pickle_by_enum_name(member, proto) returns (getattr, (cls, name)): the builtin getattr,
    # which reads __globals__ of a library function without the attribute guard.
    code = (
        "import enum\n"
        "class C(enum.Enum):\n"
        "    A = 1\n"
        "real_getattr = enum.pickle_by_enum_name(C.A, 2)[0]\n"
        "real_getattr(enum.unique, '__globals__')\n"
    )
    assert run(code, proxies).error["type"] == "AttributeError"


def test_enums_still_copy_and_compare(proxies: Proxies) -> None:
    code = "import copy, enum\nclass C(enum.Enum):\n    A = 1\ncopy.deepcopy([C.A])[0] is C.A\n"
    assert run(code, proxies).result is True


def test_time_cannot_read_another_process_cpu_clock(proxies: Proxies) -> None:
    # A negative clock id names a process CPU clock: (~pid << 3) | 2 read pid 1's CPU time.
    assert run("import time\ntime.clock_gettime((~1 << 3) | 2)", proxies).error["type"] == "AttributeError"


def test_time_clocks_of_this_process_still_work(proxies: Proxies) -> None:
    code = "import time\nstart = time.perf_counter()\ntime.monotonic() > 0 and time.perf_counter() >= start\n"
    assert run(code, proxies).result is True


#: The class-level C callables of offered classes (alternate constructors and the like),
#: each reviewed: what it parses, and why that is safe to hand to the program's data.
#: An offered class brings every method with it, so a new one (a new Python, a new class
#: in the catalogue) fails the test below until it is reviewed here or refused.
REVIEWED_CLASS_ENTRY_POINTS = {
    # Build from values the program holds; no parsing.
    "collections.defaultdict.fromkeys",
    "datetime.date.fromordinal", "datetime.datetime.fromordinal", "datetime.datetime.combine",
    "datetime.date.fromisocalendar", "datetime.datetime.fromisocalendar", "decimal.Decimal.from_float",
    "enum.IntEnum.from_bytes", "enum.IntFlag.from_bytes",
    "re.RegexFlag.from_bytes",  # int.from_bytes: any bytes make an int
    "collections.UserString.maketrans", "enum.EnumCheck.maketrans", "enum.FlagBoundary.maketrans",
    "enum.StrEnum.maketrans",  # str.maketrans: a dict of code points
    # The clock and the time zone database, read-only.
    "datetime.date.today", "datetime.date.fromtimestamp", "datetime.datetime.now", "datetime.datetime.today",
    "datetime.datetime.fromtimestamp", "datetime.datetime.utcfromtimestamp", "datetime.datetime.utcnow",
    "zoneinfo.ZoneInfo.no_cache", "zoneinfo.ZoneInfo.clear_cache",
    # Text parsers with bounds checks in C, fuzzed by attack pass 63 (about 1M inputs).
    "datetime.date.fromisoformat", "datetime.datetime.fromisoformat", "datetime.time.fromisoformat",
    "datetime.datetime.strptime",
}  # fmt: skip


def _class_entry_points(proxies: Proxies) -> dict[str, object]:
    import inspect

    found: dict[str, object] = {}
    seen: set[int] = set()
    for module, proxy in sorted(proxies.items()):
        for name, value in sorted(vars(proxy).items()):
            if (
                name.startswith("_")
                or not isinstance(value, type)
                or id(value) in seen
                or value.__module__ == "builtins"
            ):
                continue
            seen.add(id(value))
            for attr in dir(value):
                raw = inspect.getattr_static(value, attr, None)
                if attr.startswith("_") or isinstance(getattr(raw, "__func__", raw), types.FunctionType):
                    continue
                if isinstance(
                    raw, (types.ClassMethodDescriptorType, classmethod, staticmethod, types.BuiltinFunctionType)
                ):
                    found[f"{module}.{name}.{attr}"] = value
    return found


def test_every_class_level_c_entry_point_is_reviewed_or_refused(proxies: Proxies) -> None:
    """ZoneInfo.from_file handed the program's bytes to a C parser with an off-by-one
    (pass 63): it is refused by name (names.REFUSED_C_METHOD_NAMES); every other such
    entry point of an offered class is reviewed above."""
    from src.language.names import REFUSED_C_METHOD_NAMES

    found = _class_entry_points(proxies)
    refused = {path for path in found if path.rpartition(".")[2] in REFUSED_C_METHOD_NAMES}
    assert refused == {"zoneinfo.ZoneInfo.from_file"}
    assert set(found) - refused == REVIEWED_CLASS_ENTRY_POINTS
