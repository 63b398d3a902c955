"""Operator work from the CLI over the API, against a live server, in-process:
`tidings rules`, `job list|show`, `webhook ...`, `bank edit|entries`, `mod show|claim|
release|release-held|remove-post|flagger`, `order preserved-list` and
`transparency channel-bans`."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx

from tests.cli.inproc import tidings
from tests.cli.test_messages_cli import Live
from tests.cli.test_orders_cli import token_profile
from tests.server.channel_util import photo

DEADLINE_S = 10.0
SLOGAN = "join the glorious struggle today"


async def test_staff_run_rules_jobs_webhooks_and_cases(live_server: Live,
                                                       tmp_path: Path) -> None:
    async with live_server() as server:
        boss, anna, bob = tmp_path / "boss", tmp_path / "anna", tmp_path / "bob"
        boss_token = await token_profile(server, boss, "boss", "admin")
        await token_profile(server, anna, "mod_anna", "moderator")
        await token_profile(server, bob, "bob", "user")
        alice = await token_profile(server, tmp_path / "alice", "alice", "user")

        rules = tmp_path / "rules.toml"
        r = await tidings(server, boss, "rules", "get", "--out", str(rules), "--json")
        assert r.exit_code == 0, r.output
        before = json.loads(r.stdout)
        assert rules.read_text(encoding="utf-8") == before["text"] and before["rules"]
        r = await tidings(server, anna, "rules", "get")
        assert r.exit_code == 0 and before["text"].strip() in r.stdout, r.output
        broken = tmp_path / "broken.toml"
        broken.write_text("[[rule]]\nname = \n", encoding="utf-8")
        r = await tidings(server, boss, "rules", "set", str(broken))
        assert r.exit_code == 1 and "error (invalid_rules):" in r.output, r.output
        r = await tidings(server, boss, "rules", "set", str(rules), "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["rules"] == before["rules"]
        r = await tidings(server, bob, "rules", "get")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output

        r = await tidings(server, boss, "bank", "create", "SLOGANS")
        assert r.exit_code == 0, r.output
        r = await tidings(server, boss, "bank", "add", "SLOGANS", "--text", SLOGAN,
                          "--slogan", "--label", "category:terrorist_content")
        assert r.exit_code == 0, r.output
        r = await tidings(server, boss, "bank", "edit", "SLOGANS", "--description",
                          "Slogans to review", "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["description"] == "Slogans to review"
        r = await tidings(server, boss, "bank", "entries", "SLOGANS", "--json")
        entries = json.loads(r.stdout)["entries"]
        assert "text_slogan" in {e["signal_type"] for e in entries}
        assert all(e["labels"] == ["category:terrorist_content"] for e in entries)
        r = await tidings(server, boss, "bank", "entries", "SLOGANS", "--limit", "1")
        assert f"more: --after {entries[0]['id']}" in r.stdout, r.output
        r = await tidings(server, boss, "job", "show", "1", "--json")  # the retro-scan
        assert r.exit_code == 0 and json.loads(r.stdout)["kind"] == "retro_scan", r.output
        r = await tidings(server, boss, "job", "show", "1")
        assert "job 1 retro_scan:" in r.stdout, r.output
        r = await tidings(server, anna, "job", "list", "--kind", "retro_scan", "--json")
        assert [j["id"] for j in json.loads(r.stdout)["jobs"]] == [1], r.output
        r = await tidings(server, anna, "job", "list", "--state", "failed", "--json")
        assert json.loads(r.stdout)["jobs"] == [], r.output
        r = await tidings(server, anna, "job", "list", "--state", "stuck")
        assert r.exit_code == 2 and "stuck" in r.output  # not a state: refused by the CLI
        async with httpx.AsyncClient(base_url=server.url) as client:
            resp = await client.get("/api/v1/jobs", params={"state": "stuck"},
                                    headers={"Authorization": f"Bearer {boss_token}"})
            assert resp.status_code == 400, resp.text
            assert resp.json()["error"]["code"] == "invalid_state"
        r = await tidings(server, bob, "job", "list")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output

        r = await tidings(server, boss, "webhook", "add", "http://127.0.0.1:9/hook",
                          "--event", "case.opened", "--description", "pager", "--json")
        assert r.exit_code == 0, r.output
        hook = json.loads(r.stdout)
        assert hook["secret"].startswith("whsec_")
        r = await tidings(server, boss, "webhook", "list", "--json")
        listed = json.loads(r.stdout)
        assert [e["id"] for e in listed["endpoints"]] == [hook["id"]]
        assert "secret" not in listed["endpoints"][0] and "case.opened" in listed["events"]

        async with httpx.AsyncClient(base_url=server.url,
                                     headers={"Authorization": f"Bearer {alice}"}) as client:
            resp = await client.post("/api/v1/channels",
                                     json={"handle": "alice_log", "title": "Alice's log"})
            assert resp.status_code == 201, resp.text
            resp = await client.post("/api/v1/channels/alice_log/posts", json={
                "text": f"friends, {SLOGAN}, says the poster", "media": []})
            held = resp.json()
            assert held["state"] == "held", held
            upload = await client.post("/api/v1/media", content=photo(80, 60, seed=3))
            assert upload.status_code == 201, upload.text
            picture = upload.json()["sha256"]
            resp = await client.post("/api/v1/channels/alice_log/posts",
                                     json={"text": "buy cheap watches", "media": [picture]})
            spam = resp.json()["number"]
        # moderators name a post by its internal id, which only staff see
        r = await tidings(server, anna, "post", "show", "alice_log", str(held["number"]),
                          "--json")
        held_id = json.loads(r.stdout)["id"]
        r = await tidings(server, anna, "post", "show", "alice_log", str(spam), "--json")
        spam_id = json.loads(r.stdout)["id"]
        r = await tidings(server, bob, "report", "post", "alice_log", str(spam),
                          "--category", "spam", "--json")
        assert r.exit_code == 0, r.output
        case_id = json.loads(r.stdout)["case_id"]

        r = await tidings(server, anna, "mod", "show", case_id, "--json")
        assert r.exit_code == 0, r.output
        case = json.loads(r.stdout)
        assert case["target"]["kind"] == "post" and case["reports"][0]["category"] == "spam"
        r = await tidings(server, anna, "mod", "show", case_id)
        assert f"case {case_id}" in r.stdout and "content: buy cheap watches" in r.stdout
        r = await tidings(server, anna, "mod", "claim", case_id, "--lease", "120", "--json")
        assert r.exit_code == 0 and json.loads(r.stdout)["lease_holder"] == "mod_anna", \
            r.output
        r = await tidings(server, boss, "mod", "claim", case_id)
        assert r.exit_code == 1 and "error (lease_held):" in r.output, r.output
        r = await tidings(server, anna, "mod", "release", case_id)
        assert r.exit_code == 0 and "not claimed" in r.stdout, r.output

        r = await tidings(server, anna, "mod", "release-held", str(held_id), "--json")
        assert r.exit_code == 0, r.output
        r = await tidings(server, bob, "post", "show", "alice_log", str(held["number"]),
                          "--json")
        assert json.loads(r.stdout)["state"] == "visible", r.output
        r = await tidings(server, anna, "mod", "remove-post", str(spam_id), "--label",
                          "category:spam", "--json")
        assert r.exit_code == 0, r.output
        kept = json.loads(r.stdout)["preservation_id"]  # a removed post is preserved
        r = await tidings(server, bob, "post", "show", "alice_log", str(spam), "--json")
        assert r.exit_code == 0 and "text" not in json.loads(r.stdout), r.output  # tombstone

        r = await tidings(server, boss, "mod", "flagger", "add", "bob", "--json")
        assert json.loads(r.stdout) == {"username": "bob", "trusted_flagger": True}, r.output
        r = await tidings(server, anna, "mod", "flagger", "list", "--json")
        assert [f["username"] for f in json.loads(r.stdout)] == ["bob"], r.output
        r = await tidings(server, anna, "mod", "flagger", "list")
        assert "bob" in r.stdout, r.output
        r = await tidings(server, anna, "mod", "flagger", "add", "alice")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output
        r = await tidings(server, boss, "mod", "flagger", "remove", "bob")
        assert r.exit_code == 0 and "bob is no longer a trusted flagger" in r.stdout, r.output
        r = await tidings(server, boss, "mod", "flagger", "list", "--json")
        assert json.loads(r.stdout) == []

        deadline = time.monotonic() + DEADLINE_S
        while True:  # the report opened a case: a delivery to the endpoint is logged
            r = await tidings(server, boss, "webhook", "deliveries", str(hook["id"]),
                              "--json")
            deliveries = json.loads(r.stdout)["deliveries"]
            if deliveries or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert [d["event"] for d in deliveries] == ["case.opened"]
        r = await tidings(server, boss, "webhook", "remove", str(hook["id"]))
        assert r.exit_code == 0, r.output
        r = await tidings(server, boss, "webhook", "list", "--json")
        assert json.loads(r.stdout)["endpoints"] == []

        r = await tidings(server, boss, "order", "preserved-list", "--json")
        assert r.exit_code == 0, r.output
        assert [(i["id"], i["cause"]) for i in json.loads(r.stdout)] == [(kept, "takedown")]
        copy = tmp_path / "kept.bin"
        r = await tidings(server, boss, "order", "preserved-blob", kept, picture, "--out",
                          str(copy), "--json")
        assert r.exit_code == 0, r.output
        assert copy.stat().st_size == json.loads(r.stdout)["bytes"] > 0
        r = await tidings(server, bob, "order", "preserved-list")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output
        r = await tidings(server, tmp_path / "nobody", "transparency", "channel-bans",
                          "--server", server.url, "--json")
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["total"] == 0
        r = await tidings(server, tmp_path / "nobody", "transparency", "channel-bans",
                          "--since", "2026-13-01")
        assert r.exit_code == 1 and r.output.startswith("error ("), r.output
