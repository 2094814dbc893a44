"""The ASGI entry point: ``uvicorn src.main:app``. Reads settings from the environment.

Also the ``sandboxed-executor`` console script (``serve``), which runs the same app.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import uvicorn

from . import __version__
from .app import create_app
from .log_config import configure_logging
from .settings import load_settings, warn_unknown_variables


def __getattr__(name: str) -> Any:
    # PEP 562: ``app`` (and ``settings``) are built when uvicorn first asks for them, not at
    # import. The console script imports this module for serve(): so ``--help`` works without
    # a token, and a bad configuration is reported once, after the arguments were parsed.
    if name not in ("app", "settings"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    loaded = load_settings()
    configure_logging(loaded.log_format)
    warn_unknown_variables(os.environ)
    globals().update(settings=loaded, app=create_app(loaded))  # later lookups skip this hook
    return globals()[name]


def serve(argv: Sequence[str] | None = None) -> None:
    """``sandboxed-executor [--host H] [--port P]``: ``uvicorn src.main:app`` from any directory.

    With the image's HTTP settings (see the Dockerfile's CMD): no Server header, no trust in
    X-Forwarded-* (the per-IP limit and the audit log use the peer address), at most 256 open
    connections, idle keep-alive connections closed after 5 s."""
    parser = argparse.ArgumentParser(
        prog="sandboxed-executor", description="Serve the sandboxed Python executor over HTTP (EXECUTOR_* settings)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8030, help="TCP port (default: %(default)s)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    uvicorn.run(
        "src.main:app",
        host=args.host,
        port=args.port,
        server_header=False,
        proxy_headers=False,
        limit_concurrency=256,
        timeout_keep_alive=5,
    )
