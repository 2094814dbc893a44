"""The session registry's memory of ended sessions (src/sessions/registry.py): one token's
ended sessions push out its own, never another token's (attack pass 100)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from prometheus_client import CollectorRegistry

from src.metrics import ExecutorMetrics
from src.service import ExecutionService
from src.sessions import registry as registry_module
from src.sessions.registry import Session, SessionRegistry
from tests.support.server import make_settings


def remember(registry: SessionRegistry, owner: str, session_id: str) -> None:
    registry._remember(cast(Session, SimpleNamespace(owner=owner, id=session_id)), "deleted")


def test_a_flood_of_one_owners_ended_sessions_forgets_only_its_own() -> None:
    registry = SessionRegistry(make_settings(), cast(ExecutionService, None), ExecutorMetrics(CollectorRegistry()))
    remember(registry, "victim", "victims-session")
    for n in range(registry_module.MAX_TOMBSTONES_PER_OWNER * 3):
        remember(registry, "flooder", f"flood-{n}")
    assert registry.holds("victims-session")
    assert not registry.holds("flood-0")
    assert registry.holds(f"flood-{registry_module.MAX_TOMBSTONES_PER_OWNER * 3 - 1}")
