"""matplotlib's guarded members and the data template's settings of matplotlib.

``rcParams`` writes to an explicit set of style keys (never a path, a program, a hook, a
backend); ``matplotlib.use`` Agg only; ``plt.show()`` does nothing (open figures are
returned); styles by matplotlib's own names. Every raster image is checked against the
pixel limit where Agg allocates it; pyplot adopts only real Figures, at most
MAX_OPEN_FIGURES open; TeX and font files are refused at the setters every route reaches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from . import figures
from .data_arguments import local_path
from .refusal import refused

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


def style_keys() -> set[str]:
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


def savefig_guard(receiver: Any, real: Any) -> Callable[..., Any]:
    def savefig(fname: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("backend") is not None:
            raise refused("savefig(): matplotlib imports a backend=... by name; the sandbox draws with Agg")
        _pixels_fit(receiver, kwargs.get("dpi"))
        return real(local_path(fname, "savefig", writing=True), *args, **kwargs)

    return savefig


def pyplot_replacements() -> dict[str, Any]:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    def savefig(fname: Any, *args: Any, **kwargs: Any) -> Any:
        figure = plt.gcf()
        return savefig_guard(figure, figure.savefig)(fname, *args, **kwargs)

    def imread(fname: Any, format: Any = None) -> Any:  # noqa: A002 - pyplot's name
        return plt.imread(local_path(fname, "imread"), format=format)

    def imsave(fname: Any, arr: Any, **kwargs: Any) -> None:
        plt.imsave(local_path(fname, "imsave", writing=True), arr, **kwargs)

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


def matplotlib_replacements() -> dict[str, Any]:
    import matplotlib  # noqa: PLC0415

    def use(backend: Any, force: bool = True) -> None:
        if type(backend) is not str or backend.lower() != "agg":
            raise refused("matplotlib.use(): the sandbox draws with Agg only (figures come back as PNG images)")

    def rc_context(rc: Any = None, fname: Any = None) -> Any:
        if fname is not None:
            raise refused("rc_context(): settings files are not read in the sandbox; pass a dict")
        return matplotlib.rc_context(_checked_rc(rc))

    return {"use": use, "rcParams": RC_SETTINGS, "rc_context": rc_context}


def style_replacements() -> dict[str, Any]:
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


def setters_guard(name: str) -> Callable[[Any, Any], Any]:
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
