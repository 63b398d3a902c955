"""`tidings bank match FILE` and `--signal TYPE VALUE` answer from the server's matcher,
exactly as ``/hma/m/lookup`` does (the same route, the same service)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.apps import kernel_of
from tests.cli.inproc import command as tidings
from tests.server.hma_util import PHOTO, PHOTO_PDQ, PHOTO_SHRUNK, flip_bits

PASSWORD = "a long enough passphrase"


async def test_bank_match_answers_like_hma_lookup(live_server: Any, tmp_path: Path) -> None:
    async with live_server() as server:
        await kernel_of(server).accounts.create_user("boss", PASSWORD, "admin",
                                                    check_reserved=False)
        common = ["--server", server.url, "--profile", str(tmp_path / "profile")]
        logged = await tidings("account", "login", "boss", "--password-stdin", *common,
                               stdin=PASSWORD + "\n")
        assert logged.code == 0, logged.err
        async with httpx.AsyncClient(base_url=server.url) as http:
            token = (await http.post("/api/v1/accounts/login", json={
                "username": "boss", "password": PASSWORD, "device_name": "script"})
                     ).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            await http.post("/api/v1/banks", headers=auth, json={"name": "TERROR_PHOTOS"})
            added = await http.post("/api/v1/banks/TERROR_PHOTOS/entries",
                                    params={"label": "category:terrorist_content"},
                                    content=PHOTO, headers=auth)
            assert added.status_code == 201, added.text
            near = flip_bits(PHOTO_PDQ, 6)
            by_hash = (await http.get("/hma/m/lookup", headers=auth, params={
                "signal_type": "pdq", "signal": near})).json()
            by_file = (await http.post("/hma/m/lookup", headers=auth, files={
                "photo": ("small.jpg", PHOTO_SHRUNK)})).json()
        item = min(e["id"] for e in added.json()["entries"])
        assert by_hash == {"TERROR_PHOTOS": [{"bank_content_id": item, "distance": "6"}]}
        assert by_file["pdq"]["TERROR_PHOTOS"][0]["bank_content_id"] == item

        signal = await tidings("bank", "match", "--signal", "pdq", near, "--json", *common)
        assert signal.code == 0, signal.err
        assert json.loads(signal.out) == by_hash
        photo = tmp_path / "shrunk.jpg"
        photo.write_bytes(PHOTO_SHRUNK)
        matched = await tidings("bank", "match", str(photo), "--json", *common)
        assert matched.code == 0, matched.err
        assert json.loads(matched.out) == by_file
        human = await tidings("bank", "match", str(photo), *common)
        assert "TERROR_PHOTOS" in human.out and str(item) in human.out
        bad = await tidings("bank", "match", "--signal", "pdq", "nothex", *common)
        assert bad.code != 0 and "invalid signal" in bad.err
        neither = await tidings("bank", "match", *common)
        assert neither.code != 0 and "FILE or --signal" in neither.err
