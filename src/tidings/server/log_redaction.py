"""Keep secrets that travel in URLs out of the server's logs.

Access tokens never travel in URLs (the API takes them in ``Authorization``, the
WebSocket gateway in its ``hello`` frame), but unlisted channels' invite links do
(``?invite=...``), and uvicorn's access log writes every request's path with its query
string; and at DEBUG uvicorn's WebSocket layer logs every handshake header, the
``Authorization`` one included. This filter rewrites the values of such parameters,
secret headers and anything shaped like an access token to ``[redacted]`` in the
records of uvicorn's loggers before any handler formats them.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMS = ("invite", "token", "access_token", "password", "csrf")
"""Query parameters whose values are secrets or capabilities."""
REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "websockets.server")

_PATTERN = re.compile(r"([?&](?:" + "|".join(SECRET_PARAMS) + r")=)[^&#\s\"]*",
                      re.IGNORECASE)


_TOKEN = re.compile(r"\b(?:tdg|tcs)_[A-Za-z0-9_-]+|(?i:bearer)\s+\S+")
"""Access tokens (``services.accounts.TOKEN_PREFIX``), console session ids
(``services.console_sessions.SESSION_PREFIX``) and any bearer credential."""


def redact(text: str) -> str:
    """``text`` with secret query parameters' values and access tokens replaced."""
    return _TOKEN.sub(REDACTED, _PATTERN.sub(r"\1" + REDACTED, text))


def _redact_args(args: tuple[object, ...]) -> tuple[object, ...]:
    if len(args) == 2 and isinstance(args[0], str | bytes) and (
            (args[0].decode("latin-1") if isinstance(args[0], bytes) else args[0]).lower()
            in SECRET_HEADERS):
        return (args[0], REDACTED)  # a header line: "< authorization: ..."
    return tuple(redact(a) if isinstance(a, str) else a for a in args)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message arguments (and message) through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = _redact_args(record.args)
        if isinstance(record.msg, str) and "=" in record.msg:
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Attach the filter to uvicorn's loggers once (create_app calls this)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
