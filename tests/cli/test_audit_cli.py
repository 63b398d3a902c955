"""``tidings audit verify`` on the server host detects edited and removed records."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from tests.cli.helpers import tidings
from tests.conftest import AppFactory
from tests.server.channel_util import channel, post, user
from tests.server.test_banks_api import staff
from tidings.storage.database import Database, sqlite_url_for


async def test_verify_fails_after_a_record_is_edited(api: AppFactory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with api() as client:
        mod = await staff(client, "mod", "moderator")
        admin = await staff(client, "boss", "admin")
        alice = await user(client, "alice")
        await channel(client, alice, "audited")
        for i in range(3):
            p = await post(client, alice, "audited", f"post number {i}")
            r = await client.post(f"/api/v1/admin/posts/{p['id']}/remove", headers=mod)
            assert r.status_code == 200, r.text
        assert (await client.get("/api/v1/admin/audit/verify", headers=admin)).json()["ok"]
    ok = await tidings("audit", "verify", "--data", str(data), "--json")
    assert ok.code == 0, ok.err
    assert json.loads(ok.out) == {"ok": True, "records": 3, "first_bad_index": None,
                                  "problem": None}
    db = Database(sqlite_url_for(str(data / "tidings.db")))
    async with db.write() as conn:
        await conn.execute(sa.text("UPDATE audit_log SET target = 'post:999' WHERE id = 2"))
    await db.close()
    broken = await tidings("audit", "verify", "--data", str(data))
    assert broken.code == 1
    assert "record 1" in broken.err and "changed" in broken.err
    db = Database(sqlite_url_for(str(data / "tidings.db")))
    async with db.write() as conn:  # undo the edit, then remove a record instead
        await conn.execute(sa.text("UPDATE audit_log SET target = "
                                   "(SELECT 'post:' || 2) WHERE id = 2"))
        await conn.execute(sa.text("DELETE FROM audit_log WHERE id = 1"))
    await db.close()
    removed = await tidings("audit", "verify", "--data", str(data), "--json")
    assert removed.code == 1
    assert json.loads(removed.out)["problem"] == "broken_link"
