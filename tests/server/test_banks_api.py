"""Bank API: staff-only authorisation, uploads that change decisions, imports, exchanges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.apps import kernel_of
from tests.conftest import AppFactory, bearer, login, register
from tests.moderation.images import encode, generate
from tests.services.test_banks import POST, TERROR, jpeg
from tidings.moderation import MediaContent, TextContent
from tidings.moderation.engine import Surface, Verdict
from tidings.services.moderation import ModerationService

PASSWORD = "a long enough passphrase"
LABEL_Q = "?label=category:terrorist_content&label=behaviour:recruitment"


async def staff(client: httpx.AsyncClient, name: str, role: str) -> dict[str, str]:
    await kernel_of(client).accounts.create_user(
        name, PASSWORD, role, check_reserved=False)
    return bearer(await login(client, name))


def moderation_of(client: httpx.AsyncClient) -> ModerationService:
    svc: ModerationService = kernel_of(client).moderation
    return svc


async def test_authorisation(api: AppFactory) -> None:
    async with api() as client:
        user = bearer(await register(client, "plainuser"))
        mod = await staff(client, "modder", "moderator")
        auditor = await staff(client, "audrey", "auditor")
        admin = await staff(client, "boss", "admin")
        body = {"name": "TERROR_A"}
        assert (await client.get("/api/v1/banks")).status_code == 401
        assert (await client.get("/api/v1/banks", headers=user)).status_code == 403
        assert (await client.post("/api/v1/banks", json=body, headers=user)).status_code == 403
        assert (await client.post("/api/v1/banks", json=body, headers=mod)).status_code == 403
        created = await client.post("/api/v1/banks", json=body, headers=admin)
        assert created.status_code == 201, created.text
        assert (await client.post("/api/v1/banks", json=body, headers=admin)).status_code == 409
        for who in (mod, auditor, admin):
            listed = await client.get("/api/v1/banks", headers=who)
            assert listed.status_code == 200 and listed.json()["banks"][0]["name"] == "TERROR_A"
            assert (await client.get("/api/v1/banks/TERROR_A/entries",
                                     headers=who)).status_code == 200
            assert (await client.get("/api/v1/banks/TERROR_A/export",
                                     headers=who)).status_code == 200
        entry = {"text": POST, "labels": TERROR}
        for who in (user, mod, auditor):
            assert (await client.post("/api/v1/banks/TERROR_A/entries", json=entry,
                                      headers=who)).status_code == 403
            assert (await client.patch("/api/v1/banks/TERROR_A", json={"enabled": False},
                                       headers=who)).status_code == 403
            assert (await client.post("/api/v1/banks/TERROR_A/import?format=pytx",
                                      content=b"", headers=who)).status_code == 403
        bad = await client.post("/api/v1/banks", json={"name": "bad name"}, headers=admin)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_bank"


async def test_image_upload_changes_decisions(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        await client.post("/api/v1/banks", json={"name": "TERROR_IMG"}, headers=admin)
        banked = generate(21)
        up = await client.post("/api/v1/banks/TERROR_IMG/entries" + LABEL_Q,
                               content=encode(banked), headers=admin)
        assert up.status_code == 201, up.text
        added: list[dict[str, Any]] = up.json()["entries"]
        gate = moderation_of(client)

        async def verdict(data: bytes) -> Verdict:
            decision = await gate.check(Surface.POST, [MediaContent(data, "image/jpeg")])
            if decision.verdict is Verdict.REJECT:
                assert decision.reasons[0].bank == "TERROR_IMG"
                assert decision.reasons[0].ground.startswith("terrorist content")
            return decision.verdict

        variant = jpeg(banked, 0.75, quality=70)
        assert await verdict(variant) is Verdict.REJECT
        assert await verdict(jpeg(generate(22))) is Verdict.ALLOW
        pdq = [e["id"] for e in added if e["signal_type"] == "pdq"]
        for entry_id in pdq:
            r = await client.patch(f"/api/v1/banks/TERROR_IMG/entries/{entry_id}",
                                   json={"enabled": False}, headers=admin)
            assert r.status_code == 200 and r.json()["enabled"] is False
        assert await verdict(variant) is Verdict.ALLOW
        await client.patch(f"/api/v1/banks/TERROR_IMG/entries/{pdq[0]}",
                           json={"enabled": True}, headers=admin)
        assert await verdict(variant) is Verdict.REJECT

        # Multipart upload of the same file: everything is a duplicate.
        again = await client.post("/api/v1/banks/TERROR_IMG/entries" + LABEL_Q,
                                  files={"file": ("x.png", encode(banked), "image/png")},
                                  headers=admin)
        assert again.status_code == 201 and again.json()["added"] == 0
        page = await client.get("/api/v1/banks/TERROR_IMG/entries?limit=2", headers=admin)
        assert len(page.json()["entries"]) == 2 and page.json()["next_cursor"]
        nolabel = await client.post("/api/v1/banks/TERROR_IMG/entries",
                                    content=encode(generate(23)), headers=admin)
        assert nolabel.status_code == 400 and nolabel.json()["error"]["code"] == "invalid_label"

    # Restart: the new process loads <data>/index/matcher.bin and decides the same.
    async with api() as client:
        sync = kernel_of(client).bank_sync
        assert sync.last_load.source == "snapshot"
        assert sync.version > 0 and len(moderation_of(client).matcher) == len(added)
        gate = moderation_of(client)
        assert await verdict(variant) is Verdict.REJECT
        assert await verdict(jpeg(generate(22))) is Verdict.ALLOW


async def test_text_url_explicit_and_bad_input(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        await client.post("/api/v1/banks", json={"name": "TERROR_TXT",
                                                 "threshold_override": {"pdq": 40}},
                          headers=admin)
        url = "/api/v1/banks/TERROR_TXT/entries"
        for body in ({"text": POST}, {"url": "bad.example/x"},
                     {"signal_type": "md5", "value": "D41D8CD98F00B204E9800998ECF8427E"}):
            r = await client.post(url, json={**body, "labels": TERROR}, headers=admin)
            assert r.status_code == 201, r.text
        gate = moderation_of(client)
        hit = await gate.check(Surface.POST, [TextContent(POST.lower()),
                                              TextContent("see https://bad.example/x/")])
        assert hit.verdict is Verdict.REJECT and {r.signal_type for r in hit.reasons} >= {
            "text_exact", "url"}
        both = await client.post(url, json={"text": "x", "url": "y", "labels": TERROR},
                                 headers=admin)
        assert both.status_code == 400
        bad = await client.post(url, json={"signal_type": "pdq", "value": "nothex",
                                           "labels": TERROR}, headers=admin)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_signal"
        imp = await client.post("/api/v1/banks/TERROR_TXT/import?format=pytx&" + LABEL_Q[1:],
                                content=b"md5 " + b"0" * 32 + b"\nbogus 1\n", headers=admin)
        assert imp.status_code == 400
        err = imp.json()["error"]
        assert err["details"]["line"] == 2 and "line 2" in err["message"]
        csv_bad = await client.post("/api/v1/banks/TERROR_TXT/import?format=csv",
                                    content=b"nope\n", headers=admin)
        assert csv_bad.status_code == 400 and csv_bad.json()["error"]["details"]["line"] == 1
        assert (await client.get("/api/v1/banks/TERROR_TXT/export?format=xml",
                                 headers=admin)).status_code == 422
        assert (await client.get("/api/v1/banks/NOPE_X/entries",
                                 headers=admin)).status_code == 404


async def test_exchange_fetch_static_and_local_file(api: AppFactory, tmp_path: Path) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        await client.post("/api/v1/banks", json={"name": "GIFCT_SAMPLE"}, headers=admin)
        base = "/api/v1/banks/GIFCT_SAMPLE"
        put = await client.put(f"{base}/exchanges/sample", headers=admin, json={
            "exchange_type": "static_sample", "labels": ["category:terrorist_content"]})
        assert put.status_code == 200, put.text
        r = await client.post(f"{base}/fetch", json={"exchange": "sample"}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["added"] > 0
        again = await client.post(f"{base}/fetch", json={"exchange": "sample"}, headers=admin)
        assert again.json()["added"] == 0 and again.json()["duplicates"] == r.json()["added"]

        exchanges_dir = tmp_path / "data" / "exchanges"
        exchanges_dir.mkdir(parents=True)
        feed = exchanges_dir / "partner.txt"
        feed.write_text("md5 " + "1" * 32 + "\n")
        await client.put(f"{base}/exchanges/partner", headers=admin, json={
            "exchange_type": "local_file", "labels": ["category:terrorist_content"],
            "config": {"filename": "partner.txt"}})
        first = await client.post(f"{base}/fetch", json={"exchange": "partner"}, headers=admin)
        assert first.json()["added"] == 1
        listed = (await client.get(f"{base}/exchanges", headers=admin)).json()["exchanges"]
        partner = next(x for x in listed if x["name"] == "partner")
        assert partner["has_checkpoint"] and partner["last_fetch_at"]
        feed.write_text("md5 " + "1" * 32 + "\nmd5 " + "2" * 32 + "\n")
        resumed = await client.post(f"{base}/fetch", json={"exchange": "partner"},
                                    headers=admin)
        assert (resumed.json()["added"], resumed.json()["duplicates"]) == (1, 1)
        gate = moderation_of(client)
        assert len(gate.matcher) >= 2

        await client.put(f"{base}/exchanges/escape", headers=admin, json={
            "exchange_type": "local_file", "labels": ["category:terrorist_content"],
            "config": {"filename": "../tidings.toml"}})
        out = await client.post(f"{base}/fetch", json={"exchange": "escape"}, headers=admin)
        assert out.status_code == 400 and out.json()["error"]["code"] == "exchange_path_outside"
        await client.put(f"{base}/exchanges/tat", headers=admin, json={
            "exchange_type": "tat", "labels": ["category:terrorist_content"]})
        tat = await client.post(f"{base}/fetch", json={"exchange": "tat"}, headers=admin)
        assert tat.status_code == 400
        assert tat.json()["error"]["code"] == "exchange_credentials_missing"
        assert "TIDINGS_TAT_CREDENTIALS" in tat.json()["error"]["message"]
        unknown = await client.put(f"{base}/exchanges/x", headers=admin, json={
            "exchange_type": "carrier_pigeon", "labels": ["category:terrorist_content"]})
        assert unknown.status_code == 400


VIDEO = (Path(__file__).resolve().parents[1] / "moderation" / "data" / "vpdq"
         / "test-padded-dimensions.mp4").read_bytes()
"""A real MP4 (Meta's vpdq sample; provenance in its folder's README): a fake one is
now refused as undecodable before any hash is looked at."""


async def test_pytx_file_with_video_md5_imports_and_then_refuses(api: AppFactory) -> None:
    """The pytx/HMA name ``video_md5`` imports; the banked video is then refused; a
    pytx-named export gives partners video_md5 and pdq, never a photo's MD5."""
    import hashlib
    import json

    async with api() as client:
        admin = await staff(client, "boss", "admin")
        auditor = await staff(client, "audrey", "auditor")
        await client.post("/api/v1/banks", json={"name": "TCAP_COPY"}, headers=admin)
        base = "/api/v1/banks/TCAP_COPY"
        md5 = hashlib.md5(VIDEO, usedforsecurity=False).hexdigest()
        r = await client.post(f"{base}/import?format=pytx&label=category:terrorist_content",
                              content=f"video_md5 {md5.upper()}\n".encode(), headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["added"] == 1
        decision = await moderation_of(client).check(Surface.POST,
                                                     [MediaContent(VIDEO, "video/mp4")])
        assert decision.verdict is not Verdict.ALLOW
        assert decision.reasons[0].bank == "TCAP_COPY"

        photo = await client.post(f"{base}/entries" + LABEL_Q, content=encode(generate(5)),
                                  headers=admin)
        assert photo.status_code == 201
        exported = await client.get(f"{base}/export?format=pytx&names=pytx", headers=auditor)
        assert exported.status_code == 200
        lines = exported.text.splitlines()
        assert f"video_md5 {md5}" in lines
        assert all(line.split(" ")[0] in ("video_md5", "pdq") for line in lines)
        omitted = json.loads(exported.headers["X-Tidings-Omitted"])
        assert omitted == {"md5 of photo: pytx has only video_md5": 1,
                           "sha256 of photo: pytx has only video_sha256": 1}
        summary = (await client.get(f"{base}/export/summary", headers=auditor)).json()
        assert summary == {"written": len(lines), "omitted": omitted}
        native = await client.get(f"{base}/export?format=pytx", headers=auditor)
        assert f"md5 {md5}" in native.text.splitlines()
        bad = await client.get(f"{base}/export?format=csv&names=pytx", headers=auditor)
        assert bad.status_code == 400
        q = "?format=pytx&label=category:terrorist_content"
        refused = await client.post(f"{base}/import{q}",
                                    content=b"video_md5 nothex\n", headers=admin)
        assert refused.status_code == 400 and "line 1" in refused.json()["error"]["message"]
        unknown = await client.post(f"{base}/import{q}",
                                    content=b"pdq " + b"0" * 64 + b"\nphotodna xyz\n",
                                    headers=admin)
        assert unknown.status_code == 400 and "video_md5" in unknown.json()["error"]["message"]


async def test_exchange_status_and_schedule(api: AppFactory, tmp_path: Path) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        mod = await staff(client, "modder", "moderator")
        await client.post("/api/v1/banks", json={"name": "PARTNER_Y"}, headers=admin)
        base = "/api/v1/banks/PARTNER_Y"
        exchanges_dir = tmp_path / "data" / "exchanges"
        exchanges_dir.mkdir(parents=True)
        (exchanges_dir / "feed.txt").write_text(
            f"video_md5 {'1' * 32}\npdq {'0' * 63}f\nphotodna abc\nvideo_md5 short\n")
        await client.put(f"{base}/exchanges/feed", headers=admin, json={
            "exchange_type": "local_file", "labels": ["category:terrorist_content"],
            "config": {"filename": "feed.txt"}})
        before = (await client.get(f"{base}/exchanges/feed", headers=mod)).json()
        assert before["state"] == "never" and before["totals"]["added"] == 0
        r = await client.post(f"{base}/fetch", json={"exchange": "feed"}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["rejected_by_reason"] == {"unsupported signal type 'photodna'": 1,
                                                  "invalid video_md5 value": 1}
        status = (await client.get(f"{base}/exchanges/feed", headers=mod)).json()
        assert status["state"] == "ok" and status["last_success_at"]
        assert status["totals"] == {"added": 2, "removed": 0, "rejected": 2}
        assert status["last_run"]["rejected_by_reason"] == r.json()["rejected_by_reason"]
        assert status["interval_s"] is None

        put = f"{base}/exchanges/feed/schedule"
        assert (await client.put(put, json={"interval_s": 3600}, headers=mod)).status_code == 403
        assert (await client.put(put, json={"interval_s": 10}, headers=admin)).status_code == 422
        assert (await client.put(put, json={"interval_s": "x"},
                                 headers=admin)).status_code == 422
        ok = await client.put(put, json={"interval_s": 3600}, headers=admin)
        assert ok.status_code == 200 and ok.json()["interval_s"] == 3600
        assert ok.json()["next_run_at"] is not None
        off = await client.put(put, json={"interval_s": None}, headers=admin)
        assert off.json()["interval_s"] is None and off.json()["next_run_at"] is None
        missing = await client.get(f"{base}/exchanges/nope", headers=mod)
        assert missing.status_code == 404
        other = await client.put("/api/v1/banks/PARTNER_Y/exchanges/nope/schedule",
                                 json={"interval_s": 3600}, headers=admin)
        assert other.status_code == 404

        (exchanges_dir / "feed.txt").unlink()
        failed = await client.post(f"{base}/fetch", json={"exchange": "feed"}, headers=admin)
        assert failed.status_code == 400
        status = (await client.get(f"{base}/exchanges/feed", headers=mod)).json()
        assert status["state"] == "failed" and "feed.txt" in status["last_error"]
        assert status["failures_in_a_row"] == 1
        assert status["totals"]["added"] == 2  # kept from the good run

        from tests.server.test_orders_api import console_login

        await console_login(client, "modder")
        assert "Hash exchanges" in (await client.get("/console")).text
        page = (await client.get("/console/exchanges")).text
        assert "PARTNER_Y" in page and "failed (1 failures in a row)" in page
        assert "Rejected 1: unsupported signal type &#39;photodna&#39;" in page
        assert "no file &#39;feed.txt&#39;" in page


async def test_labels_in_short_form_and_typos(api: AppFactory) -> None:
    async with api() as client:
        admin = await staff(client, "boss", "admin")
        assert (await client.post("/api/v1/banks", json={"name": "TERROR_S"}, headers=admin)
                ).status_code == 201
        added = await client.post("/api/v1/banks/TERROR_S/entries", headers=admin, json={
            "text": POST, "labels": ["terrorist_content", "glorification"]})
        assert added.status_code == 201, added.text
        listed = (await client.get("/api/v1/banks/TERROR_S/entries", headers=admin)).json()
        assert {tuple(sorted(e["labels"])) for e in listed["entries"]} == {
            ("behaviour:glorification", "category:terrorist_content")}  # each of its signals
        typo = await client.post("/api/v1/banks/TERROR_S/entries", headers=admin, json={
            "text": POST + " again", "labels": ["terrorist-content"]})
        assert typo.status_code == 400
        assert typo.json()["error"]["code"] == "invalid_label"
        assert "did you mean 'category:terrorist_content'?" in typo.json()["error"]["message"]
