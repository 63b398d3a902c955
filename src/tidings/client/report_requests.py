"""Pure request builders for reports, notices, appeals and the review queue (no I/O).

``message_report`` builds a verifiable report from what the client kept when it
decrypted the message (``DeviceCrypto.reportable()``: the shown messages and, for a day
after they disappeared, disappearing ones): the payload, franking key, commitment,
tag, key id and metadata of the reported message and up to ``REPORT_CONTEXT_MAX``
earlier messages of the same conversation. Only these leave the device.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidings.client.requests import API, Request
from tidings.protocol import limits
from tidings.protocol.api.safety import ReportReceipt, ReportStatus
from tidings.protocol.errors import BadRequest, NotFound
from tidings.protocol.keys import CryptoError, b64decode, b64encode
from tidings.protocol.payload import CONTENT_KINDS, MessageContent


def franked(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored received message as the report API wants it."""
    return {"id": stored["id"], "sender": stored["from"], "sender_device": stored["device"],
            "conversation": stored["conversation"], "ts": stored["ts"],
            "payload": stored["payload"], "franking_key": stored["franking_key"],
            "commitment": stored["commitment"], "tag": stored["tag"],
            "key_id": stored["key_id"]}


def pick(inbox: Sequence[dict[str, Any]], message_id: str, context: int
         ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The reported message and the ``context`` messages before it in its conversation."""
    context = max(0, min(context, limits.REPORT_CONTEXT_MAX))
    for i, item in enumerate(inbox):
        if item.get("id") == message_id:
            group = str(item["conversation"]).startswith("group:")
            earlier = [m for m in inbox[:i] if m.get("conversation") == item["conversation"]
                       and m.get("ts", 0) <= item["ts"]
                       and (group or m.get("from") == item["from"])]
            return item, (earlier[-context:] if context else [])
    raise NotFound(f"message {message_id} is not among this device's received messages",
                   "message_not_found")


def message_report(inbox: Sequence[dict[str, Any]], message_id: str, category: str,
                   explanation: str, context: int = 0,
                   disclose: Mapping[str, bytes] | None = None) -> Request:
    """``disclose``: decrypted attachments of file messages, by message id, that the
    reporter chooses to show the moderators (``client/attachments.disclosures``); the
    attachment's key stays inside the franked payload as the sender sent it."""
    item, earlier = pick(inbox, message_id, context)
    for m in (item, *earlier):
        kind = _kind(m)
        if kind not in CONTENT_KINDS:  # the server refuses them too (not_content)
            raise BadRequest(f"message {m.get('id')} is a {kind} payload, not content a "
                             "person wrote; only messages can be reported", "not_content")
    return Request("POST", f"{API}/reports", {
        "target": {"kind": "message"}, "category": category, "explanation": explanation,
        "good_faith": True, "message": _with(franked(item), disclose),
        "context": [_with(franked(m), disclose) for m in earlier]}, result=ReportReceipt)


def _with(message: dict[str, Any], disclose: Mapping[str, bytes] | None) -> dict[str, Any]:
    data = (disclose or {}).get(message["id"])
    return message if data is None else {**message, "disclosed": b64encode(data)}


def _kind(stored: dict[str, Any]) -> str:
    try:
        return MessageContent.from_bytes(b64decode(str(stored["payload"]))).kind
    except (KeyError, ValueError, CryptoError):
        return "unreadable"


def post_report(handle: str, number: int, category: str, explanation: str,
                location: str = "") -> Request:
    """Report the channel's post number ``number`` (``/c/HANDLE/N``)."""
    return Request("POST", f"{API}/reports", {
        "target": {"kind": "post", "channel": handle.removeprefix("@"), "number": number},
        "category": category, "explanation": explanation, "good_faith": True,
        "location": location}, result=ReportReceipt)


def url_report(url: str, category: str, explanation: str, location: str = "") -> Request:
    """Report a post or a channel by its public URL (``/c/HANDLE/N``, ``/c/HANDLE``, or
    the full URL on this server)."""
    return Request("POST", f"{API}/reports", {
        "target": {"kind": "post", "url": url},
        "category": category, "explanation": explanation, "good_faith": True,
        "location": location}, result=ReportReceipt)


def report_status(report_id: int) -> Request:
    return Request("GET", f"{API}/reports/{report_id}", result=ReportStatus)


def notices(limit: int = 50) -> Request:
    return Request("GET", f"{API}/notices", params={"limit": limit})


def appeal(case_id: str, text: str) -> Request:
    return Request("POST", f"{API}/cases/{case_id}/appeal", {"text": text})


def queue(kind: str | None = None, source: str | None = None) -> Request:
    params = {k: v for k, v in (("kind", kind), ("source", source)) if v}
    return Request("GET", f"{API}/mod/queue", params=params)


def case(case_id: str) -> Request:
    return Request("GET", f"{API}/mod/cases/{case_id}")


def claim(case_id: str, lease_s: int | None = None) -> Request:
    """Take the case's lease, so no other moderator decides it meanwhile."""
    return Request("POST", f"{API}/mod/cases/{case_id}/claim",
                   {} if lease_s is None else {"lease_s": lease_s})


def release(case_id: str) -> Request:
    return Request("POST", f"{API}/mod/cases/{case_id}/release")


def decide(case_id: str, action: str, policy: str, facts: str = "") -> Request:
    return Request("POST", f"{API}/mod/cases/{case_id}/decision",
                   {"action": action, "policy": policy, "facts": facts})


def decide_appeal(case_id: str, decision: str, answer: str = "") -> Request:
    return Request("POST", f"{API}/mod/cases/{case_id}/appeal-decision",
                   {"decision": decision, "answer": answer})
