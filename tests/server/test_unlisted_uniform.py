"""An unlisted channel is indistinguishable from no channel to anyone without its invite
(issue 20 item 7): on every channel route, a stranger (anonymous or logged in) gets
exactly the same status and body for an unlisted channel's handle as for a handle that
names no channel at all."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import AppFactory, bearer, register
from tests.server.channel_util import channel, post
from tests.server.report_util import report_body

SECRET = "hidden_club"
NOWHERE = "absent_club"  # the same length: nothing may differ but existence

ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/channels/{h}", None),
    ("PATCH", "/api/v1/channels/{h}", {"title": "Mine now"}),
    ("DELETE", "/api/v1/channels/{h}", None),
    ("POST", "/api/v1/channels/{h}/invite", None),
    ("GET", "/api/v1/channels/{h}/admins", None),
    ("PUT", "/api/v1/channels/{h}/admins/stranger", {"can_post": True}),
    ("DELETE", "/api/v1/channels/{h}/admins/stranger", None),
    ("POST", "/api/v1/channels/{h}/subscription", {}),
    ("POST", "/api/v1/channels/{h}/subscription", {"invite": "guessed-invite-token"}),
    ("DELETE", "/api/v1/channels/{h}/subscription", None),
    ("GET", "/api/v1/channels/{h}/posts", None),
    ("GET", "/api/v1/channels/{h}/posts?invite=guessed-invite-token", None),
    ("POST", "/api/v1/channels/{h}/posts", {"text": "hi"}),
    ("GET", "/api/v1/channels/{h}/posts/1", None),
    ("PATCH", "/api/v1/channels/{h}/posts/1", {"text": "edited"}),
    ("DELETE", "/api/v1/channels/{h}/posts/1", None),
    ("POST", "/api/v1/channels/{h}/posts/1/forward", {"to": "public_square"}),
    ("POST", "/api/v1/channels/public_square/posts/1/forward", {"to": "{h}"}),
    ("PUT", "/api/v1/channels/{h}/pin", {"number": 1}),
    ("DELETE", "/api/v1/channels/{h}/pin", None),
    ("POST", "/api/v1/channels/{h}/views", {"numbers": [1]}),
    ("GET", "/api/v1/channels/{h}/updates?since=0", None),
    ("POST", "/api/v1/reports", report_body("channel", channel="{h}")),
    ("POST", "/api/v1/reports", report_body("post", channel="{h}", number=1)),
    ("GET", "/c/{h}", None),
    ("GET", "/c/{h}?invite=guessed-invite-token", None),
    ("GET", "/c/{h}/1", None),
]


def _fill(value: Any, handle: str) -> Any:
    if isinstance(value, str):
        return value.replace("{h}", handle)
    if isinstance(value, dict):
        return {k: _fill(v, handle) for k, v in value.items()}
    return value


async def _answer(client: httpx.AsyncClient, method: str, path: str, body: Any,
                  headers: dict[str, str], handle: str) -> tuple[int, str]:
    r = await client.request(method, _fill(path, handle), headers=headers,
                             json=_fill(body, handle) if body is not None else None)
    return r.status_code, r.text.replace(handle, "HANDLE")


async def test_strangers_get_the_same_answer_as_for_no_channel(api: AppFactory) -> None:
    async with api() as client:
        owner = bearer(await register(client, "owner_olga"))
        stranger = bearer(await register(client, "stranger"))
        await channel(client, owner, SECRET, "Hidden Club", visibility="unlisted")
        await channel(client, owner, "public_square", "Public Square")
        await post(client, owner, SECRET, "members only")
        await post(client, owner, "public_square", "hello everyone")
        for who, headers in (("anonymous", {}), ("stranger", stranger)):
            for method, path, body in ROUTES:
                secret = await _answer(client, method, path, body, headers, SECRET)
                nowhere = await _answer(client, method, path, body, headers, NOWHERE)
                assert secret == nowhere, (who, method, path, secret, nowhere)
                assert secret[0] in (401, 404, 422), (who, method, path, secret)
        # The owner still sees it, and the invite link still opens it.
        r = await client.get(f"/api/v1/channels/{SECRET}", headers=owner)
        assert r.status_code == 200
        invite = r.json()["invite_token"]
        r = await client.get(f"/api/v1/channels/{SECRET}/posts", params={"invite": invite})
        assert r.status_code == 200 and r.json()
        # A stranger who was given the link can report the channel: the link opens it.
        body = report_body("channel", channel=SECRET)
        r = await client.post("/api/v1/reports", headers=stranger,
                              json={**body, "location": f"/c/{SECRET}?invite={invite}"})
        assert r.status_code == 201, r.text
