"""Megolm group sessions (Megolm spec, "The Megolm ratchet").

A group message is encrypted once with the sender's outbound session; the
session key is shared with each member device over Olm (Tidings' ``key_share``
message, the analogue of Matrix ``m.room_key``). A session key exported at index
N only lets its holder decrypt messages N and later: that is Megolm's forward
secrecy for late joiners (Megolm spec, "Advancing the ratchet"), and why new
members receive the *current* key, never an earlier one.

Outbound sessions are rotated after ``MEGOLM_ROTATION_MESSAGES`` messages or
``MEGOLM_ROTATION_PERIOD_MS``, the defaults Matrix recommends
(client-server spec 11.12.3.2, "m.megolm.v1.aes-sha2", ``rotation_period_ms`` /
``rotation_period_msgs``), and whenever a member leaves (the caller's job:
``GroupKeyStore.discard_outbound``). Time is always passed in, never read.
"""

from __future__ import annotations

import json

import vodozemac

from tidings.crypto.errors import PickleError, UndecryptableError
from tidings.crypto.identity import _check_pickle_key
from tidings.protocol.keys import b64decode

# --- limits (the integrator moves these to protocol/limits.py) -------------------
MEGOLM_ROTATION_MESSAGES = 100
MEGOLM_ROTATION_PERIOD_MS = 7 * 24 * 60 * 60 * 1000
#: Upper bound on a Megolm ciphertext accepted for decryption (base64 chars).
MEGOLM_MAX_CIPHERTEXT_CHARS = 256 * 1024


class OutboundGroup:
    """The sending side of one Megolm session."""

    def __init__(self, session: vodozemac.GroupSession, created_at_ms: int) -> None:
        self._session = session
        self.created_at_ms = created_at_ms

    @classmethod
    def create(cls, now_ms: int) -> OutboundGroup:
        return cls(vodozemac.GroupSession(), now_ms)

    @property
    def session_id(self) -> str:
        return str(self._session.session_id)

    @property
    def message_index(self) -> int:
        return int(self._session.message_index)

    def session_key(self) -> str:
        """The key to share with members, valid from the *current* index onward."""
        return str(self._session.session_key.to_base64())

    def encrypt(self, plaintext: bytes) -> str:
        """Encrypt and advance the ratchet; returns the base64 Megolm message."""
        return str(self._session.encrypt(bytes(plaintext)).to_base64())

    def needs_rotation(self, now_ms: int) -> bool:
        return (
            self.message_index >= MEGOLM_ROTATION_MESSAGES
            or now_ms - self.created_at_ms >= MEGOLM_ROTATION_PERIOD_MS
        )

    def pickle(self, key: bytes) -> str:
        _check_pickle_key(key)
        return json.dumps(
            {"session": self._session.pickle(bytes(key)), "created_at_ms": self.created_at_ms}
        )

    @classmethod
    def from_pickle(cls, pickle: str, key: bytes) -> OutboundGroup:
        _check_pickle_key(key)
        try:
            obj = json.loads(pickle)
            created = obj["created_at_ms"]
            if not isinstance(created, int):
                raise TypeError("created_at_ms")
            return cls(vodozemac.GroupSession.from_pickle(obj["session"], bytes(key)), created)
        except (ValueError, KeyError, TypeError) as exc:
            raise PickleError("outbound group pickle is corrupt or the key is wrong") from exc


class InboundGroup:
    """The receiving side of one Megolm session."""

    def __init__(self, session: vodozemac.InboundGroupSession) -> None:
        self._session = session

    @classmethod
    def from_session_key(cls, session_key: str) -> InboundGroup:
        """From a key shared by the sender itself (signed by the session's Ed25519 key)."""
        try:
            return cls(vodozemac.InboundGroupSession(vodozemac.SessionKey(session_key)))
        except (ValueError, TypeError) as exc:
            raise UndecryptableError("group session key is malformed") from exc

    @classmethod
    def from_export(cls, exported_key: str) -> InboundGroup:
        """From a key forwarded by another member or a backup (unsigned export)."""
        try:
            return cls(
                vodozemac.InboundGroupSession.import_session(
                    vodozemac.ExportedSessionKey(exported_key)
                )
            )
        except (ValueError, TypeError) as exc:
            raise UndecryptableError("exported group session key is malformed") from exc

    @property
    def session_id(self) -> str:
        return str(self._session.session_id)

    @property
    def first_known_index(self) -> int:
        return int(self._session.first_known_index)

    def export_at(self, index: int) -> str | None:
        """Export the session from ``index``; None if the ratchet is already past it."""
        exported = self._session.export_at(index)
        return None if exported is None else str(exported.to_base64())

    def decrypt(self, ciphertext: str) -> tuple[bytes, int]:
        """Return ``(plaintext, message_index)``.

        Callers should remember (session_id, message_index) per message and reject a
        second, different message at the same index: a replay (Matrix client-server
        spec 11.12.3.2, "Megolm replay protection").
        """
        if not isinstance(ciphertext, str) or len(ciphertext) > MEGOLM_MAX_CIPHERTEXT_CHARS:
            raise UndecryptableError("Megolm ciphertext missing or too large")
        try:
            b64decode(ciphertext)
            result = self._session.decrypt(vodozemac.MegolmMessage.from_base64(ciphertext))
        except ValueError as exc:
            raise UndecryptableError("Megolm message could not be decrypted") from exc
        return bytes(result.plaintext), int(result.message_index)

    def pickle(self, key: bytes) -> str:
        _check_pickle_key(key)
        return str(self._session.pickle(bytes(key)))

    @classmethod
    def from_pickle(cls, pickle: str, key: bytes) -> InboundGroup:
        _check_pickle_key(key)
        try:
            return cls(vodozemac.InboundGroupSession.from_pickle(pickle, bytes(key)))
        except (ValueError, TypeError) as exc:
            raise PickleError("inbound group pickle is corrupt or the key is wrong") from exc


class GroupKeyStore:
    """Per group the current outbound session; inbound sessions by (sender key, id).

    Inbound sessions are keyed by the sender's Curve25519 key as learned from the
    Olm session that delivered the key, so one sender cannot inject a session
    under another's name (Matrix client-server spec 11.12.3.2).
    """

    def __init__(self, own_curve25519: str) -> None:
        self.own_curve25519 = own_curve25519
        self._outbound: dict[str, OutboundGroup] = {}
        self._inbound: dict[tuple[str, str], InboundGroup] = {}

    def outbound(self, group_id: str) -> OutboundGroup | None:
        return self._outbound.get(group_id)

    def ensure_outbound(self, group_id: str, now_ms: int) -> tuple[OutboundGroup, bool]:
        """The session to encrypt with, and whether it is new (its key must be shared).

        A new session is also added as an inbound session of our own, so this
        device can read its own messages.
        """
        current = self._outbound.get(group_id)
        if current is not None and not current.needs_rotation(now_ms):
            return current, False
        fresh = OutboundGroup.create(now_ms)
        self._outbound[group_id] = fresh
        self.add_inbound(self.own_curve25519, InboundGroup.from_session_key(fresh.session_key()))
        return fresh, True

    def discard_outbound(self, group_id: str) -> None:
        """Forget the outbound session, e.g. when a member leaves."""
        self._outbound.pop(group_id, None)

    def add_inbound(self, sender_curve25519: str, session: InboundGroup) -> InboundGroup:
        """Add a session; if we already know it, keep the copy that reaches further back."""
        key = (sender_curve25519, session.session_id)
        known = self._inbound.get(key)
        if known is None or session.first_known_index < known.first_known_index:
            self._inbound[key] = session
            return session
        return known

    def inbound(self, sender_curve25519: str, session_id: str) -> InboundGroup | None:
        return self._inbound.get((sender_curve25519, session_id))

    def decrypt(
        self, sender_curve25519: str, session_id: str, ciphertext: str
    ) -> tuple[bytes, int]:
        session = self.inbound(sender_curve25519, session_id)
        if session is None:
            raise UndecryptableError("unknown group session; ask the sender for the key")
        return session.decrypt(ciphertext)

    def pickle(self, key: bytes) -> dict[str, str]:
        _check_pickle_key(key)
        return {
            "own_curve25519": self.own_curve25519,
            "outbound": json.dumps(
                {gid: s.pickle(key) for gid, s in self._outbound.items()}, sort_keys=True
            ),
            "inbound": json.dumps(
                [[sender, s.pickle(key)] for (sender, _), s in self._inbound.items()]
            ),
        }

    @classmethod
    def from_pickle(cls, state: dict[str, str], key: bytes) -> GroupKeyStore:
        _check_pickle_key(key)
        try:
            store = cls(str(state["own_curve25519"]))
            outbound = json.loads(state["outbound"])
            inbound = json.loads(state["inbound"])
            for gid, pickle in outbound.items():
                store._outbound[str(gid)] = OutboundGroup.from_pickle(pickle, key)
            for sender, pickle in inbound:
                store.add_inbound(str(sender), InboundGroup.from_pickle(pickle, key))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise PickleError("group key store state is corrupt") from exc
        return store
