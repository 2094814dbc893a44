"""The ASGI entry point: ``uvicorn src.main:app``. Reads settings from the environment."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from .app import create_app
from .log_config import configure_logging
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


settings = _load_settings()
configure_logging(settings.log_format)
app = create_app(settings)
