"""The device event stream's wire format and the cursor rule that keeps it exact.

Frames are JSON text. Client to server::

    {"type": "hello", "since": 41, "token": "..."}   token only if not sent as a header
    {"type": "ack", "upto": 45}
    {"type": "ping"}
    {"type": "send", "ref": "...", ...}           a private message (protocol/messages.py)

Server to client::

    {"type": "event", "seq": 42, "kind": "...", "ts": 1700000000000, "body": {...}}
    {"type": "live", "upto": 45}      replay done; from here on events arrive live
    {"type": "pong"}
    {"type": "error", "code": "...", "message": "..."}
    {"type": "sent", "ref": "...", "id": "...", "ts": ...}   answer to a send

What the live bus carries between the store and a connection is typed in
``protocol/control.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tidings.protocol.limits import MAX_JSON_DEPTH, WS_MAX_FRAME_BYTES
from tidings.protocol.messages import BadSend, MessageFormatError, SendFrame, parse_send_frame


class FrameError(ValueError):
    code = "bad_frame"


@dataclass(frozen=True, slots=True)
class Hello:
    since: int
    token: str | None


@dataclass(frozen=True, slots=True)
class Ack:
    upto: int


@dataclass(frozen=True, slots=True)
class Ping:
    pass


ClientFrame = Hello | Ack | Ping | SendFrame | BadSend


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 2**63:
        raise FrameError(f"{name} must be a non-negative integer")
    return value


def parse_client_frame(text: str) -> ClientFrame:
    if len(text) > WS_MAX_FRAME_BYTES:
        raise FrameError("frame too large")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise FrameError("frame nested too deeply")
    unsafe = unsafe_escape(text)
    if unsafe is not None:
        raise FrameError(f"frame escapes {unsafe}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FrameError("frame is not JSON") from exc
    if not isinstance(data, dict):
        raise FrameError("frame must be a JSON object")
    kind = data.get("type")
    if kind == "hello":
        token = data.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 256):
            raise FrameError("token must be a string")
        return Hello(_int(data.get("since", 0), "since"), token)
    if kind == "ack":
        return Ack(_int(data.get("upto"), "upto"))
    if kind == "ping":
        return Ping()
    if kind == "send":
        try:
            return parse_send_frame(data)
        except MessageFormatError as exc:
            raise FrameError(exc.message) from exc
    raise FrameError(f"unknown frame type {kind!r}")


PONG = '{"type":"pong"}'


def live_frame(upto: int) -> str:
    return json.dumps({"type": "live", "upto": upto}, separators=(",", ":"))


def error_frame(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


class Step(Enum):
    SEND = "send"
    SKIP = "skip"
    CATCH_UP = "catch_up"


def next_step(sent_upto: int, seq: int) -> Step:
    """What a connection does with a live event, given what it has already sent.

    Equal to the next position: send it. Already sent (replay overlapped the live
    feed): skip. Beyond the next position: a live message was missed, read the gap
    from the store. This is the whole of "nothing lost, nothing twice, in order".
    """
    if seq <= sent_upto:
        return Step.SKIP
    if seq == sent_upto + 1:
        return Step.SEND
    return Step.CATCH_UP


def json_depth(text: str) -> int:
    """Nesting depth of a JSON text, counted without parsing (strings skipped).

    Texts with few brackets answer at once with a bound rather than the exact depth,
    which is all callers need: "is it deeper than the limit?".
    """
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return MAX_JSON_DEPTH  # cannot be deeper than the brackets it has: skip the scan
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


# An escape in a JSON string: a valid surrogate pair (12 characters), a lone surrogate
# or NUL (6), or any other escape (2, which also consumes an escaped backslash so that
# the text ``\\ud800`` is not mistaken for a surrogate).
_ESCAPE = re.compile(r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
                     r"|u[dD][89a-fA-F][0-9a-fA-F]{2}|u0000|.)", re.DOTALL)


def unsafe_escape(text: str) -> str | None:
    """What a JSON text escapes that no Tidings string may hold, or None.

    JSON (RFC 8259 section 7) lets ``"\\ud800"`` (half a UTF-16 surrogate pair) and
    ``"\\u0000"`` through. Python's ``json`` turns the first into a string that cannot
    be encoded as UTF-8, and PostgreSQL text cannot hold the second: both would fail in
    the database or a log line after the request was accepted, so they are refused up
    front. (Raw NUL and other control characters are invalid JSON already.)
    """
    if "\\u" not in text:
        return None
    for match in _ESCAPE.finditer(text):
        escape = match.group(0)
        if len(escape) == 6:
            return "NUL (\\u0000)" if escape == "\\u0000" else f"a lone surrogate ({escape})"
    return None
