"""Logs as JSON lines, each carrying the request id of the request that wrote it.

python-json-logger formats the records; ``RequestIdFilter`` copies the id that
RequestIdMiddleware put in ``REQUEST_ID`` (a context variable, so concurrent requests
never mix) onto every record. ``configure_logging`` is called by src/main.py, the
uvicorn entry point; tests that build an app in-process leave logging as it is.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

#: The id of the request being served by the current task; None outside requests.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)

LogFormat = Literal["json", "text"]
_JSON_FIELDS = "{asctime}{levelname}{name}{message}{request_id}"
_RENAME = {"asctime": "timestamp", "levelname": "level", "name": "logger"}
#: uvicorn configures these before it imports the app; they are pointed at ours.
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        _JSON_FIELDS,
        style="{",
        rename_fields=_RENAME,
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        # Escaped: a program's text (an exception message in a log line) may hold U+2028
        # or U+0085, which line-splitting log tools take for the end of the line.
        json_ensure_ascii=True,
        # uvicorn attaches an ANSI-coloured copy of some messages: noise in JSON.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


class TextFormatter(logging.Formatter):
    """One plain line per record, with the record's extra fields (an audit line's
    outcome, status, reason...) appended as ``key=value``: without them a text audit
    line would say only "execution"."""

    _SKIP = frozenset({*RESERVED_ATTRS, "color_message", "request_id"})

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{key}={value!r}" for key, value in vars(record).items() if key not in self._SKIP]
        return f"{line} {' '.join(extras)}" if extras else line


def configure_logging(fmt: LogFormat = "json", level: int = logging.INFO) -> None:
    """One stderr handler on the root logger, used by our loggers and uvicorn's alike."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
    # The MCP SDK logs every stateless request ("Terminating session") at INFO.
    logging.getLogger("mcp").setLevel(logging.WARNING)
