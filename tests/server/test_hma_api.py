"""The HMA 2.0-compatible API (/hma): Coop's HMA client's request sequence, replayed
literally (paths, parameter order, bodies: roostorg/coop ``server/services/hmaService/
index.ts``), answers in HMA's shapes (checked against HMA's own OpenAPI document), and
who may call. Sources and commits: ``tests/server/hma_util.py``."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.apps import app_of, kernel_of
from tests.conftest import AppFactory, bearer, register
from tests.server.hma_util import (
    CLIENT_HEADER,
    COOP,
    COOP_CLIENT,
    DATA,
    PHOTO,
    PHOTO_PDQ,
    PHOTO_SHRUNK,
    THREATEXCHANGE_COMMIT,
    coop_bank_name,
    flip_bits,
    media_server,
)
from tests.server.test_banks_api import moderation_of, staff
from tidings.config import ConfigError, load_settings
from tidings.moderation import MediaContent
from tidings.moderation.engine import Surface, Verdict

JSON = {"Content-Type": "application/json"}
HMA_SPEC = json.loads((DATA / "hma-openapi.json").read_text())
MEDIA = {"/bridge.jpg": (200, {"Content-Type": "image/jpeg"}, PHOTO),
         "/bridge-small.jpg": (200, {"Content-Type": "image/jpeg"}, PHOTO_SHRUNK)}


def conforms(value: Any, schema_name: str) -> None:
    """``value`` has the required fields of HMA's schema, with its JSON types."""
    schema = HMA_SPEC["components"]["schemas"][schema_name]
    kinds = {"integer": int, "string": str, "number": (int, float), "boolean": bool,
             "object": dict, "array": list}
    for name in schema.get("required", []):
        assert name in value, (schema_name, name, value)
        prop = schema["properties"][name]
        if "type" in prop:
            assert isinstance(value[name], kinds[prop["type"]]), (schema_name, name, value)


def coop_settings(**more: Any) -> dict[str, Any]:
    return {"hma_clients": (COOP_CLIENT,), "hma_fetch_hosts": ("127.0.0.1",),
            "hma_fetch_private": True, **more}


async def test_coop_client_sequence(api: AppFactory) -> None:
    """HMA_SERVICE_URL = <tidings>/hma; the proxy adds the client key to each request."""
    hma = "/hma"
    bank = coop_bank_name("org1", "My Bank!")
    assert bank == "COOP_ORG1_MY_BANK"
    with media_server(MEDIA) as media:
        async with api(**coop_settings()) as client:
            # createBank (no exchange): enabled_ratio travels as a string
            made = await client.post(f"{hma}/c/banks", headers={**COOP, **JSON},
                                     content=json.dumps({"name": bank, "enabled_ratio": "1"}))
            assert made.status_code == 201, made.text
            assert made.json() == {"name": bank, "matching_enabled_ratio": 1.0}
            conforms(made.json(), "BankConfig")
            again = await client.post(f"{hma}/c/banks", headers={**COOP, **JSON},
                                      content=json.dumps({"name": bank, "enabled_ratio": "1"}))
            assert again.status_code == 403 and again.json()["message"] == "Bank already exists"
            # listBanks / getBank verify the bank exists in HMA
            shown = await client.get(f"{hma}/c/bank/{bank}", headers={**COOP, **JSON})
            assert shown.status_code == 200 and shown.json()["name"] == bank
            listed = await client.get(f"{hma}/c/banks", headers=COOP)
            assert {"name": bank, "matching_enabled_ratio": 1.0} in listed.json()
            # Coop's documented base URL ends in a slash: ${base}/c/banks has two
            slashed = await client.get(f"{hma}//c/bank/{bank}", headers=COOP)
            assert slashed.status_code == 200 and slashed.json()["name"] == bank

            # hashContentFromUrl
            photo_url = f"{media}/bridge.jpg"
            hashed = await client.get(f"{hma}/h/hash?{urlencode({'url': photo_url})}",
                                      headers=COOP)
            assert hashed.status_code == 200, hashed.text
            assert hashed.json() == {"pdq": PHOTO_PDQ}

            # addContentToBank by URL (content_id travels as a query parameter)
            params = urlencode({"url": photo_url, "content_id": "coop-item-77"})
            added = await client.post(f"{hma}/c/bank/{bank}/content?{params}", headers=COOP)
            assert added.status_code == 200, added.text
            content_id = added.json()["id"]
            assert isinstance(content_id, int)
            assert added.json()["signals"] == {"pdq": PHOTO_PDQ}

            # lookupContent by hash (checkImageMatchWithDetails): a PDQ 5 bits off
            near = flip_bits(PHOTO_PDQ, 5)
            found = await client.get(
                f"{hma}/m/lookup?{urlencode({'signal_type': 'pdq', 'signal': near})}",
                headers=COOP)
            assert found.status_code == 200, found.text
            assert found.json() == {bank: [{"bank_content_id": content_id, "distance": "5"}]}
            for match in found.json()[bank]:
                conforms(match, "MatchWithDistance")
            far = flip_bits(PHOTO_PDQ, 40)
            far_query = urlencode({"signal_type": "pdq", "signal": far})
            assert (await client.get(f"{hma}/m/lookup?{far_query}", headers=COOP)
                    ).json() == {}

            # lookupContent by URL: the same photo shrunk to 160x100, keyed by signal type
            query = urlencode({"url": f"{media}/bridge-small.jpg", "content_type": "photo"})
            by_url = await client.get(f"{hma}/m/lookup?{query}", headers=COOP)
            assert by_url.status_code == 200, by_url.text
            [hit] = by_url.json()["pdq"][bank]
            assert hit["bank_content_id"] == content_id and int(hit["distance"]) <= 16

            # addContentToBank by file: formData.append(contentType, file)
            upload = await client.post(f"{hma}/c/bank/{bank}/content", headers=COOP,
                                       files={"photo": ("small.jpg", PHOTO_SHRUNK)},
                                       data={"content_id": "coop-item-78"})
            assert upload.status_code == 200, upload.text
            second = upload.json()["id"]
            assert second != content_id and set(upload.json()["signals"]) == {"pdq"}
            admin_headers = await staff(client, "curator", "admin")
            entries = (await client.get(f"/api/v1/banks/{bank}/entries",
                                        headers=admin_headers)).json()["entries"]
            assert {e["source"] for e in entries} == {"hma:client:coop:coop-item-77",
                                                      "hma:client:coop:coop-item-78"}
            # the same photo banked again is the same item
            same = await client.post(f"{hma}/c/bank/{bank}/content?{params}", headers=COOP)
            assert same.json()["id"] == content_id

            # raw_lookup and index status
            raw = await client.get(f"{hma}/m/raw_lookup", headers=COOP, params={
                "signal_type": "pdq", "signal": near, "include_distance": "true"})
            assert {"bank_content_id": content_id, "distance": "5"} in raw.json()["matches"]
            conforms(raw.json(), "RawLookupResponse")
            ids = await client.get(f"{hma}/m/raw_lookup", headers=COOP, params={
                "signal_type": "pdq", "signal": PHOTO_PDQ, "banks": bank})
            assert content_id in ids.json()["matches"]
            status = (await client.get(f"{hma}/m/index/status", headers=COOP)).json()
            assert status["pdq"]["present"] is True and status["pdq"]["size"] >= 2

            # updateBank: enabled_ratio 0 stops matching, 1 restores it
            off = await client.put(f"{hma}/c/bank/{bank}", headers={**COOP, **JSON},
                                   content=json.dumps({"enabled_ratio": 0}))
            assert off.json() == {"name": bank, "matching_enabled_ratio": 0.0}
            assert (await client.get(f"{hma}/m/lookup", headers=COOP, params={
                "signal_type": "pdq", "signal": near})).json() == {}
            half = await client.put(f"{hma}/c/bank/{bank}", headers={**COOP, **JSON},
                                    content=json.dumps({"enabled_ratio": 0.5}))
            assert half.status_code == 400 and "0 or 1" in half.json()["message"]
            await client.put(f"{hma}/c/bank/{bank}", headers={**COOP, **JSON},
                             content=json.dumps({"enabled_ratio": 1}))

            # Tidings' per-bank threshold applies: 4 bits allowed, the 5-bit hash misses
            admin = admin_headers
            patched = await client.patch(f"/api/v1/banks/{bank}", headers=admin,
                                         json={"threshold_override": {"pdq": 4}})
            assert patched.status_code == 200, patched.text
            assert (await client.get(f"{hma}/m/lookup", headers=COOP, params={
                "signal_type": "pdq", "signal": near})).json() == {}
            assert (await client.get(f"{hma}/m/lookup", headers=COOP, params={
                "signal_type": "pdq", "signal": flip_bits(PHOTO_PDQ, 3)})).json() == {
                bank: [{"bank_content_id": content_id, "distance": "3"}]}

            # exchanges: getExchangeApis, createBank with an exchange, getExchangeForBank
            apis = await client.get(f"{hma}/c/exchanges/apis", headers=COOP)
            assert "fb_threatexchange" in apis.json() and "ncmec" in apis.json()
            tx_info = await client.get(f"{hma}/c/exchanges/api/fb_threatexchange",
                                       headers=COOP)
            assert tx_info.json() == {"supports_authentification": True,
                                      "has_set_authentification": False}
            tx_bank = coop_bank_name("org1", "tx feed")
            made_x = await client.post(f"{hma}/c/exchanges", headers={**COOP, **JSON},
                                       content=json.dumps({"bank": tx_bank,
                                                           "api": "fb_threatexchange",
                                                           "api_json": {"privacy_group": 123}}))
            assert made_x.status_code == 201, made_x.text
            shown_x = await client.get(f"{hma}/c/exchange/{tx_bank}", headers=COOP)
            assert shown_x.json()["api"] == "fb_threatexchange"
            assert shown_x.json()["enabled"] is True
            assert shown_x.json()["privacy_group"] == 123
            fetch_status = await client.get(f"{hma}/c/exchange/{tx_bank}/status", headers=COOP)
            assert set(fetch_status.json()) == {
                "checkpoint_ts", "running_fetch_start_ts", "last_fetch_complete_ts",
                "last_fetch_succeeded", "up_to_date", "fetched_items"}
            assert fetch_status.json()["fetched_items"] == 0
            assert (await client.get(f"{hma}/c/exchanges", headers=COOP)).json() == [tx_bank]
            # what Tidings does not do over HTTP, or does not run, is a clear 400
            creds = await client.post(f"{hma}/c/exchanges/api/ncmec", headers={**COOP, **JSON},
                                      content=json.dumps({"credential_json": {"user": "u"}}))
            assert creds.status_code in (400, 403)
            unknown = await client.post(f"{hma}/c/exchanges", headers={**COOP, **JSON},
                                        content=json.dumps({"bank": "COOP_ORG1_NCII",
                                                            "api": "stop_ncii"}))
            assert unknown.status_code == 400 and "stop_ncii" in unknown.json()["message"]
            missing = await client.get(f"{hma}/c/exchange/NOPE", headers=COOP)
            assert missing.status_code == 404

            # deleteBank, then getBank says 404 (Coop then drops its local copy)
            gone = await client.delete(f"{hma}/c/bank/{bank}", headers=COOP)
            assert gone.status_code == 200 and gone.json() == {"message": "Done"}
            after = await client.get(f"{hma}/c/bank/{bank}", headers=COOP)
            assert after.status_code == 404
            conforms(after.json(), "ErrorResponse")
            assert (await client.get(f"{hma}/m/lookup", headers=COOP, params={
                "signal_type": "pdq", "signal": PHOTO_PDQ})).json() == {}


async def test_who_may_call(api: AppFactory) -> None:
    with media_server(MEDIA):
        async with api(**coop_settings()) as client:
            admin = await staff(client, "boss", "admin")
            mod = await staff(client, "modder", "moderator")
            user = bearer(await register(client, "plainuser"))
            made = await client.post("/api/v1/banks", headers=admin, json={"name": "TERROR_X"})
            assert made.status_code == 201
            lookup = ("/hma/m/lookup?" + urlencode({"signal_type": "pdq", "signal": PHOTO_PDQ}))
            calls = [("GET", "/hma/c/banks", None), ("GET", lookup, None),
                     ("GET", "/hma/m/index/status", None),
                     ("POST", "/hma/c/banks", {"name": "COOP_A_B"}),
                     ("DELETE", "/hma/c/bank/TERROR_X", None),
                     ("POST", "/hma/c/bank/TERROR_X/signal", {"pdq": PHOTO_PDQ})]
            for method, path, body in calls:
                for headers in ({}, {CLIENT_HEADER: "wrong"}):
                    refused = await client.request(method, path, headers=headers, json=body)
                    assert refused.status_code == 401, (method, path, refused.text)
                    assert refused.json()["message"]
                assert (await client.request(method, path, headers=user, json=body)
                        ).status_code == 403
            # moderators read; writes need an admin
            assert (await client.get(lookup, headers=mod)).status_code == 200
            assert (await client.post("/hma/c/banks", headers=mod,
                                      json={"name": "MOD_BANK"})).status_code == 403
            # Coop may change only COOP_... banks; staff banks stay out of its reach
            for method, path, body in calls[4:]:
                denied = await client.request(method, path, headers=COOP, json=body)
                assert denied.status_code == 403, denied.text
            signal = await client.post("/hma/c/bank/TERROR_X/signal", headers=admin,
                                       json={"pdq": PHOTO_PDQ, "note": "staff banked"})
            assert signal.status_code == 200, signal.text
            assert (await client.get(lookup, headers=COOP)).json() == {
                "TERROR_X": [{"bank_content_id": signal.json()["id"], "distance": "0"}]}
            # HMA's bank-name rule
            bad = await client.post("/hma/c/banks", headers=admin, json={"name": "lower_case"})
            assert bad.status_code == 400
            assert bad.json()["message"] == "Bank names must be UPPER_WITH_UNDERSCORE"


async def test_address_allow_list(api: AppFactory) -> None:
    """The in-process client calls from 127.0.0.1: allowed only when listed."""
    async with api(hma_allow_addresses=("127.0.0.0/8@COOP_",)) as client:
        made = await client.post("/hma/c/banks", json={"name": "COOP_ADDR"})
        assert made.status_code == 201, made.text
        assert (await client.post("/hma/c/banks", json={"name": "OTHER_BANK"})
                ).status_code == 403
    async with api(hma_allow_addresses=("10.0.0.0/8",)) as client:
        assert (await client.get("/hma/c/banks")).status_code == 401


NOT_SERVED = {
    "/": "HMA's web UI redirect; Tidings' console is /console",
    "/site-map": "HMA's development page listing its routes; Tidings publishes /openapi.json",
    "/status": "liveness and readiness are /healthz and /readyz (docs/operating.md)",
    "/status/live": "liveness is /healthz",
    "/dev/factory_reset": "development-only: wipes HMA's database",
    "/dev/run_fetch": "development-only; fetches run on a schedule or by "
                      "POST /api/v1/banks/<bank>/fetch",
    "/dev/seed_banks": "development-only sample data",
    "/dev/setup_sample_example": "development-only sample data",
    "/dev/setup_tx_example": "development-only sample data",
}
"""HMA paths Tidings does not serve under /hma, each with its reason (docs/matching.md,
"Deliberate differences"); HMA's web UI (``/ui/...``) is left out as a whole for the
same reason as ``/``."""
REFUSED = {
    ("put", "/c/exchange/{exchange_name}"): "exchange_unsupported_operation",
    ("delete", "/c/exchange/{exchange_name}"): "exchange_unsupported_operation",
}
"""Served, answering a clear 400: exchanges are changed with ``tidings bank exchange``,
removed with their bank."""


async def test_routes_and_parameters_match_hma_openapi(api: AppFactory) -> None:
    """Every route in HMA's OpenAPI document (``scripts/dump_openapi.py`` at the recorded
    commit) is served under /hma with HMA's methods and query names, or listed above
    with a reason; HMA's credential route (not in its document) is served too."""
    assert HMA_SPEC["info"]["title"]
    assert len(THREATEXCHANGE_COMMIT) == 40
    theirs_all = HMA_SPEC["paths"]
    async with api() as client:
        ours = app_of(client).openapi()["paths"]
    unexplained = [p for p in theirs_all if p not in NOT_SERVED
                   and not p.startswith("/ui/") and "/hma" + p not in ours]
    assert not unexplained, unexplained
    for path, theirs in theirs_all.items():
        if path in NOT_SERVED or path.startswith("/ui/"):
            assert "/hma" + path not in ours, path
            continue
        mine = ours["/hma" + path]
        assert set(theirs) <= set(mine), (path, set(theirs), set(mine))
        for method, op in theirs.items():
            their_query = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            my_query = {p["name"] for p in mine[method].get("parameters", [])
                        if p["in"] == "query"}
            assert their_query <= my_query, (path, method, their_query - my_query)
    assert {"get", "post"} <= set(ours["/hma/c/exchanges/api/{api_name}"])
    assert all(path in theirs_all for _, path in REFUSED)
    async with api(**coop_settings()) as client:
        admin = await staff(client, "boss", "admin")
        await client.post("/hma/c/exchanges", headers=admin,
                          json={"bank": "REFUSE_X", "api": "sample", "api_json": {}})
        for (method, path), code in REFUSED.items():
            answer = await client.request(method, "/hma" + path.format(
                exchange_name="REFUSE_X"), headers=admin, json={"enabled": False})
            assert answer.status_code == 400 and answer.json()["error"]["code"] == code


async def test_lookup_and_publish_gate_agree(api: AppFactory) -> None:
    """A picture banked through /hma stops a post at the publish gate, citing the same
    banked item the lookup names; a bank turned off through /hma stops both."""
    async with api(**coop_settings()) as client:
        gate = moderation_of(client)
        await client.post("/hma/c/banks", headers=COOP, json={"name": "COOP_GATE"})
        added = await client.post("/hma/c/bank/COOP_GATE/content", headers=COOP,
                                  files={"photo": ("bridge.jpg", PHOTO)})
        item = added.json()["id"]
        looked = await client.post("/hma/m/lookup", headers=COOP,
                                   files={"photo": ("small.jpg", PHOTO_SHRUNK)})
        assert [m["bank_content_id"] for m in looked.json()["pdq"]["COOP_GATE"]] == [item]
        decision = await gate.check(Surface.POST, [MediaContent(PHOTO_SHRUNK, "image/jpeg")])
        assert decision.verdict is not Verdict.ALLOW
        cited = await kernel_of(client).banks.entries_by_ids(
            [r.entry_id for r in decision.reasons])
        assert {e.item_id for e in cited.values()} == {item}
        await client.put("/hma/c/bank/COOP_GATE", headers=COOP, json={"enabled": False})
        decision = await gate.check(Surface.POST, [MediaContent(PHOTO_SHRUNK, "image/jpeg")])
        assert decision.verdict is Verdict.ALLOW
        looked = await client.post("/hma/m/lookup", headers=COOP,
                                   files={"photo": ("small.jpg", PHOTO_SHRUNK)})
        assert looked.json() == {"pdq": {}}


async def test_hash_upload_and_pytx_named_signals(api: AppFactory) -> None:
    async with api(**coop_settings()) as client:
        hashed = await client.post("/hma/h/hash", headers=COOP,
                                   files={"photo": ("bridge.jpg", PHOTO)})
        assert hashed.json() == {"pdq": PHOTO_PDQ}
        wrong = await client.post("/hma/h/hash", headers=COOP,
                                  files={"video": ("bridge.jpg", PHOTO)})
        assert wrong.status_code == 400 and "bytes are a photo" in wrong.json()["message"]
        two = await client.post("/hma/h/hash", headers=COOP, files={
            "photo": ("a.jpg", PHOTO), "video": ("b.jpg", PHOTO)})
        assert two.json()["message"] == "Only one file allowed per request"
        await client.post("/hma/c/banks", headers=COOP, json={"name": "COOP_VIDEOS"})
        md5 = "0123456789abcdef0123456789abcdef"
        banked = await client.post("/hma/c/bank/COOP_VIDEOS/signal", headers=COOP,
                                   json={"video_md5": md5, "pdq": PHOTO_PDQ, "note": "n"})
        assert banked.status_code == 200, banked.text
        assert banked.json()["signals"] == {"video_md5": md5, "pdq": PHOTO_PDQ}
        item = banked.json()["id"]
        for signal_type, value in (("video_md5", md5), ("md5", md5), ("pdq", PHOTO_PDQ)):
            found = await client.get("/hma/m/lookup", headers=COOP, params={
                "signal_type": signal_type, "signal": value})
            assert found.json() == {"COOP_VIDEOS": [{"bank_content_id": item,
                                                     "distance": "0"}]}, signal_type
        bad = await client.get("/hma/m/lookup", headers=COOP, params={
            "signal_type": "nope", "signal": "x"})
        assert bad.status_code == 400 and "No such SignalType" in bad.json()["message"]
        neither = await client.get("/hma/m/lookup", headers=COOP)
        assert neither.status_code == 400
        empty = await client.post("/hma/c/bank/COOP_VIDEOS/signal", headers=COOP, json={})
        assert empty.json()["message"] == "No signals given"
        assert (await client.post("/hma/c/bank/COOP_NONE/signal", headers=COOP,
                                  json={"pdq": PHOTO_PDQ})).status_code == 404


def test_client_settings_are_checked_at_start(tmp_path: Any) -> None:
    good = load_settings(tmp_path, {"TIDINGS_HMA_CLIENTS": COOP_CLIENT,
                                    "TIDINGS_HMA_ALLOW_ADDRESSES": "10.0.0.0/8@COOP_,::1/128"})
    clients, networks = good.hma_grants()
    assert list(clients.values()) == [("coop", "COOP_")]
    assert [(str(n), p) for n, p in networks] == [("10.0.0.0/8", "COOP_"), ("::1/128", "")]
    urls = load_settings(tmp_path, {"TIDINGS_EXCHANGE_BASE_URLS":
                                    "tat=http://127.0.0.1:9/,ncmec=https://test.example"})
    assert urls.exchange_urls() == {"tat": "http://127.0.0.1:9/",
                                    "ncmec": "https://test.example"}
    for env in ({"TIDINGS_EXCHANGE_BASE_URLS": "stop_ncii=https://x.example"},
                {"TIDINGS_EXCHANGE_BASE_URLS": "tat=ftp://x.example"},
                {"TIDINGS_HMA_CLIENTS": "coop=notahash"},
                {"TIDINGS_HMA_CLIENTS": "=" + "a" * 64},
                {"TIDINGS_HMA_ALLOW_ADDRESSES": "10.0.0.300/8"}):
        with pytest.raises(ConfigError):
            load_settings(tmp_path, env)
