"""Public device keys as they travel between client and server.

The server stores and serves these records and must be able to check their
signatures without holding any secret, so this module is pure and only needs
vodozemac's public-key types. Signatures are computed over canonical JSON, the
same idea as Matrix's "Signing JSON" (client-server spec, appendix 3.3): a
record has exactly one byte representation, so a signature cannot be
invalidated or forged by reordering keys or changing whitespace.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import vodozemac

# --- limits (the integrator moves these to protocol/limits.py) -------------------
KEY_LIMITS_MAX_USER_ID_CHARS = 255
KEY_LIMITS_MAX_DEVICE_ID_CHARS = 64
KEY_LIMITS_MAX_KEY_ID_CHARS = 64
CURVE25519_KEY_BYTES = 32
ED25519_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64

#: Algorithms every Tidings device supports; part of the signed device record so a
#: server cannot silently downgrade what a device advertised.
DEVICE_ALGORITHMS: tuple[str, ...] = ("olm.v1", "megolm.v1")

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
"""Device and key ids in key records (published by ``POST /api/v1/keys/upload``)."""
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]+$"
"""A record's ``user``: no control characters."""
_ID_RE = re.compile(ID_PATTERN)
_B64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def b64_pattern(size: int) -> str:
    """The one (canonical, unpadded) base64 spelling of ``size`` bytes that
    ``_check_b64`` takes, as a pattern: the last character's unused low bits are 0."""
    whole, rest = divmod(size, 3)
    if not rest:
        return rf"^[A-Za-z0-9+/]{{{whole * 4}}}$"
    last = "AQgw" if rest == 1 else "AEIMQUYcgkosw048"
    return rf"^[A-Za-z0-9+/]{{{whole * 4 + rest}}}[{last}]$"


class CryptoError(Exception):
    """Base of every typed error raised by tidings.protocol and tidings.crypto.

    It lives here, in the lowest pure module, so the server can map any of them to
    the one JSON error shape without importing the client-side crypto package.
    """

    code: ClassVar[str] = "crypto_error"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code


class KeyFormatError(CryptoError):
    """A key record, key or signature is malformed."""

    code = "bad_key_format"


def canonical_json(obj: Any) -> bytes:
    """Encode ``obj`` the one way that signatures, commitments and tags cover."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def b64encode(data: bytes) -> str:
    """Unpadded standard base64, as vodozemac and Matrix use for keys."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Decode standard base64 with or without padding; ValueError on anything else."""
    if not isinstance(text, str) or not _B64_RE.fullmatch(text):
        raise ValueError("not standard base64")
    body = text.rstrip("=")
    if len(body) % 4 == 1 or (text != body and len(text) % 4 != 0):
        raise ValueError("bad base64 length or padding")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("not standard base64") from exc


def verify_ed25519(public_key_b64: str, message: bytes, signature_b64: str) -> bool:
    """True iff ``signature_b64`` is a valid Ed25519 signature of ``message``.

    Never raises: the caller is usually validating untrusted input and a
    malformed key is simply a failed verification.
    """
    if not isinstance(message, bytes | bytearray):
        return False
    try:
        key = vodozemac.Ed25519PublicKey.from_base64(public_key_b64)
        sig = vodozemac.Ed25519Signature.from_base64(signature_b64)
        key.verify_signature(bytes(message), sig)
    except (ValueError, TypeError):
        # vodozemac's KeyException/SignatureException are ValueError subclasses.
        return False
    return True


def _check_str(obj: dict[str, Any], name: str, max_chars: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= max_chars:
        raise KeyFormatError(f"{name} must be a string of 1..{max_chars} characters")
    if _CONTROL_RE.search(value):
        raise KeyFormatError(f"{name} must not contain control characters")
    return value


def _check_id(obj: dict[str, Any], name: str, max_chars: int) -> str:
    value = _check_str(obj, name, max_chars)
    if not _ID_RE.fullmatch(value):
        raise KeyFormatError(f"{name} may only contain A-Z a-z 0-9 _ -")
    return value


def _check_b64(obj: dict[str, Any], name: str, size: int) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise KeyFormatError(f"{name} must be a base64 string")
    try:
        raw = b64decode(value)
    except ValueError as exc:
        raise KeyFormatError(f"{name} is not base64") from exc
    if len(raw) != size:
        raise KeyFormatError(f"{name} must encode {size} bytes")
    if b64encode(raw) != value:
        # One representation per key: signed bytes must not depend on padding.
        raise KeyFormatError(f"{name} must be unpadded canonical base64")
    return value


def _check_keys(obj: Any, expected: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise KeyFormatError("expected a JSON object")
    if set(obj) != expected:
        raise KeyFormatError(f"expected exactly the fields {sorted(expected)}")
    return obj


@dataclass(frozen=True)
class DeviceKeys:
    """A device's long-term identity keys, self-signed with its Ed25519 key.

    The Ed25519 signature binds the Curve25519 (Olm identity) key to the signing
    key, as the Olm spec requires of identity key distribution.
    """

    user: str
    device_id: str
    curve25519: str
    ed25519: str
    signature: str

    _FIELDS: ClassVar[set[str]] = {"user", "device_id", "curve25519", "ed25519", "signature"}

    def signed_bytes(self) -> bytes:
        return canonical_json(
            {
                "user": self.user,
                "device_id": self.device_id,
                "curve25519": self.curve25519,
                "ed25519": self.ed25519,
                "algorithms": list(DEVICE_ALGORITHMS),
            }
        )

    def verify(self) -> bool:
        return verify_ed25519(self.ed25519, self.signed_bytes(), self.signature)

    def to_json(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "device_id": self.device_id,
            "curve25519": self.curve25519,
            "ed25519": self.ed25519,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, obj: Any) -> DeviceKeys:
        data = _check_keys(obj, cls._FIELDS)
        return cls(
            user=_check_str(data, "user", KEY_LIMITS_MAX_USER_ID_CHARS),
            device_id=_check_id(data, "device_id", KEY_LIMITS_MAX_DEVICE_ID_CHARS),
            curve25519=_check_b64(data, "curve25519", CURVE25519_KEY_BYTES),
            ed25519=_check_b64(data, "ed25519", ED25519_KEY_BYTES),
            signature=_check_b64(data, "signature", ED25519_SIGNATURE_BYTES),
        )


@dataclass(frozen=True)
class OneTimeKey:
    """A signed Curve25519 one-time (or fallback) key for Olm session setup.

    Signed with the device's Ed25519 key so the server cannot substitute its own
    key and sit in the middle of the first Olm message (Olm spec, "Initial setup").
    """

    key_id: str
    key: str
    fallback: bool
    signature: str

    _FIELDS: ClassVar[set[str]] = {"key_id", "key", "fallback", "signature"}

    def signed_bytes(self, user: str, device_id: str) -> bytes:
        return canonical_json(
            {
                "user": user,
                "device_id": device_id,
                "key_id": self.key_id,
                "key": self.key,
                "fallback": self.fallback,
            }
        )

    def verify(self, user: str, device_id: str, ed25519_b64: str) -> bool:
        return verify_ed25519(ed25519_b64, self.signed_bytes(user, device_id), self.signature)

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "key": self.key,
            "fallback": self.fallback,
            "signature": self.signature,
        }

    @classmethod
    def from_json(cls, obj: Any) -> OneTimeKey:
        data = _check_keys(obj, cls._FIELDS)
        fallback = data["fallback"]
        if not isinstance(fallback, bool):
            raise KeyFormatError("fallback must be a boolean")
        return cls(
            key_id=_check_id(data, "key_id", KEY_LIMITS_MAX_KEY_ID_CHARS),
            key=_check_b64(data, "key", CURVE25519_KEY_BYTES),
            fallback=fallback,
            signature=_check_b64(data, "signature", ED25519_SIGNATURE_BYTES),
        )
