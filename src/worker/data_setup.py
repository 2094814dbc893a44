"""The data tier's template: the libraries' environment, set before they are imported,
and a warm-up, run before the template confines itself and forks.

* One thread for every numerical library (OpenBLAS, OpenMP, MKL, numexpr): a worker has
  one CPU's worth of RLIMIT_CPU, and a thread pool per worker would only compete with the
  other workers (and each thread's stack counts against the address space).
* matplotlib draws with Agg, the raster backend (no display, no GUI toolkit). Its font
  list is built here, while the template may still read the fonts and write its cache,
  into a directory of its own that is removed after: workers find the fonts in memory.
* The warm-up runs what ordinary analysis programs run (frames, groupby, resample, csv in
  and out, a figure drawn to PNG), so the libraries' lazy imports and caches are the
  template's, shared by every fork, instead of each worker's page faults.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import shutil
import tempfile

from ..language.data_catalogue import DATA_CATALOGUE

_ONE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "NUMEXPR_MAX_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


def is_data_template(allowed: frozenset[str]) -> bool:
    return not allowed.isdisjoint(DATA_CATALOGUE)


def prepare(allowed: frozenset[str]) -> None:
    """Import the tier's libraries the way its workers need them (before build_proxies)."""
    if not is_data_template(allowed):
        return
    os.environ.update(_ONE_THREAD)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["MPL_IGNORE_SYSTEM_FONTS"] = "1"  # findfont looks in matplotlib's own fonts only
    config = tempfile.mkdtemp(prefix="executor-matplotlib-")
    os.environ["MPLCONFIGDIR"] = config
    try:
        for name in sorted(name for name in allowed if name in DATA_CATALOGUE):
            importlib.import_module(name)
        _only_matplotlibs_own_fonts()
        _warm_up()
    finally:
        shutil.rmtree(config, ignore_errors=True)
    # numpy seeds its global generator once, at import: every fork would draw the template's
    # stream (the same "random" numbers for every execution of every client). Python's
    # random reseeds itself at fork; numpy's legacy generator is reseeded here the same way.
    import numpy  # noqa: PLC0415 - imported above

    os.register_at_fork(after_in_child=numpy.random.seed)


def _only_matplotlibs_own_fonts() -> None:
    """The font list holds the host's fonts too (/usr/share/fonts), which workers may not
    read (Landlock: a figure asking for one failed, naming the host's path): only the fonts
    matplotlib ships are offered."""
    import matplotlib  # noqa: PLC0415
    from matplotlib import font_manager  # noqa: PLC0415

    own = os.path.join(matplotlib.get_data_path(), "")
    manager = font_manager.fontManager
    manager.ttflist = [font for font in manager.ttflist if font.fname.startswith(own)]
    manager.afmlist = [font for font in manager.afmlist if font.fname.startswith(own)]


_WARM_UP_CSV = "day,team,value\n2025-01-01,a,1.5\n2025-01-02,b,2\n2025-02-03,a,3\n"


def _warm_up() -> None:
    import matplotlib  # noqa: PLC0415 - imported by prepare, above, when offered
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    rng = np.random.default_rng(0)
    values = rng.normal(size=(16, 3))
    np.linalg.det(np.cov(values, rowvar=False))
    np.percentile(values, [5, 50, 95])
    frame = pd.read_csv(io.StringIO(_WARM_UP_CSV), parse_dates=["day"])
    frame["double"] = frame["value"] * 2
    frame.groupby("team")["value"].agg(["sum", "mean"]).round(1).to_string()
    frame.groupby(frame["day"].dt.strftime("%Y-%m"))["value"].sum().to_csv(io.StringIO())
    frame.to_json(io.StringIO())
    frame.describe().to_dict()
    frame.query("value > 1")
    series = pd.Series(rng.integers(0, 9, size=40), index=pd.date_range("2025-01-01", periods=40, freq="D"))
    series.resample("MS").agg(["sum", "max"]).rolling(2).mean().to_string()
    pd.pivot_table(frame, index="team", values="value", aggfunc="sum")
    figure, axes = plt.subplots(figsize=(4, 3), dpi=72)
    axes.plot([0, 1, 2], [1, 3, 2], label="line")
    axes.bar(["a", "b"], [1, 2])
    axes.hist(values[:, 0], bins=5)
    axes.scatter([1, 2], [2, 1])
    axes.set_title("warm-up")
    axes.set_xlabel("x")
    axes.legend()
    figure.tight_layout()
    with contextlib.redirect_stderr(io.StringIO()):
        # Every vector format too: their backends define dataclasses as they are imported,
        # which a worker's guarded dataclasses would refuse to library code.
        for format_ in ("png", "pdf", "svg", "ps", "eps"):
            figure.savefig(io.BytesIO(), format=format_)
        frame.plot(x="day", y="value")
    plt.close("all")
