"""Migration 0022 (channel fingerprints, returning-channel holds) matches returning_schema.py
on both engines and reverts cleanly."""

from __future__ import annotations

from tests.storage.migration_util import migrate_to
from tests.storage.migration_util import tables as _tables
from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.returning_schema import metadata

NEW_TABLES = {"channel_fingerprints", "returning_holds"}


async def test_0022_matches_schema_and_reverts(database: Database) -> None:
    assert int(migrate.head_revision()) >= 11
    tables = await _tables(database)
    for name in NEW_TABLES:
        assert tables[name] == {c.name for c in metadata.tables[name].columns}, name

    await migrate_to(database, "0017", down=True)
    after = await _tables(database)
    assert not NEW_TABLES & set(after)
    assert {"users", "channels", "key_claims"} <= set(after)  # nothing else went with them
    await migrate.upgrade(database)
    assert set(await _tables(database)) >= NEW_TABLES
