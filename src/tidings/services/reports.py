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

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from tidings.moderation import labels as L
from tidings.moderation.reasons import IMPERSONATION, OTHER_POLICY
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
from tidings.services.clock import Clock
from tidings.services.moderation import Decision
from tidings.storage.accounts import AccountStore
from tidings.storage.channels import ChannelRecord, ChannelStore, PostRecord
from tidings.storage.database import Database
from tidings.storage.reports import ReportStore

#: Report categories and the policy (statement-of-reasons ground) each suggests.
CATEGORIES: Final = {
    "terrorist_content": L.TERRORIST_CONTENT,
    "violent_extremism": L.VIOLENT_EXTREMISM,
    "illegal": L.OTHER_ILLEGAL,
    "spam": L.SPAM,
    "impersonation": IMPERSONATION,
    "harassment": OTHER_POLICY,
    "other": OTHER_POLICY,
}
TARGET_KINDS: Final = ("post", "channel", "account", "message")
_VERDICT_CODE: Final = {
    FrankingVerdict.BAD_COMMITMENT: "franking_altered",
    FrankingVerdict.BAD_TAG: "franking_forged",
    FrankingVerdict.UNKNOWN_KEY: "franking_unknown_key",
}
#: Whether a group conversation "group:<id>" has this member (sync or async). The
#: groups service binds it as ``app.state.group_membership``; until then group
#: messages cannot be reported.
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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FrankedMessage:
        try:
            return cls(str(data["id"]), str(data["sender"]), str(data["sender_device"]),
                       str(data["conversation"]), int(data["ts"]), str(data["payload"]),
                       str(data["franking_key"]), str(data["commitment"]), str(data["tag"]),
                       str(data["key_id"]))
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
    account: str | None = None
    message: FrankedMessage | None = None
    context: Sequence[FrankedMessage] = ()


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


def message_text(payload: str) -> str:
    """The text of a stored, verified payload (for the console)."""
    try:
        body = json.loads(payload).get("body", {})
    except (ValueError, AttributeError):
        return ""
    text = body.get("text") if isinstance(body, dict) else None
    return text if isinstance(text, str) else json.dumps(body)


class ReportService:
    def __init__(self, db: Database, store: ReportStore, accounts: AccountStore,
                 channels: ChannelStore, keyring: FrankingKeyring, clock: Clock,
                 groups: Callable[[], GroupMembership | None] = lambda: None) -> None:
        self.db = db
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
        membership = self.groups()
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
                      ) -> tuple[str, int | None, list[dict[str, Any]]]:
        m = r.message
        if m is None:
            raise BadRequest("a message report carries the message", "bad_reported_message")
        if len(r.context) > limits.REPORT_CONTEXT_MAX:
            raise BadRequest(f"at most {limits.REPORT_CONTEXT_MAX} context messages",
                             "too_much_context")
        await self._participant(who, m.conversation)
        rows = [self._row(0, m, verify_message(self.keyring, m, "reported message"))]
        for i, c in enumerate(r.context, start=1):
            # 1:1 conversations are named by their recipient, so every message to the
            # reporter shares one name: context must also come from the same sender.
            one_to_one = not m.conversation.startswith("group:")
            if (c.conversation != m.conversation or c.ts > m.ts
                    or (one_to_one and c.sender != m.sender)):
                raise BadRequest(f"context message {i} is not an earlier message of the "
                                 "same conversation", "context_mismatch")
            rows.append(self._row(i, c, verify_message(self.keyring, c, f"context message {i}")))
        async with self.db.read() as conn:
            sender = await self.accounts.user_by_name(conn, m.sender)
        return m.commitment, (sender.id if sender else None), rows

    @staticmethod
    def _row(position: int, m: FrankedMessage, payload: str) -> dict[str, Any]:
        # Named from the verified tag: the id in the report is the reporter's word.
        return {"position": position, "message_id": reported_message_id(b64decode(m.tag)),
                "sender": m.sender,
                "sender_device": m.sender_device, "conversation": m.conversation, "ts": m.ts,
                "payload": payload, "key_id": m.key_id, "verdict": "verified"}

    async def _target(self, r: ReportInput) -> tuple[str, int | None, str]:
        """(ref, affected user id, default location) of a public target."""
        async with self.db.read() as conn:
            if r.kind == "account":
                user = await self.accounts.user_by_name(conn, (r.account or "").lower())
                if user is None:
                    raise NotFound("no such user", "user_not_found")
                return str(user.id), user.id, f"account:{user.username}"
            channel = await self.channels.by_handle(conn, (r.channel or "").lower())
            if channel is None:
                raise NotFound("no such channel", "channel_not_found")
            if r.kind == "channel":
                return str(channel.id), channel.owner_id, f"/c/{channel.handle}"
            post = await self.channels.post(conn, r.post_id or 0)
            if post is None or post.channel_id != channel.id or post.deleted_at is not None:
                raise NotFound("no such post", "post_not_found")
            author = post.author_id if post.author_id is not None else channel.owner_id
            return str(post.id), author, f"/c/{channel.handle}/{post.id}"

    async def submit(self, who: Principal, r: ReportInput) -> dict[str, Any]:
        self._check_fields(r)
        messages: list[dict[str, Any]] = []
        if r.kind == "message":
            ref, affected, messages = await self._verify(who, r)
            location = r.location or f"message:{messages[0]['message_id']}"
        else:
            ref, affected, location = await self._target(r)
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
                "message": "Thank you. We received your report and will tell you the outcome."}

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
