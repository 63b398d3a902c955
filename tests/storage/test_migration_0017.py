"""Migration 0017 (key-claim log, contacts, group invitations) matches privacy_schema.py
on both engines and reverts cleanly."""

from __future__ import annotations

from tests.storage.migration_util import migrate_to
from tests.storage.migration_util import tables as _tables
from tidings.storage import migrate
from tidings.storage.database import Database
from tidings.storage.privacy_schema import metadata

NEW_TABLES = {"key_claims", "contacts", "group_invitations"}


async def test_0017_matches_schema_and_reverts(database: Database) -> None:
    assert int(migrate.head_revision()) >= 11
    tables = await _tables(database)
    for name in NEW_TABLES:
        assert tables[name] == {c.name for c in metadata.tables[name].columns}, name

    await migrate_to(database, "0016", down=True)
    after = await _tables(database)
    assert not NEW_TABLES & set(after)
    assert {"users", "devices", "groups"} <= set(after)  # nothing else went with them
    await migrate.upgrade(database)
    assert set(await _tables(database)) >= NEW_TABLES
