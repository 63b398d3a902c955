"""The id of the request (or WebSocket connection, or job) the current code works for.

Set by the HTTP middleware from ``X-Request-Id`` (or made up), carried into the jobs a
request enqueues (stored with the job) and set again while the job runs, so one id
follows a removal order from its HTTP request through its log lines to the notice job
it caused. Log records get it as ``record.request_id`` (server/logs.py).
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from typing import Final

REQUEST_ID: ContextVar[str | None] = ContextVar("tidings_request_id", default=None)
_VALID: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")
PAYLOAD_KEY: Final = "_request_id"
"""Where a job keeps the id of the request that enqueued it."""


def new_request_id() -> str:
    return secrets.token_hex(8)


def accepted(header: str | None) -> str:
    """A caller's ``X-Request-Id`` if it is a short plain token, else a fresh id (a
    header full of newlines or kilobytes never reaches a log line)."""
    if header is not None and _VALID.fullmatch(header):
        return header
    return new_request_id()
