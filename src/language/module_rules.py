"""Every module a program may import, with its rule: the standard library's catalogue
(catalogue.py) and the data tier's (data_catalogue.py), as one mapping for the worker."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .catalogue import CATALOGUE, ModuleRule
from .data_catalogue import DATA_CATALOGUE

RULES: Mapping[str, ModuleRule] = MappingProxyType({**CATALOGUE, **DATA_CATALOGUE})
