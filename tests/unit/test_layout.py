"""The direction of imports: the folder tree is the pipeline, and no layer reaches back.

api -> service -> sandbox -> protocol; language/ is shared by the API process and the
worker and depends on nothing but the standard library and RestrictedPython; worker/
is child-only code that never imports the web stack or the API side.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.support.server import PROJECT_ROOT

SRC = PROJECT_ROOT / "src"
WEB_STACK: frozenset[str] = frozenset(
    {"fastapi", "starlette", "pydantic", "pydantic_settings", "prometheus_client", "slowapi", "httpx", "uvicorn"}
    | {"mcp", "mcp_types", "limits", "redis", "pythonjsonlogger", "dotenv"}
)

#: For each package: the only modules of the project it may import (besides itself).
ALLOWED_PROJECT_IMPORTS: dict[str, tuple[str, ...]] = {
    "src.language": (),
    "src.worker": ("src.protocol", "src.language"),
    "src.sandbox": ("src.protocol", "src.language", "src.errors", "src.offload"),
}
#: Third-party packages a package may import (the rest must be the standard library).
ALLOWED_THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "src.language": ("RestrictedPython",),
    # numpy, pandas, matplotlib: the data tier the worker offers (optional; data_guards.py).
    "src.worker": ("RestrictedPython", "pyseccomp", "numpy", "pandas", "matplotlib"),
    "src.sandbox": (),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # `from . import child` imports the module src.worker.child
            found.update(
                f"{target}.{alias.name}"
                for alias in node.names
                if (SRC.parent / target.replace(".", "/") / f"{alias.name}.py").exists()
            )
    return found


def _files(package: str) -> list[Path]:
    return sorted((PROJECT_ROOT / package.replace(".", "/")).rglob("*.py"))


def _is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("package", sorted(ALLOWED_PROJECT_IMPORTS))
def test_a_lower_layer_imports_nothing_above_it(package: str) -> None:
    allowed = (package, *ALLOWED_PROJECT_IMPORTS[package])
    wrong = {
        f"{_module_name(path)} imports {name}"
        for path in _files(package)
        for name in _imports(path)
        if _is_within(name, "src") and name != "src" and not any(_is_within(name, ok) for ok in allowed)
    }
    assert sorted(wrong) == []


@pytest.mark.parametrize("package", sorted(ALLOWED_THIRD_PARTY))
def test_a_lower_layer_uses_only_the_standard_library_and_its_own_tools(package: str) -> None:
    allowed = ALLOWED_THIRD_PARTY[package]
    wrong = {
        f"{_module_name(path)} imports {name}"
        for path in _files(package)
        for name in _imports(path)
        if not _is_within(name, "src")
        and name.partition(".")[0] not in sys.stdlib_module_names
        and name.partition(".")[0] not in allowed
    }
    assert sorted(wrong) == []


@pytest.mark.parametrize("package", ["src.language", "src.worker"])
def test_the_web_stack_never_reaches_code_shared_with_or_run_in_the_worker(package: str) -> None:
    reached = {name for path in _files(package) for name in _imports(path) if name.partition(".")[0] in WEB_STACK}
    assert sorted(reached) == []


def test_the_service_layer_does_not_import_the_http_layer() -> None:
    for module in ("src/service.py", "src/errors.py", "src/protocol.py", "src/schemas.py"):
        imported = _imports(PROJECT_ROOT / module)
        assert sorted(name for name in imported if _is_within(name, "src.api") or _is_within(name, "src.app")) == []


def test_the_check_sees_relative_imports() -> None:
    # Without this, a resolver bug would make every test above pass vacuously.
    assert "src.protocol" in _imports(SRC / "worker" / "runner.py")
    assert "src.worker.isolation.landlock" in _imports(SRC / "worker" / "isolation" / "hardening.py")
