"""The language layer's file API (src/worker/file_system.py, file_paths.py, file_copies.py,
archives.py), in-process: real RestrictedPython, real guards and membrane, a real
directory as the working directory; no OS layer (the integration and end-to-end tests
have those). A limit that ends the worker would end this process: those are tested with
real workers (tests/integration/test_working_directory.py, tests/e2e/test_files.py)."""

from __future__ import annotations

import gc
import io
import os
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from src.language.file_use import may_use_files
from src.protocol import FileRules
from src.worker import file_system
from tests.support.inprocess import Outcome, Proxies, run

# Programs leave files open, as ordinary programs do: the worker's exit closes them.
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")

RULES: FileRules = {
    "max_files": 64,
    "max_file_bytes": 8 << 20,
    "max_files_bytes": 32 << 20,
    "max_path_chars": 255,
    "max_path_depth": 8,
}


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A working directory, the current one, with the file functions pointed at it."""
    directory = tmp_path / "work"
    directory.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    before = os.getcwd()
    os.chdir(directory)
    file_system.begin(RULES, writable=True)
    try:
        yield directory
    finally:
        # The files programs left open are closed here, where their warnings are filtered,
        # not in whichever test the collector next runs in.
        gc.collect()
        file_system.begin(None, writable=False)
        os.chdir(before)


def ok(code: str, proxies: Proxies) -> Outcome:
    outcome = run(code, proxies)
    assert outcome.reply["error"] is None, outcome.stderr
    return outcome


def refused(code: str, proxies: Proxies) -> str:
    outcome = run(code, proxies)
    assert outcome.reply["error"] is not None, outcome.stdout
    return f"{outcome.error['type']}: {outcome.error['message']}"


def test_open_reads_and_writes_text_and_bytes(workdir: Path, proxies: Proxies) -> None:
    (workdir / "in.txt").write_text("héllo\n", encoding="utf-8")
    outcome = ok(
        "with open('in.txt') as f:\n"
        "    text = f.read()\n"
        "with open('out.txt', 'w') as f:\n"
        "    f.write(text.upper())\n"
        "with open('out.txt', 'a') as f:\n"
        "    print('more', file=f)\n"
        "with open('data.bin', 'wb') as f:\n"
        "    f.write(bytes(range(4)))\n"
        "print(open('data.bin', 'rb').read(), [line.strip() for line in open('out.txt')])",
        proxies,
    )
    assert outcome.stdout == "b'\\x00\\x01\\x02\\x03' ['HÉLLO', 'more']\n"
    assert (workdir / "out.txt").read_text(encoding="utf-8") == "HÉLLO\nmore\n"


def test_csv_and_json_work_on_the_files_open_gives(workdir: Path, proxies: Proxies) -> None:
    (workdir / "people.csv").write_text("name,age\nada,36\nalan,41\n")
    outcome = ok(
        "import csv, json\n"
        "with open('people.csv', newline='') as f:\n"
        "    rows = list(csv.DictReader(f))\n"
        "with open('summary.json', 'w') as f:\n"
        "    json.dump({'total': sum(int(r['age']) for r in rows)}, f)\n"
        "with open('summary.json') as f:\n"
        "    print(json.load(f))\n"
        "with open('copy.csv', 'w', newline='') as f:\n"
        "    w = csv.writer(f)\n"
        "    w.writerows([[r['name'], r['age']] for r in rows])",
        proxies,
    )
    assert outcome.stdout == "{'total': 77}\n"
    assert (workdir / "copy.csv").read_bytes() == b"ada,36\r\nalan,41\r\n"


def test_pathlib_covers_what_programs_use(workdir: Path, proxies: Proxies) -> None:
    outcome = ok(
        "from pathlib import Path\n"
        "out = Path('out') / 'reports'\n"
        "out.mkdir(parents=True, exist_ok=True)\n"
        "(out / 'a.txt').write_text('alpha')\n"
        "(out / 'b.bin').write_bytes(b'beta')\n"
        "p = out / 'a.txt'\n"
        "print(p, repr(p), p.name, p.stem, p.suffix, p.parent, p.exists(), p.is_file(), out.is_dir())\n"
        "print(p.read_text(), (out / 'b.bin').read_bytes(), p.stat().st_size)\n"
        "print(sorted(str(q) for q in out.iterdir()), sorted(str(q) for q in Path('.').rglob('*.txt')))\n"
        "p.rename(out / 'c.txt')\n"
        "(out / 'b.bin').unlink()\n"
        "print(sorted(q.name for q in out.glob('*')), Path.cwd(), Path('x/../y').resolve())\n"
        "print(p.with_suffix('.md'), Path('a', 'b').parts, Path('a/b') == Path('a') / 'b')",
        proxies,
    )
    assert outcome.stdout.splitlines() == [
        "out/reports/a.txt PosixPath('out/reports/a.txt') a.txt a .txt out/reports True True True",
        "alpha b'beta' 5",
        "['out/reports/a.txt', 'out/reports/b.bin'] ['out/reports/a.txt']",
        "['c.txt'] . y",
        "out/reports/a.md ('a', 'b') True",
    ]


def test_os_os_path_shutil_and_glob(workdir: Path, proxies: Proxies) -> None:
    outcome = ok(
        "import os, shutil, glob\n"
        "os.makedirs('d/e', exist_ok=True)\n"
        "with open(os.path.join('d', 'e', 'f.txt'), 'w') as f:\n"
        "    f.write('x' * 10)\n"
        "shutil.copy('d/e/f.txt', 'd')\n"
        "shutil.copytree('d', 'd2')\n"
        "shutil.move('d2/f.txt', 'g.txt')\n"
        "print(sorted(os.listdir('.')), os.path.getsize('g.txt'), os.path.isdir('d2/e'), os.getcwd())\n"
        "print(sorted(glob.glob('**/*.txt', recursive=True)))\n"
        "print([(top, sorted(dirs), sorted(files)) for top, dirs, files in sorted(os.walk('d'))])\n"
        "shutil.rmtree('d2'); os.remove('g.txt')\n"
        "print(sorted(os.listdir()), os.path.exists('d2'), os.getenv('HOME', 'none'), os.path.abspath('a/../b'))",
        proxies,
    )
    assert outcome.stdout.splitlines() == [
        "['d', 'd2', 'g.txt'] 10 True .",
        "['d/e/f.txt', 'd/f.txt', 'd2/e/f.txt', 'g.txt']",
        "[('d', ['e'], ['f.txt']), ('d/e', [], ['f.txt'])]",
        "['d'] False none b",
    ]


def test_zip_and_tar_round_trips(workdir: Path, proxies: Proxies) -> None:
    outcome = ok(
        "import zipfile, tarfile, io\n"
        "open('a.txt', 'w').write('alpha')\n"
        "with zipfile.ZipFile('z.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n"
        "    z.write('a.txt')\n"
        "    z.writestr('sub/b.txt', 'beta')\n"
        "with zipfile.ZipFile('z.zip') as z:\n"
        "    print(z.namelist(), z.read('sub/b.txt'), [i.file_size for i in z.infolist()], z.open('a.txt').read())\n"
        "    z.extractall('unzipped')\n"
        "with tarfile.open('t.tar.gz', 'w:gz') as t:\n"
        "    t.add('unzipped')\n"
        "with tarfile.open('t.tar.gz') as t:\n"
        "    print(sorted(t.getnames()), t.extractfile('unzipped/sub/b.txt').read())\n"
        "    t.extractall('untarred')\n"
        "print(open('untarred/unzipped/sub/b.txt').read(), zipfile.is_zipfile('z.zip'), tarfile.is_tarfile('t.tar.gz'))\n"
        "buffer = io.BytesIO()\n"
        "with zipfile.ZipFile(buffer, 'w') as z:\n"
        "    z.writestr('m.txt', 'in memory')\n"
        "print(zipfile.ZipFile(buffer).read('m.txt'))",
        proxies,
    )
    assert outcome.stdout.splitlines() == [
        "['a.txt', 'sub/b.txt'] b'beta' [5, 4] b'alpha'",
        "['unzipped', 'unzipped/a.txt', 'unzipped/sub', 'unzipped/sub/b.txt'] b'beta'",
        "beta True True",
        "b'in memory'",
    ]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("open('/etc/hostname')", "absolute path", id="absolute"),
        pytest.param("open('../outside.txt')", "'..' leads out", id="dotdot"),
        pytest.param("open('a/../../outside.txt')", "'..' leads out", id="dotdot-inside"),
        pytest.param("import pathlib\npathlib.Path('/etc/hostname').read_text()", "absolute path", id="pathlib"),
        pytest.param("import os\nos.listdir('/')", "absolute path", id="listdir"),
        pytest.param("import os\nos.path.exists('/etc')", "absolute path", id="exists"),
        pytest.param("import shutil\nshutil.copy('/etc/hostname', 'h')", "absolute path", id="copy"),
        pytest.param("import glob\nglob.glob('/etc/*')", "absolute path", id="glob"),
        pytest.param("import glob\nglob.glob('*', root_dir='..')", "'..' leads out", id="glob-root-dir"),
        pytest.param("import zipfile\nzipfile.ZipFile('/tmp/x.zip')", "absolute path", id="zipfile"),
        pytest.param("import tarfile\ntarfile.open('../x.tar')", "'..' leads out", id="tarfile"),
        pytest.param("open('x' * 300, 'w')", "longer than 255", id="too-long"),
        pytest.param("open('a/b/c/d/e/f/g/h/i.txt', 'w')", "more than 8 levels", id="too-deep"),
        pytest.param("open('link/hostname')", "through a link", id="through-a-link"),
    ],
)
def test_a_path_outside_the_working_directory_is_refused_with_a_reason(
    workdir: Path, proxies: Proxies, code: str, expected: str
) -> None:
    (workdir / "link").symlink_to("/etc")
    message = refused(code, proxies)
    assert message.startswith("PermissionError: [Errno 13]")
    assert expected in message
    assert "a program reads and writes only its working directory" in message


def test_an_archive_cannot_extract_outside_the_working_directory(workdir: Path, proxies: Proxies) -> None:
    with zipfile.ZipFile(workdir / "slip.zip", "w") as archive:
        archive.writestr("../../escaped.txt", "zip-slip")
        archive.writestr("/abs.txt", "absolute")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        link = tarfile.TarInfo("etc")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        archive.addfile(link)
    (workdir / "link.tar").write_bytes(buffer.getvalue())
    outcome = ok(
        "import zipfile, tarfile\n"
        "zipfile.ZipFile('slip.zip').extractall('x')\n"
        "try:\n"
        "    tarfile.open('link.tar').extractall('y')\n"
        "except tarfile.TarError as e:\n"
        "    print(type(e).__name__, e)",
        proxies,
    )
    assert outcome.stdout == "FilterError 'etc' is a link; the sandbox does not make links\n"
    assert sorted(str(p.relative_to(workdir)) for p in (workdir / "x").rglob("*")) == ["x/abs.txt", "x/escaped.txt"]
    assert not (workdir.parent / "escaped.txt").exists()
    assert "other filter" not in refused("import tarfile\ntarfile.open('link.tar').extractall(filter='tar')", proxies)
    assert "only the 'data' extraction filter" in refused(
        "import tarfile\ntarfile.open('link.tar').extractall(filter='fully_trusted')", proxies
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("open(0)", "TypeError: open() takes a path in the sandbox, not a file descriptor", id="fd"),
        pytest.param("open(b'a.txt')", "TypeError: open(): paths are text (str)", id="bytes"),
        pytest.param("open('a.txt', buffering=0)", "ValueError: open(): unbuffered files", id="unbuffered"),
        pytest.param("open('a.txt', opener=print)", "TypeError: open(): the sandbox does not take an opener", id="op"),
        pytest.param(
            "open('a.txt').buffer.raw", "SecurityError: the sandbox refused an instance of _io.FileIO", id="raw"
        ),
        pytest.param("type(open('a.txt'))(open('a.txt').buffer)", "SecurityError", id="class"),
        pytest.param(
            "import pathlib\nclass P(pathlib.Path): pass", "TypeError: pathlib.Path cannot be subclassed", id="sub"
        ),
        pytest.param("import os\nos.system", "AttributeError: module 'os' has no attribute 'system'", id="system"),
        pytest.param("import os\nos.chmod", "AttributeError: module 'os' has no attribute 'chmod'", id="chmod"),
        pytest.param("import os\nos.symlink", "AttributeError: module 'os' has no attribute 'symlink'", id="ln"),
        pytest.param("import os.path\nos.path.expanduser('~')", "AttributeError: module 'os.path' has no", id="home"),
        pytest.param("import zipfile\nzipfile.ZipInfo", "AttributeError: module 'zipfile' has no", id="zipinfo"),
        pytest.param("import tarfile\ntarfile.TarFile", "AttributeError: module 'tarfile' has no", id="tarfile"),
    ],
)
def test_what_is_not_offered_is_refused(workdir: Path, proxies: Proxies, code: str, expected: str) -> None:
    (workdir / "a.txt").write_text("a")
    assert refused(code, proxies).startswith(expected)


def test_the_real_objects_behind_the_sandboxs_stay_out_of_reach(workdir: Path, proxies: Proxies) -> None:
    (workdir / "a.txt").write_text("a")
    for code in (
        "import zipfile\nzipfile.ZipFile('z.zip', 'w')._archive",
        "import pathlib\npathlib.Path('a')._pure",
        "import tarfile\nt = tarfile.open('t.tar', 'w')\nt._archive",
    ):
        assert refused(code, proxies).startswith(("SyntaxError", "SecurityError", "AttributeError"))


@pytest.mark.parametrize(
    "code",
    [
        "import zipfile, copy\ncopy.copy(zipfile.ZipFile('z.zip', 'w'))",
        "import zipfile, copy, io\ncopy.deepcopy(zipfile.ZipFile(io.BytesIO(), 'w'))",
        "import tarfile, copy\ncopy.deepcopy(tarfile.open('t.tar', 'w'))",
    ],
)
def test_an_archive_cannot_be_copied_with_the_real_one_inside(workdir: Path, proxies: Proxies, code: str) -> None:
    assert refused(code, proxies).startswith("TypeError: ") and "objects cannot be copied" in refused(code, proxies)


def test_an_int_subclass_cannot_ask_for_an_unbuffered_file(workdir: Path, proxies: Proxies) -> None:
    code = "class Zero(int):\n    pass\nopen('a.txt', 'w', buffering=Zero(0))"
    assert refused(code, proxies).startswith("ValueError: open(): unbuffered files")


def test_walk_descends_only_into_what_its_listing_gave(workdir: Path, proxies: Proxies) -> None:
    # Attack pass 92, F6: the real os.walk joined any name the program left in dirs.
    (workdir / "sub").mkdir()
    outcome = ok(
        "import os\nseen = []\nfor top, dirs, files in os.walk('.'):\n"
        "    seen.append(top)\n    dirs[:] = [*dirs, '/etc', '..', 'missing']\n"
        "bottom_up = [top for top, _, _ in os.walk('.', topdown=False)]\n[seen, bottom_up]",
        proxies,
    )
    assert outcome.reply["result"] == [[".", "./sub"], ["./sub", "."]]


def test_an_object_that_is_an_index_is_no_file_object(workdir: Path, proxies: Proxies) -> None:
    # Attack pass 94, F4: builtins.open took an object with __index__ as a descriptor.
    code = (
        "import tarfile, zipfile\nclass D:\n    def __index__(self):\n        return 3\n"
        "    def write(self, data):\n        pass\n"
    )
    for call in ("zipfile.is_zipfile(D())", "tarfile.open(fileobj=D(), mode='w')", "tarfile.is_tarfile(D())"):
        assert "takes a path (str or pathlib.Path) or a file object, not D" in refused(code + call, proxies)


@pytest.mark.parametrize(
    "code",
    [
        "import tarfile\ntarfile.open(b'../outside.tar', 'w')",
        "import tarfile\ntarfile.is_tarfile(b'/etc/passwd')",
        "import zipfile\nzipfile.is_zipfile(3)",
        "import tarfile\ntarfile.open(3, 'w')",
        "import tarfile\ntarfile.open(fileobj=1)",
        "import zipfile\nzipfile.ZipFile(b'/etc/passwd')",
    ],
)
def test_archives_take_no_bytes_path_and_no_descriptor(workdir: Path, proxies: Proxies, code: str) -> None:
    # Attack pass 92, F3: anything not a path nor a file object reached the libraries.
    assert "takes a path (str or pathlib.Path) or a file object" in refused(code, proxies)
    assert not (workdir.parent / "outside.tar").exists()


def test_a_tree_cannot_be_moved_deeper_than_the_limit(workdir: Path, proxies: Proxies) -> None:
    # Attack pass 92, F5: renames hung chains of directories under each other.
    code = "import os\nos.makedirs('a/b/c/d/e')\nos.makedirs('x/y/z/w')\nos.rename('a', 'x/y/z/w/a')"
    assert "the tree moved there would be more than 8 levels deep" in refused(code, proxies)
    assert ok("import os\nos.rename('a', 'x/y/a')\nos.path.isdir('x/y/a/b/c/d/e')", proxies).reply["result"] is True


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("\\udcff.txt", "not valid UTF-8"),
        ("..\\\\evil.bat", "a backslash is not a path separator"),
        ("\\x1b[2J.txt", "a control character"),
        ("\\x9b1m.txt", "a control character"),
        ("invoice\\u202etxt.exe", "a control character"),
        ("C:/Users/Public/x.txt", "a Windows drive"),
    ],
)
def test_a_name_the_answer_could_not_carry_safely_is_refused(
    workdir: Path, proxies: Proxies, name: str, problem: str
) -> None:
    # Attack pass 92, F1 and F10: a lone surrogate made the reply a 500; a backslash or a
    # drive reads as a separator on a client that saves the answer's files.
    assert problem in refused(f"open('{name}', 'w')", proxies)


def test_tar_errors_name_no_host_path(workdir: Path, proxies: Proxies) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo("../x")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    (workdir / "up.tar").write_bytes(buffer.getvalue())
    outcome = ok(
        "import tarfile\ntry:\n    tarfile.open('up.tar').extractall('out')\n"
        "except tarfile.OutsideDestinationError as e:\n    print(e)\n"
        "print(tarfile.open('up.tar').name)",
        proxies,
    )
    assert str(workdir) not in outcome.stdout and "files" not in outcome.stdout
    assert outcome.stdout.splitlines()[1] == "up.tar"
    # The default destination: the message named the service's directory (pass 94, F6).
    outcome = ok(
        "import tarfile\ntry:\n    tarfile.open('up.tar').extractall()\n"
        "except tarfile.OutsideDestinationError as e:\n    print(e)",
        proxies,
    )
    assert str(workdir.parent) not in outcome.stdout and "'../x'" in outcome.stdout


def test_the_workers_own_streams_never_pass_though_files_of_their_class_do(proxies: Proxies) -> None:
    from src.worker.membrane import admit
    from src.worker.refusal import SecurityError

    assert proxies
    assert isinstance(sys.__stderr__, io.TextIOWrapper)
    with pytest.raises(SecurityError):
        admit(sys.__stderr__)


def test_without_a_working_directory_a_program_is_told_so(proxies: Proxies) -> None:
    file_system.begin(None, writable=False)
    assert (
        refused("open('a.txt')", proxies)
        == "PermissionError: [Errno 13] open(): this execution has no working directory"
    )


def test_where_writes_cannot_be_confined_a_program_can_read_but_not_write(workdir: Path, proxies: Proxies) -> None:
    (workdir / "in.txt").write_text("input")
    file_system.begin(RULES, writable=False)
    assert ok("print(open('in.txt').read())", proxies).stdout == "input\n"
    assert "files cannot be written on this host" in refused("open('out.txt', 'w')", proxies)
    assert not (workdir / "out.txt").exists()


@pytest.mark.parametrize(
    ("code", "uses"),
    [
        ("print(1)", False),
        ("import json\njson.dumps({})", False),
        ("data = open('x').read()", True),
        ("import os", True),
        ("from pathlib import Path", True),
        ("import zipfile", True),
        ("exec('x = 1')", True),
        ("opener = 1", False),
        ("import \uff4f\uff53", True),
    ],
)
def test_a_working_directory_is_made_for_the_programs_that_may_use_one(code: str, uses: bool) -> None:
    assert may_use_files(code) is uses
