"""A device's long-term Olm account, wrapped so vodozemac types stay inside.

One ``DeviceIdentity`` per device: a Curve25519 identity key for Olm's triple
Diffie-Hellman, an Ed25519 key that signs everything the device publishes, and
the pool of one-time and fallback keys other devices claim to start sessions
(Olm spec, "Initial setup"; Matrix client-server spec 11.12.2, "One-time and
fallback keys").
"""

from __future__ import annotations

import json
from dataclasses import replace

import vodozemac

from tidings.crypto.errors import KeyFormatError, PickleError
from tidings.protocol.keys import DeviceKeys, OneTimeKey

# --- limits (the integrator moves these to protocol/limits.py) -------------------
PICKLE_KEY_BYTES = 32
#: vodozemac keeps at most 50 unpublished one-time keys (Account.max_number_of_one_time_keys).
MAX_ONE_TIME_KEYS_PER_BATCH = 50

_PICKLE_VERSION = 1


def _key_id(vodozemac_id: str) -> str:
    """vodozemac names keys with standard base64 of a counter, which may contain
    ``+`` and ``/``; Tidings key ids are URL-safe. The id is only a label (the
    account matches keys by value), so the mapping never needs reversing."""
    return vodozemac_id.replace("+", "-").replace("/", "_")


def _unpublished_fallback(account: vodozemac.Account) -> dict[str, vodozemac.Curve25519PublicKey]:
    # The binding has fallback keys (vodozemac >= 0.9) but its type stubs lag behind.
    keys: dict[str, vodozemac.Curve25519PublicKey] = account.fallback_key  # type: ignore[attr-defined]
    return dict(keys)


def _check_pickle_key(key: bytes) -> None:
    if len(key) != PICKLE_KEY_BYTES:
        raise PickleError(f"pickle key must be {PICKLE_KEY_BYTES} bytes")


class DeviceIdentity:
    """The device's Olm account, bound to the (user, device id) it belongs to.

    The binding exists because every one-time key signature covers the user and
    device id (protocol/keys.py): a key claimed for one device cannot be passed
    off as another's. It also makes ``generate_one_time_keys(n)`` self-contained.
    """

    def __init__(
        self,
        account: vodozemac.Account,
        user: str,
        device_id: str,
        fallback: tuple[str, str] | None = None,
    ) -> None:
        self._account = account
        self.user = user
        self.device_id = device_id
        # vodozemac only lists *unpublished* fallback keys; remember the published
        # one so fallback_key() can keep returning it until it is rotated.
        self._fallback = fallback

    @classmethod
    def create(cls, user: str, device_id: str) -> DeviceIdentity:
        return cls(vodozemac.Account(), user, device_id)

    @property
    def curve25519(self) -> str:
        return str(self._account.curve25519_key.to_base64())

    @property
    def ed25519(self) -> str:
        return str(self._account.ed25519_key.to_base64())

    def sign(self, message: bytes) -> str:
        return str(self._account.sign(bytes(message)).to_base64())

    def device_keys(self, user: str | None = None, device_id: str | None = None) -> DeviceKeys:
        """The signed device record to upload; arguments, if given, must match the binding."""
        if (user is not None and user != self.user) or (
            device_id is not None and device_id != self.device_id
        ):
            raise KeyFormatError("this identity belongs to another user or device")
        unsigned = DeviceKeys(self.user, self.device_id, self.curve25519, self.ed25519, "")
        return replace(unsigned, signature=self.sign(unsigned.signed_bytes()))

    def _signed_otk(self, key_id: str, key: str, fallback: bool) -> OneTimeKey:
        otk = OneTimeKey(key_id=_key_id(key_id), key=key, fallback=fallback, signature="")
        return replace(otk, signature=self.sign(otk.signed_bytes(self.user, self.device_id)))

    def generate_one_time_keys(self, n: int) -> list[OneTimeKey]:
        """Generate ``n`` keys and return every unpublished key, signed, for upload.

        The list includes keys generated earlier and not yet marked published, so
        a retried upload after a crash publishes them too.
        """
        if not 1 <= n <= MAX_ONE_TIME_KEYS_PER_BATCH:
            raise KeyFormatError(f"n must be 1..{MAX_ONE_TIME_KEYS_PER_BATCH}")
        self._account.generate_one_time_keys(n)
        return [
            self._signed_otk(kid, str(pk.to_base64()), False)
            for kid, pk in sorted(self._account.one_time_keys.items())
        ]

    def mark_published(self) -> None:
        """Call after the server stored the uploaded keys (Olm: mark_keys_as_published)."""
        unpublished = _unpublished_fallback(self._account)
        self._account.mark_keys_as_published()
        if unpublished:
            kid, pk = sorted(unpublished.items())[-1]
            self._fallback = (kid, str(pk.to_base64()))

    def fallback_key(self) -> OneTimeKey:
        """The current fallback key, signed; generated on first use.

        A fallback key is reused when all one-time keys are exhausted, so session
        setup never fails just because the device was offline (Matrix spec
        11.12.2.3, "Fallback keys"). Rotate it with rotate_fallback_key() once it
        has been used.
        """
        unpublished = _unpublished_fallback(self._account)
        if unpublished:
            kid, pk = sorted(unpublished.items())[-1]
            current = (kid, str(pk.to_base64()))
        elif self._fallback is not None:
            current = self._fallback
        else:
            self._account.generate_fallback_key()  # type: ignore[attr-defined]
            kid, pk = sorted(_unpublished_fallback(self._account).items())[-1]
            current = (kid, str(pk.to_base64()))
        return self._signed_otk(*current, True)

    def rotate_fallback_key(self) -> OneTimeKey:
        """Replace the fallback key; vodozemac keeps the previous one for late messages."""
        self._account.generate_fallback_key()  # type: ignore[attr-defined]
        return self.fallback_key()

    def pickle(self, key: bytes) -> str:
        _check_pickle_key(key)
        return json.dumps(
            {
                "v": _PICKLE_VERSION,
                "user": self.user,
                "device_id": self.device_id,
                "account": self._account.pickle(bytes(key)),
                "fallback": list(self._fallback) if self._fallback else None,
            },
            sort_keys=True,
        )

    @classmethod
    def from_pickle(cls, pickle: str, key: bytes) -> DeviceIdentity:
        _check_pickle_key(key)
        try:
            obj = json.loads(pickle)
            if not isinstance(obj, dict) or obj.get("v") != _PICKLE_VERSION:
                raise PickleError("unknown identity pickle version")
            account = vodozemac.Account.from_pickle(obj["account"], bytes(key))
            fb = obj["fallback"]
            fallback = (str(fb[0]), str(fb[1])) if fb else None
            user, device_id = obj["user"], obj["device_id"]
            if not isinstance(user, str) or not isinstance(device_id, str):
                raise PickleError("identity pickle has no user binding")
        except PickleError:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            # vodozemac.PickleException is a ValueError subclass.
            raise PickleError("identity pickle is corrupt or the key is wrong") from exc
        return cls(account, user, device_id, fallback)

    # -- for tidings.crypto.olm only -------------------------------------------------
    def _create_outbound(self, peer_curve25519: str, one_time_key: str) -> vodozemac.Session:
        return self._account.create_outbound_session(
            vodozemac.Curve25519PublicKey.from_base64(peer_curve25519),
            vodozemac.Curve25519PublicKey.from_base64(one_time_key),
        )

    def _create_inbound(
        self, peer_curve25519: str, message: vodozemac.PreKeyMessage
    ) -> tuple[vodozemac.Session, bytes]:
        session, plaintext = self._account.create_inbound_session(
            vodozemac.Curve25519PublicKey.from_base64(peer_curve25519), message
        )
        return session, bytes(plaintext)
