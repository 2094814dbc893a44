"""Fixtures for every tier: a clean environment, settings, a private metrics registry,
the module proxies of in-process program runs, and (for end-to-end tests) one real
uvicorn server for the whole session.

Tests never inherit the developer's EXECUTOR_* environment or .env file.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from src.settings import Settings
from tests.support.inprocess import Proxies, catalogue_proxies
from tests.support.server import LiveServer, make_settings, run_server

# Imported now, before any test runs: the in-process program runs of tests/unit install the
# worker's guards in this process for good (abc.ABCMeta.register among them), and the MCP
# SDK's client imports jsonschema lazily, on the first tool result that has an
# outputSchema; jsonschema registers library classes with library ABCs as it loads, which
# that guard refuses (SecurityError). Loaded first, it has registered them already.
importlib.import_module("jsonschema")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("EXECUTOR_"):
            monkeypatch.delenv(key)


@pytest.fixture
def settings_factory() -> Callable[..., Settings]:
    return make_settings


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture(scope="session")
def proxies() -> Proxies:
    """The worker's module proxies for the whole catalogue (read-only, so shared)."""
    return catalogue_proxies()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server for the whole session, with the TEST_ENV limits."""
    for key in list(os.environ):
        if key.startswith("EXECUTOR_"):
            del os.environ[key]
    with run_server(tmp_path_factory.mktemp("live")) as server:
        yield server


@pytest.fixture
def client(live_server: LiveServer) -> Iterator[httpx.Client]:
    with live_server.client() as c:
        yield c
