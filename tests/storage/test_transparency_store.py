"""TransparencyStore on SQLite and PostgreSQL: every read keeps to its half-open period
and pages in order."""

from __future__ import annotations

import json

from tidings.moderation import review as rv
from tidings.moderation.audit import AuditRecord
from tidings.services.cases import open_or_join
from tidings.storage.accounts import AccountStore
from tidings.storage.action_schema import moderation_actions, statements_of_reasons
from tidings.storage.actions import ActionStore
from tidings.storage.database import Database
from tidings.storage.order_schema import removal_orders
from tidings.storage.reports import ReportStore
from tidings.storage.schema import bank_entries, banks
from tidings.storage.transparency import TransparencyStore

T0 = 1_000_000


async def test_reads_keep_to_the_period(database: Database) -> None:
    store = TransparencyStore()
    reports = ReportStore()
    async with database.write() as conn:
        user = await AccountStore().create_user(conn, "authority_x", None, "authority", T0)
        for i, at in enumerate((T0 - 1, T0, T0 + 5, T0 + 10)):
            await conn.execute(statements_of_reasons.insert().values(
                target=f"content:{i}", user_id=None, body=json.dumps({"n": i}), created_at=at))
            await conn.execute(moderation_actions.insert().values(
                idempotency_key=f"k{i}", kind="reject", rule="r", ruleset_version=1,
                target=f"content:{i}", cause=f"c{i}", actor="system", created_at=at))
            await ActionStore().audit(conn, AuditRecord(
                "system", "reject", "r", f"content:{i}", at, {"key": f"k{i}",
                                                            "entry_ids": [i + 1]}))
        await conn.execute(banks.insert().values(name="B", created_at=T0))
        for i in range(1, 5):
            await conn.execute(bank_entries.insert().values(
                id=i, bank="B", signal_type="text_exact", value=str(i), value_key=f"v{i}",
                labels=json.dumps(["category:spam"]), source="auto_bank", added_at=T0))
        inside = await open_or_join(conn, reports, "post", "1", 7, rv.Source.USER_REPORT, T0)
        await open_or_join(conn, reports, "post", "2", 7, rv.Source.USER_REPORT, T0 + 10)
        for case_id, at in ((inside, T0 + 1), (inside, T0 + 10)):
            await reports.insert_report(
                conn, case_id=case_id, reporter_id=9, target_kind="post", target_ref="1",
                category="spam", explanation="x", location="/c/a/1", source="user_report",
                verified=False, created_at=at, updated_at=at)
        for i, (received, completed) in enumerate(((T0 - 5, T0 + 1), (T0 + 2, None),
                                                   (T0 + 10, None))):
            await conn.execute(removal_orders.insert().values(
                id=f"ro_{i}", authority_user_id=user.id, authority_name="A",
                member_state="DE", reference=f"R{i}", target_kind="post", target_ref=str(i),
                legal_basis="l", reasons="r", label="category:terrorist_content",
                status="completed" if completed else "open", received_ms=received,
                completed_ms=completed))
    async with database.read() as conn:
        rows = await store.statements(conn, T0, T0 + 10)
        assert [r.body["n"] for r in rows] == [1, 2]
        page = await store.statements(conn, T0, T0 + 10, after_id=rows[0].id, limit=1)
        assert [r.body["n"] for r in page] == [2]
        actions = await store.actions(conn, T0, T0 + 10)
        assert [(a.key, a.cause) for a in actions] == [("k1", "c1"), ("k2", "c2")]
        audit = await store.audit(conn, T0, T0 + 10, ["reject"])
        assert [a.details["entry_ids"] for a in audit] == [[2], [3]]
        assert await store.audit(conn, T0, T0 + 10, ["hold"]) == []
        entries = await store.entries(conn, [2, 3, 99])
        assert sorted(entries) == [2, 3] and entries[2].labels == ("category:spam",)
        assert entries[3].bank == "B" and entries[3].source == "auto_bank"
        assert [c.id for c in await store.cases_touched(conn, T0, T0 + 10)] == [inside]
        notices = await store.reports(conn, T0, T0 + 10)
        assert [(n.created_at, n.source) for n in notices] == [(T0 + 1, "user_report")]
        assert notices[0].case_record is not None
        orders = await store.orders(conn, T0, T0 + 10)
        assert [o.id for o in orders] == ["ro_0", "ro_1"]  # completed in it, received in it
