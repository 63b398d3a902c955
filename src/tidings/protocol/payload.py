"""The plaintext that Olm and Megolm ciphertexts carry.

Two layers: ``MessageContent`` is what the user sent; ``SealedPayload`` wraps its
bytes together with the per-message franking key (see protocol/franking.py), so
only recipients learn the key, and the server sees only the commitment.

Content bytes are canonical JSON and ``from_bytes`` rejects anything else. That is
what makes franking reports sound: the bytes a recipient decrypted, the bytes the
commitment covers and the bytes a moderator re-parses are the same bytes, so a
sender cannot craft JSON that two parsers display differently (duplicate keys,
number spellings). Floats are excluded for the same reason: their shortest
decimal spelling differs between languages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from tidings.protocol.franking import FRANKING_KEY_BYTES
from tidings.protocol.keys import CryptoError, b64decode, b64encode

_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""``keys.canonical_json``'s encoder, built once (``json.dumps`` with options builds one
per call); tests/protocol check that both give the same bytes."""


def canonical_json(obj: Any) -> bytes:
    """The same bytes as ``tidings.protocol.keys.canonical_json``."""
    return _CANONICAL.encode(obj).encode("utf-8")

# --- limits (the integrator moves these to protocol/limits.py) -------------------
PAYLOAD_MAX_CONTENT_BYTES = 64 * 1024
#: base64 grows 4/3; the JSON wrapper and franking key add well under 1 KiB.
PAYLOAD_MAX_SEALED_BYTES = (PAYLOAD_MAX_CONTENT_BYTES * 4) // 3 + 1024
PAYLOAD_MAX_DEPTH = 16
PAYLOAD_MAX_CLIENT_ID_CHARS = 128
#: Integers beyond 2**53 lose precision in JavaScript clients.
PAYLOAD_MAX_SAFE_INT = 2**53 - 1

MESSAGE_KINDS: frozenset[str] = frozenset(
    {"text", "file", "receipt", "typing", "key_share", "rekey_request", "verification",
     "timer"}
)

CONTENT_KINDS: frozenset[str] = frozenset({"text", "file"})
"""What a person wrote and sees as a message: the only kinds that can be reported."""
CONTROL_KINDS: frozenset[str] = MESSAGE_KINDS - CONTENT_KINDS
"""Payloads that steer clients (receipts, typing, keys, verification, timers). They may
carry values the other side chose (a verification's ``txn``, receipt ids), so a
franked control payload is never content (issue 20: reports by reflection)."""

JSONValue = Union[None, bool, int, str, list["JSONValue"], dict[str, "JSONValue"]]  # noqa: UP007


class PayloadError(CryptoError):
    """Decrypted plaintext is not a well-formed Tidings payload."""

    code = "bad_payload"


def _check_value(value: Any, depth: int) -> None:
    if depth > PAYLOAD_MAX_DEPTH:
        raise PayloadError("body nested too deeply")
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > PAYLOAD_MAX_SAFE_INT:
            raise PayloadError("integer out of the safe range")
        return
    if isinstance(value, list):
        for item in value:
            _check_value(item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PayloadError("object keys must be strings")
            _check_value(item, depth + 1)
        return
    raise PayloadError(f"unsupported JSON value of type {type(value).__name__}")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise PayloadError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _reject_float(text: str) -> Any:
    raise PayloadError("floating-point numbers are not allowed")


def _reject_constant(text: str) -> Any:
    raise PayloadError(f"{text} is not JSON")


_STRICT = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_float=_reject_float, parse_constant=_reject_constant
)
"""Built once: ``json.loads`` with hooks builds a new decoder (and its scanner) per call."""


def _strict_loads(data: bytes, max_bytes: int) -> Any:
    if len(data) > max_bytes:
        raise PayloadError(f"payload larger than {max_bytes} bytes")
    try:
        return _STRICT.decode(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PayloadError("payload is not UTF-8 JSON") from exc


@dataclass(frozen=True)
class MessageContent:
    """One message as the user sent it; ``client_id`` lets devices de-duplicate."""

    kind: str
    body: dict[str, JSONValue]
    client_id: str
    sent_at_ms: int

    _FIELDS: ClassVar[frozenset[str]] = frozenset({"kind", "body", "client_id", "sent_at_ms"})

    def validate(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in MESSAGE_KINDS:
            raise PayloadError(f"unknown message kind {self.kind!r}")
        if not isinstance(self.body, dict):
            raise PayloadError("body must be an object")
        _check_value(self.body, 1)
        if (
            not isinstance(self.client_id, str)
            or not 1 <= len(self.client_id) <= PAYLOAD_MAX_CLIENT_ID_CHARS
        ):
            raise PayloadError("client_id must be 1..128 characters")
        if (
            isinstance(self.sent_at_ms, bool)
            or not isinstance(self.sent_at_ms, int)
            or not 0 <= self.sent_at_ms <= PAYLOAD_MAX_SAFE_INT
        ):
            raise PayloadError("sent_at_ms must be a non-negative int")

    def to_bytes(self) -> bytes:
        self.validate()
        try:
            data = canonical_json(
                {
                    "kind": self.kind,
                    "body": self.body,
                    "client_id": self.client_id,
                    "sent_at_ms": self.sent_at_ms,
                }
            )
        except (UnicodeEncodeError, ValueError) as exc:
            raise PayloadError("content cannot be encoded as UTF-8 JSON") from exc
        if len(data) > PAYLOAD_MAX_CONTENT_BYTES:
            raise PayloadError(f"content larger than {PAYLOAD_MAX_CONTENT_BYTES} bytes")
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> MessageContent:
        obj = _strict_loads(data, PAYLOAD_MAX_CONTENT_BYTES)
        if not isinstance(obj, dict) or set(obj) != cls._FIELDS:
            raise PayloadError(f"content must have exactly the fields {sorted(cls._FIELDS)}")
        content = cls(
            kind=obj["kind"],
            body=obj["body"],
            client_id=obj["client_id"],
            sent_at_ms=obj["sent_at_ms"],
        )
        if content.to_bytes() != data:
            raise PayloadError("content is not canonical JSON")
        return content


@dataclass(frozen=True)
class SealedPayload:
    """Content bytes plus franking key: exactly what gets encrypted.

    Wire form: canonical JSON ``{"franking_key": b64(32 bytes), "payload": b64(content)}``.
    """

    payload: bytes
    franking_key: bytes

    _FIELDS: ClassVar[frozenset[str]] = frozenset({"payload", "franking_key"})

    @staticmethod
    def seal(content: MessageContent, franking_key: bytes) -> bytes:
        return SealedPayload.seal_bytes(content.to_bytes(), franking_key)

    @staticmethod
    def seal_bytes(content_bytes: bytes, franking_key: bytes) -> bytes:
        """``seal`` of content already encoded by ``MessageContent.to_bytes`` (so a
        sender that also commits to those bytes encodes them once)."""
        if len(franking_key) != FRANKING_KEY_BYTES:
            raise PayloadError(f"franking key must be {FRANKING_KEY_BYTES} bytes")
        return canonical_json(
            {"payload": b64encode(content_bytes), "franking_key": b64encode(franking_key)}
        )

    @staticmethod
    def open(data: bytes) -> tuple[bytes, bytes]:
        """Return ``(content_bytes, franking_key)``; content is not parsed here so the
        caller can check the franking commitment over the exact bytes first."""
        sealed = SealedPayload.from_bytes(data)
        return sealed.payload, sealed.franking_key

    @classmethod
    def from_bytes(cls, data: bytes) -> SealedPayload:
        obj = _strict_loads(data, PAYLOAD_MAX_SEALED_BYTES)
        if not isinstance(obj, dict) or set(obj) != cls._FIELDS:
            raise PayloadError("sealed payload must have exactly payload and franking_key")
        payload_b64, key_b64 = obj["payload"], obj["franking_key"]
        if not isinstance(payload_b64, str) or not isinstance(key_b64, str):
            raise PayloadError("payload and franking_key must be base64 strings")
        try:
            payload, key = b64decode(payload_b64), b64decode(key_b64)
        except ValueError as exc:
            raise PayloadError("payload or franking_key is not base64") from exc
        if len(key) != FRANKING_KEY_BYTES:
            raise PayloadError(f"franking key must be {FRANKING_KEY_BYTES} bytes")
        if len(payload) > PAYLOAD_MAX_CONTENT_BYTES:
            raise PayloadError(f"content larger than {PAYLOAD_MAX_CONTENT_BYTES} bytes")
        return cls(payload=payload, franking_key=key)
