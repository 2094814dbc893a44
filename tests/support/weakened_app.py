"""``uvicorn tests.support.weakened_app:app``: the service as it runs on a host without
Landlock (its template is told to skip the layer), for the end-to-end tests of
EXECUTOR_REQUIRED_LAYERS. Test-only, like everything in tests/support.
"""

from __future__ import annotations

from src.app import create_app
from src.log_config import configure_logging
from src.settings import Settings

settings = Settings()
configure_logging(settings.log_format)  # as src/main.py does
app = create_app(settings, disabled_layers=frozenset({"landlock"}))
