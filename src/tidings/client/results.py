"""Answers parsed into the types the server declares (``tidings.protocol.api``).

A request builder names the type of its answer (``Request.result``); the transport
checks every answer against it, so an answer that is not what the API documents fails
as ``bad_response`` instead of a ``KeyError`` far away, and :func:`parse` gives the
typed value (``TidingsClient.typed``), as matrix-nio's response classes do.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from tidings.protocol.errors import TidingsError


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def parse(kind: Any, body: Any) -> Any:
    """``body`` (decoded JSON) as a ``kind``; ``bad_response`` if it is not one."""
    try:
        return _adapter(kind).validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        raise TidingsError(f"the server's answer is not a {getattr(kind, '__name__', kind)}"
                           f": {where}: {first['msg']}", "bad_response") from exc
