"""Interactive SAS verification between two devices, as a sans-I/O state machine.

Messages are end-to-end encrypted ``verification`` payloads sent to one device
(``to_device``). The flow follows the Matrix client-server spec, "Short Authentication
String (SAS) verification", including its hash commitment so that neither side can
choose its key after seeing the other's (which would let a man in the middle grind
for a matching SAS):

1. starter -> ``start`` {txn, commitment = SHA-256(starter public key)}
2. responder -> ``key`` {txn, key}
3. starter -> ``key`` {txn, key}; the responder checks it against the commitment
4. both show the same 7 emoji; the people compare them and confirm
5. each -> ``mac`` {txn, mac of its Ed25519 key, mac of the key ids}; each side checks
   the other's MACs and only then marks that device verified.

``feed`` takes one received payload and returns the payloads to send back; the
caller does the I/O (client/verification.py).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tidings.crypto import SasError, SasParty, SasSession

KEY_IDS = "KEY_IDS"
TXN = re.compile(r"[0-9a-f]{16}")
"""A transaction id as ``start`` makes it (8 random bytes, hex). The responder echoes the
starter's txn in every message it sends, so it must not be free text: an attacker's
words would come back franked, from the victim (issue 20, reports by reflection)."""


class SasState(StrEnum):
    STARTED = "started"
    WAIT_KEY = "wait_key"
    COMPARE = "compare"
    WAIT_MAC = "wait_mac"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass
class SasFlow:
    own: SasParty
    own_ed25519: str
    peer: SasParty
    peer_ed25519: str
    txn: str
    starter: bool
    session: SasSession = field(init=False)
    state: SasState = field(init=False)
    _their_commitment: str = ""
    _confirmed: bool = False
    _their_mac_ok: bool = False

    def __post_init__(self) -> None:
        self.session = SasSession(self.own, self.peer, self.txn, we_started=self.starter)
        self.state = SasState.STARTED if self.starter else SasState.WAIT_KEY

    @classmethod
    def start(cls, own: SasParty, own_ed25519: str, peer: SasParty, peer_ed25519: str
              ) -> tuple[SasFlow, dict[str, Any]]:
        flow = cls(own, own_ed25519, peer, peer_ed25519, secrets.token_hex(8), True)
        return flow, {"step": "start", "txn": flow.txn,
                      "commitment": _commit(flow.session.public_key)}

    @classmethod
    def accept(cls, own: SasParty, own_ed25519: str, peer: SasParty, peer_ed25519: str,
               start: dict[str, Any]) -> tuple[SasFlow, dict[str, Any]]:
        txn = start.get("txn")
        if not isinstance(txn, str) or TXN.fullmatch(txn) is None:
            raise SasError("the verification request has a malformed transaction id")
        flow = cls(own, own_ed25519, peer, peer_ed25519, txn, False)
        flow._their_commitment = str(start.get("commitment", ""))
        return flow, {"step": "key", "txn": flow.txn, "key": flow.session.public_key}

    def feed(self, msg: dict[str, Any]) -> list[dict[str, Any]]:
        if msg.get("txn") != self.txn or self.state in (SasState.DONE, SasState.CANCELLED):
            return []
        step = msg.get("step")
        if step == "cancel":
            self.state = SasState.CANCELLED
            return []
        if step == "key" and self.state in (SasState.STARTED, SasState.WAIT_KEY):
            key = str(msg.get("key"))
            if not self.starter and not hmac.compare_digest(_commit(key),
                                                            self._their_commitment):
                self.state = SasState.CANCELLED
                return [{"step": "cancel", "txn": self.txn, "reason": "commitment mismatch"}]
            self.session.establish(key)
            self.state = SasState.COMPARE
            if self.starter:
                return [{"step": "key", "txn": self.txn, "key": self.session.public_key}]
            return []
        if step == "mac" and self.state in (SasState.COMPARE, SasState.WAIT_MAC):
            key_id = f"ed25519:{self.peer.device_id}"
            ok = (self.session.verify_mac(self.peer_ed25519, self.session.mac_info(
                      key_id, outgoing=False), str(msg.get("mac")))
                  and self.session.verify_mac(key_id, self.session.mac_info(
                      KEY_IDS, outgoing=False), str(msg.get("keys"))))
            if not ok:
                self.state = SasState.CANCELLED
                return [{"step": "cancel", "txn": self.txn, "reason": "key mismatch"}]
            self._their_mac_ok = True
            if self._confirmed:
                self.state = SasState.DONE
        return []

    def emojis(self) -> list[tuple[str, str]]:
        return self.session.emojis()

    def confirm(self) -> dict[str, Any]:
        """The person saw matching emoji: MAC our key for the other side."""
        if self.state is not SasState.COMPARE and self.state is not SasState.WAIT_MAC:
            raise SasError("nothing to confirm yet")
        key_id = f"ed25519:{self.own.device_id}"
        self._confirmed = True
        self.state = SasState.DONE if self._their_mac_ok else SasState.WAIT_MAC
        return {"step": "mac", "txn": self.txn,
                "mac": self.session.calculate_mac(
                    self.own_ed25519, self.session.mac_info(key_id, outgoing=True)),
                "keys": self.session.calculate_mac(
                    key_id, self.session.mac_info(KEY_IDS, outgoing=True))}

    def cancel(self, reason: str = "user cancelled") -> dict[str, Any]:
        self.state = SasState.CANCELLED
        return {"step": "cancel", "txn": self.txn, "reason": reason}


def _commit(public_key: str) -> str:
    return hashlib.sha256(public_key.encode()).hexdigest()
