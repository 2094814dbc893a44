"""The data tier: numpy, pandas and matplotlib, offered when they are installed.

Optional (``pip install .[data]``, requirements-data.txt). When installed and not turned
off (``EXECUTOR_DATA_TIER_ENABLED``), the service starts a second template with the
libraries imported and warmed, and programs that name them run there
(language/data_use.py); their modules are then allowed imports, member by member as
language/data_catalogue.py lists them. Read without importing the libraries: the API
process never loads them.
"""

from __future__ import annotations

import functools
import importlib.metadata

from .language.data_catalogue import DATA_CATALOGUE
from .language.data_use import DATA_LIBRARIES
from .settings import Settings

#: Every module of the tier a program may import (numpy, numpy.linalg, matplotlib.pyplot...).
DATA_MODULES: frozenset[str] = frozenset(DATA_CATALOGUE)


@functools.cache
def installed_versions() -> dict[str, str] | None:
    """The libraries' versions, or None when one of them is not installed."""
    versions: dict[str, str] = {}
    for name in DATA_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None
    return versions


def data_modules(settings: Settings) -> frozenset[str]:
    """The tier's modules when the tier is on; empty when it is off or not installed."""
    if not settings.data_tier_enabled or installed_versions() is None:
        return frozenset()
    return DATA_MODULES


def describe(settings: Settings) -> dict[str, object]:
    """For /health and the MCP sandbox_info: whether the tier is on, and which versions."""
    versions = installed_versions()
    return {"enabled": bool(data_modules(settings)), "versions": versions or {}}
