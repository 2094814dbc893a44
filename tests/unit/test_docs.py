"""The documents (README.md and docs/*.md): linted, rendered as written, every link and
anchor resolves inside the repository, every path and module they name exists, and the
README's settings table is the settings.

The runnable snippets themselves are run against a real server by
tests/e2e/test_docs_snippets.py; this module also provides the parsing both use.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from src.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = (README, *sorted((ROOT / "docs").glob("*.md")))
LINT_CONFIG = ROOT / ".pymarkdown.json"
README_MAX_BYTES = 12 * 1024
#: Marks a fenced block as run by the snippet test: ``<!-- doc-test: KIND [NAME] -->`` on
#: the line before it (a blank line may separate them).
MARKER = re.compile(r"<!--\s*doc-test:\s*(?P<kind>[a-z-]+)(?:\s+(?P<name>[a-z0-9-]+))?\s*-->")
#: The only hosts an absolute URL in the documents may name: the examples' own server.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
#: Repository paths named in code spans: src/..., tests/..., deploy/..., scripts/...
REPO_PATH = re.compile(r"^(?:src|tests|deploy|scripts|docs|\.ci)/[\w./-]*$")
TOP_LEVEL_FILES = ("Dockerfile", "docker-compose.yml", "seccomp.json", "requirements.txt", "requirements.lock")


@dataclass(frozen=True)
class Block:
    """A fenced code block, with the doc-test marker before it (if any)."""

    path: Path
    line: int
    info: str
    content: str
    kind: str | None
    name: str | None

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


@cache
def tokens(path: Path) -> list[Token]:
    return _parser().parse(path.read_text(encoding="utf-8"))


def fenced_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    marker: re.Match[str] | None = None
    for token in tokens(path):
        if token.type == "html_block":
            marker = MARKER.fullmatch(token.content.strip())
            continue
        if token.type == "fence":
            line = token.map[0] + 1 if token.map else 0
            kind, name = (marker["kind"], marker["name"]) if marker else (None, None)
            blocks.append(Block(path, line, token.info.strip(), token.content, kind, name))
        marker = None
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in fenced_blocks(path)]


def _inline_children(path: Path) -> list[Token]:
    return [child for token in tokens(path) if token.type == "inline" for child in token.children or ()]


def _slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(c for c in text.lower() if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    stream = tokens(path)
    for i, token in enumerate(stream):
        if token.type != "heading_open":
            continue
        text = "".join(child.content for child in stream[i + 1].children or () if child.type in ("text", "code_inline"))
        slug = _slug(text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(path: Path) -> list[str]:
    return [
        str(child.attrs["href"])
        for child in _inline_children(path)
        if child.type == "link_open" and "href" in child.attrs
    ]


def code_spans(path: Path) -> list[str]:
    return [child.content for child in _inline_children(path) if child.type == "code_inline"]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


# --------------------------------------------------------------------------- lint and render


def test_markdown_lint_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pymarkdown", "--config", str(LINT_CONFIG), "--strict-config", "scan", *map(str, DOCS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_every_fence_closes_and_renders_as_one_code_block(path: Path) -> None:
    """A fence that does not close (CommonMark) turns the rest of the page into code."""
    fence_lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("```")]
    assert len(fence_lines) % 2 == 0, "a fence is opened and never closed"
    html = _parser().render(path.read_text(encoding="utf-8"))
    assert html.count("<pre>") == len(fence_lines) // 2 == len(fenced_blocks(path))


def test_readme_is_short() -> None:
    assert README.stat().st_size <= README_MAX_BYTES


def test_readme_links_every_docs_page() -> None:
    linked = {urlsplit(href).path for href in links(README)}
    assert {_name(page) for page in DOCS[1:]} <= linked


# --------------------------------------------------------------------------- links


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_links_resolve_inside_the_repository(path: Path) -> None:
    assert links(path), "no links at all: the parser found nothing"
    for href in links(path):
        parts = urlsplit(href)
        if parts.scheme or parts.netloc:
            assert parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS, f"leaves the repository: {href}"
            continue
        assert ".." not in Path(parts.path).parts, f"leaves its folder: {href}"
        assert not parts.path.startswith("/"), f"absolute path: {href}"
        target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        assert target.is_relative_to(ROOT) and target.exists(), f"no such file: {href}"
        if parts.fragment:
            assert target.suffix == ".md", f"anchor into a non-Markdown file: {href}"
            assert parts.fragment in anchors(target), f"no heading for #{parts.fragment} in {_name(target)}"


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_nothing_outside_the_repository_is_named(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for outside in ("../", "CONTRACT.md", "/work/"):
        assert outside not in text, outside


# --------------------------------------------------------------------------- facts


def test_every_repository_path_named_exists() -> None:
    """Module and test paths in code spans: a refactor that moves a file must move its
    mention too (``src/pool.py`` became ``src/sandbox/pool.py``)."""
    named = [
        (_name(path), span)
        for path in DOCS
        for span in code_spans(path)
        if REPO_PATH.match(span) or span in TOP_LEVEL_FILES
    ]
    assert len(named) > 50, "hardly any paths found: the pattern is wrong"
    assert [(doc, span) for doc, span in named if not (ROOT / span).exists()] == []


@pytest.mark.parametrize("path", DOCS, ids=_name)
def test_every_python_module_named_exists(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for module in re.findall(r"python -m ([\w.]+)", text):
        if module in ("uvicorn", "pymarkdown"):
            continue
        assert importlib.util.find_spec(module) is not None, module


def test_settings_table_lists_every_setting_and_nothing_else() -> None:
    rows = [line for line in README.read_text(encoding="utf-8").splitlines() if line.startswith("| `EXECUTOR_")]
    documented = {name for row in rows for name in re.findall(r"`(EXECUTOR_[A-Z0-9_]+)`", row.split("|")[1])}
    expected = {f"EXECUTOR_{field.upper()}" for field in Settings.model_fields}
    aliases = {"EXECUTOR_EXECUTION_TIMEOUT"}
    assert documented - aliases == expected


def test_documented_defaults_of_plain_settings_are_the_real_ones() -> None:
    """Every row whose default is a bare number or a code literal matches the field."""
    checked = 0
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        match = re.fullmatch(r"`EXECUTOR_([A-Z0-9_]+)`.*", cells[0]) if len(cells) == 3 else None
        if match is None:
            continue
        default = Settings.model_fields[match[1].lower()].default
        shown = cells[1].strip("`")
        size = re.fullmatch(r"(\d+) (KiB|MiB)", shown)
        if re.fullmatch(r"\d+", shown):
            assert float(shown) == default, match[1]
        elif size is not None:
            assert int(size[1]) * {"KiB": 1024, "MiB": 1_048_576}[size[2]] == default, match[1]
        elif shown in ("true", "false"):
            assert (shown == "true") == default, match[1]
        elif isinstance(default, str):
            assert shown == default, match[1]
        elif isinstance(default, frozenset) and default and shown == ",".join(sorted(default)):
            pass
        else:
            continue
        checked += 1
    assert checked >= 25


def test_documented_console_scripts_are_declared() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    text = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    for script in ("sandboxed-executor", "sandboxed-executor-mcp"):
        assert script in scripts
        assert script in text


def test_every_doc_test_marker_is_known_and_marks_a_block() -> None:
    kinds = {"curl", "answer", "mcp-python", "stdout", "mcp-http-config", "mcp-stdio-config"}
    marked = [block for block in all_blocks() if block.kind is not None]
    texts = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
    assert len(marked) == len(MARKER.findall(texts)), "a marker is not directly before a fenced block"
    assert {block.kind for block in marked} <= kinds
    assert {block.name for block in marked if block.kind == "curl"} == {
        block.name for block in marked if block.kind == "answer"
    }


def test_operations_lists_every_metric_family_and_label_value() -> None:
    """The metrics table is what operators alert on: every family the service registers,
    every refusal reason and every reason a connection is cut."""
    from prometheus_client import CollectorRegistry

    from src.api.connections import CONNECTION_CUTS
    from src.errors import REJECTION_REASONS
    from src.metrics import ExecutorMetrics

    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    families = {metric.name for metric in ExecutorMetrics(CollectorRegistry()).registry.collect()}
    for family in families:
        exposed = family if f"`{family}`" in text else f"{family}_total"
        assert f"`{exposed}`" in text or f"`{exposed} " in text, family
    table = text[text.index("## Metrics") : text.index("### PromQL")]
    for value in (*REJECTION_REASONS, *CONNECTION_CUTS):
        assert re.search(rf"\b{value}\b", table), value
