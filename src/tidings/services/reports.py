"""Reports (DSA Art. 16 notices), including verifiable reports of private messages.

Anyone signed in can report a channel post, a channel or an account; a participant
can report a private message. A notice carries what Art. 16(2) asks for: the category
and an explanation (a), the exact location (b), the notifier's name and email (c,
optional here since every reporter is signed in) and the good-faith statement (d).
Art. 16(4)/(5): the notifier gets an acknowledgement now and the outcome later.

Private messages are end-to-end encrypted, so the server can only trust what it can
verify: the reporter's client reveals the message's payload and franking key, and the
server checks the sender's commitment and its own reporting tag (protocol/franking.py)
for the reported message and for up to ``REPORT_CONTEXT_MAX`` preceding messages. A
single mismatch rejects the whole report (400), with a code naming what failed.
Nothing is learnt about messages nobody reports.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation import labels as L
from tidings.moderation import vocabulary
from tidings.moderation.engine import Decision
from tidings.moderation.orders import OrderError, TargetKind, parse_target
from tidings.moderation.review import Source
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, NotFound
from tidings.protocol.franking import (
    FrankingKeyring,
    FrankingVerdict,
    reported_message_id,
    verify_report,
)
from tidings.protocol.keys import b64decode
from tidings.protocol.payload import CONTENT_KINDS, MessageContent, PayloadError
from tidings.services.accounts import Principal
from tidings.services.cases import open_or_join
from tidings.services.channel_access import invite_in, perms_of, unlisted_and_hidden
from tidings.services.clock import Clock
from tidings.storage.accounts import AccountStore
from tidings.storage.blobs import BlobIdError, BlobStore, check_id
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.database import Database
from tidings.storage.reports import ReportStore

#: Report categories, each with the decision policy it suggests (moderation/vocabulary.py).
CATEGORIES: Final = vocabulary.REPORT_CATEGORIES
TARGET_KINDS: Final = vocabulary.TARGET_KINDS
_VERDICT_CODE: Final = {
    FrankingVerdict.BAD_COMMITMENT: "franking_altered",
    FrankingVerdict.BAD_TAG: "franking_forged",
    FrankingVerdict.UNKNOWN_KEY: "franking_unknown_key",
}
#: Whether a group conversation "group:<id>" has this member (sync or async). The
#: kernel gives the groups service's ``is_member``; without it group messages cannot
#: be reported.
GroupMembership = Callable[[str, str], Any]


@dataclass(frozen=True, slots=True)
class FrankedMessage:
    """What a reporter's client reveals about one received message."""

    id: str
    sender: str
    sender_device: str
    conversation: str
    ts: int
    payload: str
    franking_key: str
    commitment: str
    tag: str
    key_id: str
    disclosed: str | None = None
    """The file message's attachment, decrypted by the reporter's client (base64): the
    reporter's choice to show it. Checked against the plaintext hash the franked
    payload names; the attachment's key never leaves the payload."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FrankedMessage:
        try:
            disclosed = data.get("disclosed")
            if disclosed is not None and not isinstance(disclosed, str):
                raise TypeError("disclosed must be base64 text")
            return cls(str(data["id"]), str(data["sender"]), str(data["sender_device"]),
                       str(data["conversation"]), int(data["ts"]), str(data["payload"]),
                       str(data["franking_key"]), str(data["commitment"]), str(data["tag"]),
                       str(data["key_id"]), disclosed)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadRequest(f"a reported message lacks a field: {exc}",
                             "bad_reported_message") from exc


@dataclass(frozen=True, slots=True)
class ReportInput:
    kind: str
    category: str
    explanation: str
    good_faith: bool
    location: str = ""
    notifier_name: str | None = None
    notifier_email: str | None = None
    channel: str | None = None
    post_id: int | None = None
    """The internal id (staff tools); clients name a post by ``channel`` and ``number``."""
    account: str | None = None
    message: FrankedMessage | None = None
    context: Sequence[FrankedMessage] = ()
    number: int | None = None
    """The post's number in ``channel`` (``/c/HANDLE/N``)."""


def url_target(url: str, public_url: str) -> tuple[str, str, int | None]:
    """(kind, channel handle, post number) of a public URL of this server: ``/c/HANDLE``
    a channel, ``/c/HANDLE/N`` its N-th post, with or without scheme and host (the same
    syntax as a removal order's target)."""
    try:
        spec = parse_target(url, public_url)
    except OrderError as exc:
        raise BadRequest(str(exc), "bad_target") from exc
    if spec.url is None or spec.kind is TargetKind.ACCOUNT:
        raise BadRequest("a report URL looks like /c/HANDLE or /c/HANDLE/N", "bad_target")
    return spec.kind.value, spec.key, spec.number


def verify_message(keyring: FrankingKeyring, m: FrankedMessage, what: str) -> str:
    """The decoded payload text if the franking checks out and it is content a person
    wrote; BadRequest naming the failure.

    A control payload (verification, receipt, keys, typing, timer) is refused even when
    its franking is genuine: it may echo a value the reporter chose (a verification's
    ``txn``), so accepting it would let anyone show their own words as a verified
    message from someone else (issue 20, "reports by reflection")."""
    try:
        payload = b64decode(m.payload)
        key = b64decode(m.franking_key)
        commitment = b64decode(m.commitment)
        tag = b64decode(m.tag)
    except ValueError as exc:
        raise BadRequest(f"{what}: franking fields must be base64", "franking_malformed") from exc
    if len(payload) > limits.REPORT_PAYLOAD_MAX:
        raise BadRequest(f"{what}: payload too large", "payload_too_large")
    verdict = verify_report(keyring, payload, key, commitment, tag, m.key_id, m.sender,
                            m.sender_device, m.conversation, m.ts)
    if verdict is not FrankingVerdict.VERIFIED:
        messages = {"franking_altered": "the content does not match the sender's commitment",
                    "franking_forged": "the server never tagged this message with this "
                                       "sender, device, conversation and time",
                    "franking_unknown_key": "the message was tagged with a retired key"}
        code = _VERDICT_CODE[verdict]
        raise BadRequest(f"{what}: {messages[code]}", code)
    try:
        content = MessageContent.from_bytes(payload)
    except (PayloadError, ValueError) as exc:
        raise BadRequest(f"{what}: payload is not a message", "franking_malformed") from exc
    if content.kind not in CONTENT_KINDS:
        raise BadRequest(f"{what}: a {content.kind} payload is a control message, not "
                         "content; only messages a person wrote can be reported",
                         "not_content")
    return payload.decode("utf-8")


def _attachment_of(payload: str) -> dict[str, Any] | None:
    try:
        body = json.loads(payload).get("body", {})
    except (ValueError, AttributeError):
        return None
    key = body.get("attachment") if isinstance(body, dict) else None
    return key if isinstance(key, dict) else None


def disclosed_bytes(m: FrankedMessage, payload: str, what: str) -> bytes | None:
    """The attachment the reporter disclosed, if it is the file the verified message
    names: its SHA-256 must be the key record's ``sha256_plaintext``, which the franking
    commitment covers, so nobody can show other bytes as what the sender sent."""
    if m.disclosed is None:
        return None
    key = _attachment_of(payload)
    expected = key.get("sha256_plaintext") if key is not None else None
    if not isinstance(expected, str):
        raise BadRequest(f"{what}: only a file message has an attachment to disclose",
                         "nothing_to_disclose")
    try:
        data = b64decode(m.disclosed)
    except ValueError as exc:
        raise BadRequest(f"{what}: the disclosed attachment must be base64",
                         "bad_disclosure") from exc
    if len(data) > limits.REPORT_DISCLOSED_MAX:
        raise BadRequest(f"{what}: a disclosed attachment is at most "
                         f"{limits.REPORT_DISCLOSED_MAX} bytes; report it without",
                         "disclosure_too_large")
    if hashlib.sha256(data).hexdigest() != expected:
        raise BadRequest(f"{what}: the disclosed attachment is not the file the message "
                         "names", "disclosure_mismatch")
    return data


def message_view(payload: str) -> dict[str, Any]:
    """What the console shows of a stored, verified payload: its text, and for a file
    its name, type and size, never the attachment's key or nonce (key material)."""
    try:
        body = json.loads(payload).get("body", {})
    except (ValueError, AttributeError):
        return {"text": ""}
    if not isinstance(body, dict):
        return {"text": ""}
    text = body.get("text")
    out: dict[str, Any] = {"text": text if isinstance(text, str) else ""}
    key = body.get("attachment")
    if isinstance(key, dict):
        out["file"] = {"name": str(body.get("name") or "")[:200],
                       "media_type": str(key.get("media_type") or "")[:100],
                       "size": key.get("size") if isinstance(key.get("size"), int) else None,
                       "sha256": str(key.get("sha256_plaintext") or "")[:64]}
    return out


class ReportService:
    def __init__(self, db: Database, store: ReportStore, accounts: AccountStore,
                 channels: ChannelStore, keyring: FrankingKeyring, clock: Clock,
                 groups: GroupMembership | None = None,
                 disclosed: BlobStore | None = None) -> None:
        self.db = db
        self.disclosed = disclosed
        """Attachments reporters disclosed, by SHA-256 of their bytes (staff-only)."""
        self.store = store
        self.accounts = accounts
        self.channels = channels
        self.keyring = keyring
        self.clock = clock
        self.groups = groups

    # -- intake ---------------------------------------------------------------------
    def _check_fields(self, r: ReportInput) -> None:
        if r.kind not in TARGET_KINDS:
            raise BadRequest(f"target kind must be one of {', '.join(TARGET_KINDS)}",
                             "bad_target")
        if r.category not in CATEGORIES:
            raise BadRequest(f"category must be one of {', '.join(CATEGORIES)}",
                             "bad_category")
        if not r.good_faith:  # DSA Art. 16(2)(d)
            raise BadRequest("confirm that the report is accurate and made in good faith",
                             "good_faith_required")
        if len(r.explanation) > limits.REPORT_EXPLANATION_MAX or not r.explanation.strip():
            raise BadRequest("explain why the content is illegal or against the terms "
                             f"(1..{limits.REPORT_EXPLANATION_MAX} characters)",
                             "bad_explanation")
        if len(r.location) > limits.REPORT_LOCATION_MAX:
            raise BadRequest("location too long", "bad_location")

    async def _participant(self, who: Principal, conversation: str) -> None:
        if conversation == who.username:
            return  # 1:1: the conversation is the recipient's user id
        membership = self.groups
        if conversation.startswith("group:") and membership is not None:
            member = membership(conversation, who.username)
            if hasattr(member, "__await__"):
                member = await member
            if member:
                return
        # A tag for someone else's conversation cannot be moved into one's own (the tag
        # covers the conversation), so this is a report of a conversation one is not in.
        raise BadRequest("only a recipient of a message can report it", "not_a_participant")

    async def _verify(self, who: Principal, r: ReportInput
                      ) -> tuple[str, int | None, list[dict[str, Any]], list[bytes]]:
        m = r.message
        if m is None:
            raise BadRequest("a message report carries the message", "bad_reported_message")
        if len(r.context) > limits.REPORT_CONTEXT_MAX:
            raise BadRequest(f"at most {limits.REPORT_CONTEXT_MAX} context messages",
                             "too_much_context")
        await self._participant(who, m.conversation)
        rows = [self._row(0, m, verify_message(self.keyring, m, "reported message"))]
        disclosed = [disclosed_bytes(m, rows[0]["payload"], "reported message")]
        for i, c in enumerate(r.context, start=1):
            # 1:1 conversations are named by their recipient, so every message to the
            # reporter shares one name: context must also come from the same sender.
            one_to_one = not m.conversation.startswith("group:")
            if (c.conversation != m.conversation or c.ts > m.ts
                    or (one_to_one and c.sender != m.sender)):
                raise BadRequest(f"context message {i} is not an earlier message of the "
                                 "same conversation", "context_mismatch")
            rows.append(self._row(i, c, verify_message(self.keyring, c, f"context message {i}")))
            disclosed.append(disclosed_bytes(c, rows[-1]["payload"], f"context message {i}"))
        async with self.db.read() as conn:
            sender = await self.accounts.user_by_name(conn, m.sender)
        return (m.commitment, (sender.id if sender else None), rows,
                [d for d in disclosed if d is not None])

    @staticmethod
    def _row(position: int, m: FrankedMessage, payload: str) -> dict[str, Any]:
        # Named from the verified tag: the id in the report is the reporter's word.
        return {"position": position, "message_id": reported_message_id(b64decode(m.tag)),
                "sender": m.sender,
                "sender_device": m.sender_device, "conversation": m.conversation, "ts": m.ts,
                "payload": payload, "key_id": m.key_id, "verdict": "verified"}

    async def _hidden(self, conn: AsyncConnection, who: Principal, channel: ChannelRecord,
                      location: str) -> bool:
        """An unlisted channel the reporter cannot see is reported as "no such channel",
        so reports cannot probe for it; its invite link in ``location`` opens it."""
        if channel.visibility != "unlisted":
            return False
        admin = await self.channels.admin(conn, channel.id, who.user_id)
        return unlisted_and_hidden(
            channel, perms_of(channel, who, admin), invite=invite_in(location),
            subscribed=await self.channels.is_subscribed(conn, channel.id, who.user_id),
            staff=who.is_staff)

    async def _target(self, who: Principal, r: ReportInput) -> tuple[str, int | None, str]:
        """(ref, affected user id, default location) of a public target."""
        async with self.db.read() as conn:
            if r.kind == "account":
                user = await self.accounts.user_by_name(conn, (r.account or "").lower())
                if user is None:
                    raise NotFound("no such user", "user_not_found")
                return str(user.id), user.id, f"account:{user.username}"
            channel = await self.channels.by_handle(conn, (r.channel or "").lower())
            if channel is None or await self._hidden(conn, who, channel, r.location):
                raise NotFound("no such channel", "channel_not_found")
            if r.kind == "channel":
                return str(channel.id), channel.owner_id, f"/c/{channel.handle}"
            post = (await self.channels.post_by_number(conn, channel.id, r.number)
                    if r.number is not None else await self.channels.post(conn, r.post_id or 0))
            if post is None or post.channel_id != channel.id or post.deleted_at is not None:
                raise NotFound("no such post", "post_not_found")
            author = post.author_id if post.author_id is not None else channel.owner_id
            return str(post.id), author, f"/c/{channel.handle}/{post.number}"

    async def submit(self, who: Principal, r: ReportInput) -> dict[str, Any]:
        self._check_fields(r)
        messages: list[dict[str, Any]] = []
        disclosed: list[bytes] = []
        if r.kind == "message":
            ref, affected, messages, disclosed = await self._verify(who, r)
            location = r.location or f"message:{messages[0]['message_id']}"
            await self._keep_disclosed(disclosed)
        else:
            ref, affected, location = await self._target(who, r)
            location = r.location or location
        now = self.clock()
        async with self.db.write() as conn:
            trusted = await self.store.is_trusted(conn, who.user_id)
            source = (Source.TRUSTED_FLAGGER if trusted else
                      Source.VERIFIED_PRIVATE_REPORT if messages else Source.USER_REPORT)
            case_id = await open_or_join(conn, self.store, r.kind, ref, affected, source, now,
                                         terrorist=r.category == "terrorist_content")
            report_id = await self.store.insert_report(
                conn, case_id=case_id, reporter_id=who.user_id, target_kind=r.kind,
                target_ref=ref, category=r.category, explanation=r.explanation,
                location=location, notifier_name=r.notifier_name,
                notifier_email=r.notifier_email, source=str(source),
                verified=bool(messages), status="received", created_at=now, updated_at=now)
            await self.store.insert_messages(conn, report_id, messages)
        return {"id": report_id, "case_id": case_id, "status": "received",
                "verified": bool(messages), "source": str(source), "received_at": now,
                "disclosed": len(disclosed) if self.disclosed is not None else 0,
                "message": "Thank you. We received your report and will tell you the outcome."}

    async def _keep_disclosed(self, files: list[bytes]) -> None:
        if self.disclosed is None:
            return
        for data in files:  # off the event loop: up to REPORT_DISCLOSED_MAX bytes each
            await asyncio.to_thread(self.disclosed.put, data)

    async def sweep_disclosed(self) -> int:
        """Delete disclosed attachments past ``REPORT_DISCLOSED_KEEP_MS`` (from the last
        time one was disclosed) unless a case naming them is still undecided or under
        appeal. Returns the files deleted."""
        if self.disclosed is None:
            return 0
        cutoff_s = (self.clock() - limits.REPORT_DISCLOSED_KEEP_MS) / 1000
        old = [b.sha256 for b in await asyncio.to_thread(list, self.disclosed.iter_blobs())
               if b.mtime < cutoff_s]
        if not old:
            return 0
        async with self.db.read() as conn:
            payloads = await self.store.payloads_of_undecided_cases(conn)
        named = {f.get("sha256") for f in (message_view(p).get("file") for p in payloads)
                 if isinstance(f, dict)}
        gone = 0
        for sha in old:
            if sha not in named and await asyncio.to_thread(self.disclosed.delete, sha):
                gone += 1
        return gone

    async def disclosed_file(self, sha256: str) -> bytes | None:
        """A disclosed attachment's bytes (the console checks the case names it)."""
        try:
            sha256 = check_id(sha256)
        except BlobIdError:
            return None
        if self.disclosed is None or not self.disclosed.exists(sha256):
            return None
        return await asyncio.to_thread(self.disclosed.read, sha256)

    def has_disclosed(self, sha256: str) -> bool:
        try:
            return self.disclosed is not None and self.disclosed.exists(check_id(sha256))
        except BlobIdError:
            return False

    async def status(self, who: Principal, report_id: int) -> dict[str, Any]:
        async with self.db.read() as conn:
            row = await self.store.report(conn, report_id)
        if row is None or row.reporter_id != who.user_id:
            raise NotFound("no such report", "report_not_found")
        return {"id": row.id, "case_id": row.case_id, "status": row.status,
                "outcome": row.outcome, "category": row.category, "verified": row.verified,
                "received_at": row.created_at, "updated_at": row.updated_at}

    async def set_trusted_flagger(self, username: str, trusted: bool) -> dict[str, Any]:
        async with self.db.write() as conn:
            user = await self.accounts.user_by_name(conn, username.lower())
            if user is None:
                raise NotFound("no such user", "user_not_found")
            await self.store.set_trusted(conn, user.id, trusted, self.clock())
        return {"username": user.username, "trusted_flagger": trusted}

    async def trusted_flaggers(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await self.store.trusted(conn, limits.TRUSTED_FLAGGERS_LIST_MAX)
        return [{"username": name, "since": since} for name, since in rows]

    # -- automated holds (the moderation gate) ----------------------------------------
    async def post_held(self, channel: ChannelRecord, post: PostRecord,
                        decision: Decision) -> None:
        matches = [{"bank": r.bank, "signal_type": r.signal_type, "entry_id": r.entry_id,
                    "distance": r.distance, "labels": list(r.labels), "ground": r.ground}
                   for r in decision.reasons]
        found = decision.actor.resemblance if decision.actor else None
        if found is not None:  # a post that advertises (or resembles) a banned channel
            matches.append({"bank": "RETURNING_CHANNELS", "signal_type": "resemblance",
                            "entry_id": found.channel_id, "distance": found.score,
                            "labels": [found.label], "ground": "names a banned channel",
                            "resembles": found.json()})
        terrorist = any(L.TERRORIST_CONTENT in r.labels for r in decision.reasons)
        author = post.author_id if post.author_id is not None else channel.owner_id
        now = self.clock()
        async with self.db.write() as conn:
            await open_or_join(conn, self.store, "post", str(post.id), author,
                               Source.AUTOMATED_HOLD, now, terrorist=terrorist, matches=matches)
