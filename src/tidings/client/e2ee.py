"""A device's end-to-end encryption state, kept in the profile's encrypted key store.

What lives here: the device's Olm account and sessions (``crypto.OlmMachine``), the
peers' device keys this device has verified (trust on first use: a device whose keys
change under the same id is refused, not silently re-trusted), and the archive of
received messages with their franking data so any of them can be reported later.
All of it is one JSON object in ``client.keystore.KeyStore`` (argon2id + AES-256-GCM).

This module does no network I/O (``client/messaging.py`` does); it turns message
content into per-device ciphertexts and stream events back into messages.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidings.client.group_crypto import GroupCrypto
from tidings.client.keystore import KeyStore
from tidings.crypto import (
    FrankingMismatchError,
    OlmCiphertext,
    OlmMachine,
    UndecryptableError,
    seal_message,
)
from tidings.crypto.franking import open_message_bytes
from tidings.crypto.identity import DeviceIdentity
from tidings.protocol import limits
from tidings.protocol.keys import CryptoError, DeviceKeys, OneTimeKey, b64decode, b64encode
from tidings.protocol.payload import CONTROL_KINDS, MessageContent

KEYSTORE_FILE = "keys.tidks"
PASSPHRASE_ENV = "TIDINGS_PASSPHRASE"  # noqa: S105 - the variable name
PICKLE_KEY_BYTES = 32
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class Received:
    """A decrypted, commitment-checked message and what a report of it needs."""

    id: str
    sender: str
    device: str
    ts: int
    content: MessageContent
    franking_key: bytes
    commitment: str
    tag: str
    key_id: str
    conversation: str
    expires_at: int | None = None
    """Set for disappearing messages: every copy is deleted then."""
    request: bool = False
    """A message request: the sender wrote first and has not been accepted (issue 20).
    Shown apart, links not made clickable, no receipts or typing sent back."""
    payload: bytes | None = None
    """The committed content bytes as decrypted (``content.to_bytes()``), if known."""

    @property
    def text(self) -> str:
        value = self.content.body.get("text")
        return value if isinstance(value, str) else ""

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "from": self.sender, "device": self.device, "ts": self.ts,
                "kind": self.content.kind, "text": self.text,
                "conversation": self.conversation,
                **({"expires_at": self.expires_at} if self.expires_at else {}),
                **({"request": True} if self.request else {})}

    def to_json(self) -> dict[str, Any]:
        payload = self.payload if self.payload is not None else self.content.to_bytes()
        return {**self.summary(), "payload": b64encode(payload),
                "franking_key": b64encode(self.franking_key), "commitment": self.commitment,
                "tag": self.tag, "key_id": self.key_id}


def keystore(profile_dir: Path, passphrase: str) -> KeyStore:
    return KeyStore(profile_dir / KEYSTORE_FILE, passphrase)


def passphrase_from_env() -> str | None:
    return os.environ.get(PASSPHRASE_ENV) or None


class DeviceCrypto:
    def __init__(self, machine: OlmMachine, pickle_key: bytes,
                 peers: dict[str, dict[str, dict[str, Any]]] | None = None,
                 inbox: list[dict[str, Any]] | None = None,
                 groups: dict[str, Any] | None = None,
                 settings: dict[str, Any] | None = None,
                 held: list[dict[str, Any]] | None = None) -> None:
        self.machine = machine
        self._pickle_key = pickle_key
        self.peers = peers or {}
        """username -> device_id -> verified DeviceKeys JSON."""
        self.inbox = inbox or []
        """Received messages with franking data, newest last (``CLIENT_INBOX_KEEP``)."""
        self.groups = GroupCrypto.from_json(groups, pickle_key,
                                            machine.identity.device_keys().curve25519)
        """Megolm sessions (client/group_crypto.py)."""
        self.warnings: list[dict[str, Any]] = []
        """Changes in verified contacts' device lists seen since this object was loaded."""
        self.settings: dict[str, Any] = settings or {}
        """Per-device choices kept with the keys: ``typing_off``, verified devices."""
        self._known: dict[tuple[str, str], tuple[dict[str, Any], DeviceKeys]] = {}
        """(user, device) -> (the pinned JSON it was parsed from, the parsed record)."""
        self.held = held or []
        """Disappeared messages kept only so they can still be reported: the franked
        fields a report needs, no shown text, each until its ``held_until`` (see
        ``purge_expired``)."""

    @classmethod
    def create(cls, user: str, device_id: str) -> DeviceCrypto:
        return cls(OlmMachine(DeviceIdentity.create(user, device_id)),
                   secrets.token_bytes(PICKLE_KEY_BYTES))

    @property
    def user(self) -> str:
        return self.machine.identity.user

    @property
    def device_id(self) -> str:
        return self.machine.identity.device_id

    # -- persistence ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, "pickle_key": b64encode(self._pickle_key),
                "olm": self.machine.pickle(self._pickle_key), "peers": self.peers,
                "inbox": self.inbox[-limits.CLIENT_INBOX_KEEP:],
                "groups": self.groups.to_json(self._pickle_key), "settings": self.settings,
                "held": self.held[-limits.CLIENT_REPORT_HOLD_KEEP:]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceCrypto:
        key = b64decode(str(data["pickle_key"]))
        return cls(OlmMachine.from_pickle(data["olm"], key), key, data.get("peers", {}),
                   data.get("inbox", []), data.get("groups"), data.get("settings"),
                   data.get("held", []))

    def save(self, store: KeyStore) -> None:
        store.save(self.to_json())

    @classmethod
    def load(cls, store: KeyStore) -> DeviceCrypto | None:
        """The saved state, None if there is none; WrongPassphraseError if locked."""
        data = store.load()
        return cls.from_json(data) if data else None

    def purge_expired(self, now_ms: int) -> int:
        """Take messages whose disappearing timer ran out out of view; returns how many.

        Issue 20: a disappearing message must stay reportable, or a sender could put a
        short timer on abuse. So what a report needs (``report_requests.franked``: the
        committed payload, franking key, commitment, tag and metadata) is moved to
        ``held`` for ``CLIENT_REPORT_HOLD_MS`` after expiry, and deleted then. The shown
        text and anything else are dropped at once; ``held`` lives in the same encrypted
        key store and no screen lists it. Reporting reads ``reportable()``.
        """
        gone = [m for m in self.inbox if _expired(m, now_ms)]
        self.inbox[:] = [m for m in self.inbox if not _expired(m, now_ms)]
        for m in gone:
            self.held.append({**{k: m[k] for k in HELD_FIELDS if k in m},
                              "held_until": int(m["expires_at"]) + limits.CLIENT_REPORT_HOLD_MS})
        self.held[:] = [h for h in self.held[-limits.CLIENT_REPORT_HOLD_KEEP:]
                        if int(h.get("held_until", 0)) > now_ms]
        return len(gone)

    def reportable(self) -> list[dict[str, Any]]:
        """Every message this device can still report: held (disappeared) and shown ones,
        oldest first, so a report's earlier context may include disappeared messages."""
        return sorted([*self.held, *self.inbox], key=lambda m: int(m.get("ts", 0)))

    def timer_for(self, conversation: str) -> int | None:
        """The disappearing-message timer of a user ("bob") or group ("group:G...")."""
        value = self.settings.get("timers", {}).get(conversation)
        return value if isinstance(value, int) else None

    def set_timer(self, conversation: str, timer_ms: int | None) -> None:
        timers = self.settings.setdefault("timers", {})
        if timer_ms:
            timers[conversation] = timer_ms
        else:
            timers.pop(conversation, None)

    # -- publishing -------------------------------------------------------------------
    def device_keys(self) -> dict[str, Any]:
        return self.machine.identity.device_keys().to_json()

    def one_time_keys(self, n: int) -> list[dict[str, Any]]:
        return [k.to_json() for k in self.machine.identity.generate_one_time_keys(n)]

    def fallback_key(self) -> dict[str, Any]:
        return self.machine.identity.fallback_key().to_json()

    def mark_published(self) -> None:
        self.machine.identity.mark_published()

    # -- peers ------------------------------------------------------------------------
    def verify_devices(self, user: str, records: dict[str, Any]) -> dict[str, DeviceKeys]:
        """Check each record's signature and binding; pin keys on first use.

        Records that fail are dropped (the server cannot make us encrypt to a key the
        device did not sign); a changed key for a pinned device id is dropped too.
        """
        good: dict[str, DeviceKeys] = {}
        pinned = self.peers.setdefault(user, {})
        for device_id, obj in records.items():
            try:
                record = DeviceKeys.from_json(obj)
            except CryptoError:
                continue
            if record.user != user or record.device_id != device_id or not record.verify():
                continue
            known = pinned.get(device_id)
            if known is not None and known != record.to_json():
                continue
            pinned[device_id] = record.to_json()
            good[device_id] = record
        for gone in set(pinned) - set(records):
            del pinned[gone]  # logged out: stop encrypting to it
        self._check_verified(user, good)
        return good

    def _check_verified(self, user: str, good: dict[str, DeviceKeys]) -> None:
        """Warn once when a verified contact's device list is not what was verified."""
        verified = self.settings.get("verified", {}).get(user)
        if not verified:
            return
        now = {d: r.ed25519 for d, r in good.items()}
        added = sorted(d for d in now if verified.get(d) != now[d])
        removed = sorted(set(verified) - set(now))
        seen = self.settings.setdefault("device_lists", {})
        if (added or removed) and seen.get(user) != sorted(now):
            self.warnings.append({"user": user, "added": added, "removed": removed})
        seen[user] = sorted(now)

    def known_key(self, user: str, device_id: str) -> DeviceKeys | None:
        """The pinned record, parsed once per pinned object (every received message asks
        for its sender's; re-pinning stores a new object, so the parse is redone)."""
        obj = self.peers.get(user, {}).get(device_id)
        if obj is None:
            return None
        kept = self._known.get((user, device_id))
        if kept is not None and kept[0] is obj:
            return kept[1]
        record = DeviceKeys.from_json(obj)
        self._known[(user, device_id)] = (obj, record)
        return record

    def has_session(self, record: DeviceKeys) -> bool:
        return self.machine.has_session(record.curve25519)

    # -- sending ----------------------------------------------------------------------
    def encrypt(self, content: MessageContent, targets: list[DeviceKeys],
                claimed: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
        """Seal once (fresh franking key), encrypt per device; ``(envelopes, commitment)``.

        ``claimed`` maps device ids without a session to their claimed one-time key
        JSON; each is verified against the device's Ed25519 key before use (Olm spec,
        "Initial setup": the key's owner signs it, the server only relays it).
        """
        sealed, commitment, _ = seal_message(content)
        envelopes = []
        for record in targets:
            otk = None
            if not self.has_session(record):
                otk = _verified_otk(record, claimed.get(record.device_id))
            ct = self.machine.encrypt_for(record.curve25519, otk, sealed)
            envelopes.append({"device_id": record.device_id, "ciphertext": ct.to_json()})
        return envelopes, base64.b64encode(commitment).decode()

    def encrypt_rekey(self, content: MessageContent, record: DeviceKeys,
                      claimed: Any) -> tuple[list[dict[str, Any]], str]:
        """Encrypt on a brand-new session so a peer whose session broke can read it."""
        self.machine.start_session(record.curve25519, _verified_otk(record, claimed))
        return self.encrypt(content, [record], {})

    # -- receiving --------------------------------------------------------------------
    def decrypt_group(self, body: dict[str, Any], sender: DeviceKeys) -> Received:
        """Decrypt a ``group_message`` event (Megolm) and keep it like a 1:1 message."""
        content, franking_key = self.groups.decrypt(body, sender)
        return self._keep(body, content, franking_key)

    def _keep(self, body: dict[str, Any], content: MessageContent, franking_key: bytes,
              payload: bytes | None = None) -> Received:
        received = Received(str(body["id"]), str(body["from"]), str(body["device"]),
                            int(body["ts"]), content, franking_key, str(body["commitment"]),
                            str(body["tag"]), str(body["key_id"]), str(body["conversation"]),
                            _int_or_none(body.get("expires_at")), body.get("request") is True,
                            payload)
        if content.kind not in CONTROL_KINDS:
            self.inbox.append(received.to_json())
            del self.inbox[:-limits.CLIENT_INBOX_KEEP]
        return received

    def decrypt(self, body: dict[str, Any], sender: DeviceKeys) -> Received:
        """Decrypt a ``message`` event; the franking commitment must open or it is dropped.

        Raises ``UndecryptableError`` (no session, tampering) or ``FrankingMismatchError``.
        """
        if body.get("sender_key") != sender.curve25519:
            raise UndecryptableError("the server's sender key differs from the verified one")
        try:
            commitment = b64decode(str(body["commitment"]))
            sealed = self.machine.decrypt_from(sender.curve25519,
                                               OlmCiphertext.from_json(body["ciphertext"]))
        except (KeyError, ValueError) as exc:
            raise UndecryptableError("malformed message event") from exc
        content, franking_key, payload = open_message_bytes(sealed, commitment)
        if content.kind == "key_share":
            self.groups.accept_share(sender.curve25519, content)
        return self._keep(body, content, franking_key, payload)


HELD_FIELDS = ("id", "from", "device", "conversation", "ts", "expires_at", "payload",
               "franking_key", "commitment", "tag", "key_id")
"""What a disappeared message keeps while held: exactly what a report reveals."""


def _expired(m: dict[str, Any], now_ms: int) -> bool:
    expires = m.get("expires_at")
    return isinstance(expires, int) and expires <= now_ms


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _verified_otk(record: DeviceKeys, obj: Any) -> OneTimeKey:
    if obj is None:
        raise UndecryptableError(f"no one-time key could be claimed for {record.device_id}")
    otk = OneTimeKey.from_json(obj)
    if not otk.verify(record.user, record.device_id, record.ed25519):
        raise UndecryptableError(f"the one-time key of {record.device_id} has a bad signature")
    return otk


__all__ = ["DeviceCrypto", "FrankingMismatchError", "Received",
           "UndecryptableError", "keystore", "passphrase_from_env"]
