"""Content the real gate holds for review: a partner bank and what matches it.

The default rule ``partner-match-hold`` (src/tidings/moderation/data/default_rules.toml)
holds a match on a partner bank that is not marked trusted (an exchange's list): the
content waits for a moderator, with a case citing the entry. Tests that need a held
post build one here through the public API instead of replacing the engine's check.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.server.channel_util import upload
from tests.server.hma_util import PHOTO, PHOTO_PDQ, flip_bits

HOLD_BANK = "TERROR_TEST"
HOLD_DISTANCE = 12
HOLD_LABEL = "category:terrorist_content"
TERROR_GROUND = "terrorist content (Regulation (EU) 2021/784)"


async def partner_bank(client: httpx.AsyncClient, admin: dict[str, str],
                       entry: dict[str, Any] | bytes, name: str = HOLD_BANK) -> None:
    """An admin creates the partner bank ``name`` (not trusted) with one entry labelled
    terrorist content: a JSON entry (``{"text": ...}``, ``{"signal_type", "value"}``)
    or a file's bytes (a photo banks its hashes)."""
    r = await client.post("/api/v1/banks", headers=admin, json={"name": name, "partner": True})
    assert r.status_code == 201 and r.json()["trust"] == "partner", r.text
    url = f"/api/v1/banks/{name}/entries"
    if isinstance(entry, bytes):
        r = await client.post(url, headers=admin, params={"label": HOLD_LABEL}, content=entry)
    else:
        r = await client.post(url, headers=admin, json={**entry, "labels": [HOLD_LABEL]})
    assert r.status_code == 201 and r.json()["added"] >= 1, r.text


async def banked_photo(client: httpx.AsyncClient, admin: dict[str, str],
                       owner: dict[str, str]) -> str:
    """A real photo that the gate holds in a post, uploaded by ``owner``; returns its id.

    The partner bank TERROR_TEST holds one entry: the photo's PDQ hash with 12 bits
    flipped. The upload is held (it stays private) and a post citing it is held."""
    await partner_bank(client, admin, {"signal_type": "pdq",
                                       "value": flip_bits(PHOTO_PDQ, HOLD_DISTANCE)})
    sha: str = (await upload(client, owner, PHOTO))["sha256"]
    return sha


def assert_held_by_the_bank(case: dict[str, Any]) -> None:
    """A review case cites the one entry of :func:`banked_photo`, as the gate matched it."""
    assert case["terrorist_content"] is True
    assert [(m["bank"], m["signal_type"], m["distance"], m["labels"], m["ground"])
            for m in case["matches"]] == [
        (HOLD_BANK, "pdq", HOLD_DISTANCE, [HOLD_LABEL], TERROR_GROUND)]
