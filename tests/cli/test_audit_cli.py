"""``tidings audit verify`` on the server host detects edited and removed records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.apps import kernel_of
from tests.cli.helpers import tidings
from tests.cli.test_banks_cli import PASSWORD
from tests.cli.test_banks_cli import tidings as bank_cli
from tests.conftest import AppFactory
from tests.server.channel_util import channel, internal_id, post, user
from tests.server.test_banks_api import staff
from tidings.storage.database import Database, sqlite_url_for

JOB_WAIT_S = 20.0
POLL_S = 0.2


async def test_verify_fails_after_a_record_is_edited(api: AppFactory, tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with api() as client:
        mod = await staff(client, "mod", "moderator")
        admin = await staff(client, "boss", "admin")
        alice = await user(client, "alice")
        await channel(client, alice, "audited")
        for i in range(3):
            p = await post(client, alice, "audited", f"post number {i}")
            pid = await internal_id(client, mod, "audited", p["number"])
            r = await client.post(f"/api/v1/admin/posts/{pid}/remove", headers=mod)
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


async def test_retro_scan_status_from_the_cli(live_server: Any, tmp_path: Path) -> None:
    """A bank import queues a retro-scan; the CLI shows its state and result."""
    async with live_server() as server:
        await kernel_of(server).accounts.create_user("boss", PASSWORD, "admin",
                                                    check_reserved=False)
        common = ["--server", server.url, "--profile", str(tmp_path / "profile")]
        await bank_cli("account", "login", "boss", "--password-stdin", *common,
                       stdin=PASSWORD + "\n")
        await bank_cli("bank", "create", "TERROR_RETRO", *common)
        src = tmp_path / "list.txt"
        src.write_text("md5 " + "ab" * 16 + "\n")
        await bank_cli("bank", "import", "TERROR_RETRO", str(src), "--label",
                       "category:terrorist_content", *common)
        for _ in range(int(JOB_WAIT_S / POLL_S)):
            _, out, _ = await bank_cli("bank", "scan-status", "1", "--json", *common)
            if json.loads(out)["state"] == "done":
                break
            await asyncio.sleep(POLL_S)
        job = json.loads(out)
        assert job["kind"] == "retro_scan" and job["state"] == "done"
        assert job["result"]["removed"] == 0
        _, human, _ = await bank_cli("bank", "scan-status", "1", *common)
        assert "retro_scan: done" in human
