"""The service's entry points. Reads settings from the environment.

``sandboxed-executor`` (the console script, also ``python -m src``) serves the app with
run(): uvicorn with the connection deadlines of api/connections.py. ``uvicorn
src.main:app`` serves the same app without them (uvicorn's command line cannot name a
protocol class): fine behind a proxy that has its own, not facing clients.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI

from . import __version__
from .api.connections import ConnectionLimits, guarded_protocol
from .app import create_app
from .log_config import configure_logging
from .metrics import ConnectionMetrics, ExecutorMetrics
from .settings import Settings, load_settings, warn_unknown_variables

#: Connections served at once (503 beyond, except the probes: api/connections.py), and
#: how long an idle keep-alive connection is kept.
MAX_CONNECTIONS = 256
KEEP_ALIVE_S = 5


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


#: How many of the largest possible answers may wait, in all, for clients that do not
#: read them (about 110 MB with the default limits) before the first to stop reading is
#: dropped.
UNREAD_ANSWERS_HELD = 8


def largest_answer_bytes(settings: Settings) -> int:
    """An /execute answer at its limits, every character of its text escaped sixfold by
    JSON (``\\u0001``), plus the fields around them."""
    text = settings.max_stdout_bytes + settings.max_stderr_bytes + settings.max_result_bytes
    return 6 * text + 64 * 1024


def run(app: FastAPI, host: str, port: int, *, forwarded_allow_ips: str | None = None, root_path: str = "") -> None:
    """Serve ``app`` with uvicorn as the service is meant to run: the connection deadlines
    of api/connections.py, at most 256 connections served (503 beyond, except the probes),
    idle keep-alive connections closed after 5 s, no Server header, no WebSocket upgrades, and
    X-Forwarded-* trusted only from ``forwarded_allow_ips`` (by default from no one: the
    per-IP limit and the audit log use the peer address)."""
    settings: Settings = app.state.settings
    metrics: ExecutorMetrics = app.state.metrics
    limits = ConnectionLimits(
        settings.header_timeout_s,
        settings.body_timeout_s,
        settings.send_timeout_s,
        MAX_CONNECTIONS,
        max_unsent_bytes=UNREAD_ANSWERS_HELD * largest_answer_bytes(settings),
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=guarded_protocol(limits, ConnectionMetrics(metrics)),
        ws="none",
        server_header=False,
        proxy_headers=forwarded_allow_ips is not None,
        forwarded_allow_ips=forwarded_allow_ips,
        root_path=root_path,
        timeout_keep_alive=KEEP_ALIVE_S,
        log_config=None,  # configure_logging (when the app was loaded) already set up uvicorn's loggers
    )


def serve(argv: Sequence[str] | None = None) -> None:
    """``sandboxed-executor`` (also ``python -m src``): serve ``src.main:app`` with run()."""
    parser = argparse.ArgumentParser(
        prog="sandboxed-executor", description="Serve the sandboxed Python executor over HTTP (EXECUTOR_* settings)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8030, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--forwarded-allow-ips",
        metavar="IPS",
        help="comma-separated addresses of the proxies whose X-Forwarded-For and X-Forwarded-Proto are trusted "
        "(default: none; the peer address is the client)",
    )
    parser.add_argument("--root-path", default="", help="the path prefix a proxy serves this service under")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)
    app = __getattr__("app")
    run(app, args.host, args.port, forwarded_allow_ips=args.forwarded_allow_ips, root_path=args.root_path)
