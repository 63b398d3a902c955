"""Migration 0016 rewrites stored URL entries to the WHATWG-style normal form, on
both engines: old keys become today's, duplicates and now-refused entries are
disabled (kept), other entries are untouched, and the bank epoch changes so no
process trusts a matcher snapshot of the old values."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.schema import bank_entries, bank_version, banks

# Values as the previous normaliser stored them (it kept www., escapes, // and /./).
OLD = {
    "https://www.bad.example/video/123": ("https://bad.example/video/123", True),
    "https://bad.example/%76ideo//./9": ("https://bad.example/video/9", True),
    "https://m.bad.example/a": ("https://bad.example/a", False),  # duplicate of the next
    "https://bad.example/a": ("https://bad.example/a", True),
    "domain:www.evil.example": ("domain:evil.example", True),
    "domain:co.uk": ("domain:co.uk", False),  # a public suffix: would match every site
}
OTHER = ("text_exact", "ab" * 32)


def _key(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def test_0016_renormalises_url_entries(database: Database) -> None:
    def down(conn: Connection) -> None:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015")

    async with database.engine.begin() as conn:
        await conn.run_sync(down)
    async with database.write() as conn:
        epoch_before = (await conn.execute(sa.select(bank_version.c.epoch))).scalar_one()
        await conn.execute(sa.insert(banks).values(name="TERROR_URLS", created_at=1))
        rows = [("url", v) for v in OLD] + [OTHER]
        for signal_type, value in rows:
            await conn.execute(sa.insert(bank_entries).values(
                bank="TERROR_URLS", signal_type=signal_type, value=value, value_key=_key(value),
                labels="[]", source="test", added_at=1))
    await migrate.upgrade(database)
    async with database.read() as conn:
        stored = (await conn.execute(sa.select(
            bank_entries.c.signal_type, bank_entries.c.value, bank_entries.c.value_key,
            bank_entries.c.enabled).order_by(bank_entries.c.id))).all()
        epoch_after = (await conn.execute(sa.select(bank_version.c.epoch))).scalar_one()
    got = [(r.value, bool(r.enabled)) for r in stored if r.signal_type == "url"]
    # Disabled duplicates keep their old value (the unique key holds the new one).
    want = [(new if enabled else old, enabled) for old, (new, enabled) in OLD.items()]
    assert got == want
    assert all(r.value_key == _key(r.value) for r in stored)
    assert (stored[-1].signal_type, stored[-1].value, bool(stored[-1].enabled)) == (*OTHER, True)
    assert epoch_after != epoch_before
