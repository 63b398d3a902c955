"""The SDK rebuilds the server's typed errors, details included."""

from __future__ import annotations

from tidings.protocol.errors import RateLimited, Unprocessable, from_response


def test_details_survive_the_round_trip() -> None:
    sent = Unprocessable("content rejected", "content_rejected",
                         reasons=[{"bank": "B", "signal_type": "pdq"}])
    got = from_response(422, sent.to_json())
    assert isinstance(got, Unprocessable)
    assert (got.code, got.message, got.details) == (
        "content_rejected", "content rejected", {"reasons": [{"bank": "B", "signal_type": "pdq"}]})


def test_bodies_without_details_or_json_give_empty_details() -> None:
    assert from_response(404, {"error": {"code": "x", "message": "m"}}).details == {}
    assert from_response(500, None).details == {}
    assert from_response(404, {"error": {"code": "x", "details": "junk"}}).details == {}
    limited = from_response(429, RateLimited("slow", 7).to_json())
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
