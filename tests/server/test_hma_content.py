"""HMA's one-item routes (``/c/bank/<name>/content/<id>``), ``/m/compare`` and the
configuration lists, in HMA's shapes (its own test_api.py's values where it has them),
through the same banks and matcher as the publish gate."""

from __future__ import annotations

from collections.abc import Awaitable

import httpx

from tests.conftest import AppFactory
from tests.server.hma_util import COOP, PHOTO, PHOTO_PDQ, flip_bits
from tests.server.test_banks_api import staff
from tests.server.test_hma_api import conforms, coop_settings

# HMA's test_compare_hashes (OpenMediaMatch/tests/test_api.py): 9 bits apart
SPECIMEN1 = "facd8bcb2a49bcebdec1985298d5fe84bcd006c187c598c720c3c087b3fdb318"
SPECIMEN2 = "facd8bcb2a49bcebdec1985228d5ae84bcd006c187c598c720c2b087b3fdb318"
OTHER_PDQ = flip_bits(PHOTO_PDQ, 2)


async def test_compare(api: AppFactory) -> None:
    async with api(**coop_settings()) as client:
        same = await client.post("/hma/m/compare", headers=COOP,
                                 json={"pdq": [SPECIMEN1, SPECIMEN2]})
        assert same.json() == {"pdq": [True, {"distance": 9}]}
        far = await client.post("/hma/m/compare", headers=COOP, json={
            "pdq": [PHOTO_PDQ, flip_bits(PHOTO_PDQ, 40)], "video_md5": ["a" * 32, "a" * 32]})
        assert far.json() == {"pdq": [False, {"distance": 40}], "video_md5": [True, {}]}
        for bad in (["banana"], {"pdq": "banana"}, {"pdq": []}, {"pdq": ["banana", "banana"]},
                    {"pdq": [SPECIMEN1, SPECIMEN2, SPECIMEN1]}, {"nope": ["a", "b"]}):
            refused = await client.post("/hma/m/compare", headers=COOP, json=bad)
            assert refused.status_code == 400, (bad, refused.text)
            conforms(refused.json(), "ErrorResponse")
        assert (await client.post("/hma/m/compare", json={"pdq": [SPECIMEN1, SPECIMEN1]})
                ).status_code == 401


async def test_one_item(api: AppFactory) -> None:
    async with api(**coop_settings()) as client:
        await client.post("/hma/c/banks", headers=COOP, json={"name": "COOP_ITEMS"})
        added = await client.post("/hma/c/bank/COOP_ITEMS/signal", headers=COOP,
                                  json={"pdq": OTHER_PDQ, "video_md5": "b" * 32})
        item = added.json()["id"]
        photo = (await client.post("/hma/c/bank/COOP_ITEMS/content", headers=COOP,
                                   files={"photo": ("p.jpg", PHOTO)})).json()["id"]
        assert photo != item
        shown = await client.get(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP)
        assert shown.json() == {"id": item, "disable_until_ts": 1, "original_media_uri": None,
                                "bank": {"name": "COOP_ITEMS", "matching_enabled_ratio": 1.0}}
        signals = await client.get(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP,
                                   params={"include_signals": "true"})
        assert signals.json()["signals"] == {"pdq": OTHER_PDQ, "video_md5": "b" * 32}
        for path in (f"/hma/c/bank/COOP_ITEMS/content/{item + 1000}",
                     f"/hma/c/bank/COOP_NONE/content/{item}"):
            assert (await client.get(path, headers=COOP)).status_code == 404

        def lookup(signal_type: str, value: str) -> Awaitable[httpx.Response]:
            return client.get("/hma/m/lookup", headers=COOP,
                              params={"signal_type": signal_type, "signal": value})

        # disable_until_ts 0 stops the item matching (all its signals), 1 restores it
        off = await client.put(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP,
                               json={"disable_until_ts": 0})
        assert off.status_code == 200 and off.json()["disable_until_ts"] == 0
        assert (await lookup("video_md5", "b" * 32)).json() == {}
        near = (await lookup("pdq", PHOTO_PDQ)).json()
        assert near == {"COOP_ITEMS": [{"bank_content_id": photo, "distance": "0"}]}
        later = await client.put(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP,
                                 json={"disable_until_ts": 4_000_000_000})
        assert later.status_code == 400 and "send 0" in later.json()["message"]
        for bad in ({"disable_until_ts": -1}, {"disable_until_ts": "x"}, [1]):
            assert (await client.put(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP,
                                     json=bad)).status_code == 400
        on = await client.put(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP,
                              json={"disable_until_ts": 1})
        assert on.json()["disable_until_ts"] == 1
        assert list((await lookup("video_md5", "b" * 32)).json()) == [
            "COOP_ITEMS"]

        # delete: the signals stop matching; the entries stay, disabled, for the audit
        gone = await client.delete(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP)
        assert gone.json() == {"deleted": 2}
        assert (await lookup("video_md5", "b" * 32)).json() == {}
        again = await client.delete(f"/hma/c/bank/COOP_ITEMS/content/{item}", headers=COOP)
        assert again.json() == {"deleted": 0}
        admin = await staff(client, "boss", "admin")
        entries = (await client.get("/api/v1/banks/COOP_ITEMS/entries", headers=admin)
                   ).json()["entries"]
        assert [e["value"] for e in entries if not e["enabled"]] == [OTHER_PDQ, "b" * 32]
        assert len(entries) > 2  # the photo item's signals, still enabled
        # a staff bank is out of the client's reach
        await client.post("/hma/c/banks", headers=admin, json={"name": "STAFF_ONLY"})
        staff_item = (await client.post("/hma/c/bank/STAFF_ONLY/signal", headers=admin,
                                        json={"pdq": PHOTO_PDQ})).json()["id"]
        for method in ("PUT", "DELETE"):
            denied = await client.request(method, f"/hma/c/bank/STAFF_ONLY/content/{staff_item}",
                                          headers=COOP, json={"disable_until_ts": 0})
            assert denied.status_code == 403


async def test_signal_and_content_types(api: AppFactory) -> None:
    async with api(**coop_settings()) as client:
        types = (await client.get("/hma/c/signal_type", headers=COOP)).json()
        names = {t["name"] for t in types}
        assert {"pdq", "video_md5", "video_sha256", "url"} <= names
        assert all(t["enabled_ratio"] == 1.0 for t in types)
        assert (await client.get("/hma/c/content_type", headers=COOP)).json() == [
            {"name": "photo", "enabled": True}, {"name": "video", "enabled": True}]
        admin = await staff(client, "boss", "admin")
        await client.post("/hma/c/banks", headers=admin, json={"name": "TYPES_BANK"})
        await client.post("/hma/c/bank/TYPES_BANK/signal", headers=admin,
                          json={"pdq": PHOTO_PDQ})
        index = (await client.get("/hma/c/signal_type/index", headers=COOP)).json()
        assert set(index) == names
        assert index["pdq"]["db_size"] == index["pdq"]["index_size"] == 1
        assert index["pdq"]["index_out_of_date"] is False
        one = await client.get("/hma/c/signal_type/index", headers=COOP,
                               params={"signal_type": "pdq"})
        assert list(one.json()) == ["pdq"]
        assert (await client.get("/hma/c/signal_type/index", headers=COOP,
                                 params={"signal_type": "nope"})).status_code == 400
        # always on: 1 is accepted, anything else is refused; admins only
        ok = await client.put("/hma/c/signal_type/pdq", headers=admin, json={"enabled_ratio": 1})
        assert ok.json() == {"name": "pdq", "enabled_ratio": 1.0}
        off = await client.put("/hma/c/signal_type/pdq", headers=admin,
                               json={"enabled_ratio": 0})
        assert off.status_code == 400 and "always on" in off.json()["message"]
        assert (await client.put("/hma/c/signal_type/nope", headers=admin,
                                 json={"enabled_ratio": 1})).status_code == 404
        assert (await client.put("/hma/c/signal_type/pdq", headers=COOP,
                                 json={"enabled_ratio": 1})).status_code == 403
