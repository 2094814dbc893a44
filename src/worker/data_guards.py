"""Guarded versions of the data libraries' members (the data tier's REPLACEMENTS and
instance guards): members that take paths, evaluate strings, pick a method by its name,
or change what every later call in the process does.

* Paths (``read_csv``, ``to_csv``, ``np.load``, ``savefig`` ...): a path is checked as
  ``open`` checks it (file_system.confined: inside the working directory, no link) and
  handed to the library as ``./<path>``, which no library reads as a URL; a write counts
  against the files limits first. A file object passes as it is (the program's own).
* Pickle: ``np.load``/``np.save``/``savez`` never pickle (``allow_pickle`` is forced off).
* Strings evaluated: ``DataFrame.query`` takes comparisons, arithmetic, column names,
  constants and ``@names`` of the program's variables, nothing else (no attribute, call
  or subscript: the python engine would read and call them outside any guard).
* Methods picked by name (``agg("sum")``, ``apply("mean")``, ``transform``): pandas reads
  the name with the real getattr, so only the names of reductions and transforms pass.
* Settings: ``pd.set_option`` for ``display.*`` options only; ``rcParams`` through a
  mapping that writes the style keys only (never a path, a program to run, a backend);
  ``matplotlib.use`` for Agg only; ``plt.show()`` does nothing (open figures are
  returned); figure sizes are checked before anything is drawn to a file.
"""

from __future__ import annotations

import ast
import re
import string
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ..language.policy import SOURCE_FILENAME
from . import figures, file_system
from .buffers import refuse_references
from .guards import INTERNAL_LAZY_PACKAGES
from .membrane import instances_still_made
from .proxies import public_members
from .refusal import refused
from .stand_ins import stand_in

# ----------------------------------------------------------------------------- paths


def _local(value: Any, function: str, writing: bool = False) -> Any:
    """A path for the library: ``./`` and the checked relative path; a file object as is."""
    if isinstance(value, (bytes, bytearray, int)) and not isinstance(value, bool):
        raise TypeError(f"{function}(): give a path (str) or a file object, not {type(value).__name__}")
    if isinstance(value, str) or hasattr(type(value), "__fspath__"):
        text = file_system.confined(value, function)
        if writing:
            file_system.before_creating(text, function, "file")
        return text if text.startswith("./") else f"./{text}"
    return value


def _no_remote_options(function: str, kwargs: Mapping[str, Any]) -> None:
    if kwargs.get("storage_options") is not None:
        raise refused(f"{function}(): storage_options reach remote file systems, which the sandbox does not offer")
    compression = kwargs.get("compression")
    if type(compression) is dict and set(compression) - {"method"}:
        # The rest goes to the archive's open (tarfile's mode="w": a reader that writes).
        raise refused(f"{function}(): compression takes a method name only ('gzip', 'zip', ...)")


def _reader(real: Callable[..., Any], name: str) -> Callable[..., Any]:
    def read(source: Any, *args: Any, **kwargs: Any) -> Any:
        _no_remote_options(name, kwargs)
        return real(_local(source, name), *args, **kwargs)

    read.__name__ = read.__qualname__ = name
    read.__doc__ = real.__doc__
    return read


def plain_format(value: Any, what: str) -> Any:
    """A format string the libraries run with the real ``str.format`` (a new-style
    ``float_format``, ``bar_label(fmt=)``): its fields may name positions and keywords and
    format them, never read an attribute or an item (``{0.__class__}``), which the sandbox
    refuses in the program's own format strings."""
    if isinstance(value, str) and "{" in value:
        try:
            fields = [field for _, field, _, _ in string.Formatter().parse(value) if field is not None]
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
        if any("." in field or "[" in field for field in fields):
            raise refused(f"{what}: a format field names a value, never its attributes or items")
    return value


def _writer_method(name: str, target: str, position: int = 0) -> Callable[[Any, Any], Any]:
    """An instance method whose ``target`` argument (at ``position``) may be a path."""

    def guard(receiver: Any, real: Any) -> Callable[..., Any]:
        def write(*args: Any, **kwargs: Any) -> Any:
            _no_remote_options(name, kwargs)
            plain_format(kwargs.get("float_format"), f"{name}(float_format=)")
            if len(args) > position and args[position] is not None:
                args = (*args[:position], _local(args[position], name, writing=True), *args[position + 1 :])
            elif kwargs.get(target) is not None:
                kwargs[target] = _local(kwargs[target], name, writing=True)
            return real(*args, **kwargs)

        write.__name__ = write.__qualname__ = name
        return write

    return guard


def _format_checked(real: Callable[..., Any], name: str, keyword: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        plain_format(kwargs.get(keyword), f"{name}({keyword}=)")
        return real(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call


def _named(real: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return real(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = real.__doc__
    return call


# ----------------------------------------------------------------------------- numpy


def _numpy_replacements() -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415 - the data template only

    def load(file: Any, mmap_mode: Any = None, allow_pickle: bool = False, **kwargs: Any) -> Any:
        if allow_pickle or mmap_mode is not None:
            raise refused("np.load(): pickled arrays and memory maps are not offered in the sandbox")
        return np.load(_local(file, "load"), allow_pickle=False, **kwargs)

    def save(file: Any, arr: Any, allow_pickle: bool = False, **kwargs: Any) -> None:
        np.save(_local(file, "save", writing=True), arr, allow_pickle=False, **kwargs)

    def savez(file: Any, *args: Any, **kwds: Any) -> None:
        np.savez(_local(file, "savez", writing=True), *args, allow_pickle=False, **kwds)

    def savez_compressed(file: Any, *args: Any, **kwds: Any) -> None:
        np.savez_compressed(_local(file, "savez_compressed", writing=True), *args, allow_pickle=False, **kwds)

    def savetxt(fname: Any, *args: Any, **kwargs: Any) -> None:
        np.savetxt(_local(fname, "savetxt", writing=True), *args, **kwargs)

    def frombuffer(buffer: Any, dtype: Any = float, count: int = -1, offset: int = 0, **kwargs: Any) -> Any:
        if np.dtype(dtype).hasobject:
            raise refused("np.frombuffer(): bytes read as object references are raw memory, not offered")
        refuse_references(buffer, "np.frombuffer()")  # numbers over references: writable pointers
        return np.frombuffer(buffer, dtype=dtype, count=count, offset=offset, **kwargs)

    # Arrays are handed out by every numpy call; the class is a stand-in (isinstance only).
    instances_still_made(np.ndarray)
    message = "np.ndarray(...) builds an array over raw memory: use np.array, np.zeros or np.empty"
    return {
        "load": load,
        "save": save,
        "savez": savez,
        "savez_compressed": savez_compressed,
        "savetxt": savetxt,
        "loadtxt": _reader(np.loadtxt, "loadtxt"),
        "genfromtxt": _reader(np.genfromtxt, "genfromtxt"),
        "frombuffer": frombuffer,
        # Zeroed: np.empty's memory would show what the worker's heap held before (the
        # sandbox's own data), as any value the program may read.
        "empty": _named(np.zeros, "empty"),
        "empty_like": _named(np.zeros_like, "empty_like"),
        "ndarray": stand_in(np.ndarray, message),
    }


# ----------------------------------------------------------------------------- pandas

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
#: Keywords of agg/apply/transform that are options, not functions.
_OPTION_KEYWORDS = frozenset(
    {"axis", "raw", "result_type", "args", "engine", "engine_kwargs", "by_row", "convert_dtype"}
)


#: How deep pandas nests a function spec: {column: [function or (label, function)]}.
_SPEC_DEPTH = 3


def _check_function(value: Any, depth: int = 0) -> Any:
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
        return {key: _check_function(item, depth + 1) for key, item in list(value.items())}
    if kind is list:
        return [_check_function(item, depth + 1) for item in list(value)]
    if kind is tuple:
        return tuple(_check_function(item, depth + 1) for item in value)
    if type(value).__name__ == "NamedAgg" and type(value).__module__.startswith("pandas"):
        column, aggfunc = value.column, value.aggfunc
        return type(value)(column, _check_function(aggfunc, depth + 1))
    if not callable(value) or _is_list_like(value):
        raise refused("a function spec is a name, a function, or a list, tuple or dict of them")
    return value


def _is_list_like(value: Any) -> bool:
    from pandas.api.types import is_dict_like, is_list_like  # noqa: PLC0415 - the data template only

    return bool(is_list_like(value) or is_dict_like(value))


def _dispatching(name: str) -> Callable[[Any, Any], Any]:
    def guard(receiver: Any, real: Any) -> Callable[..., Any]:
        def dispatch(*args: Any, **kwargs: Any) -> Any:
            if args:
                args = (_check_function(args[0]), *args[1:])
            elif "func" in kwargs or "arg" in kwargs:
                key = "func" if "func" in kwargs else "arg"
                kwargs[key] = _check_function(kwargs[key])
            else:
                # No function: the keywords are named aggregations (total=("value", "sum"),
                # total=pd.NamedAgg(...)); with one, they are the function's own arguments.
                for key, value in list(kwargs.items()):
                    if type(value) is tuple and len(value) == 2:
                        kwargs[key] = (value[0], _check_function(value[1]))
                    else:
                        kwargs[key] = _check_function(value)
            return real(*args, **kwargs)

        dispatch.__name__ = dispatch.__qualname__ = name
        return dispatch

    return guard


def _aggfunc_checked(real: Callable[..., Any], name: str, position: int) -> Callable[..., Any]:
    """``pivot_table``/``crosstab``: ``aggfunc`` (a keyword, or the argument at
    ``position``) may name a method, which pandas looks up with the real getattr."""

    def call(*args: Any, **kwargs: Any) -> Any:
        if "aggfunc" in kwargs:
            kwargs["aggfunc"] = _check_function(kwargs["aggfunc"])
        if len(args) > position:
            args = (*args[:position], _check_function(args[position]), *args[position + 1 :])
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


def _query_guard(receiver: Any, real: Any) -> Callable[..., Any]:
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


def _pandas_replacements() -> dict[str, Any]:
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
        "read_csv": _reader(pd.read_csv, "read_csv"),
        "read_table": _reader(pd.read_table, "read_table"),
        "read_json": _reader(pd.read_json, "read_json"),
        "read_fwf": _reader(pd.read_fwf, "read_fwf"),
        "pivot_table": _aggfunc_checked(pd.pivot_table, "pivot_table", 4),
        "crosstab": _aggfunc_checked(pd.crosstab, "crosstab", 7),
        "set_option": set_option,
        "reset_option": reset_option,
        "option_context": option_context,
    }


# ----------------------------------------------------------------------------- matplotlib

#: rcParams a program may set: how things look. Never paths, programs (TeX, ffmpeg),
#: backends, key maps or servers.
_STYLE_GROUPS = (
    "axes.", "axes3d.", "boxplot.", "contour.", "date.", "errorbar.", "figure.", "font.", "grid.", "hatch.",
    "hist.", "image.", "legend.", "lines.", "markers.", "mathtext.", "patch.", "pcolor.", "pcolormesh.",
    "polaraxes.", "savefig.", "scatter.", "xaxis.", "xtick.", "yaxis.", "ytick.", "text.",
)  # fmt: skip
#: figure.hooks names "module:callable" pairs pyplot imports and calls (attack pass 95); a
#: mathtext font is a fontconfig pattern, whose file= field opens any path.
_NEVER_KEYS = re.compile(
    r"usetex|latex|preamble|path|directory|fontpath|hinting_factor|\.fallback|hooks|file|^mathtext\.(?!default$|fontset$)"
    r"|^savefig\.(bbox|pad_inches)$"
)


#: The settings a program may write: the current rcParams keys of the style groups, less
#: every key that names a file, a program, a hook or a font pattern (filled in the template).
STYLE_KEYS: set[str] = set()


def _style_keys() -> set[str]:
    import matplotlib  # noqa: PLC0415 - the data template only

    return {key for key in matplotlib.rcParams if key.startswith(_STYLE_GROUPS) and not _NEVER_KEYS.search(key)}


def _style_key(key: Any) -> str:
    if type(key) is not str or key not in STYLE_KEYS:
        raise refused(
            f"the setting {key!r} is not offered in the sandbox (the style settings are: axes.*, lines.* ...)"
        )
    return key


class RcSettings:
    """``rcParams`` as the program sees it: reads of every setting, writes of the style
    settings only (checked by the real rcParams too)."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        import matplotlib  # noqa: PLC0415

        return matplotlib.rcParams[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        import matplotlib  # noqa: PLC0415

        matplotlib.rcParams[_style_key(key)] = value

    def get(self, key: Any, default: Any = None) -> Any:
        import matplotlib  # noqa: PLC0415

        return matplotlib.rcParams.get(key, default)

    def update(self, values: Any = (), **more: Any) -> None:
        for key, value in [*_checked_rc(values or {}).items(), *more.items()]:
            self[key] = value

    def keys(self) -> list[str]:
        import matplotlib  # noqa: PLC0415

        return list(matplotlib.rcParams.keys())

    def __contains__(self, key: Any) -> bool:
        import matplotlib  # noqa: PLC0415

        return key in matplotlib.rcParams

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        return "RcParams(...)"


RC_SETTINGS = RcSettings()


def _checked_rc(values: Any) -> dict[str, Any]:
    if values is None:
        return {}
    if type(values) is not dict:
        raise refused("settings are given as a dict")
    return {_style_key(key): value for key, value in list(values.items())}


def _pixels_fit(figure: Any, dpi: Any) -> None:
    import matplotlib  # noqa: PLC0415

    limit = file_system_figure_pixels()
    if dpi is None or dpi == "figure":
        saved = matplotlib.rcParams["savefig.dpi"]
        dpi = figure.dpi if saved == "figure" else saved
    if not isinstance(dpi, (int, float)) or not 0 < dpi <= 10_000:
        raise ValueError("savefig(): dpi must be a number from 1 to 10000")
    width, height = figures.pixel_size(figure, float(dpi))
    if width * height > limit:
        raise refused(f"savefig(): {width} x {height} pixels is more than the {limit:,} a figure may have")


_FIGURE_PIXELS = [4_000_000]


def set_figure_pixels(limit: int) -> None:
    _FIGURE_PIXELS[0] = limit


def file_system_figure_pixels() -> int:
    return _FIGURE_PIXELS[0]


def _savefig_guard(receiver: Any, real: Any) -> Callable[..., Any]:
    def savefig(fname: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("backend") is not None:
            raise refused("savefig(): matplotlib imports a backend=... by name; the sandbox draws with Agg")
        _pixels_fit(receiver, kwargs.get("dpi"))
        return real(_local(fname, "savefig", writing=True), *args, **kwargs)

    return savefig


def _pyplot_replacements() -> dict[str, Any]:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    def savefig(fname: Any, *args: Any, **kwargs: Any) -> Any:
        figure = plt.gcf()
        return _savefig_guard(figure, figure.savefig)(fname, *args, **kwargs)

    def imread(fname: Any, format: Any = None) -> Any:  # noqa: A002 - pyplot's name
        return plt.imread(_local(fname, "imread"), format=format)

    def imsave(fname: Any, arr: Any, **kwargs: Any) -> None:
        plt.imsave(_local(fname, "imsave", writing=True), arr, **kwargs)

    def show(*args: Any, **kwargs: Any) -> None:
        """The figures still open when the program ends are returned in the answer."""

    def rc(group: Any, **kwargs: Any) -> None:
        if type(group) is not str:
            raise TypeError("rc(): the group is a str")
        for key in kwargs:
            _style_key(f"{group}.{key}")
        plt.rc(group, **kwargs)

    def rc_context(rc: Any = None, fname: Any = None) -> Any:
        if fname is not None:
            raise refused("rc_context(): settings files are not read in the sandbox; pass a dict")
        return plt.rc_context(_checked_rc(rc))

    return {
        "savefig": savefig,
        "imread": imread,
        "imsave": imsave,
        "show": show,
        "rc": rc,
        "rc_context": rc_context,
        "rcParams": RC_SETTINGS,
    }


def _matplotlib_replacements() -> dict[str, Any]:
    import matplotlib  # noqa: PLC0415

    def use(backend: Any, force: bool = True) -> None:
        if type(backend) is not str or backend.lower() != "agg":
            raise refused("matplotlib.use(): the sandbox draws with Agg only (figures come back as PNG images)")

    def rc_context(rc: Any = None, fname: Any = None) -> Any:
        if fname is not None:
            raise refused("rc_context(): settings files are not read in the sandbox; pass a dict")
        return matplotlib.rc_context(_checked_rc(rc))

    return {"use": use, "rcParams": RC_SETTINGS, "rc_context": rc_context}


def _style_replacements() -> dict[str, Any]:
    from matplotlib import style  # noqa: PLC0415

    def checked(name: Any) -> Any:
        """A fresh list of what was checked (style names, dicts of style settings): what
        style.use gets, never the program's own container, which it reads again."""
        names = list(name) if type(name) in (list, tuple) else [name]
        copy: list[Any] = []
        for each in names:
            if type(each) is dict:
                copy.append(_checked_rc(each))
            elif type(each) is str and (each in style.available or each == "default"):
                copy.append(each)
            else:
                raise refused(f"style.use(): the styles offered are matplotlib's own ({', '.join(style.available)})")
        return copy

    def use(name: Any) -> None:
        style.use(checked(name))

    def context(name: Any, after_reset: bool = False) -> Any:
        return style.context(checked(name), after_reset=after_reset)

    return {"use": use, "context": context}


#: Module name -> its replacements (library_guards.REPLACEMENTS), built in the data template.
REPLACEMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "numpy": _numpy_replacements,
    "pandas": _pandas_replacements,
    "matplotlib": _matplotlib_replacements,
    "matplotlib.pyplot": _pyplot_replacements,
    "matplotlib.style": _style_replacements,
}


def _copied_codes(codes: Any) -> Any:
    """Codes as fresh arrays of the sandbox's making: pandas keeps the arrays it is given and
    checks them once, so a view the program kept could rewrite them after the check."""
    import numpy as np  # noqa: PLC0415 - the data template only

    if codes is None:
        return None
    return [np.array(level_codes, dtype=np.intp, copy=True) for level_codes in list(codes)]


def _codes_guard(name: str) -> Callable[[Any, Any], Any]:
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


def _setters_guard(name: str) -> Callable[[Any, Any], Any]:
    """``artist.set(**kwargs)`` / ``update(dict)``: each key names a setter ``set_<key>``,
    which matplotlib calls with the real getattr; only the setters the artist's allow-list
    offers."""

    def guard(receiver: Any, real: Any) -> Callable[..., Any]:
        from . import instance_rules  # noqa: PLC0415

        def checked(keys: Any) -> None:
            for key in keys:
                if type(key) is not str or not instance_rules.is_readable(receiver, f"set_{key}"):
                    raise refused(f"{name}(): {key!r} is not a setting offered in the sandbox")

        def set_(*args: Any, **kwargs: Any) -> Any:
            if name == "update" and args:
                values = dict(args[0])
                checked(values)
                return real(values)
            checked(kwargs)
            return real(*args, **kwargs)

        set_.__name__ = set_.__qualname__ = name
        return set_

    return guard


#: Attribute name -> factory(receiver, real attribute) of its guarded version, for the
#: names data_catalogue.GUARDED_ATTRIBUTES lists.
INSTANCE_GUARDS: dict[str, Callable[[Any, Any], Any]] = {
    "to_csv": _writer_method("to_csv", "path_or_buf"),
    "to_json": _writer_method("to_json", "path_or_buf"),
    "to_string": _writer_method("to_string", "buf"),
    "savefig": _savefig_guard,
    "query": _query_guard,
    "agg": _dispatching("agg"),
    "aggregate": _dispatching("aggregate"),
    "apply": _dispatching("apply"),
    "transform": _dispatching("transform"),
    "pivot_table": lambda receiver, real: _aggfunc_checked(real, "pivot_table", 3),
    "set_codes": _codes_guard("set_codes"),
    "set_levels": _codes_guard("set_levels"),
    "bar_label": lambda receiver, real: _format_checked(real, "bar_label", "fmt"),
    "set": _setters_guard("set"),
    "update": _setters_guard("update"),
}


#: Figures a program may have open at once: each holds its artists' memory, and every
#: open figure is drawn after the program (the first EXECUTOR_MAX_FIGURES of them).
MAX_OPEN_FIGURES = 50


def cap_open_figures() -> None:
    """Refuse a new figure past MAX_OPEN_FIGURES, at the one place pyplot adopts every
    figure it makes (plt.figure, plt.subplots, pandas' plot): Gcf._set_new_active_manager."""
    from matplotlib import _pylab_helpers  # noqa: PLC0415 - the data template only

    gcf = _pylab_helpers.Gcf
    adopt = gcf.__dict__["_set_new_active_manager"].__func__

    def _set_new_active_manager(cls: Any, manager: Any) -> None:
        if manager not in cls.figs.values() and len(cls.figs) >= MAX_OPEN_FIGURES:
            raise refused(f"at most {MAX_OPEN_FIGURES} figures may be open at once: close some (plt.close(fig))")
        adopt(cls, manager)

    setattr(gcf, "_set_new_active_manager", classmethod(_set_new_active_manager))  # noqa: B010 - pyplot's adoption point


def draw_within_the_pixel_limit() -> None:
    """Every raster image matplotlib makes (savefig to PNG or JPEG, the figures returned)
    is drawn by a RendererAgg of its final size, after any tight bounding box and padding
    were applied: the pixel limit is checked there, before the buffer is allocated."""
    from matplotlib.backends import backend_agg  # noqa: PLC0415 - the data template only

    make = backend_agg.RendererAgg.__init__

    def __init__(self: Any, width: Any, height: Any, dpi: Any) -> None:
        if width * height > _FIGURE_PIXELS[0]:
            # A ValueError, not the sandbox's SecurityError: it crosses matplotlib's own
            # context managers (savefig's ExitStack), which re-raise what they caught.
            raise ValueError(
                f"a figure of {int(width)} x {int(height)} pixels is more than the {_FIGURE_PIXELS[0]:,} allowed"
            )
        make(self, width, height, dpi)

    setattr(backend_agg.RendererAgg, "__init__", __init__)  # noqa: B010 - the allocation point


def adopt_only_figures() -> None:
    """pyplot.figure(FigureClass=...) adopts any class's object as a figure, whose methods
    the sandbox then calls as a figure's (drawing it into the reply): only real Figures."""
    from matplotlib import _pylab_helpers  # noqa: PLC0415 - the data template only
    from matplotlib.figure import Figure  # noqa: PLC0415

    gcf = _pylab_helpers.Gcf
    adopt = gcf.__dict__["_set_new_active_manager"].__func__

    def _set_new_active_manager(cls: Any, manager: Any) -> None:
        if type(manager.canvas.figure) is not Figure:
            raise TypeError("pyplot keeps matplotlib's own figures only in the sandbox (no FigureClass)")
        adopt(cls, manager)

    setattr(gcf, "_set_new_active_manager", classmethod(_set_new_active_manager))  # noqa: B010


def draw_without_tex_or_font_files() -> None:
    """``usetex=True`` on a text (a keyword of every text call) runs TeX on the program's
    string; a font file (``fontproperties=Path(...)``, a pattern's ``file=``) opens any path.
    Each has one setter every route reaches: Text.set_usetex, FontProperties.set_file."""
    from matplotlib import font_manager, text  # noqa: PLC0415 - the data template only

    set_usetex = text.Text.set_usetex
    set_file = font_manager.FontProperties.set_file

    def no_tex(self: Any, usetex: Any) -> None:
        if usetex:
            raise refused("usetex: TeX is not offered in the sandbox; matplotlib's mathtext draws $...$")
        set_usetex(self, usetex)

    def no_font_file(self: Any, file: Any) -> None:
        if file is not None:
            raise refused("font files are not offered in the sandbox: name a family (family='serif')")
        set_file(self, file)

    setattr(text.Text, "set_usetex", no_tex)  # noqa: B010 - the setter every route reaches
    setattr(font_manager.FontProperties, "set_file", no_font_file)  # noqa: B010


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


# ----------------------------------------------------------------------------- rules

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
    if "matplotlib.pyplot" in attrs_by_name:
        adopt_only_figures()
        cap_open_figures()  # after: its check runs first
        draw_without_tex_or_font_files()
        draw_within_the_pixel_limit()
        STYLE_KEYS.update(_style_keys())
    if "pandas" in attrs_by_name:
        plot_with_matplotlib_only()
        verified_multi_indexes()
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
