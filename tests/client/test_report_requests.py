"""Building a verifiable report from the client's stored messages (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from tidings.client.report_requests import message_report, pick
from tidings.protocol.errors import NotFound
from tidings.protocol.keys import b64encode
from tidings.protocol.payload import MessageContent


def stored(i: int, sender: str, conversation: str = "bob") -> dict[str, Any]:
    payload = b64encode(MessageContent("text", {"text": f"text {i}"}, f"c{i}", i).to_bytes())
    return {"id": f"M{i}", "from": sender, "device": "D", "ts": i, "conversation": conversation,
            "payload": payload, "franking_key": "k", "commitment": "c", "tag": "t",
            "key_id": "k1", "text": f"text {i}"}


INBOX = [stored(1, "mallory"), stored(2, "carol"), stored(3, "mallory"),
         stored(4, "mallory", "group:g1"), stored(5, "mallory")]


def test_context_is_earlier_messages_of_the_same_chat_in_order() -> None:
    item, earlier = pick(INBOX, "M5", 5)
    assert item["id"] == "M5" and [m["id"] for m in earlier] == ["M1", "M3"]
    assert [m["id"] for m in pick(INBOX, "M5", 1)[1]] == ["M3"]
    assert pick(INBOX, "M5", 0)[1] == []
    assert len(pick([stored(i, "m") for i in range(9)], "M8", 99)[1]) == 5  # at most five


def test_the_request_carries_only_the_reported_messages() -> None:
    req = message_report(INBOX, "M3", "harassment", "why", context=5)
    body = req.json
    assert body["message"]["id"] == "M3" and body["message"]["sender"] == "mallory"
    assert [m["id"] for m in body["context"]] == ["M1"]
    assert "text" not in body["message"]  # the server reads the verified payload instead
    with pytest.raises(NotFound):
        pick(INBOX, "M9", 0)


def test_claim_takes_the_lease_through_the_review_api() -> None:
    from tidings.client.report_requests import claim, release

    assert (claim("c_1").method, claim("c_1").path, claim("c_1").json) == (
        "POST", "/api/v1/mod/cases/c_1/claim", {})
    assert claim("c_1", 60).json == {"lease_s": 60}
    assert release("c_1").path == "/api/v1/mod/cases/c_1/release"


def test_disclosed_attachments_ride_with_their_messages_only() -> None:
    req = message_report(INBOX, "M3", "harassment", "why", context=5,
                         disclose={"M1": b"file bytes", "M9": b"not in the report"})
    body = req.json
    assert body["context"][0]["disclosed"] == b64encode(b"file bytes")
    assert "disclosed" not in body["message"]
    assert "not in the report" not in str(body)
