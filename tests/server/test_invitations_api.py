"""Issue 20, finding 3: nobody is put in a group without consent.

Being added is an invitation: nothing of the group (messages, keys, title, members)
reaches the invitee before they accept; invitations are capped per inviter, so 500
adds can no longer fill a victim's group limit; declining, and a blocked inviter, are
silent (the inviter gets the same answers).
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import AppFactory, bearer
from tests.server.test_groups_api import send_body
from tests.server.test_keys_api import enrolled
from tidings.protocol import limits


async def stream(client: httpx.AsyncClient, session: dict[str, Any]) -> list[dict[str, Any]]:
    page = (await client.get("/api/v1/stream", params={"since": 0},
                             headers=bearer(session))).json()
    return list(page["events"])


async def test_nothing_reaches_an_invitee_before_accepting(api: AppFactory) -> None:
    async with api() as client:
        a, _ = await enrolled(client, "alice")
        b, _ = await enrolled(client, "bob")
        c, _ = await enrolled(client, "carol")
        r = await client.post("/api/v1/groups", headers=bearer(a), json={
            "title": "Secret plans", "members": ["bob", "carol"]})
        gid = r.json()["id"]
        r = await client.post(f"/api/v1/invitations/{gid}/accept", headers=bearer(c))
        assert r.status_code == 200
        await client.post(f"/api/v1/groups/{gid}/messages", json=send_body(), headers=bearer(a))
        await client.put(f"/api/v1/groups/{gid}/title", json={"title": "Renamed"},
                         headers=bearer(a))
        # bob has only the invitation: group id and who, no title, no members, no message
        (event,) = await stream(client, b)
        assert event["kind"] == "invitation"
        assert set(event["body"]) == {"group", "event", "by", "ts"}
        assert "Secret" not in str(event) and "carol" not in str(event)
        invitations = (await client.get("/api/v1/invitations", headers=bearer(b))).json()
        assert [(i["group"], i["by"]) for i in invitations["invitations"]] == [(gid, "alice")]
        assert set(invitations["invitations"][0]) == {"group", "by", "ts", "expires_at"}
        for path in (f"/api/v1/groups/{gid}",):
            assert (await client.get(path, headers=bearer(b))).status_code == 403
        r = await client.post(f"/api/v1/groups/{gid}/messages", json=send_body("x"),
                              headers=bearer(b))
        assert r.json()["error"]["code"] == "not_a_member"
        assert (await client.get("/api/v1/groups", headers=bearer(b))).json() == {"groups": []}
        # accepting: from now on bob hears the group
        r = await client.post(f"/api/v1/invitations/{gid}/accept", headers=bearer(b))
        assert r.json()["members"] == ["alice", "bob", "carol"]
        assert r.json()["title"] == "Renamed"
        await client.post(f"/api/v1/groups/{gid}/messages", json=send_body("y"),
                          headers=bearer(a))
        kinds = [e["kind"] for e in await stream(client, b)]
        assert kinds == ["invitation", "group", "group_message"]
        # an invitation is used once
        r = await client.post(f"/api/v1/invitations/{gid}/accept", headers=bearer(b))
        assert (r.status_code, r.json()["error"]["code"]) == (404, "no_invitation")


async def test_declining_and_blocking_are_silent(api: AppFactory) -> None:
    async with api() as client:
        a, _ = await enrolled(client, "alice")
        b, _ = await enrolled(client, "bob")
        c, _ = await enrolled(client, "carol")
        gid = (await client.post("/api/v1/groups", headers=bearer(a),
                                 json={"title": "G"})).json()["id"]
        r = await client.post("/api/v1/blocks", json={"user": "alice"}, headers=bearer(c))
        assert r.status_code == 204
        answers = []
        for user in ("bob", "carol"):
            r = await client.post(f"/api/v1/groups/{gid}/members", json={"users": [user]},
                                  headers=bearer(a))
            answers.append((r.status_code, r.json()["invited"], r.json()["members"]))
        assert answers == [(200, ["bob"], ["alice"]), (200, ["carol"], ["alice"])]
        # carol blocked alice: no event, nothing listed
        assert await stream(client, c) == []
        assert (await client.get("/api/v1/invitations", headers=bearer(c))).json() == {
            "invitations": []}
        r = await client.post(f"/api/v1/invitations/{gid}/accept", headers=bearer(c))
        assert r.status_code == 404
        # bob declines: to alice nothing changes (inviting again is the same no-op)
        r = await client.post(f"/api/v1/invitations/{gid}/decline", headers=bearer(b))
        assert r.status_code == 204
        for user in ("bob", "carol"):
            r = await client.post(f"/api/v1/groups/{gid}/members", json={"users": [user]},
                                  headers=bearer(a))
            assert (r.status_code, r.json()["invited"]) == (200, [user])
        assert len(await stream(client, b)) == 1  # only the first invitation
        assert (await client.get("/api/v1/invitations", headers=bearer(b))).json() == {
            "invitations": []}
        # the admin can withdraw an invitation
        r = await client.delete(f"/api/v1/groups/{gid}/members/bob", headers=bearer(a))
        assert r.status_code == 200


async def test_invitations_cannot_fill_a_victims_group_limit(api: AppFactory) -> None:
    async with api() as client:
        victim, _ = await enrolled(client, "victim")
        spammer, _ = await enrolled(client, "spammer")
        helper, _ = await enrolled(client, "helper")
        outstanding = 0
        status = 200
        gids = []
        while status == 200:
            r = await client.post("/api/v1/groups", headers=bearer(spammer),
                                  json={"title": f"spam {outstanding}", "members": ["victim"]})
            status = r.status_code
            if status == 200:
                outstanding += 1
                gids.append(r.json()["id"])
        # capped per inviter: the 101st invitation is refused to the inviter
        assert outstanding == limits.GROUP_INVITES_PER_INVITER_MAX
        assert r.json()["error"]["code"] == "too_many_invitations"
        # the victim sees at most GROUP_INVITES_PER_INVITEE_MAX; the rest are hidden
        pending = (await client.get("/api/v1/invitations", headers=bearer(victim))).json()
        assert len(pending["invitations"]) == limits.GROUP_INVITES_PER_INVITEE_MAX
        events = await stream(client, victim)
        assert len(events) == limits.GROUP_INVITES_PER_INVITEE_MAX
        # and is in no group: they can still create and join groups
        r = await client.post("/api/v1/groups", headers=bearer(victim),
                              json={"title": "mine", "members": ["helper"]})
        assert r.status_code == 200 and r.json()["members"] == ["victim"]
        r = await client.post(f"/api/v1/invitations/{r.json()['id']}/accept",
                              headers=bearer(helper))
        assert r.status_code == 200
        # declining frees a slot: a hidden invitation is not promoted, but new ones show
        for gid in gids[:5]:
            await client.post(f"/api/v1/invitations/{gid}/decline", headers=bearer(victim))
        pending = (await client.get("/api/v1/invitations", headers=bearer(victim))).json()
        assert len(pending["invitations"]) == limits.GROUP_INVITES_PER_INVITEE_MAX - 5
        # bad input: clear 4xx
        for path in ("/api/v1/invitations/NOPE/accept", "/api/v1/invitations/" + "x" * 300
                     + "/decline"):
            r = await client.post(path, headers=bearer(victim))
            assert r.status_code == 404 and r.json()["error"]["code"] == "no_invitation"
        assert (await client.get("/api/v1/invitations")).status_code == 401


async def test_block_names_are_checked_whole(api: AppFactory) -> None:
    """A name the published pattern refuses is refused (400), never cut to 128 characters
    into a real name (the group-member finding of the long fuzz run, here for blocks)."""
    async with api() as client:
        a, _ = await enrolled(client, "alice")
        await enrolled(client, "bob")
        r = await client.post("/api/v1/blocks", json={"user": "@Bob"}, headers=bearer(a))
        assert r.status_code == 204  # the "@" people paste, as the pattern allows
        for name in ("bob" + " " * 130 + "!", "b!b"):
            r = await client.delete(f"/api/v1/blocks/{name}", headers=bearer(a))
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_username")
        assert (await client.get("/api/v1/blocks", headers=bearer(a))).json()["blocked"]
        r = await client.delete("/api/v1/blocks/%C2%85bob%20", headers=bearer(a))
        assert r.status_code == 204
        assert not (await client.get("/api/v1/blocks", headers=bearer(a))).json()["blocked"]
