"""pandas' guarded members and the data template's settings of pandas.

* Methods picked by name (``agg("sum")``, ``apply``, ``transform``, ``aggfunc=``): pandas
  reads the name with the real getattr (and falls back to numpy's), so a function spec is
  walked by exact types, only reductions and transforms pass by name, and pandas gets the
  copy that was checked.
* ``DataFrame.query``: checked on the text pandas' own preparser makes: comparisons,
  arithmetic, columns, constants, the program's own ``@variables``.
* Options by exact ``display.*`` names; readers and writers by data_arguments' paths;
  MultiIndex codes always verified and copied; time zones by name; plots with matplotlib.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from typing import Any

from ..language.policy import SOURCE_FILENAME
from .data_arguments import reader
from .refusal import refused

#: What agg/apply/transform may be given by name: reductions and transforms of the
#: objects themselves. pandas looks a name up with the real getattr.
DISPATCHED_NAMES = frozenset(
    {
        "all", "any", "count", "cumcount", "cummax", "cummin", "cumprod", "cumsum", "describe", "diff", "ffill",
        "bfill", "first", "idxmax", "idxmin", "kurt", "last", "max", "mean", "median", "min", "ngroup", "nunique",
        "ohlc", "pct_change", "prod", "quantile", "rank", "sem", "shift", "size", "skew", "std", "sum", "var",
        "abs", "round", "nlargest", "nsmallest", "unique", "value_counts", "mode", "fillna", "sort_values",
    }
)  # fmt: skip


#: How deep pandas nests a function spec: {column: [function or (label, function)]}.
_SPEC_DEPTH = 3


def checked_function(value: Any, depth: int = 0) -> Any:
    """A function spec as pandas reads it, walked by exact types: a name (an exact str, in
    DISPATCHED_NAMES), a callable, or an exact list, tuple or dict of those (a dict's keys
    are columns), ``NamedAgg`` read through its fields. Any other container (an Index, an
    array, a Series, a set, an iterator: pandas takes every list-like) is refused: pandas
    would read names from it that this walk never saw, and look a name the object lacks up
    on the real numpy module."""
    kind = type(value)
    if kind is str:
        if value not in DISPATCHED_NAMES:
            raise refused(
                f"the method name {value!r} is not offered to agg/apply/transform (names offered: "
                f"{', '.join(sorted(DISPATCHED_NAMES))}); pass a function"
            )
        return value
    if isinstance(value, str) or depth > _SPEC_DEPTH:
        raise refused("a function spec is a name, a function, or a list, tuple or dict of them")
    # A fresh copy is what pandas gets: the program's own list could change between this
    # check and pandas' reading (a function of the list, called by pandas, rewriting it).
    if kind is dict:
        return {key: checked_function(item, depth + 1) for key, item in list(value.items())}
    if kind is list:
        return [checked_function(item, depth + 1) for item in list(value)]
    if kind is tuple:
        return tuple(checked_function(item, depth + 1) for item in value)
    if type(value).__name__ == "NamedAgg" and type(value).__module__.startswith("pandas"):
        column, aggfunc = value.column, value.aggfunc
        return type(value)(column, checked_function(aggfunc, depth + 1))
    if not callable(value) or _is_list_like(value):
        raise refused("a function spec is a name, a function, or a list, tuple or dict of them")
    return value


def _is_list_like(value: Any) -> bool:
    from pandas.api.types import is_dict_like, is_list_like  # noqa: PLC0415 - the data template only

    return bool(is_list_like(value) or is_dict_like(value))


def dispatching(name: str) -> Callable[[Any, Any], Any]:
    def guard(receiver: Any, real: Any) -> Callable[..., Any]:
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            if args:
                args = (checked_function(args[0]), *args[1:])
            elif "func" in kwargs or "arg" in kwargs:
                key = "func" if "func" in kwargs else "arg"
                kwargs[key] = checked_function(kwargs[key])
            else:
                # No function: the keywords are named aggregations (total=("value", "sum"),
                # total=pd.NamedAgg(...)); with one, they are the function's own arguments.
                for key, value in list(kwargs.items()):
                    if type(value) is tuple and len(value) == 2:
                        kwargs[key] = (value[0], checked_function(value[1]))
                    else:
                        kwargs[key] = checked_function(value)
            return real(*args, **kwargs)

        dispatch.__name__ = dispatch.__qualname__ = name
        return dispatch

    return guard


def aggfunc_checked(real: Callable[..., Any], name: str, position: int) -> Callable[..., Any]:
    """``pivot_table``/``crosstab``: ``aggfunc`` (a keyword, or the argument at
    ``position``) may name a method, which pandas looks up with the real getattr."""

    def call(*args: Any, **kwargs: Any) -> Any:
        if "aggfunc" in kwargs:
            kwargs["aggfunc"] = checked_function(kwargs["aggfunc"])
        if len(args) > position:
            args = (*args[:position], checked_function(args[position]), *args[position + 1 :])
        return real(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = real.__doc__
    return call


_QUERY_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv,
    ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr, ast.BitXor, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Invert,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Name, ast.Load,
    ast.Constant, ast.List, ast.Tuple,
)  # fmt: skip


_MAX_QUERY_CHARS = 4096


def _program_scope() -> tuple[dict[str, Any], dict[str, Any]]:
    frame = sys._getframe(1)  # noqa: SLF001 - the program's own frame, read here, never handed out
    while frame is not None and frame.f_code.co_filename != SOURCE_FILENAME:
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return {}, {}
    return dict(frame.f_locals), frame.f_globals


def _checked_query(expr: Any) -> tuple[str, list[str]]:
    """The expression, checked as pandas will read it: pandas' own preparser (locals,
    booleans, backtick-quoted columns) makes the text it parses with ``ast``; that tree is
    walked here, so the check and the evaluation read one text."""
    from pandas.core.computation.expr import LOCAL_TAG, _preparse  # noqa: PLC0415 - the data template only

    if type(expr) is not str:
        raise TypeError("query(): the expression must be a str")
    if len(expr) > _MAX_QUERY_CHARS:
        raise refused(f"query(): an expression of at most {_MAX_QUERY_CHARS} characters")
    try:
        parsed = _preparse(expr)
        tree = ast.parse(parsed.strip(), mode="eval")
    except (SyntaxError, TypeError, ValueError) as exc:
        raise ValueError(f"query(): not an expression: {getattr(exc, 'msg', exc)}") from None
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith(LOCAL_TAG):
            name = node.id.removeprefix(LOCAL_TAG)
            if not name.isidentifier() or name.startswith("_"):
                raise refused(f"query(): @{name} is not a variable of the program's")
            names.append(name)
    for node in ast.walk(tree):
        if not isinstance(node, _QUERY_NODES):
            raise refused(
                f"query(): {type(node).__name__} is not offered in an expression (comparisons, arithmetic, "
                "and/or/not, column names, constants and @variables are); select with df[...] for the rest"
            )
    return expr, names


def query_guard(receiver: Any, real: Any) -> Callable[..., Any]:
    def query(expr: Any, *, inplace: Any = None, **kwargs: Any) -> Any:
        extra = set(kwargs) - {"parser", "engine"}
        engine, parser = kwargs.get("engine", "python"), kwargs.get("parser", "pandas")
        if extra or engine not in (None, "python") or parser != "pandas":
            raise refused("query(): only inplace, parser='pandas' and engine='python' are offered")
        checked, names = _checked_query(expr)
        local, global_ = _program_scope()
        values = {
            name: local[name] if name in local else global_[name] for name in names if name in local or name in global_
        }
        options: dict[str, Any] = {"local_dict": values, "global_dict": {}, "engine": "python", **kwargs}
        if inplace is not None:
            options["inplace"] = inplace
        return real(checked, **options)

    return query


def pandas_replacements() -> dict[str, Any]:
    import pandas as pd  # noqa: PLC0415 - the data template only
    from pandas._config.config import _registered_options  # noqa: PLC0415 - the option table

    def settable(pattern: Any, function: str) -> None:
        # Exactly a registered key: pandas reads the name as a regular expression.
        if type(pattern) is not str or not pattern.startswith("display.") or pattern not in _registered_options:
            raise refused(f"{function}(): only the display.* options are offered, by their full name")

    def set_option(*args: Any) -> None:
        for pattern in args[::2]:
            settable(pattern, "set_option")
        pd.set_option(*args)

    def reset_option(pattern: Any) -> None:
        settable(pattern, "reset_option")
        pd.reset_option(pattern)

    def option_context(*args: Any) -> Any:
        for pattern in args[::2]:
            settable(pattern, "option_context")
        return pd.option_context(*args)

    return {
        "read_csv": reader(pd.read_csv, "read_csv"),
        "read_table": reader(pd.read_table, "read_table"),
        "read_json": reader(pd.read_json, "read_json"),
        "read_fwf": reader(pd.read_fwf, "read_fwf"),
        "pivot_table": aggfunc_checked(pd.pivot_table, "pivot_table", 4),
        "crosstab": aggfunc_checked(pd.crosstab, "crosstab", 5),
        "set_option": set_option,
        "reset_option": reset_option,
        "option_context": option_context,
    }


def _copied_codes(codes: Any) -> Any:
    """Codes as fresh arrays of the sandbox's making: pandas keeps the arrays it is given and
    checks them once, so a view the program kept could rewrite them after the check."""
    import numpy as np  # noqa: PLC0415 - the data template only

    if codes is None:
        return None
    return [np.array(level_codes, dtype=np.intp, copy=True) for level_codes in list(codes)]


def codes_guard(name: str) -> Callable[[Any, Any], Any]:
    """``MultiIndex.set_codes``/``set_levels``: never verify_integrity=False (pandas' take
    kernels read codes past the levels unchecked: chosen bytes as references), codes copied."""

    def guard(receiver: Any, real: Any) -> Callable[..., Any]:
        def call(values: Any, *, level: Any = None, verify_integrity: Any = True) -> Any:
            if verify_integrity is not True:
                raise refused(f"{name}(): verify_integrity=False is not offered (the codes are always checked)")
            if name == "set_codes":
                values = _copied_codes(values) if level is None else _copied_codes([values])[0]
            return real(values, level=level, verify_integrity=True)

        call.__name__ = call.__qualname__ = name
        return call

    return guard


def columns_by_attribute() -> None:
    """``df.price`` reads the column, as pandas' own ``__getattr__`` does for a name that
    is no attribute of the class: through ``df["price"]`` (instance_rules.read_data)."""
    import pandas as pd  # noqa: PLC0415 - the data template only

    from . import instance_rules  # noqa: PLC0415

    def column(obj: Any, name: str) -> Any:
        if type(obj) is pd.DataFrame:
            labels = obj.columns
        elif type(obj) is pd.Series:
            labels = obj.index
        else:
            return instance_rules.NOT_DATA
        if hasattr(type(obj), name) or not labels.is_unique or name not in labels:
            return instance_rules.NOT_DATA
        return obj[name]

    instance_rules.data_by_name(column)


def verified_multi_indexes() -> None:
    """``pd.MultiIndex(...)`` called by the program: verified, with copied codes (pandas'
    own calls, with codes it computed, are left as they are)."""
    import pandas as pd  # noqa: PLC0415 - the data template only

    new = pd.MultiIndex.__dict__["__new__"]

    def __new__(cls: Any, levels: Any = None, codes: Any = None, *args: Any, **kwargs: Any) -> Any:
        if sys._getframe(1).f_code.co_filename == SOURCE_FILENAME:  # noqa: SLF001 - who calls: the program
            if kwargs.get("verify_integrity", True) is not True or len(args) > 3:
                raise refused("MultiIndex(): verify_integrity=False is not offered (the codes are always checked)")
            kwargs["verify_integrity"] = True
            codes = _copied_codes(codes)
        return new(cls, levels, codes, *args, **kwargs)

    setattr(pd.MultiIndex, "__new__", __new__)  # noqa: B010 - the constructor the program calls


def zone_names_only() -> None:
    """A time zone given as ``"dateutil/<path>"`` makes dateutil open any path as a zone file
    (an oracle of the host's files): pandas' zone parser (Cython, which reads the name from
    its module's dict at each call) gets a dateutil that takes zone names only."""
    from pandas._libs.tslibs import timezones  # noqa: PLC0415 - the data template only

    gettz = timezones.dateutil_gettz

    def dateutil_gettz(name: Any = None) -> Any:
        if not isinstance(name, str) or name.startswith(("/", ".")) or ".." in name or "\\" in name:
            raise refused("a time zone is a name of the zone database ('Europe/Paris'), never a path")
        return gettz(name)

    timezones.dateutil_gettz = dateutil_gettz


def plot_with_matplotlib_only() -> None:
    """pandas imports a plotting backend by the name a call gives (``df.plot(backend=
    "some.module")``): any module's code run, then its ``plot`` called. Every plotting call
    loads its backend through ``_load_backend``: only matplotlib's passes."""
    from pandas.plotting import _core  # noqa: PLC0415 - the data template only

    load = _core._load_backend  # noqa: SLF001 - the one place pandas imports a backend

    def _load_backend(backend: str) -> Any:
        if backend != "matplotlib":
            raise refused("pandas plots with matplotlib only in the sandbox (no backend=...)")
        return load(backend)

    _core._load_backend = _load_backend  # noqa: SLF001
