"""The data tier's allow-lists (src/language/data_catalogue.py) against the installed
libraries: every class a rule names exists under that name, every name it lists exists on
the class, and every member or attribute marked as guarded has its guard (and no guard
is left without its entry). A new release that renames or drops something fails here
before the sandbox offers it; what a release adds is not offered until listed."""

from __future__ import annotations

import functools
import importlib
import re
from pathlib import Path

import pytest

from src.language.catalogue import GUARDED
from src.language.data_catalogue import (
    DATA_CATALOGUE,
    DATA_LIBRARIES,
    GUARDED_ATTRIBUTES,
    INSTANCE_ATTRIBUTES,
    WRITABLE_ATTRIBUTES,
)
from src.language.data_use import DATA_LIBRARIES as ROUTED_LIBRARIES
from src.language.data_use import may_use_data_libraries

pytest.importorskip("numpy")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
pytest.importorskip("matplotlib.pyplot")  # imports the modules of the classes the rules name

from src.worker import data_guards

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements-data.txt"


def _resolved(path: str) -> type:
    cls = data_guards._resolve(path)
    assert cls is not None, f"{path} names no class of the installed libraries"
    return cls


@pytest.mark.parametrize("path", sorted({*INSTANCE_ATTRIBUTES, *WRITABLE_ATTRIBUTES, *GUARDED_ATTRIBUTES}))
def test_every_rule_names_a_class_under_its_own_name(path: str) -> None:
    cls = _resolved(path)
    assert f"{cls.__module__}.{cls.__qualname__}" == path


@functools.cache
def _samples() -> list[object]:
    """Instances of the ruled classes, for names set on instances (an Axes's xaxis)."""
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots()
    axes.plot([1, 2], label="a")
    axes.bar(["x"], [1])
    axes.set_title("t")
    axes.annotate("n", (1, 1))
    image = axes.imshow(np.zeros((2, 2)))
    colorbar = figure.colorbar(image)
    legend = axes.legend()
    xaxis = axes.xaxis
    found = [figure, axes, colorbar, legend, xaxis, *xaxis.get_major_ticks(), axes.spines, axes.spines["left"]]
    found += [axes.spines[["top", "right"]], plt.get_cmap("viridis")]
    found += [*axes.lines, *axes.texts, *axes.patches, *axes.images, *axes.containers, axes.title]
    found += [np.finfo(float), np.iinfo(int)]
    plt.close(figure)
    return found


@pytest.mark.parametrize("path", sorted(INSTANCE_ATTRIBUTES))
def test_every_readable_name_exists_on_its_class(path: str) -> None:
    cls = _resolved(path)
    fields = set(getattr(cls, "_fields", ()))  # a namedtuple's are instance values
    missing = {name for name in INSTANCE_ATTRIBUTES[path] if not hasattr(cls, name) and name not in fields}
    instances = [sample for sample in _samples() if isinstance(sample, cls)]
    missing = {name for name in missing if not any(hasattr(sample, name) for sample in instances)}
    assert sorted(missing) == [], f"{path}: {sorted(missing)}"


def test_every_guarded_attribute_is_readable_and_has_its_guard() -> None:
    for path, names in GUARDED_ATTRIBUTES.items():
        assert names <= INSTANCE_ATTRIBUTES.get(path, frozenset()), path
        assert names <= data_guards.INSTANCE_GUARDS.keys(), path
    used = {name for names in GUARDED_ATTRIBUTES.values() for name in names}
    assert sorted(data_guards.INSTANCE_GUARDS.keys() - used) == []


@pytest.mark.parametrize("module", sorted(DATA_CATALOGUE))
def test_guarded_members_and_replacements_match(module: str) -> None:
    allowed = DATA_CATALOGUE[module].allowed
    guarded = {name for name, reason in allowed.items() if reason.startswith(GUARDED)}
    factory = data_guards.REPLACEMENTS.get(module)
    replaced = set(factory()) if factory is not None else set()
    real = importlib.import_module(module)
    assert guarded - replaced == set(), "allowed as guarded, but the real member would be copied"
    assert {name for name in replaced - guarded if hasattr(real, name)} == set()


@pytest.mark.parametrize("module", sorted(DATA_CATALOGUE))
def test_every_module_refuses_what_it_does_not_list(module: str) -> None:
    assert DATA_CATALOGUE[module].others, f"{module}: an allow-list refuses every member it does not name"


def test_the_pinned_versions_are_the_installed_ones() -> None:
    pinned = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", REQUIREMENTS.read_text(encoding="utf-8"), re.MULTILINE))
    for name in DATA_LIBRARIES:
        assert importlib.import_module(name).__version__ == pinned[name]


def test_the_router_and_the_catalogue_name_the_same_libraries() -> None:
    assert tuple(ROUTED_LIBRARIES) == tuple(DATA_LIBRARIES)
    assert {module.partition(".")[0] for module in DATA_CATALOGUE} == set(DATA_LIBRARIES)


@pytest.mark.parametrize(
    ("code", "routed"),
    [
        ("import numpy as np", True),
        ("from pandas import DataFrame", True),
        ("import matplotlib.pyplot as plt", True),
        ("import \uff4e\uff55\uff4d\uff50\uff59", True),  # fullwidth: NFKC, as the parser reads it, is numpy
        ("# uses pandas later", True),
        ("import json\nprint(1)", False),
        ("numpyish = 1", False),
    ],
)
def test_programs_that_name_a_library_go_to_the_data_template(code: str, routed: bool) -> None:
    assert may_use_data_libraries(code) is routed
