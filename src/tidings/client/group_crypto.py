"""A device's Megolm state: its outbound session per group and who already has its key.

Pure (no network): ``client/groups.py`` does the requests. Kept beside
``DeviceCrypto`` and saved in the same key store.

Rotation (Megolm spec, "Advancing the ratchet"; Matrix client-server spec 11.12.3.2):
the outbound session is replaced after ``MEGOLM_ROTATION_MESSAGES`` messages or
``MEGOLM_ROTATION_PERIOD_MS``, and whenever a device that holds its key is no longer a
target (a member left or was removed, or logged a device out). The last rule is checked
at every send against the current member devices, so it holds even if this device
missed the membership event. A device that joins later gets the session key exported at
the *current* index, so it cannot read what was sent before it joined.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tidings.crypto import (
    GroupKeyStore,
    InboundGroup,
    OutboundGroup,
    UndecryptableError,
    open_message,
)
from tidings.protocol.keys import DeviceKeys, b64decode
from tidings.protocol.payload import MessageContent

GROUP_SEEN_KEEP = 20_000
"""Megolm (session, index) pairs remembered for replay detection."""


@dataclass
class Plan:
    """What a send must do first: share the session key with these devices' users."""

    session: OutboundGroup
    share_with: dict[str, DeviceKeys]
    rotated: bool


@dataclass
class GroupCrypto:
    keys: GroupKeyStore
    shared: dict[str, list[str]] = field(default_factory=dict)
    """group id -> device ids holding the current outbound session's key."""
    seen: dict[str, str] = field(default_factory=dict)
    """``session_id:index`` -> message id, to refuse a replayed index (Megolm replay)."""

    def prepare(self, gid: str, targets: dict[str, DeviceKeys], now_ms: int) -> Plan:
        holders = set(self.shared.get(gid, []))
        current = self.keys.outbound(gid)
        rotated = False
        if current is not None and (current.needs_rotation(now_ms) or holders - set(targets)):
            self.keys.discard_outbound(gid)
            rotated = True
        session, new = self.keys.ensure_outbound(gid, now_ms)
        if new:
            holders = set()
            self.shared[gid] = []
        return Plan(session, {d: r for d, r in targets.items() if d not in holders},
                    rotated or new)

    def mark_shared(self, gid: str, devices: list[str]) -> None:
        self.shared[gid] = sorted(set(self.shared.get(gid, [])) | set(devices))

    def forget(self, gid: str) -> None:
        """A member left or was removed: the next send starts a new session."""
        self.keys.discard_outbound(gid)
        self.shared.pop(gid, None)

    def key_share(self, gid: str, session: OutboundGroup) -> dict[str, Any]:
        return {"group": gid, "session_id": session.session_id,
                "session_key": session.session_key()}

    def accept_share(self, sender_curve25519: str, content: MessageContent) -> None:
        """A ``key_share`` that arrived over Olm from ``sender_curve25519``."""
        key = content.body.get("session_key")
        if isinstance(key, str):
            self.keys.add_inbound(sender_curve25519, InboundGroup.from_session_key(key))

    def decrypt(self, body: dict[str, Any], sender: DeviceKeys
                ) -> tuple[MessageContent, bytes]:
        """Open a ``group_message`` event: Megolm, then the franking commitment."""
        if body.get("sender_key") != sender.curve25519:
            raise UndecryptableError("the server's sender key differs from the verified one")
        ciphertext = body.get("ciphertext")
        if not isinstance(ciphertext, str):
            raise UndecryptableError("the message expired before it was delivered")
        try:
            commitment = b64decode(str(body["commitment"]))
            session_id = str(body["session_id"])
        except (KeyError, ValueError) as exc:
            raise UndecryptableError("malformed group message event") from exc
        sealed, index = self.keys.decrypt(sender.curve25519, session_id, ciphertext)
        slot = f"{session_id}:{index}"
        if self.seen.setdefault(slot, str(body.get("id"))) != str(body.get("id")):
            raise UndecryptableError("a second message at the same Megolm index (replay)")
        return open_message(sealed, commitment)

    def to_json(self, pickle_key: bytes) -> dict[str, Any]:
        return {"store": self.keys.pickle(pickle_key), "shared": self.shared,
                "seen": dict(list(self.seen.items())[-GROUP_SEEN_KEEP:])}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None, pickle_key: bytes, own_curve: str
                  ) -> GroupCrypto:
        if not data:
            return cls(GroupKeyStore(own_curve))
        return cls(GroupKeyStore.from_pickle(data["store"], pickle_key),
                   dict(data.get("shared", {})), dict(data.get("seen", {})))
