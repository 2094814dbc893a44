"""The data tier's guards, wired: the replacements of its module members (REPLACEMENTS,
for library_guards.build_proxies), the guarded versions of instance attributes
(INSTANCE_GUARDS, for instance_rules), and configure_rules, which the data template runs
once its proxies are built: the attribute allow-lists, the settable attributes, and the
library settings of pandas_guards and plot_guards.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from types import FunctionType
from typing import Any

from .data_arguments import format_checked, writer_method
from .guards import INTERNAL_LAZY_PACKAGES
from .membrane import instances_still_made
from .numpy_guards import numpy_replacements
from .pandas_guards import (
    aggfunc_checked,
    codes_guard,
    columns_by_attribute,
    dispatching,
    pandas_replacements,
    plot_with_matplotlib_only,
    query_guard,
    verified_multi_indexes,
    zone_names_only,
)
from .plot_guards import (
    STYLE_KEYS,
    adopt_only_figures,
    cap_open_figures,
    draw_within_the_pixel_limit,
    draw_without_tex_or_font_files,
    matplotlib_replacements,
    pyplot_replacements,
    savefig_guard,
    setters_guard,
    style_keys,
    style_replacements,
)
from .proxies import public_members

#: Module name -> its replacements (library_guards.REPLACEMENTS), built in the data template.
REPLACEMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "numpy": numpy_replacements,
    "pandas": pandas_replacements,
    "matplotlib": matplotlib_replacements,
    "matplotlib.pyplot": pyplot_replacements,
    "matplotlib.style": style_replacements,
}


#: Attribute name -> factory(receiver, real attribute) of its guarded version, for the
#: names data_catalogue.GUARDED_ATTRIBUTES lists.
INSTANCE_GUARDS: dict[str, Callable[[Any, Any], Any]] = {
    "to_csv": writer_method("to_csv", "path_or_buf"),
    "to_json": writer_method("to_json", "path_or_buf"),
    "to_string": writer_method("to_string", "buf"),
    "savefig": savefig_guard,
    "query": query_guard,
    "agg": dispatching("agg"),
    "aggregate": dispatching("aggregate"),
    "apply": dispatching("apply"),
    "transform": dispatching("transform"),
    "filter": dispatching("filter"),
    "pivot_table": lambda receiver, real: aggfunc_checked(real, "pivot_table", 3),
    "set_codes": codes_guard("set_codes"),
    "set_levels": codes_guard("set_levels"),
    "bar_label": lambda receiver, real: format_checked(real, "bar_label", "fmt"),
    "set": setters_guard("set"),
    "update": setters_guard("update"),
}


#: The libraries' own MemoryError classes, raised where their allocator (not the
#: interpreter's) failed: the memory limit, as the interpreter's MemoryError is
#: (runner._made_by_the_program). The program cannot make one (the class is not offered).
ALLOCATION_ERRORS: set[type] = set()


def _resolve(path: str) -> type | None:
    """The class named "module.QualName", if its module is imported."""
    module_name, _, rest = path.rpartition(".")
    while module_name:
        module = sys.modules.get(module_name)
        if module is not None:
            value: Any = module
            for part in rest.split("."):
                value = getattr(value, part, None)
            return value if isinstance(value, type) else None
        module_name, _, head = module_name.rpartition(".")
        rest = f"{head}.{rest}"
    return None


#: The attributes pandas tells its own objects apart by (pandas.core.dtypes.generic).
_TYPE_TAGS = frozenset({"_typ", "_subtyp"})
#: Py_TPFLAGS_IMMUTABLETYPE: a C type, whose attributes cannot be set.
_IMMUTABLE_TYPE = 1 << 8


def _subclasses(root: type) -> list[type]:
    found: list[type] = []
    seen: set[int] = set()
    pending = [root]
    while pending:
        cls = pending.pop()
        subclasses: list[type] = type.__subclasses__(cls)
        for sub in subclasses:
            if id(sub) not in seen:
                seen.add(id(sub))
                found.append(sub)
                pending.append(sub)
    return found


def fence_library_getattr(libraries: tuple[str, ...]) -> int:
    """A class of the libraries with a ``__getattr__`` of its own answers names nobody
    defined with data: a Series or frame its labels (``pd.Series([d],
    index=["__array_interface__"]).__array_interface__`` is ``d``), matplotlib's Spines its
    keys. numpy and the interpreter read protocol names (``__array_interface__``,
    ``__array_struct__``...) with the real getattr: a program's dict there is an array over
    any address (attack pass 97). As the program's own ``__getattr__`` is fenced
    (guards.py), these never answer a special name (nor pandas' type tags). Returns how many
    were fenced."""
    fenced = 0
    for cls in _subclasses(object):
        module = type.__dict__["__module__"].__get__(cls)
        hook = cls.__dict__.get("__getattr__")
        if type(module) is not str or module.partition(".")[0] not in libraries:
            continue
        if type(hook) is not FunctionType or cls.__flags__ & _IMMUTABLE_TYPE:
            continue  # none, or a C type's (which the membrane's rules cover as values)
        type.__setattr__(cls, "__getattr__", _fenced(hook))
        fenced += 1
    return fenced


def _fenced(hook: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    def __getattr__(self: Any, name: str) -> Any:
        # And pandas' type tags: pandas recognises its own objects by `_typ` (a Spines entry
        # named so passed as a Series to pandas' C code, attack pass 97). Other private
        # names are the libraries' own delegation (a renderer's `_rasterizing`).
        if type(name) is not str or (name[:2] == "__" and name[-2:] == "__") or name in _TYPE_TAGS:
            raise AttributeError(name)
        return hook(self, name)

    return __getattr__


def configure_rules(attrs_by_name: Mapping[str, Mapping[str, Any]], writable: dict[type, frozenset[str]]) -> None:
    """In the data template, after its proxies are built: the attribute allow-lists
    (instance_rules.py) for every class its proxies offer, and the attributes a program
    may assign (guards.WRITABLE_LIBRARY_ATTRIBUTES, ``writable``)."""
    from ..language.data_catalogue import (  # noqa: PLC0415 - the tables are the data template's
        DATA_CATALOGUE,
        DATA_LIBRARIES,
        GUARDED_ATTRIBUTES,
        INSTANCE_ATTRIBUTES,
        WRITABLE_ATTRIBUTES,
    )
    from . import instance_rules  # noqa: PLC0415

    instance_rules.configure(DATA_LIBRARIES, INSTANCE_ATTRIBUTES, GUARDED_ATTRIBUTES, INSTANCE_GUARDS)
    fence_library_getattr(DATA_LIBRARIES)
    if "matplotlib.pyplot" in attrs_by_name:
        adopt_only_figures()
        cap_open_figures()  # after: its check runs first
        draw_without_tex_or_font_files()
        draw_within_the_pixel_limit()
        STYLE_KEYS.update(style_keys())
    if "pandas" in attrs_by_name:
        plot_with_matplotlib_only()
        verified_multi_indexes()
        columns_by_attribute()
        zone_names_only()
    numpy_errors = sys.modules.get("numpy._core._exceptions")
    if numpy_errors is not None:
        ALLOCATION_ERRORS.add(numpy_errors._ArrayMemoryError)  # noqa: SLF001 - numpy's allocation failure
    # The libraries' C code imports their own modules lazily, by name, through the
    # program's __import__ (numpy's cached imports): it gets the real module (guards.py).
    INTERNAL_LAZY_PACKAGES.update(DATA_LIBRARIES)
    for module in attrs_by_name:
        if module in DATA_CATALOGUE:
            rule = DATA_CATALOGUE[module]
            real = sys.modules[module]
            for name in public_members(real) - rule.allowed.keys() - rule.refused.keys():
                value = getattr(real, name, None)
                if isinstance(value, type):
                    # Not offered, but the library hands out its instances (a Figure from
                    # plt.subplots): the class is a stand-in, its instances pass, with the
                    # attributes its allow-list names (instance_rules.py).
                    instances_still_made(value)
    for module, attrs in attrs_by_name.items():
        if module in DATA_CATALOGUE:
            for value in attrs.values():
                if isinstance(value, type):
                    instance_rules.rule(value)
    for path in INSTANCE_ATTRIBUTES:
        cls = _resolve(path)
        if cls is not None:
            instance_rules.rule(cls)
    for path, names in WRITABLE_ATTRIBUTES.items():
        cls = _resolve(path)
        if cls is not None:
            writable[cls] = names


#: (module, name) -> the module entry whose proxy the name is: a package's submodule that
#: is a catalogue entry of its own, reached under another module's name (plt.style).
SUBMODULE_ALIASES = {("matplotlib.pyplot", "style"): "matplotlib.style"}


def alias_submodules(proxies: Mapping[str, Any]) -> None:
    for (module, name), entry in SUBMODULE_ALIASES.items():
        if module in proxies and entry in proxies:
            vars(proxies[module])[name] = proxies[entry]
