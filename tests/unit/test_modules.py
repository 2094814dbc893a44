"""The import catalogue and the read-only module proxies built from it (the allow-list
itself, name by name, is tested in test_catalogue.py)."""

from __future__ import annotations

import json
import math
import types

import pytest

from src.worker.crossing import ORIGINALS
from src.worker.library_guards import build_proxies
from src.worker.proxies import ModuleProxy
from tests.support.inprocess import ALLOWED, Proxies, run


def public_names(proxy: ModuleProxy) -> set[str]:
    return {name for name in vars(proxy) if not name.startswith("_")}


# --------------------------------------------------------------------------- building


def test_every_catalogue_entry_gets_a_proxy(proxies: Proxies) -> None:
    assert set(proxies) >= ALLOWED


def test_parent_package_of_a_dotted_entry_gets_a_proxy_of_its_children_only(
    proxies: Proxies,
) -> None:
    assert public_names(proxies["urllib"]) == {"parse"}


def test_dotted_entry_is_linked_into_its_parent_proxy(proxies: Proxies) -> None:
    assert proxies["collections"].abc is proxies["collections.abc"]


def test_allowed_parent_keeps_its_own_names_next_to_the_child(proxies: Proxies) -> None:
    assert "OrderedDict" in public_names(proxies["collections"])


def test_build_proxies_for_a_subset_builds_only_that_subset() -> None:
    assert set(build_proxies(["math", "urllib.parse"])) == {"math", "urllib", "urllib.parse"}


def test_build_proxies_refuses_a_name_outside_the_catalogue() -> None:
    with pytest.raises(KeyError):
        build_proxies(["socket"])


def test_proxy_attributes_are_the_real_module_values(proxies: Proxies) -> None:
    assert proxies["math"].sqrt is math.sqrt


def test_proxy_repr_names_the_module(proxies: Proxies) -> None:
    assert repr(proxies["json"]) == "<module 'json' (sandboxed)>"


# --------------------------------------------------------------------------- read-only


def test_proxy_refuses_attribute_assignment(proxies: Proxies) -> None:
    with pytest.raises(AttributeError, match="read-only"):
        proxies["json"].dumps = print


def test_proxy_refuses_new_attributes(proxies: Proxies) -> None:
    with pytest.raises(AttributeError, match="read-only"):
        proxies["math"].tau2 = 2 * math.tau


def test_proxy_refuses_attribute_deletion(proxies: Proxies) -> None:
    with pytest.raises(AttributeError, match="read-only"):
        del proxies["math"].pi


def test_failed_assignment_leaves_the_proxy_unchanged(proxies: Proxies) -> None:
    with pytest.raises(AttributeError):
        proxies["json"].dumps = print
    assert ORIGINALS[proxies["json"].dumps] is json.dumps


# --------------------------------------------------------------------------- what is not copied


def test_no_proxy_attribute_is_a_real_module(proxies: Proxies) -> None:
    leaked = sorted(
        f"{module}.{name}"
        for module, proxy in proxies.items()
        for name, value in vars(proxy).items()
        if isinstance(value, types.ModuleType)
    )
    assert leaked == []


def test_no_proxy_attribute_is_private(proxies: Proxies) -> None:
    private = sorted(
        f"{module}.{name}"
        for module, proxy in proxies.items()
        for name in vars(proxy)
        if name.startswith("_") and name not in ("_proxy_name", "__name__")
    )
    assert private == []


@pytest.mark.parametrize(
    ("module", "name"),
    [
        pytest.param("datetime", "sys", id="datetime.sys"),
        pytest.param("json", "codecs", id="json.codecs"),
        pytest.param("typing", "sys", id="typing.sys"),
        pytest.param("random", "os", id="random.os"),
        pytest.param("uuid", "os", id="uuid.os"),
        pytest.param("typing", "ForwardRef", id="typing.ForwardRef"),
        pytest.param("uuid", "getnode", id="uuid.getnode"),
        pytest.param("uuid", "uuid1", id="uuid.uuid1"),
        pytest.param("contextlib", "chdir", id="contextlib.chdir"),
        pytest.param("io", "open", id="io.open"),
        pytest.param("io", "FileIO", id="io.FileIO"),
        pytest.param("io", "open_code", id="io.open_code"),
        pytest.param("contextlib", "wraps", id="contextlib.wraps"),
        pytest.param("enum", "pickle_by_enum_name", id="enum.pickle_by_enum_name"),
        pytest.param("enum", "pickle_by_global_name", id="enum.pickle_by_global_name"),
        pytest.param("time", "clock_gettime", id="time.clock_gettime"),
        pytest.param("time", "pthread_getcpuclockid", id="time.pthread_getcpuclockid"),
        pytest.param("numbers", "abstractmethod", id="numbers.abstractmethod"),
        pytest.param("typing", "abstractmethod", id="typing.abstractmethod"),
        pytest.param("typing", "no_type_check_decorator", id="typing.no_type_check_decorator"),
        pytest.param("statistics", "namedtuple", id="statistics.namedtuple"),
        pytest.param("dataclasses", "FunctionType", id="dataclasses.FunctionType"),
        pytest.param("contextlib", "MethodType", id="contextlib.MethodType"),
        pytest.param("calendar", "different_locale", id="calendar.different_locale"),
        pytest.param("datetime", "datetime_CAPI", id="datetime.datetime_CAPI"),
        pytest.param("shlex", "shlex", id="shlex.shlex"),
        pytest.param("zoneinfo", "reset_tzpath", id="zoneinfo.reset_tzpath"),
    ],
)
def test_refused_name_is_absent_from_the_proxy(proxies: Proxies, module: str, name: str) -> None:
    assert not hasattr(proxies[module], name)


@pytest.mark.parametrize(
    ("module", "name"),
    [
        pytest.param("datetime", "datetime", id="datetime.datetime"),
        pytest.param("json", "loads", id="json.loads"),
        pytest.param("operator", "itemgetter", id="operator.itemgetter"),
        pytest.param("operator", "add", id="operator.add"),
        pytest.param("string", "Template", id="string.Template"),
        pytest.param("string", "ascii_letters", id="string.ascii_letters"),
        pytest.param("typing", "Optional", id="typing.Optional"),
        pytest.param("uuid", "uuid4", id="uuid.uuid4"),
        pytest.param("contextlib", "suppress", id="contextlib.suppress"),
        pytest.param("io", "StringIO", id="io.StringIO"),
        pytest.param("functools", "wraps", id="functools.wraps"),
        pytest.param("enum", "unique", id="enum.unique"),
        pytest.param("time", "perf_counter", id="time.perf_counter"),
        pytest.param("abc", "abstractmethod", id="abc.abstractmethod"),
        pytest.param("typing", "no_type_check", id="typing.no_type_check"),
        pytest.param("collections", "namedtuple", id="collections.namedtuple"),
        pytest.param("calendar", "TextCalendar", id="calendar.TextCalendar"),
        pytest.param("datetime", "UTC", id="datetime.UTC"),
    ],
)
def test_ordinary_name_next_to_a_denied_one_is_present(proxies: Proxies, module: str, name: str) -> None:
    assert hasattr(proxies[module], name)


def test_io_proxy_holds_only_the_in_memory_streams(proxies: Proxies) -> None:
    expected = {"StringIO", "BytesIO", "SEEK_SET", "SEEK_CUR", "SEEK_END", "UnsupportedOperation"}
    assert public_names(proxies["io"]) == expected


# --------------------------------------------------------------------------- the catalogue from inside a program


def test_program_can_use_an_allowed_module(proxies: Proxies) -> None:
    assert run("import json\njson.dumps({'a': [1, 2]})", proxies).result == '{"a": [1, 2]}'


def test_program_cannot_reach_a_module_through_another(proxies: Proxies) -> None:
    assert run("import datetime\ndatetime.sys", proxies).error["type"] == "AttributeError"


def test_singledispatch_annotation_string_is_not_evaluated(proxies: Proxies) -> None:
    # The real register(func) reads func's annotations with typing.get_type_hints, which
    # eval()s annotation strings as ordinary Python: no attribute guard, so
    # "().__class__.__base__.__subclasses__()" walked to os.
    code = (
        "import functools\n"
        "leak = []\n"
        "@functools.singledispatch\n"
        "def f(x):\n"
        "    return 0\n"
        "def g(x: '[leak.append(().__class__.__base__.__subclasses__()), int][1]'):\n"
        "    return 1\n"
        "try:\n"
        "    f.register(g)\n"
        "except TypeError as e:\n"
        "    message = str(e)\n"
        "[len(leak), 'f.register(int)' in message]\n"
    )
    assert run(code, proxies).result == [0, True]


SINGLEDISPATCH = [
    pytest.param(
        "import functools\n@functools.singledispatch\ndef f(x):\n    return 'any'\n@f.register(int)\n"
        "def _(x):\n    return 'int'\n@f.register(list)\n@f.register(tuple)\ndef _(x):\n    return 'seq'\n"
        "[f(1), f([]), f(()), f('s')]",
        ["int", "seq", "seq", "any"],
        id="explicit-types",
    ),
    pytest.param(
        "import functools\n@functools.singledispatch\ndef f(x):\n    return 'any'\n@f.register\n"
        "def _(x: float) -> str:\n    return 'float'\n@f.register\ndef _(x: int | str):\n    return 'int or str'\n"
        "[f(1.5), f(2), f('s'), f(None)]",
        ["float", "int or str", "int or str", "any"],
        id="annotations",
    ),
    pytest.param(
        "import functools\nclass R:\n    @functools.singledispatchmethod\n    def show(self, x):\n"
        "        return 'any'\n    @show.register\n    def _(self, x: int):\n        return 'int'\n"
        "    @show.register(list)\n    def _(self, x):\n        return 'list'\n[R().show(1), R().show([]), R().show('')]",
        ["int", "list", "any"],
        id="method",
    ),
]


@pytest.mark.parametrize(("code", "expected"), SINGLEDISPATCH)
def test_singledispatch_dispatches_as_in_cpython(proxies: Proxies, code: str, expected: object) -> None:
    assert run(code, proxies).result == expected


def test_update_wrapper_with_ordinary_names_works(proxies: Proxies) -> None:
    code = (
        "import functools\n"
        "def inner():\n"
        "    'the doc'\n"
        "def outer():\n"
        "    return inner()\n"
        "wrapped = functools.wraps(inner)(outer)\n"
        "wrapped.wrapped_name = 'inner'\n"
        "wrapped.wrapped_name\n"
    )
    assert run(code, proxies).result == "inner"


def test_update_wrapper_cannot_copy_a_library_function_globals(proxies: Proxies) -> None:
    # update_wrapper(wrapper, wrapped, updated=names) runs
    # getattr(wrapper, name).update(getattr(wrapped, name)) with the real getattr and
    # names chosen by the program: "__globals__" merges uuid's module globals (os, sys,
    # the real builtins) into the program's own namespace.
    code = (
        "import functools\n"
        "import uuid\n"
        "def h():\n"
        "    pass\n"
        "functools.update_wrapper(h, uuid.uuid4, assigned=(), updated=('__globals__',))\n"
        "os.getcwd()\n"
    )
    assert run(code, proxies).reply["success"] is False


def test_proxy_of_a_module_result_is_its_repr(proxies: Proxies) -> None:
    assert run("import math\nmath", proxies).result == "<module 'math' (sandboxed)>"


# --------------------------------------------------------------------------- modules for plain computation

COMPUTATION = [
    pytest.param("import struct\nstruct.unpack('<hI', struct.pack('<hI', -2, 7))", [-2, 7], id="struct"),
    pytest.param(
        "import zoneinfo, datetime\nt = datetime.datetime(2026, 7, 1, 13, tzinfo=zoneinfo.ZoneInfo('UTC'))\n"
        "t.astimezone(zoneinfo.ZoneInfo('Asia/Tokyo')).strftime('%H:%M %Z')",
        "22:00 JST",
        id="zoneinfo",
    ),
    pytest.param(
        "import graphlib\nlist(graphlib.TopologicalSorter({'b': {'a'}, 'c': {'b'}}).static_order())",
        ["a", "b", "c"],
        id="graphlib",
    ),
    pytest.param("import html\nhtml.escape('<a & b>')", "&lt;a &amp; b&gt;", id="html"),
    pytest.param(
        "import ipaddress\nn = ipaddress.ip_network('10.0.0.0/30')\n[str(h) for h in n.hosts()]",
        ["10.0.0.1", "10.0.0.2"],
        id="ipaddress",
    ),
    pytest.param("import colorsys\n[round(v, 3) for v in colorsys.rgb_to_hsv(1, 0, 0)]", [0, 1, 1], id="colorsys"),
    pytest.param("import shlex\nshlex.split('a \"b c\" d')", ["a", "b c", "d"], id="shlex-split"),
    pytest.param("import fnmatch\nfnmatch.filter(['a.py', 'b.txt'], '*.py')", ["a.py"], id="fnmatch"),
]


@pytest.mark.parametrize(("code", "expected"), COMPUTATION)
def test_a_module_for_plain_computation_gives_cpythons_answer(proxies: Proxies, code: str, expected: object) -> None:
    assert run(code, proxies).result == expected


def test_a_zone_key_that_is_a_path_is_refused(proxies: Proxies) -> None:
    outcome = run("import zoneinfo\nzoneinfo.ZoneInfo('../../../etc/passwd')", proxies)
    assert outcome.error["type"] == "ValueError"


def test_a_struct_format_is_read_as_an_exact_string(proxies: Proxies) -> None:
    code = (
        "import struct\nclass Fmt(str):\n    def __hash__(self):\n        return hash('<I')\n"
        "    def __eq__(self, other):\n        return True\nstruct.pack(Fmt('>H'), 1)\n"
        "[list(struct.pack('<I', 1)), struct.calcsize('<I')]"
    )
    assert run(code, proxies).result == [[1, 0, 0, 0], 4]
