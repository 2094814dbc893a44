"""The data tier in real workers: numpy, pandas and matplotlib in the data template.

For each family of docs/data.md the attack fails and its ordinary sibling works, in a
worker forked from the real data template (every guard, every OS layer); then the same
template with the language layer gone (tests/support/unguarded_template.py) shows what the
OS layers alone hold against a program that reached raw memory through numpy.
"""

from __future__ import annotations

import asyncio
import base64
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

pytest.importorskip("numpy")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from src.language.catalogue import CATALOGUE
from src.language.data_catalogue import DATA_CATALOGUE
from src.protocol import FigureRules, FileRules, Job
from src.sandbox.pool import ExecutionPool
from src.sandbox.workdirs import DecodedFile, WorkDirectories
from src.worker.isolation import landlock
from tests.support.jobs import job
from tests.support.unguarded_template import ENTRY

ALLOWED = sorted(CATALOGUE.keys() | DATA_CATALOGUE.keys())
RULES: FileRules = {
    "max_files": 16,
    "max_file_bytes": 1 << 20,
    "max_files_bytes": 4 << 20,
    "max_path_chars": 255,
    "max_path_depth": 4,
}
FIGURES: FigureRules = {"max_figures": 3, "max_figure_pixels": 1_000_000}
INPUT = DecodedFile("sales.csv", b"day,team,amount\n2025-01-03,a,10\n2025-01-20,b,5\n2025-02-02,a,7\n")
T = TypeVar("T")


@dataclass
class Ran:
    reply: dict[str, Any]
    stdout: str
    stderr: str
    files: list[str]


async def _run(pool: ExecutionPool, workdirs: WorkDirectories, code: str, memory_mb: int = 1024) -> Ran:
    directory = workdirs.create([INPUT])
    ran: Job = job(code)
    ran["limits"]["memory_mb"] = memory_mb
    ran["workdir"] = str(directory.path)
    ran["file_rules"] = RULES
    ran["figure_rules"] = FIGURES
    try:
        outcome = await asyncio.wait_for(
            pool.run(ran, 20, stdout_budget=1 << 16, stderr_budget=1 << 16, flood_factor=4), 60
        )
        files = sorted(p.relative_to(directory.path).as_posix() for p in directory.path.rglob("*") if p.is_file())
    finally:
        WorkDirectories.remove(directory)
    return Ran(dict(outcome.reply), outcome.stdout.text(), outcome.stderr.text(), files)


def _with_pool(root: Path, entry: str | None, scenario: Callable[[ExecutionPool, WorkDirectories], Awaitable[T]]) -> T:
    async def main() -> T:
        workdirs = WorkDirectories(root)
        workdirs.start()
        options: dict[str, Any] = {"files_root": str(workdirs.root)}
        if entry is not None:
            options["template_entry"] = entry
        pool = ExecutionPool(ALLOWED, 1, **options)
        await pool.start()
        try:
            return await scenario(pool, workdirs)
        finally:
            await pool.stop()
            workdirs.stop()

    return asyncio.run(main())


# --------------------------------------------------------------------------- guarded: families

#: name -> (program, what it must give): "ok" runs to the end; an exception type name is
#: the error it must raise.
CASES: dict[str, tuple[str, str]] = {
    "analysis": (
        """
import pandas as pd
import numpy as np
sales = pd.read_csv("sales.csv", parse_dates=["day"])
monthly = sales.groupby(sales["day"].dt.strftime("%Y-%m"))["amount"].sum()
monthly.to_csv("monthly.csv")
rng = np.random.default_rng(1)
print(monthly.to_string())
{"months": monthly.to_dict(), "det": round(float(np.linalg.det(np.eye(2) * 2)), 3), "r": int(rng.integers(0, 1))}
""",
        "ok",
    ),
    "figure": (
        """
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3), dpi=50)
ax.plot([1, 2, 3], [2, 1, 3], label="x")
ax.legend()
ax.set_title("t")
fig.savefig("saved.png")
plt.show()
""",
        "ok",
    ),
    "raw memory: ndarray over chosen bytes": (
        "import numpy as np\nnp.ndarray((1,), dtype=object, buffer=bytearray(8))",
        "SecurityError",
    ),
    "raw memory: the class reached by type()": (
        "import numpy as np\ntype(np.zeros(1))((1,), dtype=object, buffer=bytearray(8))",
        "SecurityError",
    ),
    "raw memory: ctypes": ("import numpy as np\nnp.zeros(2).ctypes.data", "SecurityError"),
    "raw memory: stride tricks": ("import numpy as np\nnp.lib.stride_tricks.as_strided", "AttributeError"),
    "raw memory: frombuffer objects": (
        "import numpy as np\nnp.frombuffer(bytearray(8), dtype=object)",
        "SecurityError",
    ),
    "raw memory: resize past its views": ("import numpy as np\nnp.arange(4.0).resize(10**6)", "SecurityError"),
    "raw memory: an interface answered by __getattr__": (
        """
import numpy as np
class Forged:
    def __getattr__(self, name):
        return {"data": (8, False), "shape": (8,), "typestr": "|u1", "version": 3}
assert np.asarray(Forged()).dtype == object
""",
        "ok",
    ),
    "pickle: np.load": ("import numpy as np\nnp.load('a.npy', allow_pickle=True)", "SecurityError"),
    "pickle: to_pickle": ("import pandas as pd\npd.DataFrame({'a': [1]}).to_pickle('p')", "SecurityError"),
    "pickle: sibling without": (
        "import numpy as np\nnp.save('a.npy', np.arange(3))\nassert np.load('a.npy').tolist() == [0, 1, 2]",
        "ok",
    ),
    "strings: pd.eval": ("import pandas as pd\npd.eval('1 + 1')", "AttributeError"),
    "strings: DataFrame.eval": ("import pandas as pd\npd.DataFrame({'a': [1]}).eval('a + 1')", "SecurityError"),
    "strings: query with an attribute": (
        "import pandas as pd\npd.DataFrame({'a': [1]}).query('a.values.ctypes.data > 0')",
        "SecurityError",
    ),
    "strings: query sibling": (
        "import pandas as pd\nlimit = 1\nassert pd.DataFrame({'a': [1, 2]}).query('a > @limit')['a'].tolist() == [2]",
        "ok",
    ),
    "templates: Styler": ("import pandas as pd\npd.DataFrame({'a': [1]}).style", "SecurityError"),
    "by name: a private method": ("import pandas as pd\npd.DataFrame({'a': [1]}).agg('_constructor')", "SecurityError"),
    "by name: pivot_table": (
        "import pandas as pd\npd.DataFrame({'a': [1], 'b': [2]}).pivot_table(index='a', aggfunc='_mgr')",
        "SecurityError",
    ),
    "by name: sibling": (
        "import pandas as pd\nassert pd.DataFrame({'a': [1, 3]}).agg(['sum', 'mean'])['a'].tolist() == [4, 2]",
        "ok",
    ),
    "pivot: a backend module": ("import matplotlib\nmatplotlib.use('module://os')", "SecurityError"),
    "pivot: switch_backend": ("import matplotlib.pyplot as plt\nplt.switch_backend('tkagg')", "AttributeError"),
    "pivot: plotting backend option": (
        "import pandas as pd\npd.set_option('plotting.backend', 'os')",
        "SecurityError",
    ),
    "pivot: sibling": (
        "import matplotlib\nimport pandas as pd\nmatplotlib.use('Agg')\npd.set_option('display.max_rows', 5)",
        "ok",
    ),
    "pivot: a plotting backend by name": (
        "import pandas as pd\npd.DataFrame({'a': [1, 2]}).plot(backend='this')",
        "SecurityError",
    ),
    "strings: query with a private name": (
        "import pandas as pd\npd.DataFrame({'a': [1]}).query('a > @_getattr_')",
        "SecurityError",
    ),
    "strings: query through a quoted column": (
        "import pandas as pd\npd.DataFrame({'a b': [1]}).query('`a b`.values > 0')",
        "SecurityError",
    ),
    # Attack pass 95: each finding's family.
    "by name: names read from an Index": (
        "import pandas as pd\npd.Series([1]).agg(pd.Index(['ndarray']), 0, object, bytearray(8))",
        "SecurityError",
    ),
    "by name: a NamedAgg": (
        "import pandas as pd\npd.DataFrame({'a': [1], 'b': [2]}).groupby('a').agg(x=pd.NamedAgg('b', '_grouper'))",
        "SecurityError",
    ),
    "by name: named aggregations and keywords": (
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 1], 'b': [2, 3]})\n"
        "assert df.groupby('a').agg(x=pd.NamedAgg('b', 'sum'), y=('b', 'max')).to_dict() == {'x': {1: 5}, 'y': {1: 3}}\n"
        "assert df.groupby('a').agg('sum', numeric_only=True).to_dict() == {'b': {1: 5}}",
        "ok",
    ),
    "by name: through the class": (
        "import pandas as pd\npd.DataFrame.agg(pd.DataFrame({'a': [1]}), '_mgr')",
        "SecurityError",
    ),
    "files: a writer through the class": (
        "import pandas as pd\npd.DataFrame.to_csv(pd.DataFrame({'a': [1]}), '/tmp/x.csv')",
        "SecurityError",
    ),
    "strings: query with backticks in a string": (
        "import pandas as pd\nout = []\n"
        "pd.DataFrame({'a': [1]}).query('(a != \"`\") & (@out.append(1) == 0) & (a != \"`\")')",
        "SecurityError",
    ),
    "strings: query with quoted columns and strings": (
        "import pandas as pd\nn = 1\ndf = pd.DataFrame({'a b': [1, 2], 'c': ['x', 'y']})\n"
        "assert len(df.query('`a b` > @n and c == \"y\"')) == 1",
        "ok",
    ),
    "pivot: figure hooks": (
        "import matplotlib.pyplot as plt\nplt.rcParams['figure.hooks'] = ['builtins:print']",
        "SecurityError",
    ),
    "pivot: a savefig backend": (
        "import matplotlib.pyplot as plt\nplt.plot([1])\nplt.savefig('a.pdf', backend='module://this')",
        "SecurityError",
    ),
    "files: TeX by a keyword": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.text(0.5, 0.5, '$x$', usetex=True)",
        "SecurityError",
    ),
    "files: mathtext sibling": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.set_title('$x^2$')\nfig.savefig('m.png')",
        "ok",
    ),
    "files: a font file by path": (
        "import matplotlib.pyplot as plt, pathlib\nfig, ax = plt.subplots()\n"
        "ax.text(0.5, 0.5, 'x', fontproperties=pathlib.Path('/etc/passwd'))",
        "SecurityError",
    ),
    "files: a font file by pattern": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.set_title('x', fontproperties='sans:file=/etc/passwd')",
        "SecurityError",
    ),
    "files: a font family sibling": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.set_title('x', fontfamily='serif')",
        "ok",
    ),
    "files: a reader that writes": (
        "import pandas as pd\npd.read_csv('m.tar', compression={'method': 'tar', 'mode': 'w'})",
        "SecurityError",
    ),
    "pivot: an option by pattern": (
        "import pandas as pd\npd.set_option('display.NONE|^mode.copy_on_write$', 'warn')",
        "SecurityError",
    ),
    "raw memory: set_state": ("import numpy as np\nnp.random.RandomState(0).set_state", "SecurityError"),
    "raw memory: a cast of references": (
        "import numpy as np\nmemoryview(np.zeros(1, dtype=object)).cast('B')",
        "SecurityError",
    ),
    "raw memory: pack_into references": (
        "import numpy as np, struct\nstruct.pack_into('<Q', np.zeros(1, dtype=object), 0, 8)",
        "SecurityError",
    ),
    "raw memory: readinto references": (
        "import numpy as np, io\nio.BytesIO(b'x' * 8).readinto(np.zeros(1, dtype=[('a', 'O')]))",
        "SecurityError",
    ),
    "raw memory: readinto through the class": (
        "import numpy as np, io\nio.BytesIO.readinto(io.BytesIO(b'x' * 8), np.zeros(1, dtype=object)[::1])",
        "SecurityError",
    ),
    "raw memory: numbers over references": (
        "import numpy as np\nnp.frombuffer(np.zeros(2, dtype=object), dtype=np.uint64)",
        "SecurityError",
    ),
    "raw memory: buffers sibling": (
        "import numpy as np, io, struct\nb = bytearray(8)\nstruct.pack_into('<Q', b, 0, 7)\n"
        "io.BytesIO(b'y' * 4).readinto(b)\nassert len(memoryview(np.zeros(2)).cast('B')) == 16",
        "ok",
    ),
    # Attack pass 96: each finding's family.
    "by name: a list that answers twice": (
        "import pandas as pd\nclass Flip(list):\n    pass\npd.Series([1, 2]).apply(Flip(['sum']))",
        "SecurityError",
    ),
    "by name: a list rewritten while pandas reads it": (
        "import pandas as pd\nnames = []\ndef first(s):\n    names[1] = '_mgr'\n    return s.sum()\n"
        "names.extend([first, 'sum'])\nassert pd.Series([1, 2]).agg(names).tolist() == [3, 3]",
        "ok",
    ),
    "files: a style list that answers twice": (
        "import matplotlib.pyplot as plt\nclass Flip(list):\n    pass\nplt.style.use(Flip(['ggplot']))",
        "SecurityError",
    ),
    "resources: a tight box padded past the limit": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(4, 3), dpi=100)\nax.plot([1, 2])\n"
        "fig.savefig('pad.png', bbox_inches='tight', pad_inches=30)",
        "ValueError",
    ),
    "resources: the padding as a setting": (
        "import matplotlib.pyplot as plt\nplt.rcParams['savefig.pad_inches'] = 12",
        "SecurityError",
    ),
    "pivot: a figure of the program's class": (
        "import matplotlib.pyplot as plt\nclass Anything:\n    def __getattr__(self, name):\n        return Anything()\n"
        "    def __call__(self, *a, **k):\n        return Anything()\n"
        "class Fake:\n    dpi = 72\n    def __init__(self, *a, **k):\n        self.number = None\n"
        "    def __getattr__(self, name):\n        return Anything()\n"
        "plt.figure(FigureClass=Fake)",
        "TypeError",
    ),
    "figures: a dpi that is not a number": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nfig.dpi = float('nan')\n'kept'",
        "ok",
    ),
    "figures: a formatter that interrupts": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 2), dpi=50)\nax.plot([1, 2])\n"
        "def fmt(x, pos):\n    raise KeyboardInterrupt('no')\nax.xaxis.set_major_formatter(fmt)\n'kept'",
        "ok",
    ),
    "fonts: matplotlib's own condensed face": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 2), dpi=50)\n"
        "ax.set_title('c', fontstretch='condensed')\nfig.savefig('c.png')",
        "ok",
    ),
    # Attack pass 95, late findings.
    "raw memory: MultiIndex codes unchecked": (
        "import pandas as pd\npd.MultiIndex(levels=[['a']], codes=[[5]], verify_integrity=False)",
        "SecurityError",
    ),
    "raw memory: MultiIndex codes rewritten after the check": (
        "import pandas as pd, numpy as np\nbase = np.zeros(2, dtype=np.int8)\n"
        "mi = pd.MultiIndex(levels=[['a', 'b']], codes=[base[:1]])\nbase[0] = 100\nassert list(mi) == [('a',)]",
        "ok",
    ),
    "raw memory: set_codes unchecked": (
        "import pandas as pd\npd.MultiIndex.from_arrays([['a', 'b']]).set_codes([[0, 7]], verify_integrity=False)",
        "SecurityError",
    ),
    "files: a time zone by path": (
        "import pandas as pd\npd.Timestamp('2020-01-01', tz='dateutil//usr/share/zoneinfo/UTC')",
        "SecurityError",
    ),
    "files: time zones by name": (
        "import pandas as pd\nassert str(pd.Timestamp('2020-01-01', tz='dateutil/Europe/Paris')).endswith('+01:00')",
        "ok",
    ),
    "strings: a float format that reads attributes": (
        "import pandas as pd\npd.DataFrame({'a': [1.5]}).to_string(float_format='{0.__class__.__mro__}')",
        "SecurityError",
    ),
    "strings: a bar label format that reads attributes": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.bar_label(ax.bar(['a'], [1]), fmt='{0.__class__}')",
        "SecurityError",
    ),
    "strings: formats sibling": (
        "import pandas as pd\nimport matplotlib.pyplot as plt\n"
        "assert pd.DataFrame({'a': [1.5]}).to_string(float_format='{:.3f}').endswith('1.500')\n"
        "fig, ax = plt.subplots()\nassert len(ax.bar_label(ax.bar(['a'], [1]), fmt='{:.1f}')) == 1",
        "ok",
    ),
    # Attack pass 97.
    "raw memory: a Series answering __array_interface__": (
        "import numpy as np, pandas as pd\n"
        "iface = {'shape': (8,), 'typestr': '|u1', 'data': (8, False), 'version': 3}\n"
        "assert np.asarray(pd.Series([iface], index=['__array_interface__'], dtype=object)).dtype == object",
        "ok",
    ),
    "raw memory: spines answering __array_interface__": (
        "import numpy as np, matplotlib.pyplot as plt\nfig, ax = plt.subplots()\n"
        "ax.spines['__array_interface__'] = {'shape': (8,), 'typestr': '|u1', 'data': (8, False), 'version': 3}\n"
        "assert np.asarray(ax.spines).dtype.kind == 'U'",
        "ok",
    ),
    "type confusion: spines named like a Series": (
        # Taken for a Series, the Spines would fail inside pandas (no 'ndim' spine); refused as a
        # non-pandas object, concat raises TypeError.
        "import pandas as pd, matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.spines['_typ'] = 'series'\n"
        "pd.concat([pd.Series([1]), ax.spines])",
        "TypeError",
    ),
    "by name: groupby filter": (
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 1, 2], 'b': [1, 2, 3]})\n"
        "df.groupby('a')['b'].filter('to_csv', True, 'x.csv')",
        "SecurityError",
    ),
    "by name: crosstab's sixth argument": (
        "import pandas as pd\na, b, v = pd.Series(['x', 'y']), pd.Series(['p', 'q']), pd.Series([1, 2])\n"
        "pd.crosstab(a, b, v, None, None, 'head')",
        "SecurityError",
    ),
    "by name: crosstab sibling": (
        "import pandas as pd\na, b, v = pd.Series(['x', 'y']), pd.Series(['p', 'q']), pd.Series([1, 2])\n"
        "assert pd.crosstab(a, b, v, None, None, 'sum', True, 'All').shape == (3, 3)",
        "ok",
    ),
    "files: a writer through super": (
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\nsuper(pd.DataFrame, df).to_csv('/tmp/x.csv')",
        "SecurityError",
    ),
    "files: vector formats": (
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\n"
        "for name in ('x.pdf', 'x.svg', 'x.eps'):\n    fig.savefig(name)",
        "ok",
    ),
    "columns read as attributes": (
        "import pandas as pd\ndf = pd.DataFrame({'price': [1, 2]})\nassert int(df.price.sum()) == 3",
        "ok",
    ),
    "pivot: subclassing": ("import pandas as pd\nclass Frame(pd.DataFrame):\n    pass", "SecurityError"),
    "files: absolute path": ("import pandas as pd\npd.read_csv('/etc/passwd')", "PermissionError"),
    "files: up and out": ("import pandas as pd\npd.DataFrame({'a': [1]}).to_csv('../out.csv')", "PermissionError"),
    "files: a URL is a name": ("import pandas as pd\npd.read_csv('file:///etc/passwd')", "FileNotFoundError"),
    "files: TeX": ("import matplotlib.pyplot as plt\nplt.rcParams['text.usetex'] = True", "SecurityError"),
    "files: a style from a path": ("import matplotlib.pyplot as plt\nplt.style.use('/etc/passwd')", "SecurityError"),
    "files: style sibling": (
        "import matplotlib.pyplot as plt\nplt.style.use('ggplot')\nplt.rcParams['figure.figsize'] = (3, 2)",
        "ok",
    ),
    "resources: a huge figure saved": (
        "import matplotlib.pyplot as plt\nfig = plt.figure(figsize=(1000, 1000))\nfig.savefig('huge.png')",
        "SecurityError",
    ),
    "resources: a huge figure left open": (
        "import matplotlib.pyplot as plt\nplt.figure(figsize=(1000, 1000))\nplt.figure(figsize=(2, 2), dpi=50)",
        "ok",
    ),
    "resources: too many open figures": (
        "import matplotlib.pyplot as plt\nfor n in range(60):\n    plt.figure(figsize=(1, 1), dpi=10)",
        "SecurityError",
    ),
    "resources: figures closed as they go": (
        "import matplotlib.pyplot as plt\nfor n in range(60):\n    plt.close(plt.figure(figsize=(1, 1), dpi=10))",
        "ok",
    ),
    "resources: too many figures": (
        "import matplotlib.pyplot as plt\nfor n in range(5):\n    plt.figure(figsize=(1, 1), dpi=20)",
        "ok",
    ),
}


@dataclass
class Guarded:
    runs: dict[str, Ran]
    #: Two programs in a row: the first changes every setting it can, the second reads them.
    before: Ran
    after: Ran


async def _guarded(pool: ExecutionPool, workdirs: WorkDirectories) -> Guarded:
    runs = {name: await _run(pool, workdirs, code) for name, (code, _) in CASES.items()}
    runs["memory"] = await _run(pool, workdirs, "import numpy as np\nnp.ones((20000, 20000))", memory_mb=512)
    runs["memory while drawing"] = await _run(
        pool,
        workdirs,
        "import matplotlib.pyplot as plt\nfig, ax = plt.subplots(figsize=(2, 2), dpi=50)\nax.plot([1, 2])\nhoard = []\n"
        "def fmt(x, pos):\n    while True:\n        hoard.append(bytearray(50 * 2**20))\n"
        "ax.xaxis.set_major_formatter(fmt)\n'kept'",
        memory_mb=512,
    )
    draws = "import numpy as np\n[float(np.random.rand()), int(np.random.randint(0, 10**9))]"
    runs["random 1"] = await _run(pool, workdirs, draws)
    runs["random 2"] = await _run(pool, workdirs, draws)
    before = await _run(
        pool,
        workdirs,
        """
import numpy as np, pandas as pd, matplotlib.pyplot as plt
np.set_printoptions(precision=1)
pd.set_option("display.max_rows", 2)
plt.rcParams["lines.linewidth"] = 9
plt.style.use("ggplot")
plt.figure()
""",
    )
    after = await _run(
        pool,
        workdirs,
        """
import numpy as np, pandas as pd, matplotlib.pyplot as plt
[np.get_printoptions()["precision"], pd.get_option("display.max_rows"), plt.rcParams["lines.linewidth"],
 len(plt.get_fignums())]
""",
    )
    return Guarded(runs, before, after)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Guarded:
    return _with_pool(tmp_path_factory.mktemp("data"), None, _guarded)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_family_is_refused_and_its_sibling_works(guarded: Guarded, name: str) -> None:
    ran, expected = guarded.runs[name], CASES[name][1]
    if expected == "ok":
        assert ran.reply["error"] is None, (ran.reply, ran.stderr)
    else:
        assert ran.reply["error"] is not None, ran.reply
        assert ran.reply["error"]["type"] == expected, ran.reply["error"]


def test_an_analysis_answers_as_cpython_does(guarded: Guarded) -> None:
    ran = guarded.runs["analysis"]
    assert ran.reply["result"] == {"months": {"2025-01": 15, "2025-02": 7}, "det": 4.0, "r": 0}
    assert ran.stdout == "day\n2025-01    15\n2025-02     7\n"
    assert ran.files == ["monthly.csv", "sales.csv"]


def _png_size(content: str) -> tuple[int, int]:
    data = base64.b64decode(content)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_an_open_figure_comes_back_as_a_png_of_its_size(guarded: Guarded) -> None:
    ran = guarded.runs["figure"]
    assert ran.files == ["sales.csv", "saved.png"]
    [figure] = ran.reply["figures"]
    assert (figure["media_type"], figure["width"], figure["height"]) == ("image/png", 200, 150)
    assert _png_size(figure["content"]) == (200, 150)


def test_a_figure_past_the_pixel_limit_is_named_not_drawn(guarded: Guarded) -> None:
    ran = guarded.runs["resources: a huge figure left open"]
    assert [(f["width"], f["height"]) for f in ran.reply["figures"]] == [(100, 100)]
    assert "figure 1 not returned: ValueError: 100000 x 100000 pixels is more than" in ran.stderr


def test_figures_past_the_count_are_named_not_drawn(guarded: Guarded) -> None:
    ran = guarded.runs["resources: too many figures"]
    assert len(ran.reply["figures"]) == FIGURES["max_figures"]
    assert "2 more open figure(s) not returned" in ran.stderr


def test_a_huge_allocation_is_the_memory_limit(guarded: Guarded) -> None:
    reply = guarded.runs["memory"].reply
    assert (reply["limit"], reply["error"]["type"]) == ("memory", "MemoryError"), reply


def test_memory_filled_while_drawing_is_the_memory_limit(guarded: Guarded) -> None:
    reply = guarded.runs["memory while drawing"].reply
    assert (reply["limit"], reply["error"]["type"]) == ("memory", "MemoryError"), reply


def test_a_figure_that_cannot_be_drawn_is_named_and_the_result_kept(guarded: Guarded) -> None:
    for name in ("figures: a dpi that is not a number", "figures: a formatter that interrupts"):
        ran = guarded.runs[name]
        assert (ran.reply["result"], ran.reply["figures"]) == ("kept", []), ran.reply
        assert "figure 1 not returned" in ran.stderr


def test_every_execution_draws_its_own_random_numbers(guarded: Guarded) -> None:
    first, second = guarded.runs["random 1"].reply["result"], guarded.runs["random 2"].reply["result"]
    assert first is not None and second is not None
    assert first != second


def test_no_setting_reaches_the_next_execution(guarded: Guarded) -> None:
    assert guarded.before.reply["error"] is None, guarded.before.reply
    assert guarded.after.reply["result"] == [8, 60, 1.5, 0], guarded.after.reply


# --------------------------------------------------------------------------- the OS layers alone

#: A program with the real builtins (the language layer gone) that reaches libc through
#: numpy's ctypes interface, as a raw-memory escape would: each attempt is recorded.
ESCAPED = """
import numpy as np
libc = np.ctypeslib.ctypes.CDLL(None)
libc.open.argtypes = [np.ctypeslib.ctypes.c_char_p, np.ctypeslib.ctypes.c_int]
libc.socket.argtypes = [np.ctypeslib.ctypes.c_int] * 3
outcomes = []
def attempt(name, action):
    try:
        outcomes.append(f"{name}: {action()}")
    except Exception as exc:
        outcomes.append(f"{name}: {type(exc).__name__}")
attempt("libc open /etc/passwd", lambda: libc.open(b"/etc/passwd", 0))
attempt("libc open the service's files", lambda: libc.open(project.encode(), 0))
attempt("libc socket", lambda: libc.socket(2, 1, 0))
attempt("libc fork", lambda: libc.fork())
attempt("python open /etc/passwd", lambda: len(open("/etc/passwd").read()))
attempt("write outside", lambda: open("/tmp/planted-by-a-data-worker", "w").write("x"))
attempt("write own", lambda: open("own.txt", "w").write("x"))
result = "\\n".join(outcomes)
"""


@pytest.fixture(scope="module")
def escaped(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    async def scenario(pool: ExecutionPool, workdirs: WorkDirectories) -> Ran:
        code = f"project = {str(Path(__file__).resolve())!r}\n" + ESCAPED
        return await _run(pool, workdirs, code)

    return _with_pool(tmp_path_factory.mktemp("unguarded"), ENTRY, scenario)


@pytest.mark.skipif(landlock.abi_version() < 1, reason="no Landlock on this host")
def test_the_os_layers_alone_contain_a_program_that_reached_libc_through_numpy(escaped: Ran) -> None:
    assert escaped.reply["error"] is None, escaped.reply
    seen = dict(line.split(": ", 1) for line in escaped.reply["result"].splitlines())
    assert seen["libc open /etc/passwd"] == "-1"
    assert seen["libc open the service's files"] == "-1"
    assert seen["libc socket"] == "-1"
    assert seen["libc fork"] == "-1"
    assert seen["python open /etc/passwd"] == "PermissionError"
    assert seen["write outside"] == "PermissionError"
    assert seen["write own"] == "1"  # the program did run, with the real builtins
    assert not Path("/tmp/planted-by-a-data-worker").exists()
