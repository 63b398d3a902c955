"""Private 1:1 messages: check the device set, stamp the franking tag, queue durably.

The server relays Olm ciphertexts it cannot read (DESIGN.md, "Data flow of a private
message"). For each send it

1. checks that the envelopes cover exactly the recipient's devices and the sender's
   other devices (Signal's rule; 409 ``mismatched_devices`` with the missing and extra
   device ids otherwise, so the client re-queries keys and re-encrypts);
2. stamps the franking tag over the sender's commitment and the metadata it observed
   (protocol/franking.py: sender, sender device, conversation, server time);
3. appends one event per device to that device's stream through the group committer,
   and answers only after the commit: an answered send is durable;
4. remembers (sender device, client_id) -> (id, ts) so a retry is answered with the
   same id and ts and nothing is stored twice.

Nothing else is kept: the stream events are deleted when each device acknowledges
them, and the idempotency row expires after ``MESSAGE_DEDUP_RETENTION_MS``.
"""

from __future__ import annotations

import base64
import itertools
import secrets
from dataclasses import dataclass
from typing import Any

from tidings.protocol import limits
from tidings.protocol.control import compact, splice
from tidings.protocol.errors import Conflict, NotFound
from tidings.protocol.franking import FrankingKeyring
from tidings.protocol.keys import b64encode
from tidings.protocol.messages import SendRequest, device_mismatch
from tidings.services.accounts import Principal
from tidings.services.clock import Clock
from tidings.services.contacts import ContactService, Delivery
from tidings.services.directory import DirectoryCache, UserDevices
from tidings.storage.committer import AppendJob, Dedup, GroupCommitter
from tidings.storage.database import Database
from tidings.storage.messages import SentStore

MESSAGE_KIND = "message"
MESSAGE_ID_BYTES = 12


@dataclass(frozen=True, slots=True)
class Sent:
    id: str
    ts: int
    duplicate: bool


_ID_PREFIX = secrets.token_bytes(MESSAGE_ID_BYTES - 6)
_ID_COUNTER = itertools.count(int.from_bytes(secrets.token_bytes(5), "big"))


def new_message_id() -> str:
    """A random per-process prefix plus a counter: unique without a syscall per message.

    Message ids are not secrets (every recipient sees them); they only have to be
    unique. ``os.urandom`` per id cost ~30 µs on the benchmark VM.
    """
    n = next(_ID_COUNTER) % (1 << 48)
    raw = _ID_PREFIX + n.to_bytes(6, "big")
    return "M" + base64.b32encode(raw).decode().rstrip("=")


class MessageService:
    def __init__(self, db: Database, committer: GroupCommitter, sent: SentStore,
                 directory: DirectoryCache, keyring: FrankingKeyring, clock: Clock,
                 contacts: ContactService | None = None) -> None:
        self.db = db
        self.contacts = contacts
        """Blocks and message requests (services/contacts.py); None: everyone delivers."""
        self.committer = committer
        self.sent = sent
        self.directory = directory
        self.keyring = keyring
        self.clock = clock
        self._since_prune = 0

    async def send(self, who: Principal, req: SendRequest) -> Sent:
        to = req.to.strip().lower()
        recipient, mine = await self._check_devices(who, to, req, fresh=False)
        sender_key = mine.devices.get(who.device_id)
        if sender_key is None:
            raise Conflict("this device has not published its keys yet", "no_device_keys")
        ts = self.clock()
        message_id = new_message_id()
        key_id, tag = self.keyring.tag(req.commitment_bytes(), who.username, who.device_id,
                                       recipient.username, ts)
        head = {"id": message_id, "from": who.username, "device": who.device_id,
                "sender_key": sender_key, "ts": ts, "commitment": req.commitment,
                "tag": b64encode(tag), "key_id": key_id, "conversation": recipient.username}
        expires_at = ts + req.expires_in_ms if req.expires_in_ms else None
        if expires_at is not None:
            head["expires_at"] = expires_at
        delivery = Delivery.DELIVER
        if self.contacts is not None and recipient.user_id != who.user_id:
            delivery = await self.contacts.gate(who, recipient.user_id, recipient.username)
        head_json = compact(head)  # once; each device's event adds its own ciphertext
        theirs = (splice(head_json, {"request": "true"}) if delivery is Delivery.REQUEST
                  else head_json)
        items = [(e.device_id, MESSAGE_KIND,
                  splice(theirs if e.device_id in recipient.devices else head_json,
                         {"ciphertext": compact(e.ciphertext())}))
                 for e in req.envelopes
                 if delivery is not Delivery.DROP or e.device_id not in recipient.devices
                 or recipient.user_id == who.user_id]
        result = await self.committer.append(
            AppendJob(items, Dedup(who.device_id, req.client_id, message_id, ts),
                      expires_at=expires_at))
        await self._maybe_prune()
        return Sent(result.message_id, result.ts, result.duplicate)

    async def _check_devices(self, who: Principal, to: str, req: SendRequest, *, fresh: bool
                             ) -> tuple[UserDevices, UserDevices]:
        recipient = await self.directory.get(to, fresh=fresh)
        if recipient is None:
            raise NotFound("no such user", "user_not_found")
        mine = await self.directory.get(who.username, fresh=fresh)
        if mine is None:
            raise NotFound("the sending account no longer exists", "user_not_found")
        if req.to_device is not None:
            if req.to_device not in recipient.devices:
                if not fresh:
                    return await self._check_devices(who, to, req, fresh=True)
                raise NotFound("no such device with keys", "device_not_found")
            expected = {req.to_device}
        else:
            expected = (set(recipient.devices) | set(mine.devices)) - {who.device_id}
        missing, extra = device_mismatch(expected, (e.device_id for e in req.envelopes))
        if missing or extra:
            if not fresh:
                return await self._check_devices(who, to, req, fresh=True)
            if not recipient.devices:
                raise NotFound(f"{recipient.username} has no devices with published keys",
                               "no_devices")
            raise Conflict("the envelopes do not match the devices; query keys and re-send",
                           "mismatched_devices", missing=missing, extra=extra)
        return recipient, mine

    async def _maybe_prune(self) -> None:
        self._since_prune += 1
        if self._since_prune < limits.MESSAGE_DEDUP_PRUNE_EVERY:
            return
        self._since_prune = 0
        await self.prune()

    async def prune(self) -> int:
        """Forget idempotency rows older than the retention period (in a group commit's
        transaction, storage/committer.py: no write turn of its own on the send path)."""
        return await self.committer.prune_sent(
            self.clock() - limits.MESSAGE_DEDUP_RETENTION_MS)


def sent_json(sent: Sent) -> dict[str, Any]:
    return {"id": sent.id, "ts": sent.ts}
