"""Private (1:1) message sends on the wire: one parser for HTTP bodies and WebSocket frames.

A send carries one Olm ciphertext per device that must receive it. The server cannot
read any of them; it checks only the shape, that the set of devices is exactly the
right one (see :func:`device_mismatch`), and the franking commitment's size. Parsing is
pure so the route, the gateway and the tests share it.

HTTP ``POST /api/v1/messages`` body, and the WebSocket frame (``type``/``ref`` added)::

    {"type": "send", "ref": "r1",                 (frame only)
     "client_id": "...", "to": "bob", "to_device": null,
     "commitment": "<b64 32 bytes>",
     "envelopes": [{"device_id": "D...", "ciphertext": {"type": 0, "body": "<b64>"}}]}

``expires_in_ms`` (optional) makes it a disappearing message: undelivered envelopes
are deleted by the server when it passes.

``to_device`` names one device of ``to`` for device-to-device control messages such
as ``rekey_request``; then exactly that one envelope is expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tidings.protocol import limits
from tidings.protocol.franking import FRANKING_COMMITMENT_BYTES
from tidings.protocol.keys import b64decode

ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
"""Client ids and device ids in a send (published by the HTTP route's schema)."""
COMMITMENT_PATTERN = r"^[A-Za-z0-9+/]{43}=?$"
"""Standard base64 of :data:`FRANKING_COMMITMENT_BYTES` (32) bytes, padded or not: exactly
what :func:`~tidings.protocol.keys.b64decode` decodes to 32 bytes (published for the
1:1 and the group send routes)."""
BASE64_PATTERN = r"^[A-Za-z0-9+/]+={0,2}$"
"""An Olm or Megolm ciphertext: standard base64, padded or not. ASCII, so the longest
one a send may carry fits in ``MAX_BODY_BYTES``."""
_ID_RE = re.compile(ID_PATTERN)
_BASE64_RE = re.compile(BASE64_PATTERN)


class MessageFormatError(ValueError):
    """A send request is malformed; ``code`` is the API error code."""

    def __init__(self, message: str, code: str = "invalid_message") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True, slots=True)
class Envelope:
    device_id: str
    type: int
    body: str

    def ciphertext(self) -> dict[str, Any]:
        return {"type": self.type, "body": self.body}


@dataclass(frozen=True, slots=True)
class SendRequest:
    client_id: str
    to: str
    commitment: str
    """Base64 as sent: relayed unchanged, decoded only to check its size."""
    envelopes: tuple[Envelope, ...]
    to_device: str | None = None
    expires_in_ms: int | None = None
    """Disappearing message: the server deletes undelivered envelopes after this."""

    def commitment_bytes(self) -> bytes:
        return b64decode(self.commitment)


@dataclass(frozen=True, slots=True)
class SendFrame:
    ref: str
    request: SendRequest


@dataclass(frozen=True, slots=True)
class BadSend:
    """A ``send`` frame that failed to parse; answered with an error carrying ``ref``."""

    ref: str
    code: str
    message: str


def _str(data: dict[str, Any], name: str, max_chars: int, pattern: re.Pattern[str] | None = None
         ) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= max_chars:
        raise MessageFormatError(f"{name} must be a string of 1..{max_chars} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise MessageFormatError(f"{name} has characters outside A-Z a-z 0-9 _ . : -")
    return value


def _envelope(obj: Any) -> Envelope:
    if not isinstance(obj, dict):
        raise MessageFormatError("each envelope must be an object")
    device_id = _str(obj, "device_id", 64, _ID_RE)
    ct = obj.get("ciphertext")
    if not isinstance(ct, dict) or set(ct) != {"type", "body"}:
        raise MessageFormatError("ciphertext must have exactly type and body")
    kind, body = ct["type"], ct["body"]
    # Olm message types: 0 pre-key, 1 normal (Olm spec, "Olm message format").
    if isinstance(kind, bool) or kind not in (0, 1):
        raise MessageFormatError("ciphertext type must be 0 (pre-key) or 1 (normal)")
    if not isinstance(body, str) or not 1 <= len(body) <= limits.MESSAGE_CIPHERTEXT_MAX_CHARS:
        raise MessageFormatError(
            f"ciphertext body must be 1..{limits.MESSAGE_CIPHERTEXT_MAX_CHARS} characters")
    if not _BASE64_RE.fullmatch(body):
        raise MessageFormatError("ciphertext body must be base64")
    return Envelope(device_id, kind, body)


def parse_send(data: Any) -> SendRequest:
    """Validate a send body; raises :class:`MessageFormatError`."""
    if not isinstance(data, dict):
        raise MessageFormatError("a send must be a JSON object")
    client_id = _str(data, "client_id", limits.MESSAGE_CLIENT_ID_MAX, _ID_RE)
    to = _str(data, "to", limits.USERNAME_MAX * 4)
    to_device = data.get("to_device")
    if to_device is not None:
        to_device = _str(data, "to_device", 64, _ID_RE)
    commitment = data.get("commitment")
    try:
        raw = b64decode(commitment) if isinstance(commitment, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != FRANKING_COMMITMENT_BYTES:
        raise MessageFormatError(
            f"commitment must be base64 of {FRANKING_COMMITMENT_BYTES} bytes", "bad_commitment")
    items = data.get("envelopes")
    if not isinstance(items, list) or not 1 <= len(items) <= limits.MESSAGE_ENVELOPES_MAX:
        raise MessageFormatError(
            f"envelopes must be a list of 1..{limits.MESSAGE_ENVELOPES_MAX} items")
    envelopes = tuple(_envelope(e) for e in items)
    if len({e.device_id for e in envelopes}) != len(envelopes):
        raise MessageFormatError("one envelope per device", "duplicate_device")
    assert isinstance(commitment, str)
    expires = data.get("expires_in_ms")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int) or not
                                limits.DISAPPEAR_MIN_MS <= expires <= limits.DISAPPEAR_MAX_MS):
        raise MessageFormatError(f"expires_in_ms must be {limits.DISAPPEAR_MIN_MS}.."
                                 f"{limits.DISAPPEAR_MAX_MS}", "bad_timer")
    return SendRequest(client_id, to, commitment, envelopes, to_device, expires)


def parse_send_frame(data: dict[str, Any]) -> SendFrame | BadSend:
    ref = data.get("ref")
    if not isinstance(ref, str) or not 1 <= len(ref) <= limits.MESSAGE_REF_MAX:
        raise MessageFormatError(f"ref must be a string of 1..{limits.MESSAGE_REF_MAX} characters",
                                 "bad_frame")
    body = {k: v for k, v in data.items() if k not in ("type", "ref")}
    try:
        return SendFrame(ref, parse_send(body))
    except MessageFormatError as exc:
        return BadSend(ref, exc.code, exc.message)


def device_mismatch(expected: Iterable[str], given: Iterable[str]
                    ) -> tuple[list[str], list[str]]:
    """``(missing, extra)`` device ids; both empty means the envelope set is right.

    As in Signal's multi-device sends (the server answers 409 with ``missingDevices``
    and ``extraDevices``), the sender must cover every current device of the
    recipient and its own other devices, so no device silently misses a message and
    no revoked device gets one; on a mismatch the client re-queries keys and retries.
    """
    want, got = set(expected), set(given)
    return sorted(want - got), sorted(got - want)


def sent_frame(ref: str, message_id: str, ts: int) -> dict[str, Any]:
    return {"type": "sent", "ref": ref, "id": message_id, "ts": ts}


def send_error_frame(ref: str, code: str, message: str, details: dict[str, Any] | None = None,
                     status: int = 400) -> dict[str, Any]:
    """``status`` is the HTTP status the same refusal gets from ``POST /api/v1/messages``,
    so a client maps both to the same error."""
    frame: dict[str, Any] = {"type": "error", "ref": ref, "code": code, "message": message,
                             "status": status}
    if details:
        frame["details"] = details
    return frame
