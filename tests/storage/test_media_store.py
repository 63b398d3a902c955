"""The upload's two plans on SQLite and PostgreSQL: one write transaction records the
media row, its uploader and its signals; the withdrawal check reads them back."""

from __future__ import annotations

from tidings.moderation.media_signals import MediaSignal
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.media import MediaRecord, MediaStore

store = MediaStore()
SHA = "a" * 64
UPLOAD_MD5 = "b" * 32
SIGNALS = [MediaSignal("md5", UPLOAD_MD5, "upload"), MediaSignal("sha256", SHA, "stored"),
           MediaSignal("pdq", "c" * 64, "pixels", 88)]


async def _user(db: Database, name: str) -> int:
    async with db.write() as conn:
        return (await AccountStore().create_user(conn, name, "h", "user", 1)).id


def _record(uploader: int, created_at: int) -> MediaRecord:
    return MediaRecord(SHA, "photo", "image/jpeg", 10, 4, 3, "d" * 64, uploader, created_at)


async def test_remember_keeps_the_first_row_and_every_uploader(database: Database) -> None:
    first, second = await _user(database, "first"), await _user(database, "second")
    stored = await database.write_plan(
        store.remember_plan(_record(first, 100), first, SIGNALS, database.dialect))
    assert stored == _record(first, 100)
    again = await database.write_plan(
        store.remember_plan(_record(second, 200), second, SIGNALS[:2], database.dialect))
    assert again == _record(first, 100)  # same bytes: the first row stays
    dialect = database.dialect  # SQLite: prepared text (plan.Raw); PostgreSQL: Core
    for user in (first, second):
        assert await database.read_plan(store.uploaded_by_plan([SHA], user, dialect)) == {SHA}
    thumb = _record(first, 100).thumb_sha256
    assert thumb is not None  # a thumbnail counts as its photo's
    assert await database.read_plan(store.uploaded_by_plan([thumb], first, dialect)) == {thumb}
    assert await database.read_plan(store.get_many_plan([SHA, "f" * 64], dialect)) == {
        SHA: _record(first, 100)}
    assert await database.read_plan(store.signals_plan([SHA], dialect)) == {
        SHA: SIGNALS[:2]}  # replaced


async def test_withdrawn_among_finds_the_id_and_the_uploaded_bytes_hash(
        database: Database) -> None:
    user = await _user(database, "owner")
    await database.write_plan(store.remember_plan(_record(user, 1), user, SIGNALS,
                                                  database.dialect))
    assert not await database.read_plan(
        store.withdrawn_among_plan([SHA, UPLOAD_MD5], database.dialect))
    assert not await database.read_plan(store.withdrawn_among_plan([], database.dialect))
    async with database.write() as conn:
        assert await store.withdraw(conn, [SHA], "removal", 5) == [SHA]
    assert await database.read_plan(store.withdrawn_among_plan([SHA], database.dialect))
    assert await database.read_plan(store.withdrawn_among_plan([UPLOAD_MD5], database.dialect))
    assert not await database.read_plan(store.withdrawn_among_plan(["e" * 64], database.dialect))
