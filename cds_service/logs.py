"""Structured JSON logging that never carries patient data or tokens.

Log records are built only from fields the service chooses (request id, service id, status,
duration, stable error codes); request bodies, headers and exception messages from parsing
patient data are never passed to a logger.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

LOGGER_NAME = "cds_service"
_EXTRA_FIELDS = (
    "request_id",
    "service",
    "method",
    "path",
    "status",
    "duration_ms",
    "hook_instance",
    "cards",
    "code",
    "reason",
    "fetched",
    "event",
    "client",
    "tenant",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the whitelisted extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, separators=(",", ":"))


def configure_logging(level: str) -> logging.Logger:
    """Send the service's logs to stderr as JSON lines, once per process."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(getattr(h, "_cds_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._cds_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    return logger


def get_logger() -> logging.Logger:
    """The service logger."""
    return logging.getLogger(LOGGER_NAME)
