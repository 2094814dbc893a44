"""The ASGI entry point: ``uvicorn src.main:app``. Reads settings from the environment."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from .app import create_app
from .settings import Settings


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "\n".join(
            f"  EXECUTOR_{'_'.join(str(p) for p in e['loc']).upper() or '(settings)'}: {e['msg']}" for e in exc.errors()
        )
        sys.stderr.write(f"invalid configuration, refusing to start:\n{problems}\n")
        raise SystemExit(2) from None


app = create_app(_load_settings())
