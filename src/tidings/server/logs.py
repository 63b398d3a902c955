"""Log format: plain text (the default) or JSON lines with the request id.

Every record gets ``request_id`` (from ``protocol/request_ids.REQUEST_ID``: the HTTP
request, the WebSocket connection or the job it was written for). With ``log_format =
"json"`` each line is one JSON object: ``ts`` (RFC 3339, UTC), ``level``, ``logger``,
``message``, ``request_id`` and, on access lines, ``method``, ``path``, ``status`` and
``duration_ms``; the access line is Tidings' own (``tidings.access``) and uvicorn's is
off, so no line lacks the id. Secrets are redacted before formatting either way
(log_redaction.py).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Final

from tidings.protocol.request_ids import REQUEST_ID
from tidings.server.log_redaction import RedactSecrets

FORMATS: Final = ("text", "json")
ACCESS_LOGGER: Final = "tidings.access"
ACCESS_FIELDS: Final = ("method", "path", "status", "duration_ms")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get()}
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(log_format: str, level: str = "info") -> None:
    """Route the ``tidings`` and uvicorn loggers to stderr in the chosen format."""
    if log_format not in FORMATS:
        raise ValueError(f"log_format must be one of {FORMATS}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter() if log_format == "json"
                         else logging.Formatter(TEXT_FORMAT))
    for name in ("tidings", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level.upper())
