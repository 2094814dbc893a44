"""The membrane (src/worker/membrane.py): what a program may hold, decided once for every
route a value can take into its reach.

Two kinds of tests: the findings of the adversarial review, each as the attack (which
must fail) next to its ordinary sibling (which must keep working); and the family, with
the same capability objects pushed down every route at once, through a context value
only a test can give (in-process runs accept any Python object as context).
"""

from __future__ import annotations

import abc
import builtins
import collections
import contextlib
import dataclasses
import enum
import functools
import gc
import inspect
import itertools
import json
import os
import subprocess
import sys
import types
import typing
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from src.language.catalogue import CATALOGUE
from src.worker import membrane, ownership
from src.worker.guards import SandboxType, guarded_getattr
from src.worker.library_guards import _C_ITERATORS_REPLACED, REPLACEMENTS
from src.worker.ownership import begin_job
from src.worker.refusal import SecurityError
from tests.support.inprocess import Proxies, program, run

# --------------------------------------------------------------------------- the findings

FINDINGS = [
    pytest.param("escape_enum_reduction_getattr", ("AttributeError", "SecurityError"), id="enum-reduction-getattr"),
    pytest.param("escape_dataclass_weakref_slot_match", ("TypeError", "SecurityError"), id="weakref-slot-match"),
    pytest.param("escape_attribute_error_obj", ("TypeError", "SecurityError"), id="attribute-error-obj"),
    pytest.param("escape_exit_stack_context_obj", ("TypeError", "SecurityError"), id="exit-stack-context-obj"),
    pytest.param("escape_rewrite_library_functions", ("SecurityError",), id="rewrite-library-functions"),
    pytest.param("escape_dataclass_field_rename", ("SecurityError",), id="dataclass-field-rename"),
    pytest.param("escape_super_private_name", ("SecurityError",), id="super-private-name"),
]


@pytest.mark.parametrize(("name", "expected"), FINDINGS)
def test_a_finding_of_the_review_fails(proxies: Proxies, name: str, expected: tuple[str, ...]) -> None:
    assert run(program(name), proxies).error_type in expected


SIBLINGS = [
    pytest.param(
        "import enum\nclass Color(enum.Enum):\n    RED = 1\n(Color.RED.name, Color['RED'].value, Color(1).name)",
        ["RED", 1, "RED"],
        id="enum-members",
    ),
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\n    y: int\n"
        "match P(1, 2):\n    case P(a, b):\n        r = a + b\nr",
        3,
        id="dataclass-positional-match",
    ),
    pytest.param(
        "try:\n    (1).nope\nexcept AttributeError as e:\n    r = (e.name, e.obj)\nr",
        ["nope", 1],
        id="attribute-error-obj",
    ),
    pytest.param(
        "import contextlib\nwith contextlib.ExitStack() as stack:\n    f = stack.enter_context(contextlib.nullcontext(5))\nf",
        5,
        id="exit-stack",
    ),
    pytest.param(
        "import functools\ndef deco(f):\n    @functools.wraps(f)\n    def inner(*a):\n        return f(*a)\n"
        "    return inner\n@deco\ndef add(a, b):\n    '''Adds.'''\n    return a + b\n(add(1, 2), add.__name__, add.__doc__)",
        [3, "add", "Adds."],
        id="functools-wraps",
    ),
    pytest.param(
        "import abc\nclass B(abc.ABC):\n    @abc.abstractmethod\n    def f(self): ...\n"
        "try:\n    B()\nexcept TypeError:\n    r = 'abstract'\nr",
        "abstract",
        id="abstractmethod",
    ),
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass\nclass D:\n    a: int\n    b: int = 2\n"
        "([f.name for f in dataclasses.fields(D)], dataclasses.asdict(D(1)), dataclasses.replace(D(1), b=5).b)",
        [["a", "b"], {"a": 1, "b": 2}, 5],
        id="dataclass-fields",
    ),
    pytest.param(
        "import pprint\nclass PP(pprint.PrettyPrinter):\n    def __init__(self):\n        super().__init__(width=20)\n"
        "        self._mine = 1\n    def _own(self):\n        return self._mine\nclass Q(PP):\n"
        "    def get(self):\n        return super()._own()\nQ().get()",
        1,
        id="super-own-private",
    ),
    # Holders and views judged by what they hold (pass 61): re's scanner, a read-only view
    # over an ordinary dict, and the sandbox's print held by a partial or a defaultdict.
    pytest.param(
        "import re\n[m.group() for m in re.finditer(r'\\d+', 'a1b22')] + [re.compile('x').scanner('ax').search().start()]",
        ["1", "22", 1],
        id="re-finditer",
    ),
    pytest.param(
        "import dataclasses, re\n@dataclasses.dataclass\nclass D:\n    x: int = dataclasses.field(default=0, metadata={'u': 'm'})\n"
        "[dict(dataclasses.fields(D)[0].metadata), dict(re.compile('(?P<a>x)').groupindex)]",
        [{"u": "m"}, {"a": 1}],
        id="read-only-views",
    ),
    pytest.param(
        "import collections, functools\nshout = functools.partial(print, end='!\\n')\nshout('hi')\n"
        "d = collections.defaultdict(print)\nd['k']",
        None,
        id="print-held-by-holders",
    ),
]


def test_a_stand_in_passes_the_membrane_unchanged(proxies: Proxies) -> None:
    """The class the membrane hands out in place of an internal library class (or of the
    module proxies' class) is the same object every time it crosses again: a registry of
    types read and written back, a comprehension over them and isinstance keep working,
    and crossing in a loop leaves nothing behind (pass 74: a new stand-in per crossing
    filled the memory limit)."""
    code = (
        "import collections, json, typing\n"
        "kind = type(collections.OrderedDict().keys())\n"
        "first = kind\n"
        "registry = {'alias': type(typing.List[int])}\n"
        "for i in range(2000):\n"
        "    kind = [kind][0]\n"
        "    registry['alias'] = registry['alias']\n"
        "proxy_kind = type(json)\n"
        "[kind is first, isinstance(typing.Dict[str, int], registry['alias']),\n"
        " [k.__name__ for k in [kind, registry['alias'], proxy_kind]], [proxy_kind][0] is proxy_kind]"
    )
    expected = [True, True, ["_OrderedDictKeysView", "_GenericAlias", "ModuleProxy"], True]
    assert run(code, proxies).result == expected
    verdicts = len(membrane.MEMBRANE._class_verdicts)  # the first run judged each class once
    assert run(code, proxies).result == expected
    assert len(membrane.MEMBRANE._class_verdicts) - verdicts < 10


def test_a_private_copy_of_a_module_offers_only_what_it_was_loaded_for(proxies: Proxies) -> None:
    """The pure OrderedDict lives in a copy of collections outside sys.modules: its
    methods pass, the copy's other functions (an unguarded namedtuple) do not, where a
    namespace of no module would have passed as code generated for the program."""
    from src.worker.library_guards import pure_ordered_dict

    run("1", proxies)  # configured
    copy = vars(pure_ordered_dict())["__init__"].__globals__
    with pytest.raises(SecurityError):
        membrane.admit(copy["namedtuple"])
    assert membrane.admit(vars(pure_ordered_dict())["move_to_end"]) is not None
    code = "import collections\nd = collections.OrderedDict(a=1, b=2)\nd.move_to_end('a')\n[list(d), d.popitem()]"
    assert run(code, proxies).result == [["b", "a"], ["a", 1]]


def test_code_of_no_module_passes_only_for_what_made_it(proxies: Proxies) -> None:
    """A function whose globals are no module's passes by what made it (namedtuple's
    namespace, the sandbox's clones of library functions), never for being no module's:
    a namespace no registry knows is refused (attack pass 76, H3)."""
    from src.worker.library_guards import guard_pprint_dataclass_reader

    run("1", proxies)  # configured
    Record = collections.namedtuple("Record", "a b")
    assert membrane.admit(Record.__new__) is Record.__new__
    guard_pprint_dataclass_reader()
    import pprint

    membrane.admit(vars(pprint.PrettyPrinter)["_pprint_dataclass"])  # a method of its class: no refusal
    unknown = types.FunctionType(json.dumps.__code__, {"__name__": "json"}, "dumps")
    with pytest.raises(SecurityError):
        membrane.admit(unknown)
    forged = types.FunctionType(json.dumps.__code__, {"__name__": "namedtuple_x"}, "dumps")
    with pytest.raises(SecurityError):
        membrane.admit(forged)


def test_verdicts_read_the_codes_qualified_name(proxies: Proxies) -> None:
    """A sandbox module's top-level helper is refused, and a library's private function,
    whatever ``__qualname__`` update_wrapper copied onto it: the code's own name decides
    (attack pass 76, H4)."""
    from src.worker import stand_ins

    run("1", proxies)  # configured
    helper = types.FunctionType(stand_ins.real_class.__code__, stand_ins.real_class.__globals__, "real_class")
    helper.__qualname__ = "Offered.method"
    with pytest.raises(SecurityError):
        membrane.admit(helper)
    internal = types.FunctionType(functools._make_key.__code__, vars(functools), "_make_key")
    internal.__qualname__ = "lru_cache.key"
    assert membrane._library_internal_function(internal)


def test_the_librarys_subclasses_of_classmethod_are_judged_by_what_they_wrap(proxies: Proxies) -> None:
    """abc.abstractclassmethod is a classmethod: what it wraps is judged as a classmethod's
    is (attack pass 76, H1), not only its class's refusal by the catalogue, which alone
    kept these out before."""
    run("1", proxies)  # configured
    wrapped: object = abc.abstractclassmethod(functools.cached_property(len))  # type: ignore[arg-type]
    with pytest.raises(SecurityError, match="a classmethod of a cached_property"):
        membrane.admit(wrapped)
    from src.worker import stand_ins

    helper = types.FunctionType(stand_ins.real_class.__code__, stand_ins.real_class.__globals__, "real_class")
    with pytest.raises(SecurityError, match=r"stand_ins\.real_class"):  # what it wraps, judged
        membrane.admit(abc.abstractstaticmethod(helper))


def test_a_module_of_a_module_subclass_is_a_real_module(proxies: Proxies) -> None:
    """Modules are refused by their class and its bases: typing.io is a module of a
    ModuleType subclass (pass 74, P2)."""
    run("1", proxies)  # configured

    class Package(types.ModuleType):
        pass

    with pytest.raises(SecurityError, match="a real module"):
        membrane.admit(Package("made"))
    with pytest.raises(SecurityError):
        membrane.admit(typing.io)  # type: ignore[attr-defined]


def test_no_library_module_binds_a_replaced_c_iterator(proxies: Proxies) -> None:
    """Every binding of the C iterators the sandbox replaced in the offered modules names
    the replacement once the proxies are built (pass 76: Counter.elements built the C
    chain)."""
    run("1", proxies)
    replaced = {id(getattr(itertools, name)) for name in _C_ITERATORS_REPLACED}
    offered = {name.partition(".")[0] for name in CATALOGUE}
    bound = [
        f"{name}.{key}"
        for name, module in list(sys.modules.items())
        if isinstance(module, types.ModuleType) and module is not itertools and name.partition(".")[0] in offered
        for key, value in list(vars(module).items())
        if id(value) in replaced
    ]
    assert "collections" in offered and "statistics" in offered
    assert bound == []


@pytest.mark.parametrize(("code", "expected"), SIBLINGS)
def test_the_ordinary_sibling_of_a_finding_works(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


# --------------------------------------------------------------------------- the family

#: Each way a value can come into the program's reach, as a program that takes ``leak``
#: (a context value: a list, a dict, a context manager and a decorator that all hold or
#: hand back the capability) and does nothing else with the value but bind it.
ROUTES = {
    "item": "v = box[0]",
    "iteration": "for v in box:\n    pass",
    "unpacking": "v, = box",
    "star-unpacking": "v, *rest = box",
    "comprehension": "[v for v in box]",
    "comprehension-unpacking": "[v for v, in [box]]",
    "list-target-unpacking": "[v] = box",
    "nested-unpacking": "a, (v,) = 1, box",
    "for-list-target": "for [v] in [box]:\n    pass",
    "added-while-iterating": "items = [0]\nfor v in items:\n    if v == 0:\n        items.extend(box)",
    "yield-from": "def g():\n    yield from box\nfor v in g():\n    pass",
    "with-as-tuple": "with pair as (v, w):\n    pass",
    "starred-call-into-a-library": "import functools\nfunctools.reduce(max, [0], *box)",
    "call-result": "v = next(iter(box))",
    "call-result-starred": "v = max(*box, key=id) if len(box) > 1 else max(*box, *box, key=id)",
    "mapping-value": "v = table['k']",
    "mapping-items": "for k, v in table.items():\n    pass",
    "attribute": "v = holder.func",
    "function-parameter": "def key(v):\n    return 0\nsorted(box, key=key)",
    "lambda-parameter": "sorted(box, key=lambda v: 0)",
    "star-parameters": "def f(*a):\n    return 0\nsorted(box, key=f)",
    "lambda-star-parameters": "sorted(box, key=lambda *a: 0)",
    "keyword-parameters": "def f(**k):\n    return 0\nf(**table)",
    "many-parameters": "def f(a, b, c, d, v):\n    return 0\nf(1, 2, 3, 4, box[0:1][0] if False else 0)\nsorted(box, key=lambda v: f(1, 2, 3, 4, v))",
    "method-parameter": "class K:\n    def key(self, v):\n        return 0\nsorted(box, key=K().key)",
    "with-as": "with manager as v:\n    pass",
    "decorator": "@decorator\ndef f():\n    pass",
    "match-sequence": "match box:\n    case [v]:\n        pass",
    "match-mapping": "match table:\n    case {'k': v}:\n        pass",
    "match-rest": "match table:\n    case {**v}:\n        v['k']",
    "match-as": "match box[0:1]:\n    case [v] as w:\n        pass",
    "exception-attribute": "try:\n    raise_with(box)\nexcept ValueError as e:\n    v = e.args[0]",
    "generator-send": "def g():\n    v = yield\n    yield v\nsend_into(g)",
    "format-field-item": "v = '{0[0]}'.format(box)",
    "format-field-attribute": "v = '{0.func}'.format(holder)",
    "format-map-field": "v = '{k}'.format_map(table)",
    "format-field-through-a-method": "v = str.format('{t[k]}', t=table)",
    "string-formatter-field": "import string\nv = string.Formatter().format('{0[0]}', box)",
    "string-formatter-subclass-hook": (
        "import string\nclass F(string.Formatter):\n    def format_field(self, v, spec):\n        return ''\n"
        "F().vformat('{t[k]}', (), {'t': table})"
    ),
    "eval-of-an-item": "v = eval('box[0]')",
    "exec-into-globals": "g = {'b': box}\nexec('w = b[0]', g)",
    "eval-with-locals": "v = eval('t[\"k\"]', {}, {'t': table})",
    "except-star": "try:\n    raise_group()\nexcept* ValueError as g:\n    v = g.exceptions[0].args[0]",
    # Set.__or__ (the library's) returns self._from_iterable(chain(self, other)).
    "library-operator-hook": (
        "import collections.abc\nclass S(collections.abc.Set):\n    @staticmethod\n    def _from_iterable(items):\n        return next(items)\n"
        "    def __contains__(self, x):\n        return False\n    def __iter__(self):\n        return iter(())\n"
        "    def __len__(self):\n        return 0\nv = S() | box"
    ),
    "library-reflected-operator-hook": (
        "import collections.abc\nclass S(collections.abc.Set):\n    @staticmethod\n    def _from_iterable(items):\n        return next(items)\n"
        "    def __contains__(self, x):\n        return False\n    def __iter__(self):\n        return iter(())\n"
        "    def __len__(self):\n        return 0\nv = box | S()"
    ),
}


def _cell() -> types.CellType:
    captured = 1

    def inner() -> int:
        return captured

    assert inner.__closure__ is not None
    return inner.__closure__[0]


CAPABILITIES = {
    "real-getattr": builtins.getattr,
    "real-eval": builtins.eval,
    "real-import": builtins.__import__,
    "real-module": json,
    "module-dict": vars(json),
    "os-function": os.getcwd,
    "library-function-outside-the-allow-list": subprocess.run,
    "class-outside-the-allow-list": subprocess.Popen,
    "instance-outside-the-allow-list": sys.stdout,
    "frame": sys._getframe(),
    "code": (lambda: 0).__code__,
    "cell": _cell(),
}


def _context(capability: object) -> dict[str, Any]:
    def send_into(generator_function: Any) -> None:
        generator = generator_function()
        next(generator)
        generator.send(capability)

    def raise_with(box: Any) -> None:
        raise ValueError(capability)

    def raise_group() -> None:
        raise ExceptionGroup("group", [ValueError(capability)])

    return {
        "box": [capability],
        "table": {"k": capability},
        "holder": types.SimpleNamespace(func=capability),
        "manager": contextlib.nullcontext(capability),
        "pair": contextlib.nullcontext((capability, 1)),
        "decorator": functools.partial(lambda value, f: value, capability),
        "send_into": send_into,
        "raise_with": raise_with,
        "raise_group": raise_group,
    }


@pytest.mark.parametrize("capability", list(CAPABILITIES), ids=str)
@pytest.mark.parametrize("route", list(ROUTES), ids=str)
def test_no_route_brings_a_capability_into_the_program(proxies: Proxies, route: str, capability: str) -> None:
    outcome = run(ROUTES[route], proxies, context=_context(CAPABILITIES[capability]))
    assert outcome.error_type == "SecurityError", outcome.reply
    assert "the sandbox refused" in outcome.error["message"]


@pytest.mark.parametrize("route", list(ROUTES), ids=str)
def test_every_route_passes_an_ordinary_value(proxies: Proxies, route: str) -> None:
    outcome = run(ROUTES[route], proxies, context=_context(41))
    assert outcome.reply["error"] is None, outcome.reply


# --------------------------------------------------------------------------- replaced, not refused


def test_a_traceback_reaches_exit_as_none(proxies: Proxies) -> None:
    code = (
        "class M:\n    def __enter__(self):\n        return self\n    def __exit__(self, kind, value, tb):\n"
        "        self.seen = (kind.__name__, str(value), tb)\n        return True\n"
        "m = M()\nwith m:\n    raise ValueError('boom')\nm.seen"
    )
    assert run(code, proxies).result == ["ValueError", "boom", None]


def test_a_metaclass_becomes_the_sandbox_type(proxies: Proxies) -> None:
    run("1", proxies)
    assert membrane.admit(type) is SandboxType
    assert membrane.admit(type(json.JSONDecodeError.__mro__[-1])) is SandboxType
    outcome = run("import enum\nclass E(enum.Enum):\n    A = 1\nT = type(E)\n(T is type, isinstance(E, T))", proxies)
    assert outcome.result == [True, True]


def test_a_constructor_class_becomes_a_stand_in_that_cannot_be_called(proxies: Proxies) -> None:
    code = "def f():\n    pass\nF = type(f)\n(F.__name__, isinstance(f, F))"
    assert run(code, proxies).result == ["function", True]
    code = "def f():\n    pass\ntype(f)(None, {})"
    assert run(code, proxies).error_type == "SecurityError"


def test_what_the_sandbox_offers_passes_unchanged(proxies: Proxies) -> None:
    run("1", proxies)  # the membrane learns what the sandbox offers when the environment is built
    for value in (1, "s", [1], {"a": 1}, len, json.dumps, SandboxType, ValueError("x"), functools.partial(len)):
        assert membrane.admit(value) is value


def test_a_capability_is_refused_directly(proxies: Proxies) -> None:
    run("1", proxies)
    for name, capability in CAPABILITIES.items():
        with pytest.raises(SecurityError):
            membrane.admit(capability)
        assert name


def test_a_bound_method_is_as_safe_as_its_object(proxies: Proxies) -> None:
    run("1", proxies)
    assert membrane.admit([].append)
    with pytest.raises(SecurityError):
        membrane.admit(vars(json).get)  # bound to a module's namespace
    with pytest.raises(SecurityError):
        membrane.admit(sys.stdout.write)


def test_a_namespace_the_sandbox_made_is_refused_as_a_module_s(proxies: Proxies) -> None:
    """Attack pass 70: the pure OrderedDict's module (a second copy of collections, not in
    sys.modules) and pprint's cloned globals passed as plain dicts, holding the real
    builtins. A dict whose __builtins__ is the interpreter's is a namespace, wherever it
    came from; a program's dict that merely has the key is not."""
    run("1", proxies)
    offered = proxies["collections"].OrderedDict
    for namespace in (vars(offered)["__eq__"].__globals__, {"__builtins__": builtins}, dict(vars(json))):
        with pytest.raises(SecurityError, match="namespace"):
            membrane.admit(namespace)
    assert membrane.admit({"__builtins__": "mine", "x": 1}) == {"__builtins__": "mine", "x": 1}


def test_a_class_whose_statement_failed_is_freed_once_dropped(proxies: Proxies) -> None:
    """Attack pass 70: the membrane kept each abandoned class (and what its namespace held)
    as the key of its verdict for the whole job; it keeps them weakly now, and still
    refuses one the program holds (escape_failed_class_qualname_runs_code)."""
    code = (
        "class Base:\n    def __init_subclass__(cls, **kw):\n        raise ValueError('no')\n"
        "for i in range(5):\n    try:\n        class DroppedAfterItsStatementFailed(Base):\n            data = [0] * 10\n"
        "    except ValueError:\n        pass\n1"
    )
    assert run(code, proxies).reply["result"] == 1
    gc.collect()
    assert not [c for c in gc.get_objects() if isinstance(c, type) and c.__name__ == "DroppedAfterItsStatementFailed"]


def test_a_typing_alias_is_judged_by_what_it_calls(proxies: Proxies) -> None:
    """typing's aliases call their origin (``Annotated[f, m](...)`` calls ``f``), and C code
    builds them over anything: one over a refused callable is refused, every time; one
    that cannot be called (``Type[int]``) and the ordinary ones pass."""
    run("1", proxies)
    for _ in range(2):  # never judged once for its class
        with pytest.raises(SecurityError):
            membrane.admit(typing.Annotated[os.getpid, 0])
    # The typing spellings on purpose: these are the aliases, not annotations.
    aliases = [
        typing.List[int],  # noqa: UP006
        typing.Dict[str, int],  # noqa: UP006
        typing.Type[int],  # noqa: UP006
        typing.Optional[int],  # noqa: UP045
        typing.Annotated[int, "m"],
        typing.Callable[[int], str],
        typing.Literal["a"],
    ]
    for alias in aliases:
        assert membrane.admit(alias) is alias


def test_an_iterator_that_calls_a_function_is_judged_by_it(proxies: Proxies) -> None:
    """map, filter and itertools' calling iterators call what they hold on each step, and
    C code builds them over anything (map(map, [f], ...)): over a refused callable they
    are refused; over the program's own, as they are."""
    run("1", proxies)
    makers: list[Callable[[Any], Any]] = [
        lambda f: map(f, []),
        lambda f: filter(f, []),
        lambda f: itertools.starmap(f, []),
        lambda f: itertools.accumulate([], f),
        lambda f: itertools.groupby([], f),
        lambda f: itertools.dropwhile(f, []),
        lambda f: itertools.takewhile(f, []),
        lambda f: itertools.filterfalse(f, []),
    ]
    for make in makers:
        with pytest.raises(SecurityError):
            membrane.admit(make(os.getpid))
        ordinary = make(str)
        assert membrane.admit(ordinary) is ordinary


def test_a_class_being_built_is_granted_no_verdict_for_all_its_instances(proxies: Proxies) -> None:
    """An instance admitted while its class statement runs is judged alone: its class is
    neither plain nor a remembered exception class until the statement ends, so a
    statement cut short (a MemoryError in its cleanup) leaves no verdict behind."""
    seen: list[tuple[str, bool]] = []

    def probe(obj: Any) -> None:
        kind = type(obj)
        remembered = membrane.MEMBRANE._exception_kinds.get(id(kind)) is kind  # the cache under test
        seen.append((kind.__name__, kind in membrane.PLAIN or remembered))

    code = (
        "held = []\n"
        "class Base:\n    def __init_subclass__(cls, **kw):\n        held.append(cls())\n        probe(held[-1])\n"
        "class Fault(Exception):\n    def __init_subclass__(cls, **kw):\n        held.append(cls('x'))\n"
        "        probe(held[-1])\n"
        "class Made(Base):\n    pass\nclass Raised(Fault):\n    pass\n"
        "probe(Made())\ntry:\n    raise Raised('y')\nexcept Raised as e:\n    probe(e)\n"
    )
    outcome = run(code, proxies, context={"probe": probe})
    assert outcome.reply["error"] is None, outcome.reply
    assert seen == [("Made", False), ("Raised", False), ("Made", True), ("Raised", True)]


def test_holders_c_code_builds_over_a_refused_callable_are_refused(proxies: Proxies) -> None:
    """A defaultdict's factory and iter(f, sentinel)'s callable are called later, as a
    map's function is: judged by what they hold."""
    run("1", proxies)
    refused: list[Any] = [collections.defaultdict(os.getpid), iter(os.getpid, 1)]
    for made in refused:
        with pytest.raises(SecurityError):
            membrane.admit(made)
    ordinary: list[Any] = [collections.defaultdict(list), iter(int, 1)]
    for value in ordinary:
        assert membrane.admit(value) is value


def test_a_library_method_held_without_its_instance_admits_its_arguments(proxies: Proxies) -> None:
    """ChainMap.new_child(cm, m) keeps m: called by C code with a value the program never
    held (map(partial(ChainMap.new_child, cm), values)), it would keep it unseen."""
    run("1", proxies)
    unbound = membrane.admit(collections.ChainMap.new_child)
    assert isinstance(unbound, membrane.UnboundMethod)
    cm: collections.ChainMap[str, int] = collections.ChainMap({})
    with pytest.raises(SecurityError):
        unbound(cm, os.getpid)
    with pytest.raises(SecurityError):
        unbound(cm, m=os.getpid)
    assert unbound(cm, {"a": 1})["a"] == 1


def test_what_c_code_puts_in_a_namespace_or_a_registry_is_admitted(proxies: Proxies) -> None:
    planted = {"planted": [os.getpid]}
    exec_code = "g = dict(zip(['raw'], planted))\nexec('named = raw', g)"
    assert run(exec_code, proxies, context=planted).error_type == "SecurityError"
    register_code = (
        "import functools\nf = functools.singledispatch(lambda x: 0)\nlist(map(f.register, [str], planted))\nf('s')"
    )
    assert run(register_code, proxies, context=planted).error_type == "SecurityError"
    decorator_code = (
        "import functools\nf = functools.singledispatch(lambda x: 0)\nlist(map(f.register(str), planted))\nf('s')"
    )
    assert run(decorator_code, proxies, context=planted).error_type == "SecurityError"
    ordinary = (
        "import functools\nf = functools.singledispatch(lambda x: 0)\n@f.register(str)\ndef _(x):\n    return 1\nf('s')"
    )
    assert run(ordinary, proxies).result == 1


def test_closing_and_nullcontext_cannot_be_subclassed(proxies: Proxies) -> None:
    """They hold what they hand back in the instance dict, where the membrane looks: a
    subclass with slots kept the value elsewhere."""
    code = "import contextlib\nclass Slotted(contextlib.nullcontext):\n    __slots__ = ('enter_result',)"
    assert run(code, proxies).error_type == "SecurityError"
    code = "import contextlib\nwith contextlib.nullcontext(5) as v:\n    pass\nv"
    assert run(code, proxies).result == 5


# --------------------------------------------------------------------------- second review

#: The second adversarial pass: each family as an attack that must fail, then its sibling.
SECOND_REVIEW = [
    pytest.param(
        "import collections\nclass C:\n    maps = [(), {'__getattribute__': None}]\ncollections.ChainMap.new_child(C, 'X')",
        id="unbound-method-with-a-class-as-self-builds-a-class",
    ),
    pytest.param(
        "import collections, json\nclass S(collections.UserString):\n    pass\nsuper(S, S).__init__(json.JSONEncoder, 'x')",
        id="unbound-init-through-super-rewrites-a-library-class",
    ),
    pytest.param("import calendar, json\ncalendar.Calendar.setfirstweekday(json.JSONEncoder, 3)", id="unbound-setter"),
    pytest.param("import collections\nclass C:\n    pass\ncollections.UserList.copy(C)", id="unbound-copy-gives-type"),
    pytest.param("import dataclasses\nclass F(dataclasses.Field):\n    pass", id="a-subclass-of-dataclasses-field"),
    pytest.param(
        "import typing, dataclasses\nT = typing.TypedDict('T', {'x,y': int})\nclass U(T):\n    pass\n"
        "dataclasses.dataclass(U)",
        id="typed-dict-keys-into-dataclass-source",
    ),
    pytest.param(
        "import collections, calendar\ncollections.UserString('{0.__globals__}').format(calendar.isleap)",
        id="user-string-format-traversal",
    ),
    pytest.param("import typing, json\ntype(typing.List[int])(json.loads, (int,))", id="typing-internal-class-called"),
    pytest.param("import abc\nclass X(abc.ABC):\n    pass\nX._dump_registry", id="private-name-of-the-metaclass"),
]


@pytest.mark.parametrize("code", SECOND_REVIEW)
def test_a_finding_of_the_second_review_fails(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error_type == "SecurityError"


SECOND_REVIEW_SIBLINGS = [
    pytest.param(
        "import json\nclass E(json.JSONEncoder):\n    def default(self, o):\n        if isinstance(o, set):\n"
        "            return sorted(o)\n        return json.JSONEncoder.default(self, o)\njson.dumps({1, 2}, cls=E)",
        "[1, 2]",
        id="library-method-through-the-class-on-an-instance",
    ),
    pytest.param(
        "import collections\nclass S(collections.UserString):\n    def __init__(self):\n        super().__init__('x')\n"
        "str(S())",
        "x",
        id="super-init",
    ),
    pytest.param("import fractions\nstr(fractions.Fraction.from_float(0.5))", "1/2", id="library-classmethod"),
    pytest.param("import collections\ncollections.UserString('{} {x}').format(1, x=2)", "1 2", id="user-string-format"),
    pytest.param(
        "import typing\nA = type(typing.List[int])\n(A.__name__, isinstance(typing.List[int], A))",
        ["_GenericAlias", True],
        id="typing-internal-class-named",
    ),
    pytest.param("import typing\nclass P(typing.TypedDict):\n    x: int\nP(x=1)", {"x": 1}, id="typed-dict"),
]


@pytest.mark.parametrize(("code", "expected"), SECOND_REVIEW_SIBLINGS)
def test_the_sibling_of_a_second_review_finding_works(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_typing_no_type_check_marks_only_its_argument(proxies: Proxies) -> None:
    code = (
        "import typing, collections, json\nX = collections.namedtuple('X', 'a', module='json.encoder')\n"
        "X.__qualname__ = 'JSONEncoder'\nX.encode = json.JSONEncoder.encode\ntyping.no_type_check(X)"
    )
    run(code, proxies)
    assert "__no_type_check__" not in vars(json.JSONEncoder.encode)


def test_an_exception_message_is_read_once_as_a_plain_string(proxies: Proxies) -> None:
    code = (
        "class S(str):\n    def __getitem__(self, k):\n        print('ran while the reply was built')\n"
        "        return 1\nclass E(Exception):\n    def __str__(self):\n        return S('boom')\nraise E()"
    )
    outcome = run(code, proxies)
    assert outcome.error["message"] == "boom"
    assert outcome.stdout == ""


def test_a_value_slipped_into_a_module_proxy_still_passes_the_membrane(proxies: Proxies) -> None:
    proxy = proxies["json"]
    object.__setattr__(proxy, "slipped", builtins.getattr)
    try:
        assert run("import json\njson.slipped", proxies).error_type == "SecurityError"
    finally:
        object.__delattr__(proxy, "slipped")


def test_dataclasses_refuses_an_inherited_field_that_was_renamed(proxies: Proxies) -> None:
    outcome = run("import dataclasses\n@dataclasses.dataclass\nclass A:\n    x: int\nA", proxies)
    assert outcome.reply["error"] is None
    base = _renamed_dataclass()
    code = "import dataclasses\n@dataclasses.dataclass\nclass B(base):\n    y: int = 0"
    assert run(code, proxies, context={"base": base}).error_type == "SecurityError"


def _renamed_dataclass() -> type:
    import dataclasses

    @dataclasses.dataclass
    class A:
        x: int

    dataclasses.fields(A)[0].name = "x=print('injected')"
    return A


def test_copy_applies_state_only_to_a_new_object_or_the_programs_own(proxies: Proxies) -> None:
    import copy
    import dataclasses

    field = dataclasses.field()
    with pytest.raises(SecurityError):
        copy._reconstruct(object(), None, lambda f: f, (field,), {"name": "x"})  # type: ignore[attr-defined]
    assert copy.copy(collections.OrderedDict(a=1)) == {"a": 1}


def test_other_methods_of_a_string_pass_unchanged(proxies: Proxies) -> None:
    code = "m = getattr('text', 'upper')\nf = getattr('{}', 'format')\n(m(), f(1), [str.upper][0]('a'))"
    assert run(code, proxies).result == ["TEXT", "1", "A"]


# --------------------------------------------------------------------------- third review

THIRD_REVIEW = [
    pytest.param(
        "import copy\ndef f(cls):\n    pass\nf.__name__ = '__getattribute__'\nclass S:\n    m = classmethod(f)\n"
        "copy.copy(S.m)",
        id="copy-of-a-bound-method-reads-a-chosen-name",
    ),
    pytest.param(
        "import enum, dataclasses\nM = dataclasses.MISSING\n"
        "X = enum.Enum('X', [('A', (M, M, True, True, None, True, None, False))], type=dataclasses.Field)",
        id="enum-functional-api-with-a-final-mixin",
    ),
    pytest.param(
        "import collections.abc\nclass MySeq(collections.abc.Sequence):\n    pass\nMySeq.register(int)",
        id="register-a-library-class-under-a-library-abc",
    ),
    pytest.param(
        "import pprint, copy\ncalls = [0]\nclass Names(tuple):\n    def __iter__(self):\n        calls[0] += 1\n"
        "        return iter(('x',)) if calls[0] <= 2 else iter(('x', '_dispatch'))\n"
        "class PP(pprint.PrettyPrinter):\n    __slots__ = Names(('x',))\ncopy.copy(PP())._dispatch",
        id="slot-names-that-change-after-the-check",
    ),
    pytest.param(
        "sink = []\nclass C:\n    __eq__ = sink.append\n", id="a-special-method-that-is-not-the-programs-function"
    ),
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass(slots=True)\nclass D:\n    __getattr__: int = 0",
        id="a-dataclass-field-named-like-a-special-method",
    ),
    pytest.param(
        "import dataclasses, pprint\n@dataclasses.dataclass\nclass D(pprint.PrettyPrinter):\n    _dispatch: int = 0",
        id="a-dataclass-field-named-like-a-library-private-attribute",
    ),
    pytest.param(
        "import collections\nclass K:\n    maps = [None, 'N', (), {}]\ncollections.ChainMap.parents.fget(K)",
        id="a-library-property-accessor-with-a-class-as-self",
    ),
    pytest.param(
        "import abc, json\nabc.ABC.register(json.JSONEncoder)", id="register-a-library-class-under-abc-itself"
    ),
    pytest.param(
        "import abc, collections.abc\nclass Mine(abc.ABC):\n    pass\ncollections.abc.Mapping.register(Mine)\n"
        "Mine.register(int)",
        id="register-through-an-own-abc-registered-under-a-library-abc",
    ),
    pytest.param(
        "import abc, collections.abc\nclass Mine(abc.ABC):\n    pass\nMine.register(int)\n"
        "collections.abc.Mapping.register(Mine)",
        id="register-an-own-abc-holding-a-library-class-under-a-library-abc",
    ),
]


#: Refused by the guards' own signatures: nothing but the documented arguments is taken.
BY_SIGNATURE = [
    pytest.param(
        "import functools\nclass Everything:\n    def __contains__(self, item):\n        return True\n"
        "g = functools.partial(getattr, _public=Everything(), _plain=Everything(), _opaque=frozenset())\n"
        "g(len, '__self__')",
        id="getattr-given-its-own-settings-as-keywords",
    ),
    pytest.param("import functools, numbers\nfunctools.total_ordering(cls=numbers.Real)", id="class-by-keyword"),
    pytest.param("import dataclasses, string\ndataclasses.dataclass(None, string.Template)", id="class-as-second-arg"),
    pytest.param("import typing\ntyping.runtime_checkable(cls=typing.Protocol)", id="runtime-checkable-by-keyword"),
]


@pytest.mark.parametrize("code", BY_SIGNATURE)
def test_a_guard_takes_only_its_documented_arguments(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error_type == "TypeError"


@pytest.mark.parametrize("code", THIRD_REVIEW)
def test_a_finding_of_the_third_review_fails(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error_type == "SecurityError"


@pytest.mark.parametrize(
    "special",
    [object.__getattribute__, object.__setattr__, object.__delattr__, object.__reduce_ex__, (1).__reduce_ex__,
     object.__init_subclass__, int.__subclasses__, object.__dir__, object.__new__, int.__new__, (1).__setattr__],
    ids=lambda value: value.__name__,
)  # fmt: skip
def test_a_special_method_the_program_may_not_read_is_not_held(proxies: Proxies, special: object) -> None:
    run("1", proxies)
    with pytest.raises(SecurityError):
        membrane.admit(special)


def test_an_ordinary_special_method_of_a_builtin_type_is_held(proxies: Proxies) -> None:
    run("1", proxies)
    for special in (object.__init__, int.__add__, (1).__add__, dict.__getitem__, str.__eq__):
        assert membrane.admit(special) is special


def test_the_programs_own_namespace_is_not_held(proxies: Proxies) -> None:
    run("x = 1", proxies)  # a job's namespace and builtins are registered as it starts
    namespace: dict[str, Any] = {"x": 1}
    membrane.MEMBRANE.guard_namespace(namespace)
    with pytest.raises(SecurityError):
        membrane.admit(namespace)
    assert membrane.admit({"x": 1}) == {"x": 1}


def test_a_private_slot_of_a_library_base_stays_private_when_the_instance_dict_has_the_name(
    proxies: Proxies,
) -> None:
    code = (
        "import fractions, functools\nclass P(fractions.Fraction):\n    pass\nclass CP(functools.cached_property):\n"
        "    pass\ncp = CP(lambda self: 'planted')\nP.peek = cp\ncp.attrname = '_numerator'\np = P(3, 4)\np.peek\n"
        "p._numerator"
    )
    assert run(code, proxies).error_type == "SecurityError"


def test_only_the_running_jobs_namespace_is_refused(proxies: Proxies) -> None:
    run("1", proxies)
    earlier: dict[str, Any] = {"job": 1}
    later: dict[str, Any] = {"job": 2}
    membrane.MEMBRANE.guard_namespace(earlier)
    membrane.MEMBRANE.guard_namespace(later)
    assert membrane.admit(earlier) is earlier
    with pytest.raises(SecurityError):
        membrane.admit(later)


def test_a_dict_that_reuses_a_finished_jobs_namespace_address_is_not_refused(proxies: Proxies) -> None:
    run("1", proxies)

    def rehearsal() -> None:  # the template runs one before it forks, then frees it
        membrane.MEMBRANE.guard_namespace({"__name__": "__main__"})

    rehearsal()
    membrane.MEMBRANE.guard_namespace({"job": "current"})
    fresh = [{"name": "ana"} for _ in range(1000)]  # CPython reuses freed dicts' memory
    assert all(membrane.admit(record) is record for record in fresh)


def test_a_library_wrapper_of_the_programs_method_is_held(proxies: Proxies) -> None:
    """contextmanager's helper and lru_cache's wrapper carry the method's name (``C.m``),
    copied by functools.wraps; where their code was written decides, not that name."""
    code = (
        "import contextlib, functools\nclass C:\n    @contextlib.contextmanager\n    def m(self):\n"
        "        yield 1\n    @functools.cache\n    def k(self, x):\n        return x\n"
        "with C().m() as v:\n    pass\n[v, C().k(3)]"
    )
    assert run(code, proxies).result == [1, 3]


def test_a_library_method_renamed_like_a_function_is_still_not_held_unbound(proxies: Proxies) -> None:
    from re import _parser  # type: ignore[attr-defined]  # a class of a submodule, not offered

    def plain() -> None: ...

    method = _parser.SubPattern.append
    renamed = types.FunctionType(method.__code__, method.__globals__)
    functools.update_wrapper(renamed, plain)  # __qualname__ "...<locals>.plain"
    run("1", proxies)
    with pytest.raises(SecurityError):
        membrane.admit(renamed)


def test_a_library_method_of_an_unknown_class_is_not_held_unbound(proxies: Proxies) -> None:
    from re import _parser  # type: ignore[attr-defined]  # a class of a submodule, not offered

    method = _parser.SubPattern.append
    run("1", proxies)
    with pytest.raises(SecurityError):
        membrane.admit(method)
    assert run("import collections\nP = collections.namedtuple('P', 'x y')\nP(1, 2)._asdict()", proxies).result == {
        "x": 1,
        "y": 2,
    }


# --------------------------------------------------------------------------- operators


def test_every_python_operator_of_an_offered_class_is_sealed(proxies: Proxies) -> None:
    """Operator syntax hands the result of a library's Python operator straight to the
    program: each must be sealed (its result admitted), including those a new Python adds."""
    from src.language.names import OPERATOR_METHODS

    classes: set[type] = set()
    for proxy in proxies.values():
        for name, value in vars(proxy).items():
            if not name.startswith("_"):
                kind = value if isinstance(value, type) else type(value)
                metaclass: type = type(kind)
                classes.update(kind.__mro__, metaclass.__mro__)
    unsealed = [
        f"{klass.__qualname__}.{name}"
        for klass in classes
        for name in OPERATOR_METHODS.intersection(vars(klass))
        if isinstance(vars(klass)[name], types.FunctionType) and vars(klass)[name] not in membrane.SEALED_OPERATORS
    ]
    assert unsealed == []
    assert any(cls.__name__ == "Set" for cls in classes)  # the check saw the mixins


def test_the_operators_of_a_typing_alias_made_by_the_program_are_sealed(proxies: Proxies) -> None:
    """typing's alias classes (``List[int] | x`` runs ``_GenericAlias.__or__``) are
    sealed when one of their instances first reaches the program, as any library class's."""
    from src.language.names import OPERATOR_METHODS

    outcome = run(
        "import typing\n"
        "T = typing.TypeVar('T')\n"
        "P = typing.ParamSpec('P')\n"
        "class G(typing.Generic[T]): pass\n"
        "aliases = [typing.List[int], typing.Callable[[int], str], typing.Tuple[int, str],\n"
        "    typing.Union[int, str], typing.Literal[1, 2], typing.Annotated[int, 0], G[int],\n"
        "    typing.Callable[typing.Concatenate[int, P], int], typing.Optional[int]]\n"
        "len(aliases)",  # not type(a): that would judge (and seal) each class by that route
        proxies,
    )
    assert outcome.result == 9
    kinds = _all_subclasses(typing._BaseGenericAlias)  # type: ignore[attr-defined]
    kinds = [k for k in kinds if k.__name__ in {"_GenericAlias", "_UnionGenericAlias", "_AnnotatedAlias"}]
    assert len(kinds) == 3
    unsealed = [
        f"{klass.__qualname__}.{name}"
        for kind in kinds
        for klass in kind.__mro__
        for name in (OPERATOR_METHODS | {"__getitem__"}).intersection(vars(klass))
        if isinstance(vars(klass)[name], types.FunctionType) and vars(klass)[name] not in membrane.SEALED_OPERATORS
    ]
    assert unsealed == []


def _all_subclasses(cls: type) -> list[type]:
    found, pending = [], [cls]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.__subclasses__())
    return found


LIBRARY_OPERATORS = [
    pytest.param("import collections\n(collections.Counter('aab') + collections.Counter('b'))['b']", 2, id="counter"),
    pytest.param(
        "import collections\nc = collections.Counter(a=1)\nc += collections.Counter(a=2)\nc['a']", 3, id="counter-iadd"
    ),
    pytest.param(
        "import fractions\nx = fractions.Fraction(1, 3) + fractions.Fraction(1, 6)\n"
        "(x.numerator, x.denominator, -x == fractions.Fraction(-1, 2), str(1 - x), x < 1)",
        [1, 2, True, "1/2", True],
        id="fraction",
    ),
    pytest.param(
        "import enum\nclass F(enum.Flag):\n    A = 1\n    B = 2\n((F.A | F.B).value, (~F.A).value)", [3, 2], id="flag"
    ),
    pytest.param(
        "import collections.abc\nclass S(collections.abc.Set):\n    def __init__(self, it):\n        self.d = list(it)\n"
        "    def __contains__(self, x):\n        return x in self.d\n    def __iter__(self):\n        return iter(self.d)\n"
        "    def __len__(self):\n        return len(self.d)\n(sorted(S([1, 2]) | S([3])), S([1]) <= S([1, 2]), S([1]) == S([1]))",
        [[1, 2, 3], True, True],
        id="set-mixin",
    ),
    pytest.param("import collections\n(collections.UserList([1]) + [2]).data", [1, 2], id="userlist"),
    pytest.param("import typing\nstr(typing.List[int] | None)", "typing.Optional[typing.List[int]]", id="typing-union"),
    pytest.param(
        "import collections\nclass C(collections.UserString):\n    pass\nstr(C('ab') + 'c')",
        "abc",
        id="userstring-subclass",
    ),
]


@pytest.mark.parametrize(("code", "expected"), LIBRARY_OPERATORS)
def test_a_library_operator_still_gives_its_answer(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


# --------------------------------------------------------------------------- library tables


LIBRARY_TABLES = [
    pytest.param("import calendar\ncalendar.mdays[2] = 99\ncalendar.monthrange(2023, 2)[1]", 28, id="module-list"),
    pytest.param(
        "import urllib.parse\nurllib.parse.uses_netloc.clear()\nurllib.parse.urlsplit('ftp://h/p').netloc",
        "h",
        id="module-list-clear",
    ),
    pytest.param(
        "import textwrap\ntextwrap.TextWrapper.unicode_whitespace_trans[32] = 'X'\n"
        "textwrap.TextWrapper.unicode_whitespace_trans.clear()\ntextwrap.fill('a b\\tc', 20)",
        "a b     c",
        id="class-dict",
    ),
    pytest.param(
        "import calendar\ncalendar.HTMLCalendar.cssclasses[0] = 'x'\nc = calendar.HTMLCalendar()\n"
        "c.cssclasses.append('y')\n'\"mon\"' in c.formatmonth(2024, 1)",
        True,
        id="class-list",
    ),
]


@pytest.mark.parametrize(("code", "expected"), LIBRARY_TABLES)
def test_a_library_table_the_program_changes_is_its_own_copy(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_an_abc_registry_still_takes_the_programs_classes(proxies: Proxies) -> None:
    code = (
        "import abc, collections.abc\nclass Mine(abc.ABC):\n    pass\nMine.register(int)\nclass L:\n"
        "    def __getitem__(self, i):\n        return i\n    def __len__(self):\n        return 0\n"
        "collections.abc.Sequence.register(L)\n(isinstance(1, Mine), isinstance(L(), collections.abc.Sequence))"
    )
    assert run(code, proxies).result == [True, True]


def test_a_typing_alias_call_records_itself_on_the_programs_objects_only(proxies: Proxies) -> None:
    import typing

    decoder = typing.Annotated[json.JSONDecoder, 0]()  # type: ignore[operator]  # guarded with the proxies
    assert "__orig_class__" not in vars(decoder)
    code = (
        "import typing\nclass Mine:\n    pass\nm = typing.Annotated[Mine, 'meta']()\n"
        "(list(typing.Deque[int]([1])), type(m).__name__, typing.Annotated[Mine, 0] is not None)"
    )
    assert run(code, proxies).result == [[1], "Mine", True]


def test_a_subclass_still_overrides_a_library_table(proxies: Proxies) -> None:
    code = (
        "import calendar\nclass C(calendar.HTMLCalendar):\n    cssclasses = ['a', 'b', 'c', 'd', 'e', 'f', 'g']\n"
        "'\"a\"' in C().formatmonth(2024, 1)"
    )
    assert run(code, proxies).result is True


def test_no_offered_class_or_module_hands_out_its_own_table(proxies: Proxies) -> None:
    """A new Python that adds a public list or dict to an offered module or class gets it
    copied too; this fails if one is handed out as the library's own object."""
    from src.worker.proxies import TABLE_TYPES

    shared = []
    for module_name, proxy in proxies.items():
        real = sys.modules.get(module_name)
        for name, value in vars(proxy).items():
            if type(value) in TABLE_TYPES and real is not None and getattr(real, name, None) is value:
                shared.append(f"{module_name}.{name}")
            kind = value if isinstance(value, type) else type(value)
            for klass in kind.__mro__:
                for attribute, member in vars(klass).items():
                    if type(member) in TABLE_TYPES and not attribute.startswith("_"):
                        shared.append(f"{klass.__qualname__}.{attribute}")
    assert shared == []


# --------------------------------------------------------------------------- seventh to tenth reviews

#: Routes that would make a BaseExceptionGroup subclass the program's: except* calls its
#: split() and CPython 3.11 trusts the result's shape (gh-128049: memory corruption).
EXCEPTION_GROUP_SUBCLASSES = {
    "class-statement": "class G(ExceptionGroup):\n    pass",
    "base-exception-group": "class G(BaseExceptionGroup):\n    pass",
    "make-dataclass": (
        "import dataclasses\nG = dataclasses.make_dataclass('G', [], bases=(ExceptionGroup,), init=False, eq=False)"
    ),
    "enum-mixin": "import enum\nE = enum.Enum('E', {'a': ('m', [KeyError(1)])}, type=ExceptionGroup)",
    "generic-mixin": "import typing\nclass G(ExceptionGroup, typing.Generic[typing.TypeVar('T')]):\n    pass",
}


@pytest.mark.parametrize("code", EXCEPTION_GROUP_SUBCLASSES.values(), ids=EXCEPTION_GROUP_SUBCLASSES.keys())
def test_an_exception_group_cannot_be_subclassed(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error_type == "SecurityError"


def test_a_split_cannot_be_put_on_an_exception_group(proxies: Proxies) -> None:
    code = "g = ExceptionGroup('x', [KeyError(1)])\ng.split = lambda condition: 12345"
    assert run(code, proxies).error_type == "SecurityError"


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            "import functools\nclass P(functools.partial):\n    pass\nsink = []\nclass Probe:\n"
            "    __eq__ = P(sink.append)",
            id="partial-subclass-as-eq",
        ),
        pytest.param(
            "import functools, collections\nclass P(functools.partial):\n    pass\nKeep = collections.namedtuple('K', 'a b c')\n"
            "class C:\n    def __enter__(self):\n        return self\n    __exit__ = P(Keep)",
            id="partial-subclass-as-exit",
        ),
    ],
)
def test_a_special_method_is_never_a_library_callable_in_a_program_class(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error_type == "SecurityError"


def test_a_callable_instance_of_the_programs_class_may_be_a_special_method(proxies: Proxies) -> None:
    code = "class Eq:\n    def __call__(self, other):\n        return True\nclass V:\n    __eq__ = Eq()\nV() == 3"
    assert run(code, proxies).result is True


#: Seventh and eighth reviews: objects that carry copy hooks, deepcopy's memo, dataclasses'
#: reads that reach a metaclass or rename another class's Field, module names.
SEVENTH_REVIEW = [
    pytest.param("import time\nNS = type(time.get_clock_info('time'))\nNS(x=1)", id="simplenamespace-is-not-callable"),
    pytest.param("import json\ntype(json)('hook', {'__deepcopy__': print})", id="module-proxy-is-not-callable"),
    pytest.param("import functools\nclass CP(functools.cached_property):\n    pass", id="cached-property-subclass"),
    pytest.param(
        "import dataclasses\n@dataclasses.dataclass\nclass A:\n    x: int = 0\nf = dataclasses.fields(A)[0]\n"
        "class B:\n    y: int = f\ndataclasses.dataclass(B)",
        id="field-of-another-dataclass",
    ),
    pytest.param(
        "import dataclasses, enum\nclass E(enum.Enum):\n    pass\ndataclasses.make_dataclass('C', [('_convert_', int)], bases=(E,))",
        id="sunder-field",
    ),
    pytest.param(
        "import dataclasses, abc\ndataclasses.make_dataclass('C', [('register', int)], bases=(abc.ABC,))",
        id="field-read-from-the-metaclass",
    ),
    pytest.param(
        "import dataclasses, abc\n@dataclasses.dataclass\nclass DC(metaclass=abc.ABCMeta):\n    _abc_impl: int",
        id="field-named-like-a-librarys-state",
    ),
    pytest.param("class C:\n    __module__ = 'math'", id="class-module"),
    pytest.param("import collections\ncollections.namedtuple('N', 'a b', module='math')", id="namedtuple-module"),
]


def test_a_copy_hook_in_an_instance_dict_is_refused(proxies: Proxies) -> None:
    class Carrier:
        pass

    carrier = Carrier()
    carrier.__dict__["__deepcopy__"] = lambda memo: memo
    code = "import copy\ncopy.deepcopy([1, [carrier]])"
    assert run(code, proxies, context={"carrier": carrier}).error_type == "SecurityError"


def test_the_sandboxs_own_wrappers_copy_as_themselves(proxies: Proxies) -> None:
    code = (
        "import copy, collections\nm = collections.ChainMap.new_child\n"
        "def outer():\n    n = 1\n    def inner():\n        return n\n    return inner\nc = outer().__closure__[0]\n"
        "[copy.copy(m) is m, copy.deepcopy([m])[0] is m, copy.copy(c) is c, copy.deepcopy(c) is c]"
    )
    assert run(code, proxies).result == [True, True, True, True]


def test_getattr_on_a_raw_module_passes_what_it_reads_through_the_membrane(proxies: Proxies) -> None:
    # map() hands getattr a real module no guard gave the program: eval is bound to builtins.
    code = "list(map(getattr, [real], ['eval']))"
    assert run(code, proxies, context={"real": builtins}).error_type == "SecurityError"


#: A refused value is never left bound: the names a loop, an unpacking or a pattern binds
#: are bound to the admitted value only (pass 7: bound first, checked after, kept by a try).
NEVER_LEFT_BOUND = {
    "for": "try:\n    for v in box:\n        pass\nexcept Exception:\n    pass\nv",
    "for-tuple": "try:\n    for k, v in table.items():\n        pass\nexcept Exception:\n    pass\nv",
    "unpacking": "try:\n    a, v = [1, *box]\nexcept Exception:\n    pass\nv",
    "with-tuple": "try:\n    with pair as (v, w):\n        pass\nexcept Exception:\n    pass\nv",
    "match-capture": "try:\n    match box:\n        case [v]:\n            pass\nexcept Exception:\n    pass\nv",
}


@pytest.mark.parametrize("code", NEVER_LEFT_BOUND.values(), ids=NEVER_LEFT_BOUND.keys())
def test_a_refused_value_is_never_left_bound(proxies: Proxies, code: str) -> None:
    outcome = run(code, proxies, context=_context(builtins.getattr))
    assert outcome.error_type == "NameError", outcome.reply


def test_a_patterns_dotted_names_are_read_through_the_guards(proxies: Proxies) -> None:
    code = (
        "import collections, collections.abc\nclass M(collections.abc.Mapping):\n    seen = []\n"
        "    def __getitem__(self, k):\n        raise KeyError(k)\n    def __iter__(self):\n        return iter(())\n"
        "    def __len__(self):\n        return 1\n    def get(self, k, d=None):\n        M.seen.append(k)\n        return d\n"
        "match M():\n    case {collections.ChainMap.new_child: v}:\n        pass\nM.seen[0](M)"
    )
    outcome = run(code, proxies)  # the key M.get received is the guarded one: it runs on a ChainMap only
    assert outcome.error_type == "SecurityError"
    assert "must be called with an instance of ChainMap" in outcome.error["message"]


ORDINARY_MATCHES = [
    pytest.param(
        "import enum, datetime\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\n"
        "def f(v):\n    match v:\n        case Color.RED:\n            return 'red'\n"
        "        case datetime.date(year=y, month=m):\n            return (y, m)\n"
        "        case {Color.BLUE.name: n, **rest}:\n            return (n, rest)\n        case [x, *others]:\n"
        "            return (x, others)\n        case _:\n            return None\n"
        "[f(Color.RED), f(datetime.date(2026, 3, 9)), f({'BLUE': 1, 'z': 2}), f([1, 2, 3]), f(0)]",
        ["red", [2026, 3], [1, {"z": 2}], [1, [2, 3]], None],
        id="values-classes-mappings-sequences",
    ),
    pytest.param(
        "class C:\n    for k, v in [('a', 1)]:\n        pass\n    match [1, 2]:\n        case [x, y]:\n            total = x + y\n"
        "[C.total, C.k, C.v]",
        [3, "a", 1],
        id="in-a-class-body",
    ),
    pytest.param(
        "def f(p):\n    match p:\n        case (x, y) if x > y:\n            return 'down'\n        case (x, y) | [x, y, _]:\n"
        "            return 'other'\n[f((2, 1)), f((1, 2)), f([1, 2, 3])]",
        ["down", "other", "other"],
        id="guards-and-or-patterns",
    ),
]


@pytest.mark.parametrize(("code", "expected"), ORDINARY_MATCHES)
def test_ordinary_match_statements_work(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


#: Ninth and tenth reviews (the surface opened for ordinary code).
TENTH_REVIEW = [
    pytest.param(
        "import collections\nclass S(str):\n    def __eq__(self, other):\n        return False\n"
        "    def __hash__(self):\n        return hash('_getitem_')\nexec('x = [1][0]', {S('_getitem_'): len})",
        "TypeError",
        id="exec-globals-with-str-subclass-keys",
    ),
    pytest.param(
        "import abc, collections.abc\nclass Own(abc.ABC):\n    @classmethod\n    def __subclasshook__(cls, C):\n"
        "        return True\nclass Sub(Own, collections.abc.Mapping):\n    pass",
        "SecurityError",
        id="inherited-subclasshook-under-a-library-abc",
    ),
    pytest.param(
        "class CM(classmethod):\n    pass\nimport json\nvars(CM(json.JSONEncoder))",
        "SecurityError",
        id="dict-of-a-classmethod",
    ),
    pytest.param(
        "import functools\n@functools.singledispatch\ndef f(x):\n    return 0\ndef g(x: '().__class__'):\n    return 1\n"
        "f.register(staticmethod(g))",
        "TypeError",
        id="singledispatch-register-of-an-annotated-object",
    ),
    # The fallback to sys.modules never runs: a proxy has no __name__ of its own.
    pytest.param("from json import decoder\ndecoder", "ImportError", id="import-from-a-submodule-fallback"),
    pytest.param("import struct\nclass S(struct.Struct):\n    pass", "SecurityError", id="struct-subclass"),
    pytest.param("import enum\nclass P(enum.property):\n    pass", "SecurityError", id="enum-property-subclass"),
    pytest.param(
        "import functools\nclass PM(functools.partialmethod):\n    pass\nPM(print).__get__",
        "SecurityError",
        id="a-library-get-read-on-the-programs-object",
    ),
]


@pytest.mark.parametrize(("code", "error"), TENTH_REVIEW)
def test_a_finding_of_the_tenth_review_fails(proxies: Proxies, code: str, error: str) -> None:
    assert run(code, proxies).error_type == error


def test_imports_with_as_still_bind_the_proxies(proxies: Proxies) -> None:
    code = "import collections.abc as c\nfrom json import dumps as d, loads\n[c.Mapping.__name__, d([1]), loads('2')]"
    assert run(code, proxies).result == ["Mapping", "[1]", 2]


def test_annotations_and_defaults_are_read_as_copies(proxies: Proxies) -> None:
    code = (
        "import functools, json, collections\ndef carrier():\n    pass\nfunctools.update_wrapper(carrier, json.loads)\n"
        "carrier.__annotations__['x'] = int\nN = collections.namedtuple('N', 'a', defaults=[1])\nN._field_defaults['a'] = 2\n"
        "['x' in carrier.__annotations__, N._field_defaults['a'], N().a]"
    )
    assert run(code, proxies).result == [False, 1, 1]


def test_a_class_being_built_sees_only_public_match_args(proxies: Proxies) -> None:
    code = (
        "seen = []\nclass Base:\n    def __init_subclass__(cls, **kw):\n        seen.append(cls.__match_args__)\n"
        "class Sub(Base):\n    __match_args__ = ('_secret',)\nseen"
    )
    assert run(code, proxies).result == [[]]


def test_a_class_the_catalogue_refuses_stays_refused_however_it_is_reached(proxies: Proxies) -> None:
    # typing.ForwardRef compiles program text with the real compile(); the catalogue refuses
    # it, and type(List['x'].__args__[0]) reached it anyway.
    code = "import typing\nF = type(typing.List['x'].__args__[0])"
    assert run(code, proxies).error_type == "SecurityError"
    assert run("import typing\ntyping.List['x']\n1", proxies).result == 1


#: Eleventh and twelfth reviews: descriptors where a special method goes, descriptor
#: chaining onto a library property, caches a C type trusts, text a converter trusts.
ELEVENTH_REVIEW = [
    pytest.param(
        "sink = []\nclass C:\n    __eq__ = property(lambda self: sink.append)", id="property-as-a-special-method"
    ),
    pytest.param(
        "class SM(staticmethod):\n    def __get__(self, obj, cls=None):\n        return print\nclass C:\n    __neg__ = SM(print)",
        id="staticmethod-subclass-as-a-special-method",
    ),
    pytest.param(
        "import collections\nclass C:\n    maps = [None, 'Made', (object,), {}]\n    p = classmethod(collections.ChainMap.parents)\n"
        "C.p",
        id="classmethod-chaining-a-library-property",
    ),
    pytest.param("import zoneinfo\nclass Z(zoneinfo.ZoneInfo):\n    pass", id="zoneinfo-subclass"),
    pytest.param(
        "import functools\nclass SDM(functools.singledispatchmethod):\n    pass\nSDM(print).__get__",
        id="a-library-get-of-a-subclass",
    ),
]


@pytest.mark.parametrize("code", [*SEVENTH_REVIEW, *ELEVENTH_REVIEW])
def test_a_finding_of_the_seventh_to_twelfth_reviews_fails(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error_type == "SecurityError"


def test_a_protocol_probes_public_members_only(proxies: Proxies) -> None:
    code = (
        "import typing, random\n@typing.runtime_checkable\nclass Q(typing.Protocol):\n    pass\nQ._randbelow = None\n"
        "@typing.runtime_checkable\nclass R(typing.Protocol):\n    pass\nR._nope = None\n"
        "[isinstance(random.Random(), Q), isinstance(random.Random(), R)]"
    )
    assert run(code, proxies).result == [True, True]  # the same answer: nothing learnt


def test_a_results_text_is_read_as_an_exact_string(proxies: Proxies) -> None:
    code = "class S(str):\n    def isascii(self):\n        return True\nclass R:\n    def __repr__(self):\n        return S('x' + chr(0xD800) + 'y')\nR()"
    assert run(code, proxies).result == "x\\ud800y"


def test_a_property_of_the_programs_class_still_works(proxies: Proxies) -> None:
    code = (
        "class P:\n    def __init__(self):\n        self._x = 2\n    @property\n    def x(self):\n        return self._x\n"
        "    @x.setter\n    def x(self, v):\n        self._x = v\np = P()\np.x = 5\nprop = P.x\n[p.x, prop.fget(p), type(prop).__name__]"
    )
    assert run(code, proxies).result == [5, 5, "property"]


def test_a_private_name_a_library_wrote_into_the_programs_class_is_the_librarys(proxies: Proxies) -> None:
    code = (
        "import collections.abc\nclass M(collections.abc.Mapping):\n    def __getitem__(self, k):\n        raise KeyError(k)\n"
        "    def __iter__(self):\n        return iter(())\n    def __len__(self):\n        return 0\nM._abc_impl = None"
    )
    assert run(code, proxies).error_type == "SecurityError"


def test_private_names_the_programs_hooks_write_stay_the_programs(proxies: Proxies) -> None:
    code = (
        "import abc\nclass Base(abc.ABC):\n    def __init_subclass__(cls, **kw):\n        super().__init_subclass__(**kw)\n"
        "        cls._registry = {'name': cls.__name__}\nclass A(Base):\n    pass\nA._registry['extra'] = 1\nA._registry"
    )
    assert run(code, proxies).result == {"name": "A", "extra": 1}


def test_a_dataclass_with_slots_is_the_programs_class(proxies: Proxies) -> None:
    code = (
        "import dataclasses\n@dataclasses.dataclass(slots=True)\nclass P:\n    x: int\n    y: int = 0\n"
        "p = P(1)\np.y = 5\n[p.x, p.y, P.__slots__]"
    )
    assert run(code, proxies).result == [1, 5, ["x", "y"]]


@pytest.mark.parametrize(
    "code",
    [
        "import difflib\nclass T(type, difflib.SequenceMatcher):\n    pass",
        "import abc\nclass M(abc.ABCMeta):\n    pass",
        "import json\nclass P(type(json)):\n    pass",
    ],
)
def test_the_sandboxs_type_and_stand_ins_cannot_be_subclassed(proxies: Proxies, code: str) -> None:
    assert run(code, proxies).error_type in {"TypeError", "SecurityError"}


def test_a_with_list_target_is_bound_through_the_membrane(proxies: Proxies) -> None:
    code = "try:\n    with pair as [v, w]:\n        pass\nexcept Exception:\n    pass\nv"
    assert run(code, proxies, context=_context(builtins.getattr)).error_type == "NameError"
    ordinary = "import contextlib\nwith contextlib.nullcontext([1, 2]) as [a, b]:\n    pass\n[a, b]"
    assert run(ordinary, proxies).result == [1, 2]


def test_an_enum_body_with_a_loop_keeps_cpythons_members(proxies: Proxies) -> None:
    code = "import enum\nclass E(enum.Enum):\n    A = 1\n    for k, v in [(1, 2)]:\n        pass\n    B = 2\n[e.name for e in E]"
    assert run(code, proxies).result == ["A", "v"]  # as CPython: k and v are members, k and B aliases


def test_the_originals_of_guarded_replacements_are_refused(proxies: Proxies) -> None:
    import copy as real_copy

    for original in (functools.update_wrapper, real_copy.deepcopy, dataclasses_module().dataclass):
        outcome = run("x = box[0]", proxies, context={"box": [original]})
        assert outcome.error_type == "SecurityError", original


def dataclasses_module() -> Any:
    import dataclasses

    return dataclasses


@pytest.mark.parametrize("frozen", [False, True])
def test_an_unbound_method_cannot_be_rewritten(proxies: Proxies, frozen: bool) -> None:
    # A dataclass's __init__ run on a foreign self set any attribute of it, slots included.
    code = (
        f"import dataclasses, collections\n@dataclasses.dataclass(frozen={frozen})\nclass D:\n    _owner: object = object\n"
        "um = collections.ChainMap.new_child\ntry:\n    D.__init__(um)\nexcept Exception:\n    pass\n"
        "class C:\n    maps = []\num(C)"
    )
    outcome = run(code, proxies)
    assert outcome.error_type == "SecurityError"
    assert "must be called with an instance of ChainMap" in outcome.error["message"]


def test_a_dataclass_base_with_altered_fields_is_refused(proxies: Proxies) -> None:
    code = "import dataclasses\nclass B:\n    pass\nB.__dataclass_fields__ = 1\n"
    # A program cannot write __dataclass_fields__; a base whose fields are not a plain dict
    # of plain Fields is refused when a dataclass is made over it.
    assert run(code, proxies).error_type == "SecurityError"


def test_a_copy_does_not_apply_special_names_smuggled_into_an_instance_dict(proxies: Proxies) -> None:
    # vars(obj) is the real dict of the program's object: a key the program could not
    # assign as an attribute (__class__) was set on the copy by BaseException.__setstate__.
    code = (
        "import copy, calendar\nclass E(ValueError):\n    pass\ne = E('x')\nvars(e)['__' + 'class__'] = calendar.IllegalMonthError\n"
        "copy.copy(e)"
    )
    assert run(code, proxies).error_type == "SecurityError"
    assert (
        run("import copy\nclass E(ValueError):\n    pass\ne = E('x')\ne.code = 3\ncopy.copy(e).code", proxies).result
        == 3
    )


# --------------------------------------------------------------------------- passes 14 to 16
#: Raw values reaching the program through containers it holds (the compiler's
#: temporaries in a library class namespace, a library class's namespace copied by a
#: library wrapper), library Python hooks run through super() or a classmethod with an
#: object they were not meant for, half-built classes, and library code that acts on a
#: program's subclass of str or int.

FOURTH_REVIEW = [
    pytest.param(
        "import enum\nstash = []\nclass Seed(enum.Enum):\n    try:\n        from json import decoder\n"
        "    except Exception:\n        pass\n    def _generate_next_value_(name, start, count, last_values):\n"
        "        stash.extend(last_values)\n        return 1\n    z = enum.auto()\nlen(stash)",
        0,
        id="enum-body-temporaries-stay-out-of-last-values",
    ),
    pytest.param(
        "import enum, operator\nstash = []\nclass W(enum.Enum):\n    for x in [operator]:\n        pass\n"
        "    def _generate_next_value_(name, start, count, last_values):\n        stash.extend(last_values)\n"
        "        return 1\n    z = enum.auto()\n[v is operator for v in stash]",
        [True],
        id="enum-body-loop-gives-admitted-values-only",
    ),
    pytest.param(
        "import abc, collections.abc, json\nclass Own(abc.ABC):\n    pass\nOwn.register(int)\nhalf = []\n"
        "class Grab:\n    def __set_name__(self, owner, name):\n        half.append(owner)\n        raise ValueError\n"
        "try:\n    class Half(Own, collections.abc.Mapping):\n        g = Grab()\nexcept RuntimeError:\n    pass\n"
        "isinstance(5, collections.abc.Mapping)",
        False,
        id="a-half-built-class-gets-its-own-abc-registry",
    ),
    pytest.param(
        "import re\ngrab = []\nclass S(str):\n    def translate(self, table):\n        grab.append(table)\n"
        "        return str.translate(self, table)\n[re.escape(S('a.b')), len(grab)]",
        ["a\\.b", 0],
        id="re-escape-reads-a-str-subclass-as-plain-text",
    ),
    pytest.param(
        "import zoneinfo\nclass K(str):\n    pass\ntry:\n    zoneinfo.ZoneInfo.no_cache(K('Etc/UTC'))\n"
        "    seen = 'loaded'\nexcept TypeError:\n    seen = 'refused'\nseen",
        "refused",
        id="zoneinfo-key-must-be-a-plain-str",
    ),
    pytest.param(
        "import ipaddress\nclass P(int):\n    def __hash__(self):\n        return hash(20)\n"
        "    def __eq__(self, other):\n        return other == 20\ntry:\n    ipaddress.IPv4Network(('0.0.0.0', P(0)))\n"
        "except Exception:\n    pass\nipaddress.ip_network('10.1.0.0/20').num_addresses",
        4096,
        id="ipaddress-netmask-cache-keyed-by-plain-values",
    ),
    pytest.param(
        "import difflib, enum, re\nclass F(difflib.SequenceMatcher, enum.IntFlag, boundary=enum.EJECT):\n    A = 1\n"
        "    @classmethod\n    def _missing_(cls, value):\n        return re.IGNORECASE\nalias = F.__class_getitem__(int)\n"
        "got = alias(64)\n[got is re.IGNORECASE, '__orig_class__' in dir(re.IGNORECASE)]",
        [True, False],
        id="a-generic-alias-of-a-program-class-writes-only-onto-its-own",
    ),
    pytest.param(
        "import functools, re\ndef grab():\n    pass\nfunctools.update_wrapper(grab, re.RegexFlag)\n"
        "w = functools.lru_cache(maxsize=None)(re.RegexFlag)\n[hasattr(grab, 'IGNORECASE'), hasattr(w, 'DOTALL'), hasattr(grab, '__wrapped__')]",
        [False, False, False],
        id="update-wrapper-copies-no-library-namespace",
    ),
    pytest.param(
        "import functools, json, pprint\nclass PP(pprint.PrettyPrinter):\n    pass\nclass Dec(json.JSONDecoder):\n"
        "    pass\nclass Plain:\n    def __init__(self):\n        self.tag = 't'\n"
        "def f():\n    pass\ndef g():\n    pass\ndef h():\n    pass\n"
        "functools.update_wrapper(f, PP())\nfunctools.update_wrapper(g, Dec())\nfunctools.update_wrapper(h, Plain())\n"
        "[[n for n in dir(f) if not n.startswith('__')], [n for n in dir(g) if not n.startswith('__')], h.tag]",
        [[], [], "t"],
        id="update-wrapper-copies-no-library-state-from-the-programs-instance",
    ),
]


@pytest.mark.parametrize(("code", "expected"), FOURTH_REVIEW)
def test_a_finding_of_the_fourth_review_is_closed(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


FOURTH_REVIEW_REFUSED = [
    pytest.param(
        "import functools, json\nclass PM(functools.partialmethod):\n    def __get__(self, obj, cls=None):\n"
        "        return 'mine'\ndef f(*a):\n    return a\nsuper(PM, PM(f)).__get__",
        id="super-reads-the-librarys-hook-not-the-subclasss",
    ),
    pytest.param(
        "import functools, abc\ncp = functools.cached_property(lambda obj: None)\nclass Namer:\n    _abc_impl = cp\n"
        "class Mine(abc.ABC):\n    peek = classmethod(cp)\nMine.peek",
        id="classmethod-of-a-library-descriptor",
    ),
    pytest.param(
        "import enum\nclass M(str):\n    def __eq__(self, other):\n        return True\n    __hash__ = str.__hash__\n"
        "enum.Enum('E', 'A B', module=M('math'))",
        id="enum-functional-module-must-be-main",
    ),
    pytest.param(
        "import operator\nexec('match operator.getitem:\\n    case len:\\n        pass')",
        id="exec-string-capture-rebinding-a-builtin",
    ),
    pytest.param(
        "import abc\nhalf = []\nclass Grab:\n    def __set_name__(self, owner, name):\n        half.append(owner)\n"
        "        raise ValueError\ntry:\n    class X(abc.ABC):\n        g = Grab()\nexcept RuntimeError:\n    pass\nhalf[0]",
        id="a-half-built-class-is-not-held",
    ),
    pytest.param("class C(classmethod):\n    pass", id="classmethod-is-final"),
]

#: Passes 17 and 18: each refused with a SecurityError.
LATER_REVIEW_REFUSED = [
    pytest.param(
        "import abc, collections\nclass Seqy(list, abc.ABC):\n    pass\nSeqy.register(collections.UserDict)",
        id="a-sequence-abc-registering-a-library-class",
    ),
    pytest.param(
        "import abc\nclass Base:\n    def __init_subclass__(cls, **kw):\n        cls._abc_impl = None\n"
        "class Own(Base, metaclass=abc.ABCMeta):\n    pass",
        id="writing-abc-impl-while-the-class-is-built",
    ),
    pytest.param("class A:\n    _abc_impl = None", id="defining-abc-impl"),
    pytest.param(
        "import collections.abc\nclass B(collections.abc.Mapping):\n    _abc_impl = None\n"
        "    def __getitem__(self, k):\n        raise KeyError(k)\n    def __len__(self):\n        return 0\n"
        "    def __iter__(self):\n        return iter(())",
        id="a-private-name-the-metaclass-replaces",
    ),
    pytest.param("import pprint\nclass S(super, pprint.PrettyPrinter):\n    pass", id="super-is-final"),
    pytest.param(
        "import abc, dataclasses\n@dataclasses.dataclass(slots=True)\nclass A(abc.ABC):\n    x: int = 0\nA._abc_impl",
        id="abc-impl-of-a-class-dataclass-rebuilt",
    ),
]


@pytest.mark.parametrize(
    ("code", "errors"),
    [pytest.param(p.values[0], {"SecurityError", "TypeError"}, id=p.id) for p in FOURTH_REVIEW_REFUSED]
    + [pytest.param(p.values[0], {"SecurityError"}, id=p.id) for p in LATER_REVIEW_REFUSED],
)
def test_a_refused_finding_of_the_later_reviews(proxies: Proxies, code: str, errors: set[str]) -> None:
    assert run(code, proxies).error_type in errors


FOURTH_REVIEW_SIBLINGS = [
    pytest.param(
        "import enum\nclass C(enum.Enum):\n    R, G = range(2)\nclass F(enum.IntFlag):\n    A = enum.auto()\n"
        "    B = enum.auto()\n[[c.name for c in C], F.B.value]",
        [["R", "G"], 2],
        id="enum-unpacking-and-auto",
    ),
    pytest.param(
        "import functools\nclass A:\n    @classmethod\n    def make(cls):\n        return cls.__name__\n"
        "    @staticmethod\n    def two():\n        return 2\n    @functools.cached_property\n    def big(self):\n"
        "        return 42\n    @classmethod\n    @property\n    def label(cls):\n        return 'A!'\n"
        "[A.make(), A.two(), A().big, A.label]",
        ["A", 2, 42, "A!"],
        id="classmethod-staticmethod-cached-property",
    ),
    pytest.param("class A:\n    _x = 1\nA._x", 1, id="own-private-class-attribute"),
    pytest.param(
        "import random\nclass R(random.Random):\n    def __init_subclass__(cls, **kw):\n"
        "        super().__init_subclass__(**kw)\nclass R2(R):\n    pass\nR2(1).random() < 1",
        True,
        id="super-init-subclass-under-a-library-base",
    ),
    pytest.param(
        "import enum\nE = enum.Enum('E', 'A B')\n[E.__module__, [e.name for e in E]]",
        ["__main__", ["A", "B"]],
        id="enum-functional-api",
    ),
    pytest.param(
        "import re, zoneinfo, ipaddress\n[re.escape('a.b'), str(zoneinfo.ZoneInfo('Europe/Paris')), "
        "ipaddress.ip_network('10.0.0.0/8').num_addresses]",
        ["a\\.b", "Europe/Paris", 16777216],
        id="escape-zoneinfo-ipaddress",
    ),
    pytest.param(
        "import functools\ndef f():\n    pass\nf.tag = 1\n@functools.wraps(f)\ndef g():\n    pass\n"
        "h = functools.lru_cache(maxsize=None)(f)\n[g.tag, g.__wrapped__ is f, h.tag]",
        [1, True, 1],
        id="wraps-of-the-programs-function-copies-its-dict",
    ),
    pytest.param("import re\nm = re.compile('a').match\nm('a') is not None", True, id="a-bound-c-method-of-a-pattern"),
    pytest.param("match [1, 2]:\n    case [first, *rest]:\n        pass\n[first, rest]", [1, [2]], id="match-captures"),
]


@pytest.mark.parametrize(("code", "expected"), FOURTH_REVIEW_SIBLINGS)
def test_the_sibling_of_a_fourth_review_finding_works(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_dataclass_sets_match_args_only_after_it_is_done_with_the_class(proxies: Proxies) -> None:
    # Inside dataclass(), abc.update_abstractmethods ran the program's descriptor while
    # __match_args__ named the private fields: a class pattern read a Fraction's.
    code = (
        "import abc, dataclasses, fractions\nclass Own(abc.ABC):\n    @abc.abstractmethod\n    def m(self):\n        pass\n"
        "leak = []\nclass Peek:\n    def __get__(self, obj, owner=None):\n        if owner is not None and not leak:\n"
        "            match fractions.Fraction(22, 7):\n                case owner(n, d):\n                    leak.append((n, d))\n"
        "        return self\nclass D(Own):\n    _numerator: int = 0\n    _denominator: int = 1\n    m = Peek()\n"
        "D.register(fractions.Fraction)\ntry:\n    dataclasses.dataclass(D)\nexcept TypeError:\n    pass\nleak"
    )
    assert run(code, proxies).result == []
    ordinary = (
        "import dataclasses\n@dataclasses.dataclass\nclass P:\n    x: int\n    y: int = 0\n"
        "@dataclasses.dataclass(match_args=False)\nclass R:\n    z: int\n"
        "match P(1, 2):\n    case P(a, b):\n        pass\n[a, b, P.__match_args__, hasattr(R, '__match_args__')]"
    )
    assert run(ordinary, proxies).result == [1, 2, ["x", "y"], False]


def test_an_instance_dict_never_takes_a_key_that_is_not_a_str(proxies: Proxies) -> None:
    # A key whose __eq__ answered "not __deepcopy__" to the guard and "__deepcopy__" to
    # copy's lookup right after it made copy call the program's hook with the memo. The
    # instance dict the program holds takes keys as setattr does (copy refuses such a
    # dict too, should one be made some other way).
    code = (
        "import copy\nclass Sly:\n    def __hash__(self):\n        return hash('__deepcopy__')\n"
        "    def __eq__(self, other):\n        return False\nclass Box:\n    pass\nb = Box()\nvars(b)[Sly()] = 1\ncopy.deepcopy(b)"
    )
    assert run(code, proxies).error["message"] == "attribute name must be a string, not Sly"
    assert run("import copy\nclass Box:\n    pass\nb = Box()\nb.x = [1]\ncopy.deepcopy(b).x", proxies).result == [1]


def test_a_partial_is_held_only_if_what_it_calls_would_be(proxies: Proxies) -> None:
    # C code builds partials from values the program never bound (map(functools.partial,
    # ...)); a partial, a subclass of it, a partialmethod and an lru_cache wrapper are each
    # checked for what they call, not judged once for their class.
    import functools

    for holder in (
        functools.partial(builtins.getattr),
        functools.partial(print, builtins.getattr),
        functools.lru_cache(maxsize=None)(builtins.getattr),
    ):
        assert run("x = box[0]", proxies, context={"box": [holder]}).error_type == "SecurityError", holder
    # What the wrapper calls is its C field: a __wrapped__ rewritten to something the
    # membrane passes (pass 41: ExitStack.callback's real setattr) does not vouch for it.
    rewritten = functools.lru_cache(maxsize=None)(builtins.getattr)
    rewritten.__wrapped__ = len
    assert run("x = box[0]", proxies, context={"box": [rewritten]}).error_type == "SecurityError"
    subclass = "import functools\nclass P(functools.partial):\n    pass\nx = list(map(P, box))[0]"
    assert run(subclass, proxies, context={"box": [builtins.getattr]}).error_type == "SecurityError"
    ordinary = (
        "import functools, json\nclass P(functools.partial):\n    pass\n@functools.lru_cache(maxsize=None)\n"
        "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
        "[functools.partial(json.dumps, indent=None)([1]), P(sorted, key=len)(['aa', 'b']), fib(20)]"
    )
    assert run(ordinary, proxies).result == ["[1]", ["b", "aa"], 6765]


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(
            "import enum\nclass K(str):\n    def startswith(self, prefix, *args):\n        return False\n"
            "class E(enum.IntEnum, **{K('_simple'): True}):\n    A = 1",
            id="class-keyword",
        ),
        pytest.param(
            "import dataclasses\nclass K(str):\n    def __eq__(self, other):\n        return False\n"
            "    def __hash__(self):\n        return hash('bases')\n"
            "dataclasses.make_dataclass('D', ['x'], **{K('bases'): (BaseExceptionGroup,)})",
            id="make-dataclass-bases",
        ),
    ],
)
def test_keyword_names_are_read_as_exact_strs(proxies: Proxies, code: str) -> None:
    # A str subclass as a keyword name answered the guard's question (startswith, get)
    # one way and the callee's parameter matching another.
    assert run(code, proxies).error_type == "SecurityError"


def test_ordinary_keyword_unpacking_still_works(proxies: Proxies) -> None:
    code = (
        "def f(a, b=0):\n    return a + b\nopts = {'b': 2}\nclass K(str):\n    pass\n[f(1, **opts), f(**{K('a'): 1})]"
    )
    assert run(code, proxies).result == [3, 1]


def test_a_class_pattern_checks_match_args_where_it_is_used(proxies: Proxies) -> None:
    # Every class the program obtains is sanitized, but a library factory runs the
    # program's hooks while __match_args__ still names the fields (NamedTuple, dataclass):
    # a match inside such a hook is checked when it starts.
    class Leaky:
        __match_args__ = ("_secret",)
        _secret = 42

    code = "match Leaky():\n    case Leaky(s):\n        pass\ns"
    assert run(code, proxies, context={"Leaky": Leaky}).error_type == "SecurityError"
    ordinary = "class P:\n    __match_args__ = ('x',)\n    def __init__(self):\n        self.x = 7\nmatch P():\n    case P(v):\n        pass\nv"
    assert run(ordinary, proxies).result == 7


def test_a_modules_private_helper_is_not_held_whatever_route_brought_it(proxies: Proxies) -> None:
    # dataclasses._create_fn exec()s the text it is given with the real builtins; a pass
    # reached it through a pattern walk, and the membrane approved it for its globals.
    import dataclasses
    import json

    private = run("x = box[0]", proxies, context={"box": [dataclasses._create_fn]})  # type: ignore[attr-defined]
    assert private.error_type == "SecurityError"
    # The guarded versions installed under a library's private names, closures of the
    # sandbox's own module: the library calls them, no program holds them.
    import copy
    import enum

    for helper in (dataclasses._process_class, copy._reconstruct, vars(enum.EnumType)["_create_"]):  # type: ignore[attr-defined]
        assert run("x = box[0]", proxies, context={"box": [helper]}).error_type == "SecurityError", helper
    public = run("x = box[0]", proxies, context={"box": [json.decoder.py_scanstring]})  # type: ignore[attr-defined]  # a submodule's public function
    assert public.error_type is None
    ordinary = (
        "import functools\nclass C:\n    @functools.singledispatchmethod\n    def f(self, x):\n        return 'any'\n"
        "    @f.register(int)\n    def _(self, x):\n        return 'int'\nm = C().f\n[m(1), m('a')]"
    )
    assert run(ordinary, proxies).result == ["int", "any"]


FIFTH_REVIEW = [
    pytest.param(
        "import typing, json\nclass C(list):\n    pass\nT = typing.TypeVar('T')\nalias = type(C[int])(typing.cast, (T,))[int]\n"
        "alias(object, json.JSONEncoder)\n'__orig_class__' in dir(json.JSONEncoder)",
        False,
        id="a-generic-alias-over-any-origin-writes-only-onto-the-programs-objects",
    ),
    pytest.param(
        "import abc, collections.abc\nclass Mine(abc.ABC):\n    pass\nMine.register(int)\ntry:\n"
        "    class H(Mine, collections.abc.Mapping, bogus=1):\n        pass\nexcept TypeError:\n    pass\n"
        "isinstance(5, collections.abc.Mapping)",
        False,
        id="a-class-whose-statement-failed-in-init-subclass-gets-its-own-registry",
    ),
]


@pytest.mark.parametrize(("code", "expected"), FIFTH_REVIEW)
def test_a_finding_of_the_fifth_review_is_closed(proxies: Proxies, code: str, expected: Any) -> None:
    assert run(code, proxies).result == expected


def test_the_siblings_of_the_fifth_review_work(proxies: Proxies) -> None:
    code = (
        "import abc, collections, collections.abc\nclass Seqy(list, abc.ABC):\n    pass\nclass Mine:\n    pass\n"
        "Seqy.register(Mine)\nclass Own(abc.ABC):\n    pass\nOwn.register(int)\n"
        "match collections.UserDict(a=1):\n    case {'a': v}:\n        pass\n"
        "[isinstance(Mine(), Seqy), isinstance(3, Own), v, list[int], type(list[int]).__name__]"
    )
    assert run(code, proxies).result == [True, True, 1, "list[int]", "GenericAlias"]


def test_the_programs_generic_alias_class_is_built_only_over_what_it_may_hold(proxies: Proxies) -> None:
    # type(list[int]) is the guarded alias class: over a library function its call writes
    # __orig_class__ onto nothing but the program's objects (FIFTH_REVIEW); over a value the
    # membrane refuses (here one slipped into a list), it is not built, even by C code.
    code = "import operator\nx = list(map(type(list[int]), box, [()]))"
    assert run(code, proxies, context={"box": [builtins.getattr]}).error_type == "SecurityError"
    assert run("import json\nstr(type(list[int])(json.loads, ()))", proxies).result == "json.loads[()]"


def test_an_exceptions_args_pass_the_membrane_element_by_element(proxies: Proxies) -> None:
    # singledispatch's KeyError(cls) held the real type (int.__class__), and e.args was
    # held as a plain tuple: map(operator.call, e.args, ...) built classes from any dict.
    code = (
        "import functools, abc, operator\nclass Boom(abc.ABC):\n    @classmethod\n    def __subclasshook__(cls, C):\n"
        "        raise ValueError('boom')\n@functools.singledispatch\ndef f(x):\n    return 'default'\n"
        "@f.register(Boom)\ndef _(x):\n    return 'boom'\ntry:\n    f(int)\nexcept ValueError as e:\n"
        "    raw = e.__context__.args\nlist(map(operator.call, raw, ['Evil'], [()], [{}]))"
    )
    outcome = run(code, proxies)
    assert outcome.error_type == "TypeError"
    assert "three arguments" in outcome.error["message"]
    assert run("try:\n    {}['k']\nexcept KeyError as e:\n    a = e.args\na", proxies).result == ["k"]


def test_the_constructor_check_compares_by_identity() -> None:
    from src.worker.membrane import _is_constructor

    class Liar:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    assert not _is_constructor(Liar())
    assert _is_constructor(types.FunctionType)


def test_a_method_is_held_only_bound_to_what_the_program_may_hold_as_it_is(proxies: Proxies) -> None:
    # A method over the real type would have passed: admitting its __self__ replaced the
    # type, and the check ignored the replacement (the call still reached the real one).
    bound = types.MethodType(lambda self: self, builtins.type)
    assert run("x = box[0]", proxies, context={"box": [bound]}).error_type == "SecurityError"
    assert run("class A:\n    def m(self):\n        return 1\nf = A().m\nf()", proxies).result == 1


def test_with_binds_special_methods_as_the_interpreter_does(proxies: Proxies) -> None:
    code = (
        "class S:\n    @staticmethod\n    def __enter__():\n        return 'static'\n    @classmethod\n"
        "    def __exit__(cls, *a):\n        return False\nwith S() as a:\n    pass\na"
    )
    assert run(code, proxies).result == "static"


def test_a_match_capture_is_admitted_with_what_its_container_holds(proxies: Proxies) -> None:
    """The interpreter extracts a pattern's captures without a guard: a captured tuple
    comes back with its elements admitted (at any depth), and a list, dict or set the
    program would hold as it is must hold only what the membrane admits unchanged."""
    captured = membrane.admit_capture((1, (builtins.type,)))
    assert captured == (1, (SandboxType,))
    for container in ([builtins.type], {builtins.type}, {"k": builtins.type}, {builtins.type: 1}):
        with pytest.raises(SecurityError):
            membrane.admit_capture(container)
    plain = [1, "a", (2, 3)]
    assert membrane.admit_capture(plain) is plain


def test_nested_tuples_are_admitted_without_recursion(proxies: Proxies) -> None:
    deep: tuple[Any, ...] = (builtins.type,)
    for _ in range(10_000):
        deep = (deep,)
    admitted = membrane.admitted_nested(deep)
    for _ in range(10_000):
        admitted = admitted[0]
    assert admitted == (SandboxType,)
    ordinary = ((1, 2), ("a", (3.0,)))
    assert membrane.admitted_nested(ordinary) is ordinary


def test_a_bare_raise_admits_the_exception_being_handled(proxies: Proxies) -> None:
    code = (
        "def rethrow():\n    raise\n"
        "try:\n    try:\n        raise KeyError(1)\n    except KeyError:\n        rethrow()\n"
        "except KeyError as e:\n    r = e.args\nr"
    )
    assert run(code, proxies).result == [1]
    try:
        raise KeyError(builtins.type)
    except KeyError:
        membrane.admit_handled()
        assert sys.exception().args == (SandboxType,)  # type: ignore[union-attr]


def test_a_library_method_admits_its_result_inside_the_call(proxies: Proxies) -> None:
    """``map(obj.method, ...)`` calls a library method from C code, past the call site's
    admission: a library method the program holds admits what it returns itself, as an
    offered module function does (here a UserDict holding what only library code could
    have put there)."""
    assert run("import collections\nc = collections.Counter('aab')\nlist(map(c.get, 'ab'))", proxies).result == [2, 1]
    held: collections.UserDict[str, Any] = collections.UserDict()
    held.data["k"] = builtins.type
    method = membrane.admit(held.get)
    assert list(map(method, ["k"])) == [SandboxType]
    unbound = membrane.admit(proxies["collections"].UserDict).get  # Lib.method through a class
    assert list(map(membrane.admit(unbound), [held], ["k"])) == [SandboxType]


def test_an_exception_is_admitted_with_the_objects_it_holds(proxies: Proxies) -> None:
    """AttributeError.obj, StopIteration.value, SystemExit.code hold what library code
    failed on or returned, and a match keyword pattern reads them with the interpreter's
    getattr: admitting the exception admits them in place (a refused one becomes None)."""
    assert run("try:\n    [].nope\nexcept AttributeError as e:\n    r = [e.name, e.obj]\nr", proxies).result == [
        "nope",
        [],
    ]
    failed = AttributeError("nope", name="nope", obj=builtins.type)
    assert membrane.admit(failed) is failed and failed.obj is SandboxType
    namespace = AttributeError("nope", name="nope", obj=vars(builtins))
    membrane.admit(namespace)
    assert namespace.obj is None
    module = AttributeError("nope", name="nope", obj=builtins)
    membrane.admit(module)
    assert module.obj is None
    stop = StopIteration(1)
    stop.value = builtins.type
    membrane.admit(stop)
    assert stop.value is SandboxType


def test_a_method_made_of_what_the_membrane_replaces_calls_the_replacement(proxies: Proxies) -> None:
    assert run("1", proxies).result == 1  # the membrane as a job configures it
    admitted = membrane.admit(types.MethodType(builtins.type, 1))
    assert admitted.__func__ is SandboxType and admitted() is int
    with pytest.raises(SecurityError):
        membrane.admit(types.MethodType(builtins.getattr, 1))


def test_enum_ignore_lists_only_the_bodys_own_names(proxies: Proxies) -> None:
    refused = "import enum\nclass E(enum.Enum):\n    _ignore_ = ['__module__']\n    A = 1"
    error = run(refused, proxies).reply["error"]
    assert error is not None and error["type"] == "SecurityError"
    ordinary = (
        "import enum\nclass E(enum.Enum):\n    _ignore_ = 'i'\n    A = 1\n    for i in range(2):\n        pass\nlen(E)"
    )
    assert run(ordinary, proxies).result == 1


def test_an_exit_callback_receives_what_the_membrane_admits(proxies: Proxies) -> None:
    """ExitStack.push(callable) calls it with the exception being handled and its
    traceback: a C callable of the program's (a bound list.append behind max's key=)
    would store them unseen. The callable gets the admitted values (the traceback None),
    and can still suppress the exception."""
    assert run("1", proxies).result == 1  # the membrane as a job configures it
    recorded: list[Any] = []

    def record(*details: object) -> bool:
        recorded.extend(details)
        return True

    with contextlib.ExitStack() as stack:
        stack.push(record)
        raise KeyError(builtins.type)
    assert recorded[0] is KeyError and recorded[2] is None
    assert recorded[1].args == (SandboxType,)
    code = (
        "import contextlib\nseen = []\nwith contextlib.ExitStack() as s:\n"
        "    s.push(lambda kind, error, trace: seen.append([kind.__name__, str(error), trace]) or True)\n"
        "    raise KeyError('x')\nseen"
    )
    assert run(code, proxies).result == [["KeyError", "'x'", None]]


def test_a_tuple_a_library_function_returns_holds_only_what_the_membrane_admits(proxies: Proxies) -> None:
    """A crossing's tuple result is looked into: C code takes elements out of a tuple
    unseen (typing.get_args kept a ForwardRef, a class the catalogue refuses)."""
    refused = run("import typing\ntyping.get_args(typing.List['x'])", proxies).reply["error"]
    assert refused is not None and refused["type"] == "SecurityError"
    assert run("import typing\n[a.__name__ for a in typing.get_args(dict[str, int])]", proxies).result == [
        "str",
        "int",
    ]


def test_a_make_dataclass_class_belongs_to_main(proxies: Proxies) -> None:
    code = "import dataclasses\nD = dataclasses.make_dataclass('D', ['x'])\n[D.__module__, repr(D(1))]"
    assert run(code, proxies).result == ["__main__", "D(x=1)"]


def test_containers_library_code_made_are_admitted_at_any_depth(proxies: Proxies) -> None:
    """An exception's args and a crossing's tuple may hold sets, lists and dicts that
    library code filled (typing's Literal deduplication raised an AssertionError over a
    set of (value, type(value)) pairs): everything inside is admitted, and only what
    changes is rebuilt."""
    assert run("1", proxies).result == 1  # the membrane as a job configures it
    raised = AssertionError({("x", builtins.type)}, [builtins.type], {"k": (builtins.type,)})
    membrane.admit(raised)
    pairs, listed, mapped = raised.args
    assert pairs == {("x", SandboxType)} and listed == [SandboxType] and mapped == {"k": (SandboxType,)}
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    assert membrane.admitted_nested(cyclic) is cyclic
    plain = ([1, 2], {"a": {3}}, frozenset({4}))
    assert membrane.admitted_nested(plain) is plain
    with pytest.raises(SecurityError):
        membrane.admit_capture([[builtins.getattr]])


def test_a_library_operator_admits_its_operands(proxies: Proxies) -> None:
    """Library code compares what it holds with the program's value, and the reflected
    operator is a library's Python operator that passes its operand on to hooks
    (UserList.__eq__ to self._UserList__cast): a sealed operator admits its operands as
    well as its result. Here the hook is not a function of the program's, which would
    admit its own parameters."""
    assert run("import collections\ncollections.UserList([1]) == [1]", proxies).result is True
    received: list[Any] = []
    items: collections.UserList[Any] = collections.UserList()

    def cast(other: object) -> list[Any]:
        received.append(other)
        return []

    items._UserList__cast = cast  # type: ignore[attr-defined]
    assert items == builtins.type
    assert received == [SandboxType]


def test_dataclass_options_are_decided_before_the_library_runs(proxies: Proxies) -> None:
    """dataclass asks ``if slots:`` right before it rebuilds the class from its namespace:
    an option's ``__bool__`` of the program's set a docstring with a text signature
    there, which inspect.signature then evaluated. Options are exact bools, decided
    first, and a rebuilt class with a text signature is refused."""
    code = (
        "import dataclasses\nclass C:\n    a: int = 0\nclass Sneaky:\n    def __bool__(self):\n"
        "        C.__doc__ = 'C(a=sys.version)\\n--\\n\\n'\n        return True\n"
        "try:\n    R = dataclasses.dataclass(slots=Sneaky())(C)\n    r = None\n"
        "except Exception as e:\n    r = type(e).__name__\nr"
    )
    assert run(code, proxies).result == "SecurityError"
    assert (
        run("import dataclasses\n@dataclasses.dataclass(slots=1)\nclass P:\n    x: int = 1\nP().x", proxies).result == 1
    )


def test_the_sandboxs_own_helpers_are_not_held(proxies: Proxies) -> None:
    """The membrane approves the sandbox's functions one by one: a module-level helper of
    its own (real_class returns the real class behind a stand-in) is refused whatever
    route brought it; what it offers and its classes' methods pass."""
    from src.worker import stand_ins

    assert run("1", proxies).result == 1  # the membrane as a job configures it
    with pytest.raises(SecurityError):
        membrane.admit(stand_ins.real_class)
    assert run("d = {}\nclass C:\n    pass\nc = C()\nvars(c).update(a=1)\nc.a", proxies).result == 1


def test_an_exit_callback_appended_to_the_stack_directly_is_admitted_too(proxies: Proxies) -> None:
    """A callback the program appends to its ExitStack subclass's own list, past push(),
    gets the admitted values too (the recorder here admits nothing itself)."""
    assert run("1", proxies).result == 1  # the membrane as a job configures it
    recorded: list[Any] = []

    def record(*details: object) -> bool:
        recorded.extend(details)
        return True

    with contextlib.ExitStack() as stack:
        stack._exit_callbacks.append((True, record))  # type: ignore[attr-defined]
        raise KeyError("x")
    assert [type(value).__name__ for value in recorded] == ["type", "KeyError", "NoneType"]


def test_functions_of_the_types_module_are_not_held(proxies: Proxies) -> None:
    """enum.property's base is a class of ``types``, which is not offered: its
    module-level functions (``new_class`` builds a class from any namespace) stay refused."""
    assert run("1", proxies).result == 1  # the membrane as a job configures it
    for function in (types.new_class, types.prepare_class, types.resolve_bases):
        with pytest.raises(SecurityError):
            membrane.admit(function)


def test_inherited_dataclass_fields_are_checked_for_the_class_being_processed(proxies: Proxies) -> None:
    """A field inherited from a program dataclass is checked against the library classes
    of every class processed with it (make_dataclass included), and make_dataclass works
    on a base with its own __init_subclass__."""
    refused = (
        "import dataclasses, pprint\n@dataclasses.dataclass\nclass B0:\n"
        "    _dispatch: object = dataclasses.field(init=False, default=None)\n"
        "dataclasses.make_dataclass('B', [], bases=(B0, pprint.PrettyPrinter))"
    )
    error = run(refused, proxies).reply["error"]
    assert error is not None and error["type"] == "SecurityError"
    hooked = (
        "import dataclasses\nclass Base:\n    seen = []\n    def __init_subclass__(cls, **kw):\n"
        "        super().__init_subclass__(**kw)\n        Base.seen.append(cls.__name__)\n"
        "D = dataclasses.make_dataclass('D', ['x'], bases=(Base,))\n[Base.seen, D(1).x, D.__module__]"
    )
    assert run(hooked, proxies).result == [["D"], 1, "__main__"]


def test_a_namedtuple_admits_what_library_code_constructs_it_with(proxies: Proxies) -> None:
    """A namedtuple's generated __new__ stored whatever C code called the class with
    (an exit callback's raw traceback, then ``list(record)`` handed it out): the class's
    __new__ now admits its arguments as a def's would, and keeps the signature."""
    begin_job()
    kept = proxies["collections"].namedtuple("Kept", "kind trace", defaults=[None])
    with pytest.raises(SecurityError):
        kept(1, sys._getframe())
    with pytest.raises(SecurityError):
        kept(kind=sys._getframe())
    assert tuple(kept(1)) == (1, None)
    assert str(inspect.signature(kept)) == "(kind, trace=None)"
    # A program class over a library's namedtuple inherits its generated __new__: it
    # gets an admitting one of its own.

    over_a_library_one = type("Parts", (urllib.parse.SplitResult,), {"__module__": "__main__"})
    ownership.current().add(over_a_library_one)
    with pytest.raises(SecurityError):
        over_a_library_one("http", sys._getframe(), "/", "", "")
    assert over_a_library_one("http", "host", "/", "", "").netloc == "host"


def test_exception_args_read_past_the_class_pass_the_membrane() -> None:
    """``super(Exception, e).args`` reads the same tuple as ``e.args``: C code
    (``Exception.__init__`` as a callback) stores whatever it is called with there."""
    holder = Exception(1, sys._getframe())
    direct = _outcome(lambda: guarded_getattr(holder, "args"))
    through_super = _outcome(lambda: guarded_getattr(super(Exception, holder), "args"))
    assert through_super == direct != repr(holder.args)


def _outcome(read: Any) -> str:
    try:
        return repr(read())
    except SecurityError:
        return "SecurityError"


def test_an_error_in_a_contextmanagers_with_body_points_at_its_line(proxies: Proxies) -> None:
    """The generator is thrown the exception without its traceback; the traceback is
    given back as the exception leaves the with statement."""
    code = (
        "import contextlib\n@contextlib.contextmanager\ndef plain():\n    yield\n"
        "with plain():\n    x = 1\n    int('not a number')\n"
    )
    assert run(code, proxies).error["line"] == 7


def test_a_tuple_read_through_an_alias_over_an_exception_is_admitted() -> None:
    """An alias forwards attribute reads to its origin: ``alias(e, ()).args`` is ``e.args``,
    which C code (``Exception.__init__`` as a callback) can fill after the alias exists."""
    holder = Exception(1)
    alias = membrane.GuardedAlias(holder, ())
    holder.args = (1, sys._getframe())
    assert _outcome(lambda: guarded_getattr(alias, "args")) == _outcome(lambda: guarded_getattr(holder, "args"))


def test_a_dataclass_init_admits_what_library_code_constructs_it_with(proxies: Proxies) -> None:
    """The __init__ dataclasses generates for the program's class stored whatever C code
    called the class with; it now admits each parameter first, as a def does."""
    user_classes = begin_job()
    kept = type("Kept", (), {"__annotations__": {"a": object, "b": object}, "__module__": "__main__", "b": None})
    user_classes.add(kept)
    kept = proxies["dataclasses"].dataclass(kept)
    with pytest.raises(SecurityError):
        kept(sys._getframe())
    with pytest.raises(SecurityError):
        kept(1, b=sys._getframe())
    assert (kept(1).a, kept(1, 2).b) == (1, 2)


def test_an_iterator_a_c_module_returns_is_held_but_cannot_be_made(proxies: Proxies) -> None:
    """``struct.iter_unpack`` (a guarded replacement) and ``Struct.iter_unpack`` return a
    ``_struct.unpack_iterator``, ``reversed(deque)`` a ``_collections`` iterator: the
    module's own classes, held like the module's others; the class cannot make one."""
    code = (
        "import struct\nit = struct.iter_unpack('<h', b'\\x01\\x00\\x02\\x00')\nT = type(it)\n"
        "try:\n    T()\n    made = 'made'\nexcept TypeError:\n    made = 'refused'\n"
        "import collections\nd = collections.deque([1, 2])\n"
        "[list(it), list(struct.Struct('<h').iter_unpack(b'\\x03\\x00')), made, list(reversed(d))]"
    )
    assert run(code, proxies).result == [[[1], [2]], [[3]], "refused", [2, 1]]


def _holders_of(value: object) -> list[object]:
    field = dataclasses.field(default=value)
    factory = dataclasses.field(default_factory=value)  # type: ignore[call-overload]
    cached: functools.cached_property[Any] = functools.cached_property(value)  # type: ignore[arg-type]
    accessor = enum.property(value)  # type: ignore[arg-type]
    more: list[object] = [
        enum.auto(value),  # type: ignore[call-arg]
        functools.cmp_to_key(value),  # type: ignore[arg-type]
        abc.abstractproperty(value),  # type: ignore[arg-type]
        contextlib.closing(value),  # type: ignore[type-var]
        contextlib.nullcontext(value),
    ]
    if callable(value):  # it takes a callable only
        more.append(functools.singledispatchmethod(value))
    return [field, factory, enum.member(value), enum.nonmember(value), cached, accessor, *more]


def test_a_holder_is_held_only_with_what_the_membrane_would_hold(proxies: Proxies) -> None:
    """A Field, enum.member/nonmember/auto, cached_property, enum.property, a property
    subclass, cmp_to_key, singledispatchmethod, closing and nullcontext hand what they
    hold to other code later (Field.__set_name__ passes its default on; a class namespace
    unwraps a member; a call or a with runs it): each passes only if what it holds would,
    unchanged."""
    run("1", proxies)
    for name, capability in CAPABILITIES.items():
        for holder in _holders_of(capability):
            with pytest.raises(SecurityError):
                membrane.admit(holder)
        assert name
    for holder in _holders_of(len):
        assert membrane.admit(holder) is holder


def test_a_class_a_library_factory_builds_takes_only_values_the_program_could_hold(proxies: Proxies) -> None:
    """The Enum functional API and make_dataclass write values from containers into the
    class as a class body would: each passes the membrane first (C code can fill a
    container with what the program may not hold)."""
    run("1", proxies)
    make_dataclass = vars(proxies["dataclasses"])["make_dataclass"]
    for capability in (builtins.eval, sys._getframe(), json):
        with pytest.raises(SecurityError):
            enum.Enum("E", {"a": capability})
        with pytest.raises(SecurityError):
            make_dataclass("D", [("a", int, capability)])
        with pytest.raises(SecurityError):
            make_dataclass("D", [("a", int)], namespace={"b": capability})
    E: Any = enum.Enum("E", {"a": 1, "b": 2})
    assert [m.value for m in E] == [1, 2]
    assert make_dataclass("D", [("a", int, 3)])().a == 3


def test_enum_holders_cannot_be_subclassed(proxies: Proxies) -> None:
    """enum.member/nonmember/auto are judged by their instance dict: a subclass with
    ``__slots__ = ("value",)`` would keep the value where that check does not look."""
    for holder in ("member", "nonmember", "auto"):
        code = f"import enum\nclass H(enum.{holder}):\n    __slots__ = ('value',)"
        assert run(code, proxies).error_type == "SecurityError", holder


@pytest.mark.parametrize(
    "code",
    [
        # Counter's code calls self.items(), which dict (a C base) defines.
        "import collections\nbox = []\nclass C(collections.Counter):\n    items = box.append",
        # MutableSet.__ior__ (a sealed operator) calls self.add.
        "import collections.abc\nbox = []\nclass S(collections.abc.MutableSet):\n    add = box.append\n"
        "    __contains__ = __iter__ = __len__ = None\n    def discard(self, v):\n        pass",
    ],
    ids=["method-a-c-base-defines", "method-a-sealed-operator-calls"],
)
def test_a_hook_called_by_any_library_code_of_the_class_must_be_a_def(proxies: Proxies, code: str) -> None:
    error = run(code, proxies).error
    assert error["type"] == "SecurityError"
    assert "must be a function the program defines (def)" in error["message"]


def test_a_read_only_view_of_a_namespace_is_refused(proxies: Proxies) -> None:
    run("1", proxies)  # the membrane as a job configures it
    ordinary = types.MappingProxyType({"a": 1})
    assert membrane.admit(ordinary) is ordinary
    for namespace in (vars(json.JSONDecoder), vars(SandboxType), types.MappingProxyType(vars(json))):
        with pytest.raises(SecurityError):
            membrane.admit(namespace)


def test_an_exception_whose_field_cannot_be_judged_is_still_bound(proxies: Proxies) -> None:
    """An lru_cache wrapper built from its class (no __wrapped__) made the holder check
    fail with AttributeError: the AttributeError carrying it could not be bound by any
    ``except ... as`` (pass 60). The field is judged, or handed out as None."""
    code = (
        "import functools\nLW = type(functools.lru_cache()(len))\n"
        "try:\n    r = LW(len, None, False, tuple)('ab')\nexcept Exception as e:\n    r = type(e).__name__\nr"
    )
    assert run(code, proxies).reply["error"] is None


def _plant_records(box: list[Any]) -> None:
    """Records whose list holds a value the program may not hold, as only a test can."""
    box.extend((i, [os.getpid]) for i in range(3))


def test_a_sealed_subscript_admits_what_it_returns_one_level_deep(proxies: Proxies) -> None:
    """A library __getitem__ (UserList's) hands back what the program stored: its result
    and a tuple's elements pass the membrane, and what they hold is checked when read, as
    in any list. Walking every record to its leaves made iterating a UserList of records
    quadratic (pass 64)."""
    code = (
        "import collections\nbox = []\nplant(box)\nrecords = collections.UserList(box)\n"
        "kept = [len(r[1]) for r in records]\n"
        "try:\n    records[0][1][0]\n    read = 'read'\nexcept Exception as e:\n    read = type(e).__name__\n"
        "[kept, read]"
    )
    assert run(code, proxies, context={"plant": _plant_records}).result == [[1, 1, 1], "SecurityError"]


# --------------------------------------------------------------------------- holders

#: Offered classes whose instances keep what their constructor was given but never call
#: it (data: names, templates, keys, maps, a view's mapping): reviewed, not holders.
REVIEWED_DATA_KEEPERS = {
    "calendar.Calendar", "calendar.HTMLCalendar", "calendar.TextCalendar", "collections.ChainMap",
    "collections.abc.ItemsView", "collections.abc.KeysView", "collections.abc.MappingView",
    "collections.abc.ValuesView", "contextlib.suppress", "csv.DictReader", "dataclasses.InitVar",
    "decimal.DecimalTuple", "difflib.Match", "enum.verify", "itertools.repeat", "operator.itemgetter",
    "operator.methodcaller", "statistics.LinearRegression", "string.Template", "textwrap.TextWrapper",
    "typing.NewType", "typing.ParamSpec", "typing.ParamSpecArgs", "typing.ParamSpecKwargs",
    "typing.TypeVar", "typing.TypeVarTuple", "urllib.parse.DefragResult", "urllib.parse.DefragResultBytes",
}  # fmt: skip


def _keeps(instance: object, marker: object) -> bool:
    """Whether ``instance`` holds ``marker``: in its dict, slots or C fields (what the
    collector sees it hold), or one or two containers down."""
    pending: list[tuple[object, int]] = [(referent, 0) for referent in gc_referents(instance)]
    while pending:
        current, depth = pending.pop()
        if current is marker:
            return True
        if depth < 2 and isinstance(current, dict):
            pending.extend((item, depth + 1) for item in [*current.keys(), *current.values()])
        elif depth < 2 and isinstance(current, (list, tuple, set)):
            pending.extend((item, depth + 1) for item in current)
    return False


def gc_referents(instance: object) -> list[object]:
    return list(gc.get_referents(instance))


def test_every_offered_class_that_keeps_a_callable_it_was_built_with_is_a_holder(proxies: Proxies) -> None:
    """C code constructs library objects positionally from values no guard has seen
    (``map(difflib.Differ, fs, gs)``); one that keeps a callable to call later must be
    checked as a holder (its fields through the membrane). Every offered class, built with
    a marker in each positional slot and each keyword: those that keep it are holders or
    reviewed data keepers (a new one fails here until it is classified)."""
    import importlib

    from src.language.catalogue import CATALOGUE

    run("1", proxies)

    def marker(*args: object, **kwargs: object) -> int:
        return 0

    found = set()
    for module_name, rule in CATALOGUE.items():
        module = importlib.import_module(module_name)
        # A class the proxy replaces with a function of the sandbox's is not offered.
        replacements = REPLACEMENTS[module_name]() if module_name in REPLACEMENTS else {}
        replaced = {name for name, value in replacements.items() if isinstance(value, types.FunctionType)}
        for name in sorted(set(rule.allowed) - replaced):
            cls = getattr(module, name, None)
            if not isinstance(cls, type) or issubclass(cls, BaseException):
                continue
            shapes: list[tuple[list[object], dict[str, object]]] = [
                ([marker], {}), (["a", marker], {}), (["a", "b", marker], {}), ([marker, "ab", "ab"], {}),
                ([1, 1, marker, marker], {}),
            ]  # fmt: skip
            try:
                parameters = inspect.signature(cls).parameters
            except (TypeError, ValueError):
                parameters = {}  # type: ignore[assignment]
            shapes += [
                ([], {p: marker})
                for p, parameter in parameters.items()
                if parameter.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            ]
            for args, kwargs in shapes:
                try:
                    instance = cls(*args, **kwargs)
                except Exception:  # noqa: BLE001 - not this shape
                    continue
                if _keeps(instance, marker) and membrane._callable_holder(type(instance)) is None:
                    found.add(f"{module_name}.{name}")
    assert found == REVIEWED_DATA_KEEPERS


@pytest.mark.parametrize(
    ("base", "slots", "build"),
    [
        ("difflib.SequenceMatcher", '("isjunk",)', "map(Slotted, raw, ['ab'], [''])"),
        ("difflib.Differ", '("linejunk", "charjunk")', "map(Slotted, raw, raw)"),
        ("pprint.PrettyPrinter", '("_stream",)', "map(Slotted, [1], [80], [None], raw)"),
    ],
)
def test_a_holder_subclass_keeping_the_held_field_in_a_slot_is_still_judged_by_it(
    proxies: Proxies, base: str, slots: str, build: str
) -> None:
    """A program subclass of a holder whose __slots__ names the held field: the library's
    ``self.isjunk = isjunk`` stores into the slot, which a look at the instance dict alone
    never saw (pass 66). C code builds one over a value the program never held."""
    code = f"import difflib, pprint\nclass Slotted({base}):\n    __slots__ = {slots}\nmade = list({build})\nmade[0]"
    planted = {"raw": [os.getpid]}
    assert run(code, proxies, context=planted).error_type == "SecurityError"


class _RawSink:
    """A file the program never held (this module's class, refused by the membrane)."""

    def write(self, text: str) -> int:
        return len(text)


@pytest.mark.parametrize(
    ("build", "raw"),
    [
        ("list(map(re.Scanner, raw))[0]", [[("a", os.getpid)]]),
        ("list(map(csv.writer, raw))[0]", [_RawSink()]),
    ],
    ids=["scanner", "csv-writer"],
)
def test_library_objects_that_call_what_they_were_built_with_are_judged_by_it(
    proxies: Proxies, build: str, raw: list[object]
) -> None:
    """re.Scanner calls each action of its lexicon in scan(); a csv writer calls the write
    method it read off its file (pass 66): built by C code over a value the program never
    held, each is refused as a partial over it is."""
    outcome = run(f"import csv, re\n{build}", proxies, context={"raw": raw})
    assert outcome.error_type == "SecurityError", outcome.reply


def test_operator_getitem_and_itemgetter_admit_the_keys_c_code_gives_them(proxies: Proxies) -> None:
    """The program's own subscript passes keys it holds; C code calling operator.getitem or
    building an itemgetter passes keys no guard has seen (pass 66 F7): they pass the
    membrane too, and ordinary keys still work."""
    planted = {"raw": [os.getpid]}
    assert run("import operator\nlist(map(operator.getitem, [{}], raw))", proxies, context=planted).error_type == (
        "SecurityError"
    )
    assert run("import operator\nlist(map(operator.itemgetter, raw))", proxies, context=planted).error_type == (
        "SecurityError"
    )
    ordinary = "import operator\n[list(map(operator.getitem, [{'a': 1}], ['a'])), operator.itemgetter(1, 0)('xy')]"
    assert run(ordinary, proxies).result == [[1], ["y", "x"]]


def test_the_pure_ordereddict_has_no_base_that_takes_its_hidden_parameters(proxies: Proxies) -> None:
    """The pure class's __setitem__ takes the dict's functions and its link class as
    defaulted parameters; the offered class is built from its namespace, so no base a
    program could subclass still takes them (pass 67 F5)."""
    code = (
        "import collections\nclass Own(collections.OrderedDict):\n    pass\n"
        "o = Own()\ntry:\n    super(Own, o).__setitem__('k', 1, dict.__setitem__, id, list)\n    r = 'took them'\n"
        "except TypeError:\n    r = 'TypeError'\n"
        "try:\n    type(collections.OrderedDict()).__mro__\n    m = 'read'\nexcept Exception as e:\n"
        "    m = type(e).__name__\n[[c.__name__ for c in Own.__mro__], m, r]"
    )
    assert run(code, proxies).result == [["Own", "OrderedDict", "dict", "object"], "SecurityError", "TypeError"]


def test_the_sandboxs_setup_helpers_and_command_line_entry_points_are_refused(proxies: Proxies) -> None:
    """Every module-level function of the sandbox's own modules passes only as offered (its
    setup helpers replace the guards of format fields or a class's __new__), and no
    module's command-line entry point passes, however it is reached (attack pass 78, H1);
    the functions the program does hold still pass."""
    import base64
    import calendar

    from src.worker import crossing, formatting, printing

    run("1", proxies)  # configured
    helpers = [formatting.set_field_guards, crossing.admit_generated_constructor, crossing.method_crossing]
    entry_points = [base64.main, calendar.main]  # type: ignore[attr-defined]
    for function in [*helpers, printing.make_print, *entry_points]:
        with pytest.raises(SecurityError):
            membrane.admit(function)
    assert membrane.admit(formatting.unbound_format) is formatting.unbound_format
    assert run("str.format('{} {}', 1, 2)", proxies).result == "1 2"


def test_a_class_of_an_unknown_metaclass_is_refused_before_any_table_sees_it(proxies: Proxies) -> None:
    """A metaclass whose __hash__/__eq__ are C callables is handed the keys of every table
    that looks its classes up (attack passes 81 and 83: the real CodeType, from the
    membrane's own refusal table). No program can make one (type cannot be subclassed);
    should one exist, the membrane refuses its classes and their instances before any
    lookup."""
    run("1", proxies)  # configured as for a job
    captured: list[object] = []
    hostile = type("M", (type,), {"__eq__": captured.append, "__hash__": functools.partial(int, hash(types.CodeType))})
    made = hostile("X", (), {})
    for value in (made, made()):
        with pytest.raises(SecurityError, match="metaclass the sandbox does not know"):
            membrane.admit(value)
    assert captured == []


@pytest.mark.parametrize(
    "reached",
    [
        pytest.param("type(print)", id="print"),
        pytest.param("type(compile('1', 's', 'eval'))", id="compiled-source"),
        pytest.param("class Box:\n    a = 1\ntype(vars(Box))", id="namespace-view"),
        pytest.param("import sys\ntype(sys.stdout)", id="standard-stream"),
    ],
)
def test_the_sandboxs_own_classes_are_inert_stand_ins(proxies: Proxies, reached: str) -> None:
    """The sandbox's classes show a library's module (``builtins.code``); judged by that
    module, each passed as a library class the program could call and subclass (pass 88).
    They are judged by identity: the program holds a stand-in that answers isinstance."""
    *setup, last = reached.splitlines()
    prefix = "\n".join(setup) + "\n" if setup else ""
    code = (
        f"{prefix}C = {last}\nout = []\ntry:\n    C()\nexcept Exception as e:\n    out.append(type(e).__name__)\n"
        "try:\n    class D(C):\n        pass\nexcept Exception as e:\n    out.append(type(e).__name__)\nout"
    )
    called, subclassed = run(code, proxies).result
    assert called == "SecurityError" and subclassed in {"SecurityError", "TypeError"}


def test_type_hints_a_library_function_wrote_pass_the_membrane(proxies: Proxies) -> None:
    """get_type_hints hands back a dict, which is plain: neither the call's result check
    nor C code reading it looks inside, and a library's annotation can nest what the
    program may not hold (``type[Any]``, an alias that calls the real ``type``; pass 89).
    Each value passes the membrane."""
    import typing

    from src.worker.library_guards import _typing_introspection

    run("1", proxies)  # a job's membrane
    get_type_hints = _typing_introspection()["get_type_hints"]

    def written_by_a_library(kind: object, count: object) -> None: ...

    written_by_a_library.__annotations__ = {"kind": type[typing.Any], "count": int}  # objects, not strings
    with pytest.raises(SecurityError):
        get_type_hints(written_by_a_library)
    written_by_a_library.__annotations__ = {"count": int, "name": str, "return": None}
    assert get_type_hints(written_by_a_library) == {"count": int, "name": str, "return": type(None)}
