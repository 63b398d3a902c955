"""Pairwise Olm sessions between devices (Olm spec, "The Olm Algorithm").

``OlmMachine`` keeps, per peer device (named by its Curve25519 identity key),
every session established with it, most recently used first. Like libolm
clients (Matrix client-server spec 11.12.3.1, "m.olm.v1.curve25519-aes-sha2"):

* a pre-key message (type 0) is first offered to existing sessions that match it
  (``session_matches``), and otherwise creates an inbound session, consuming the
  one-time key it names;
* a normal message (type 1) is tried against every session with that peer,
  because both sides may have started a session at the same time;
* encryption uses the session that most recently decrypted something, so both
  sides converge on one session.

All ratcheting is vodozemac's; this module only chooses sessions and translates
errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import vodozemac

from tidings.crypto.errors import NoSessionError, PickleError, UndecryptableError
from tidings.crypto.identity import DeviceIdentity, _check_pickle_key
from tidings.protocol.keys import OneTimeKey, b64decode, b64encode

# --- limits (the integrator moves these to protocol/limits.py) -------------------
#: Sessions kept per peer device; older ones are dropped (libolm clients keep a
#: handful so late messages on a superseded session still decrypt).
OLM_MAX_SESSIONS_PER_PEER = 8
#: Upper bound on an Olm message body accepted for decryption (base64 chars).
OLM_MAX_BODY_CHARS = 256 * 1024

OLM_PRE_KEY = 0
OLM_NORMAL = 1


@dataclass(frozen=True)
class OlmCiphertext:
    """An Olm message on the wire: ``type`` 0 (pre-key) or 1 (normal), body in
    unpadded base64 (the Matrix ``m.olm.v1`` ciphertext shape)."""

    type: int
    body: str

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "body": self.body}

    @classmethod
    def from_json(cls, obj: Any) -> OlmCiphertext:
        if not isinstance(obj, dict) or set(obj) != {"type", "body"}:
            raise UndecryptableError("Olm ciphertext must have exactly type and body")
        kind, body = obj["type"], obj["body"]
        if kind not in (OLM_PRE_KEY, OLM_NORMAL) or isinstance(kind, bool):
            raise UndecryptableError("Olm message type must be 0 or 1")
        if not isinstance(body, str):
            raise UndecryptableError("Olm body must be a string")
        return cls(type=kind, body=body)


class OlmChannel:
    """One Olm session with one peer device."""

    def __init__(self, session: vodozemac.Session) -> None:
        self._session = session

    @property
    def session_id(self) -> str:
        return str(self._session.session_id)

    def encrypt(self, plaintext: bytes) -> OlmCiphertext:
        kind, body = self._session.encrypt(bytes(plaintext)).to_parts()
        return OlmCiphertext(type=int(kind), body=b64encode(bytes(body)))

    def _decrypt(self, message: vodozemac.AnyOlmMessage) -> bytes:
        try:
            return bytes(self._session.decrypt(message))
        except ValueError as exc:
            raise UndecryptableError("Olm session could not decrypt the message") from exc

    def _matches(self, pre_key: vodozemac.PreKeyMessage) -> bool:
        try:
            return bool(self._session.session_matches(pre_key))
        except ValueError:
            return False

    def pickle(self, key: bytes) -> str:
        return str(self._session.pickle(bytes(key)))

    @classmethod
    def from_pickle(cls, pickle: str, key: bytes) -> OlmChannel:
        try:
            return cls(vodozemac.Session.from_pickle(pickle, bytes(key)))
        except (ValueError, TypeError) as exc:
            raise PickleError("Olm session pickle is corrupt or the key is wrong") from exc


def _parse(ciphertext: OlmCiphertext) -> vodozemac.AnyOlmMessage:
    if ciphertext.type not in (OLM_PRE_KEY, OLM_NORMAL) or isinstance(ciphertext.type, bool):
        raise UndecryptableError("Olm message type must be 0 or 1")
    if not isinstance(ciphertext.body, str) or len(ciphertext.body) > OLM_MAX_BODY_CHARS:
        raise UndecryptableError("Olm body missing or too large")
    try:
        return vodozemac.AnyOlmMessage.from_parts(ciphertext.type, b64decode(ciphertext.body))
    except ValueError as exc:
        raise UndecryptableError("Olm message is malformed") from exc


class OlmMachine:
    """A device's identity plus all of its Olm sessions, keyed by peer Curve25519 key."""

    def __init__(
        self, identity: DeviceIdentity, sessions: dict[str, list[OlmChannel]] | None = None
    ) -> None:
        self.identity = identity
        self._sessions: dict[str, list[OlmChannel]] = sessions or {}

    def sessions_with(self, peer_curve25519: str) -> list[str]:
        """Session ids with a peer, most recently used first."""
        return [c.session_id for c in self._sessions.get(peer_curve25519, [])]

    def has_session(self, peer_curve25519: str) -> bool:
        return bool(self._sessions.get(peer_curve25519))

    def _remember(self, peer: str, channel: OlmChannel) -> None:
        channels = [c for c in self._sessions.get(peer, []) if c is not channel]
        self._sessions[peer] = [channel, *channels][:OLM_MAX_SESSIONS_PER_PEER]

    def encrypt_for(
        self,
        peer_curve25519: str,
        peer_one_time_key: str | OneTimeKey | None,
        plaintext: bytes,
    ) -> OlmCiphertext:
        """Encrypt for one peer device, starting a session from a claimed key if needed.

        The caller must have verified the claimed key's signature against the
        peer's device keys (``OneTimeKey.verify``): that is what stops the server
        from handing out its own key.
        """
        channels = self._sessions.get(peer_curve25519)
        if channels:
            return channels[0].encrypt(plaintext)
        if peer_one_time_key is None:
            raise NoSessionError("no Olm session with this device; claim a one-time key first")
        otk = (
            peer_one_time_key.key
            if isinstance(peer_one_time_key, OneTimeKey)
            else (peer_one_time_key)
        )
        try:
            session = self.identity._create_outbound(peer_curve25519, otk)
        except ValueError as exc:
            raise NoSessionError("peer identity key or one-time key is malformed") from exc
        channel = OlmChannel(session)
        self._remember(peer_curve25519, channel)
        return channel.encrypt(plaintext)

    def start_session(self, peer_curve25519: str, peer_one_time_key: str | OneTimeKey) -> None:
        """Start a fresh outbound session and make it the current one for this peer.

        For re-keying after the peer could not decrypt (a lost or corrupted session):
        the next message is a pre-key message the peer can always open, and older
        sessions are kept for messages still in flight on them.
        """
        otk = (peer_one_time_key.key if isinstance(peer_one_time_key, OneTimeKey)
               else peer_one_time_key)
        try:
            session = self.identity._create_outbound(peer_curve25519, otk)
        except ValueError as exc:
            raise NoSessionError("peer identity key or one-time key is malformed") from exc
        self._remember(peer_curve25519, OlmChannel(session))

    def decrypt_from(self, peer_curve25519: str, ciphertext: OlmCiphertext) -> bytes:
        message = _parse(ciphertext)
        channels = list(self._sessions.get(peer_curve25519, []))
        if ciphertext.type == OLM_PRE_KEY:
            pre_key = message.to_pre_key()
            if pre_key is None:
                raise UndecryptableError("malformed pre-key message")
            for channel in channels:
                if channel._matches(pre_key):
                    plaintext = channel._decrypt(message)
                    self._remember(peer_curve25519, channel)
                    return plaintext
            try:
                session, plaintext = self.identity._create_inbound(peer_curve25519, pre_key)
            except ValueError as exc:
                # Unknown/used one-time key, wrong identity key, or tampering.
                raise UndecryptableError("cannot create an Olm session from this message") from exc
            self._remember(peer_curve25519, OlmChannel(session))
            return plaintext
        for channel in channels:
            try:
                plaintext = channel._decrypt(message)
            except UndecryptableError:
                continue
            self._remember(peer_curve25519, channel)
            return plaintext
        raise UndecryptableError("no Olm session with this device can decrypt the message")

    def pickle(self, key: bytes) -> dict[str, str]:
        """The whole machine as strings, for the encrypted key store."""
        _check_pickle_key(key)
        sessions = {
            peer: [c.pickle(key) for c in channels] for peer, channels in self._sessions.items()
        }
        return {
            "identity": self.identity.pickle(key),
            "sessions": json.dumps(sessions, sort_keys=True),
        }

    @classmethod
    def from_pickle(cls, state: dict[str, str], key: bytes) -> OlmMachine:
        _check_pickle_key(key)
        try:
            identity = DeviceIdentity.from_pickle(state["identity"], key)
            raw = json.loads(state["sessions"])
        except (KeyError, TypeError, ValueError) as exc:
            raise PickleError("Olm machine state is incomplete") from exc
        if not isinstance(raw, dict):
            raise PickleError("Olm session table is corrupt")
        sessions: dict[str, list[OlmChannel]] = {}
        for peer, pickles in raw.items():
            if not isinstance(pickles, list):
                raise PickleError("Olm session table is corrupt")
            sessions[str(peer)] = [OlmChannel.from_pickle(str(p), key) for p in pickles]
        return cls(identity, sessions)
