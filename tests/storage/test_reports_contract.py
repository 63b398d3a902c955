"""ReportStore on SQLite and PostgreSQL: cases with compare-and-set, reports, notices."""

from __future__ import annotations

from tidings.moderation import review as rv
from tidings.services.cases import case_columns, case_from_json, open_or_join
from tidings.storage.database import Database
from tidings.storage.reports import ReportStore


async def test_cases_reports_and_notices(database: Database) -> None:
    store = ReportStore()
    async with database.write() as conn:
        case_id = await open_or_join(conn, store, "post", "42", 7, rv.Source.USER_REPORT, 1000)
        same = await open_or_join(conn, store, "post", "42", 7, rv.Source.AUTOMATED_HOLD,
                                  2000, terrorist=True,
                                  matches=[{"bank": "B", "distance": 3}])
        other = await open_or_join(conn, store, "post", "43", 7, rv.Source.TRUSTED_FLAGGER,
                                   3000)
        report_id = await store.insert_report(
            conn, case_id=case_id, reporter_id=9, target_kind="post", target_ref="42",
            category="spam", explanation="x", location="/c/a/42", source="user_report",
            verified=True, created_at=1000, updated_at=1000)
        await store.insert_messages(conn, report_id, [{
            "position": 0, "message_id": "M1", "sender": "s", "sender_device": "D",
            "conversation": "c", "ts": 5, "payload": "{}", "key_id": "k", "verdict": "verified"}])
        notice_id = await store.insert_notice(conn, user_id=7, kind="k", case_id=case_id,
                                              body="{}", created_at=1)
        await store.set_trusted(conn, 9, True, 1)
        await store.set_reveal_media(conn, 9, True)
    assert same == case_id and other != case_id
    async with database.read() as conn:
        row = await store.case(conn, case_id)
        assert row is not None and row.matches is not None
        case = case_from_json(row.record)
        assert case.sources == {rv.Source.USER_REPORT, rv.Source.AUTOMATED_HOLD}
        assert case.terrorist_content and case.holds == 1 and case.reports == 1
        queue = await store.cases(conn, ["open"], 10)
        assert [c.id for c in queue] == [other, case_id]  # trusted flagger ranks first
        [report] = await store.reports_of_case(conn, case_id)
        assert report.id == report_id and report.verified is True
        [message] = await store.messages(conn, [report_id])
        assert message.verdict == "verified"
        assert [n.id for n in await store.notices(conn, 7, 10)] == [notice_id]
        assert await store.is_trusted(conn, 9) and await store.reveal_media(conn, 9)
    claimed = rv.apply(case, rv.Claim("anna", 5000, 1000))
    async with database.write() as conn:
        assert await store.update_case(conn, case_id, row.record,
                                       **case_columns(claimed, 5000))
        # a second writer that read the old record loses
        assert not await store.update_case(conn, case_id, row.record,
                                           **case_columns(claimed, 5000))
