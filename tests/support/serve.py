"""``python -m tests.support.serve MODULE:ATTR --port N``: serve a test application with
src.main.run, exactly as the ``sandboxed-executor`` console script serves the real one
(same uvicorn configuration and connection deadlines), on 127.0.0.1."""

from __future__ import annotations

import argparse
import importlib

from src.main import run

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("app", help="MODULE:ATTR of the application, e.g. src.main:app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--forwarded-allow-ips")
    args = parser.parse_args()
    module, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module), attribute)
    run(app, "127.0.0.1", args.port, forwarded_allow_ips=args.forwarded_allow_ips)
