"""Structured JSON logs that carry the exchange id of the request being handled."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["configure_logging", "current_exchange_id", "log"]

current_exchange_id: ContextVar[str | None] = ContextVar("tongban_exchange_id", default=None)
log = logging.getLogger("tongban")

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        exchange_id = getattr(record, "exchange_id", None) or current_exchange_id.get()
        if exchange_id:
            data["exchange_id"] = exchange_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "exchange_id":
                data[key] = value
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        exchange_id = getattr(record, "exchange_id", None) or current_exchange_id.get()
        prefix = f"[{exchange_id}] " if exchange_id else ""
        return f"{record.levelname:<7} {record.name}: {prefix}{record.getMessage()}"


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    for name in ("tongban", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # No access log: the audit log and /metrics record every exchange, and uvicorn writes an access
    # line for each request whenever this logger has a handler (a cost on every request).
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
