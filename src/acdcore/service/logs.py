"""Structured logs: the service logs with fields, and a formatter writes them as JSON.

The service logs to ``acdcore.service`` (and the runtime to
``acdcore.runtime``) with fields in ``extra`` (``route``, ``status``,
``principal``, ``event_type``, ``seq``, ``error``...), so any handler can
read them as record attributes. :class:`JsonFormatter` writes one JSON
object a line: ``time``, ``level``, ``logger``, ``message``, every extra
field, and ``exception`` when there is one. :func:`configure` installs it
on the root logger (``acdcore serve`` does).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

__all__ = ["JsonFormatter", "configure", "fields_of"]

_STANDARD = set(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The extra fields a record was logged with."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object a line (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(fields_of(record))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=repr, ensure_ascii=False)


def configure(level: int | str = logging.INFO) -> None:
    """Log JSON lines to standard error at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
