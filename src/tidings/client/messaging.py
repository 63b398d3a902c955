"""End-to-end encrypted 1:1 messaging for the SDK: keys, send, receive.

``Messenger`` joins a logged-in ``TidingsClient`` (HTTP and the event stream) with the
device's ``DeviceCrypto`` state. The crypto state is saved to the key store after
every step that changes it and *before* the stream is acknowledged, so a crash never
leaves the server believing a message was handled while the ratchet state that read it
was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from tidings.client import privacy_requests as prq
from tidings.client import requests as rq
from tidings.client.e2ee import DeviceCrypto, Received, keystore
from tidings.client.keystore import KeyStore
from tidings.client.sdk import TidingsClient
from tidings.crypto import FrankingMismatchError, UndecryptableError
from tidings.crypto.identity import MAX_ONE_TIME_KEYS_PER_BATCH
from tidings.protocol import limits
from tidings.protocol.errors import Conflict, Forbidden, TidingsError
from tidings.protocol.keys import CryptoError, DeviceKeys
from tidings.protocol.payload import MessageContent

MISMATCHED = "mismatched_devices"
SIGNAL_KINDS = frozenset({"receipt", "typing", "key_share", "timer", "verification"})
ACK_EVERY = 256
"""Events read and not yet acknowledged that make ``receive`` acknowledge at once."""
ACK_DELAY_S = 0.25
"""How long ``receive`` lets read events wait for an acknowledgement while live."""


@dataclass(frozen=True, slots=True)
class Undecryptable:
    """A message that could not be read; a re-key request went back to its device."""

    id: str
    sender: str
    device: str
    code: str
    reason: str

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "from": self.sender, "device": self.device,
                "error": self.code, "message": self.reason}


@dataclass
class Inbox:
    items: list[Received | Undecryptable] = field(default_factory=list)
    """In stream order."""
    notices: list[dict[str, Any]] = field(default_factory=list)
    """Group membership events (kind ``group``)."""
    signals: list[Received] = field(default_factory=list)
    """Receipts, typing notices and group key shares: not messages a person wrote."""
    system: list[dict[str, Any]] = field(default_factory=list)
    """System-inbox notices (kind ``notice``): statements of reasons, order notices."""

    @property
    def messages(self) -> list[Received]:
        return [i for i in self.items if isinstance(i, Received)]

    @property
    def errors(self) -> list[Undecryptable]:
        return [i for i in self.items if isinstance(i, Undecryptable)]


RECEIVE_SETTLE_S = 0.3
"""With ``until_message``: how long to wait for more of a burst once a message is in."""


class _Reading:
    """Where one ``receive`` stands: last event handled, last acknowledged, and the
    pending late acknowledgement (a timer, then a task)."""

    def __init__(self, pos: int) -> None:
        self.last = pos
        self.acked = pos
        self.timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None

    def later(self, ack: Coroutine[Any, Any, None]) -> None:
        self.timer = None
        self.task = asyncio.ensure_future(ack)

    def stop(self, *, cancel: bool = False) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if cancel and self.task is not None:
            self.task.cancel()

    async def settle(self) -> None:
        """No timer left, and the late ack in flight (if any) done: a failed one is
        made good by the acknowledgement ``receive`` sends on return."""
        self.stop()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await self.task


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Messenger:
    def __init__(self, client: TidingsClient, crypto: DeviceCrypto, store: KeyStore | None,
                 clock: Callable[[], int] = _now_ms) -> None:
        self.client = client
        self.crypto = crypto
        self.store = store
        self.clock = clock
        """Milliseconds since the epoch: when disappearing messages leave the view and
        when their held report material is purged (tests move it, as services' clocks)."""
        self._devices: dict[str, dict[str, dict[str, DeviceKeys]]] = {}
        """Per recipient: the verified device lists its last send used (``_targets``)."""

    @classmethod
    def open(cls, client: TidingsClient, passphrase: str, *, create: bool = False,
             clock: Callable[[], int] = _now_ms) -> Messenger:
        """Unlock the profile's key store (``WrongPassphraseError`` if wrong)."""
        if client.profile is None or client.profile_dir is None:
            raise TidingsError("log in first", "no_profile")
        store = keystore(client.profile_dir, passphrase)
        crypto = DeviceCrypto.load(store)
        if crypto is not None and crypto.device_id != client.profile.device_id:
            # The profile logged in again as a new device: the old keys are that
            # device's, and a new device never reuses them.
            if not create:
                raise TidingsError("the key store belongs to another device of this profile",
                                   "no_keys")
            crypto = None
        if crypto is None:
            if not create:
                raise TidingsError("this profile has no encryption keys; log in again",
                                   "no_keys")
            crypto = DeviceCrypto.create(client.profile.username, client.profile.device_id)
        return cls(client, crypto, store, clock)

    @property
    def user(self) -> str:
        return self.crypto.user

    def save(self) -> None:
        if self.store is not None:
            self.crypto.save(self.store)

    def purge_expired(self) -> int:
        """Disappearing messages whose timer ran out leave the view now (their report
        material is held a day longer, ``DeviceCrypto.purge_expired``); saves if any."""
        before = len(self.crypto.held)
        gone = self.crypto.purge_expired(self.clock())
        if gone or len(self.crypto.held) != before:
            self.save()
        return gone

    # -- keys -------------------------------------------------------------------------
    async def publish_keys(self, count: int = limits.KEYS_OTK_TARGET,
                           room: int = limits.KEYS_STORED_OTK_MAX) -> int:
        """Upload device keys, ``count`` one-time keys and the fallback key.

        Never more than ``room`` one-time keys (what the server still accepts): keys left
        unpublished by an earlier failed upload are included by vodozemac, and uploading
        all of them could pass the server's cap (409 ``too_many_keys``, issue 20). Keys
        cut off here are marked published and simply never handed out.
        """
        otks = self.crypto.one_time_keys(count) if count else []
        otks = otks[:max(0, min(room, limits.KEYS_UPLOAD_OTK_MAX))]
        self.save()  # keys exist locally before the server can hand them out
        result = await self.client.call(rq.upload_keys(
            self.crypto.device_keys(), otks, self.crypto.fallback_key()))
        self.crypto.mark_published()
        self.save()
        return int(result["one_time_key_count"])

    async def top_up(self, remaining: int) -> int:
        """Replenish one-time keys after an ``otk_count`` event said few are left.

        The event's count may be stale (a burst of claims sends one event each), so the
        server's current count decides how many to upload, and a 409 ``too_many_keys``
        (another device process uploaded meanwhile) is absorbed, not raised: receiving
        must never fail because of key bookkeeping.
        """
        if remaining >= limits.KEYS_OTK_LOW_WATER:
            return remaining
        count = int((await self.client.call(prq.key_count()))["one_time_key_count"])
        if count >= limits.KEYS_OTK_LOW_WATER:
            return count
        room = limits.KEYS_STORED_OTK_MAX - count
        want = min(limits.KEYS_OTK_TARGET - count, room, MAX_ONE_TIME_KEYS_PER_BATCH)
        try:
            return await self.publish_keys(want, room)
        except Conflict as exc:
            if exc.code != "too_many_keys":
                raise
            self.crypto.mark_published()  # drop what the server would not take
            self.save()
            return count

    async def query(self, users: list[str]) -> dict[str, dict[str, DeviceKeys]]:
        """Devices of these users whose signed records verify (see DeviceCrypto)."""
        result = await self.client.call(rq.query_keys(users))
        return {user: self.crypto.verify_devices(user, records)
                for user, records in result["devices"].items()}

    async def claim(self, devices: dict[str, list[str]]) -> dict[str, Any]:
        """device_id -> claimed key JSON (verified later, against the device's key)."""
        if not devices:
            return {}
        result = await self.client.call(rq.claim_keys(devices))
        return {d: k for per_user in result["one_time_keys"].values() for d, k in per_user.items()}

    # -- sending ----------------------------------------------------------------------
    async def send_text(self, user: str, text: str) -> dict[str, Any]:
        """Send a text; writing back to someone whose message request is pending accepts
        it (a person replying is consenting, as in Signal)."""
        content = MessageContent("text", {"text": text}, uuid.uuid4().hex, _now_ms())
        try:
            return await self.send_content(user, content)
        except Forbidden as exc:
            if exc.code != "message_request":
                raise
        await self.client.call(prq.accept_request(user.strip().lower()))
        return await self.send_content(user, content)

    async def send_content(self, user: str, content: MessageContent) -> dict[str, Any]:
        """Encrypt for every device of ``user`` and our other devices, then send.

        The device lists of the last send to ``user`` are reused (the server checks
        every send against the current devices); on 409 ``mismatched_devices`` (a
        device was added or removed since we looked) re-query and retry once, as Signal
        clients do.
        """
        user = user.strip().lower()
        for attempt in range(2):
            found = await self._targets(user, fresh=attempt > 0)
            if not found.get(user):
                raise TidingsError(f"{user} has no devices with verifiable keys", "no_devices")
            targets = dict(found.get(user, {}))
            targets.update({d: r for d, r in found.get(self.user, {}).items()
                            if d != self.crypto.device_id})
            targets.pop(self.crypto.device_id, None)
            need: dict[str, list[str]] = {}
            for record in targets.values():
                if not self.crypto.has_session(record):
                    need.setdefault(record.user, []).append(record.device_id)
            claimed = await self.claim(need)
            envelopes, commitment = self.crypto.encrypt(content, list(targets.values()), claimed)
            self.save()
            timer = self.crypto.timer_for(user) if content.kind in ("text", "file") else None
            try:
                result = await self.client.send_message({
                    "client_id": content.client_id, "to": user, "commitment": commitment,
                    "envelopes": envelopes, **({"expires_in_ms": timer} if timer else {})})
                return result
            except Conflict as exc:
                if exc.code != MISMATCHED or attempt == 1:
                    raise
        raise AssertionError("unreachable")

    async def _targets(self, user: str, *, fresh: bool) -> dict[str, dict[str, DeviceKeys]]:
        """Verified devices of ``user`` and of ourselves, queried once and then kept
        until the server says they changed (a new query also re-checks signatures)."""
        if not fresh and user in self._devices:
            return self._devices[user]
        found = await self.query(sorted({user, self.user}))
        if found.get(user):
            self._devices[user] = found
        else:
            self._devices.pop(user, None)
        return found

    async def request_rekey(self, user: str, device_id: str, message_id: str) -> None:
        """Tell one device we could not read its message, over a brand-new session."""
        found = await self.query([user])
        record = found.get(user, {}).get(device_id)
        if record is None:
            return
        claimed = await self.claim({user: [device_id]})
        content = MessageContent("rekey_request", {"message_id": message_id},
                                 uuid.uuid4().hex, _now_ms())
        envelopes, commitment = self.crypto.encrypt_rekey(content, record, claimed.get(device_id))
        self.save()
        await self.client.send_message({
            "client_id": content.client_id, "to": user, "to_device": device_id,
            "commitment": commitment, "envelopes": envelopes})

    # -- receiving --------------------------------------------------------------------
    async def _sender_record(self, user: str, device_id: str, sender_key: Any
                             ) -> DeviceKeys | None:
        record = self.crypto.known_key(user, device_id)
        if record is None or record.curve25519 != sender_key:
            record = (await self.query([user])).get(user, {}).get(device_id)
        return record

    async def handle_event(self, kind: str, body: dict[str, Any], inbox: Inbox) -> None:
        if kind == "otk_count":
            # Best effort: the fallback key keeps this device reachable meanwhile, and
            # the next event (or the next receive) tries again.
            with contextlib.suppress(TidingsError):
                await self.top_up(int(body.get("count", 0)))
            return
        if kind == "notice":
            inbox.system.append(body)
            return
        if kind == "group":
            if body.get("event") in ("removed", "left"):
                self.crypto.groups.forget(str(body.get("group")))
            if body.get("event") in ("timer", "created", "joined"):
                timer = body.get("timer_ms")
                self.crypto.set_timer(f"group:{body.get('group')}",
                                      timer if isinstance(timer, int) else None)
            inbox.notices.append(body)
            return
        if kind == "invitation":  # a group invitation (issue 20): who, which group id
            inbox.notices.append(body)
            return
        if kind not in ("message", "group_message") or body.get("expired"):
            return  # an expired disappearing message: nothing to show
        sender, device = str(body.get("from")), str(body.get("device"))
        record = await self._sender_record(sender, device, body.get("sender_key"))
        try:
            if record is None:
                raise UndecryptableError("the sending device's keys cannot be verified")
            got = (self.crypto.decrypt_group(body, record) if kind == "group_message"
                   else self.crypto.decrypt(body, record))
            if got.content.kind == "timer" and not got.conversation.startswith("group:"):
                timer = got.content.body.get("timer_ms")
                peer = got.sender if got.sender != self.user else got.conversation
                # A peer's client may ask for less than the floor; never send under it
                # (the server would refuse it anyway).
                self.crypto.set_timer(peer, max(timer, limits.DISAPPEAR_MIN_MS)
                                      if isinstance(timer, int) and timer > 0 else None)
            (inbox.signals if got.content.kind in SIGNAL_KINDS else inbox.items).append(got)
        except FrankingMismatchError as exc:  # dropped: it could never be reported
            inbox.items.append(Undecryptable(str(body.get("id")), sender, device,
                                              exc.code, exc.message))
        except CryptoError as exc:
            inbox.items.append(Undecryptable(str(body.get("id")), sender, device,
                                              exc.code, exc.message))
            if record is not None and kind == "message":
                # Best effort: if this fails, the next undecryptable message asks again.
                with contextlib.suppress(TidingsError, CryptoError):
                    await self.request_rekey(sender, device, str(body.get("id")))

    async def receive(self, timeout: float = 0.0,
                      on_message: Callable[[Received | Undecryptable], None] | None = None,
                      *, until_message: bool = False) -> Inbox:
        """Read the stream from the saved position, decrypt, keep, acknowledge.

        Returns after catching up plus ``timeout`` seconds of live listening; with
        ``until_message``, as soon as a message is in (caught up or live, plus
        ``RECEIVE_SETTLE_S`` for the rest of its burst): ``timeout`` is then the most it
        waits for one (`tidings receive --timeout`). While
        live, what was read is acknowledged (an ``ack`` frame on the connection) once
        ``ACK_EVERY`` events are waiting or ``ACK_DELAY_S`` after the first of them,
        not per message: an acknowledgement only lets the server delete events, and
        the device resumes from its own saved position, so a later one loses nothing
        and one frame and one server commit serve many messages. On return, all that
        was read is acknowledged for sure.
        """
        inbox = Inbox()
        self.purge_expired()
        since = self.client.profile.stream_pos if self.client.profile else 0
        durable = since
        reported = 0
        async with self.client.transport.connect(since) as conn:
            loop = asyncio.get_running_loop()
            state = _Reading(since)
            try:
                try:
                    async with asyncio.timeout(None) as live_for:  # one timer, set at live
                        while True:
                            frame = json.loads(await conn.recv())
                            if frame.get("type") == "event":
                                await self.handle_event(frame["kind"], frame["body"], inbox)
                                state.last = frame["seq"]
                            elif frame.get("type") == "live":
                                if timeout <= 0:
                                    break
                                live_for.reschedule(loop.time() + timeout)
                            else:
                                continue
                            settle = live_for.when()
                            if until_message and inbox.messages and settle is not None:
                                live_for.reschedule(min(settle,
                                                        loop.time() + RECEIVE_SETTLE_S))
                            if on_message is not None:
                                for item in inbox.items[reported:]:
                                    on_message(item)
                            reported = len(inbox.items)
                            if state.last > state.acked and not conn.backlog:
                                if state.last - state.acked >= ACK_EVERY:
                                    await self._ack_read(state)
                                elif state.timer is None:  # a late ack, without a timer per frame
                                    state.timer = loop.call_later(
                                        ACK_DELAY_S, lambda: state.later(self._ack_read(state)))
                except TimeoutError:
                    if not live_for.expired():
                        raise
            except BaseException:
                # Cancelled or failed after handling events whose (late) ack may not
                # have gone out: keep the key state and resume after them, so the next
                # receive neither shows them twice nor fails to decrypt them.
                state.stop(cancel=True)
                if state.last > durable:
                    self.save()
                    self.client.save_position(state.last)
                raise
            await state.settle()
            if state.last > durable:  # on return, what was read is acknowledged for sure
                await self._flush(state.last)
        return inbox

    async def _ack_read(self, state: _Reading) -> None:
        """Acknowledge, on the open connection, what ``receive`` has read so far."""
        upto = state.last
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        if upto > state.acked:
            state.acked = upto
            await self._flush(upto, over_socket=True)

    async def _flush(self, upto: int, *, over_socket: bool = False) -> None:
        """Persist crypto state and the received messages, then acknowledge."""
        self.save()
        await self.client.ack(upto, over_socket=over_socket)


async def enroll(client: TidingsClient, passphrase: str | None,
                 clock: Callable[[], int] = _now_ms) -> Messenger:
    """After register/login: create this device's keys, save them, and publish them.

    With ``passphrase=None`` the state lives only in memory (tests, bots that keep
    their own storage).
    """
    if passphrase is None:
        if client.profile is None:
            raise TidingsError("log in first", "no_profile")
        messenger = Messenger(client, DeviceCrypto.create(client.profile.username,
                                                          client.profile.device_id), None,
                              clock)
    else:
        messenger = Messenger.open(client, passphrase, create=True, clock=clock)
    await messenger.publish_keys()
    return messenger
