"""TAT (TCAP) and NCMEC exchanges, through pytx's own clients and mapping code, against
a local stand-in server: every supported hash is kept, what pytx cannot map is counted
with its reason, deletions disable, a failure resumes from the checkpoint."""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest
from threatexchange.exchanges.clients.ncmec.hash_api import NCMECHashAPI
from threatexchange.exchanges.clients.techagainstterrorism.api import TATHashListAPI

from tidings.moderation import Signal
from tidings.protocol.errors import Unavailable
from tidings.services.bank_exchanges import Exchanges
from tidings.services.bank_sync import BankSync
from tidings.services.banks import BankService
from tidings.services.clock import ManualClock
from tidings.services.moderation import ModerationService
from tidings.storage.banks import BankStore
from tidings.storage.database import Database

from .exchange_standin import StandIn, tat_record, te_update

LABELS = ["category:terrorist_content"]
DATA = Path(__file__).parent / "data"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
ENV = {"TIDINGS_TAT_CREDENTIALS": "tcap-user:tcap-pass",
       "TIDINGS_TX_ACCESS_TOKEN": "1234|secret",
       "TIDINGS_NCMEC_CREDENTIALS": "ncmec-user:ncmec-pass"}


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


async def _service(database: Database, tmp_path: Path, standin: StandIn,
                   clock: ManualClock | None = None) -> tuple[BankService, ModerationService]:
    moderation = ModerationService()
    sync = BankSync(database, BankStore(), moderation, None)
    await sync.load()
    exchanges = Exchanges(tmp_path, ENV, base_urls={"tat": standin.url, "ncmec": standin.url,
                                                    "threatexchange": standin.url.rstrip("/")})
    return BankService(database, BankStore(), sync, clock or ManualClock(), exchanges), \
        moderation


def _matching(moderation: ModerationService) -> dict[str, bool]:
    """Whether each of the TAT list's hashes matches now."""
    signals = [Signal("md5", "a" * 32), Signal("pdq", PDQ), Signal("md5", "c" * 32),
               Signal("md5", "e" * 32)]
    return {s.value: bool(moderation.matcher.query([s])) for s in signals}


def _tat_list() -> list[dict[str, t.Any]]:
    return [
        tat_record(1, "MD5", "a" * 32, "mp4"),
        tat_record(2, "PDQ", PDQ, "jpg"),
        tat_record(3, "MD5", "b" * 32, "jpg"),     # photo MD5: pytx has no type
        tat_record(4, "MD5", "c" * 32, "webm"),
        tat_record(5, "SHA256", "d" * 64, "mp4"),  # pytx maps only PDQ and MD5
        tat_record(6, "MD5", "e" * 32, "m4v"),
        tat_record(7, "MD5", "a" * 32, "mp4", deleted=True),  # withdraws record 1
    ]


async def test_tat_keeps_every_supported_hash(database: Database, tmp_path: Path,
                                              standin: StandIn) -> None:
    assert TATHashListAPI.BASE_URL.startswith("https://")  # pytx's default is untouched
    standin.tat_records = _tat_list()
    svc, moderation = await _service(database, tmp_path, standin)
    await svc.create_bank("TCAP")
    await svc.put_exchange("TCAP", "tcap", "tat", LABELS, {})
    result = await svc.fetch("TCAP", "tcap")
    entries = {(e.signal_type, e.value): e for e in await svc.entries("TCAP")}
    assert set(entries) == {("md5", "a" * 32), ("pdq", PDQ), ("md5", "c" * 32),
                            ("md5", "e" * 32)}
    assert not entries["md5", "a" * 32].enabled  # deleted upstream in a later page
    assert all(e.content_type == "video" for (st, _), e in entries.items() if st == "md5")
    assert result.rejected == 2
    assert result.rejected_by_reason == {
        "tat MD5 of jpg file: pytx maps only PDQ and video MD5": 1,
        "tat SHA256 of mp4 file: pytx maps only PDQ and video MD5": 1}
    assert (result.added, result.disabled) == (4, 1)
    assert _matching(moderation) == {"a" * 32: False, PDQ: True, "c" * 32: True,
                                     "e" * 32: True}  # the withdrawn one is disabled
    record = await svc.exchange("TCAP", "tcap")
    assert record.status["state"] == "ok"
    assert record.status["totals"] == {"added": 4, "removed": 1, "rejected": 2}
    assert record.status["last_run"]["fetched"] == 5  # 7 records, 2 dropped by pytx
    # Partners receive pytx names: video MD5s as video_md5, PDQ as pdq.
    written = await svc.export_pytx("TCAP")
    assert sorted(written.text.splitlines()) == sorted(
        [f"pdq {PDQ}", f"video_md5 {'c' * 32}", f"video_md5 {'e' * 32}"])
    assert written.omitted == {}


async def test_tat_failure_resumes_from_checkpoint(database: Database, tmp_path: Path,
                                                   standin: StandIn) -> None:
    standin.tat_records = _tat_list()
    standin.fail_tat_pages = {2}
    clock = ManualClock()
    svc, _ = await _service(database, tmp_path, standin, clock)
    await svc.create_bank("TCAP")
    await svc.put_exchange("TCAP", "tcap", "tat", LABELS, {})
    await svc.set_schedule("TCAP", "tcap", 3600)
    with pytest.raises(Unavailable, match="403"):
        await svc.fetch("TCAP", "tcap")
    record = await svc.exchange("TCAP", "tcap")
    assert record.status["state"] == "failed" and "403" in record.status["last_error"]
    assert record.failures == 1
    assert record.next_run_at == clock.now + 60_000  # first backoff step
    assert record.status["totals"]["added"] == 2  # page 1 committed with its checkpoint
    assert record.checkpoint is not None and "1704901043.0,3" in record.checkpoint
    standin.fail_tat_pages = set()
    standin.requests.clear()
    result = await svc.fetch("TCAP", "tcap")
    gets = [r for r in standin.requests if r.startswith("GET")]
    assert "after=1704901043.0%2C3" in gets[0]  # resumed after page 1
    assert (result.added, result.disabled) == (2, 1)
    record = await svc.exchange("TCAP", "tcap")
    assert record.failures == 0 and record.status["state"] == "ok"
    assert record.next_run_at == clock.now + 3_600_000
    assert record.status["totals"] == {"added": 4, "removed": 1, "rejected": 2}


async def test_status_shows_progress_of_a_running_fetch(database: Database, tmp_path: Path,
                                                       standin: StandIn) -> None:
    """Issue 19 item 2: a long fetch shows its progress (batches, records, added) in the
    status while it runs, committed batch by batch; the totals follow at the end."""
    import asyncio
    import time

    standin.tat_records = _tat_list()
    standin.hold_tat_page = 2  # page 1 is applied, page 2 waits
    svc, moderation = await _service(database, tmp_path, standin)
    await svc.create_bank("TCAP")
    await svc.put_exchange("TCAP", "tcap", "tat", LABELS, {})
    seen: list[tuple[int, int]] = []
    fetch = asyncio.create_task(svc.fetch("TCAP", "tcap", lambda b, a: seen.append((b, a))))
    try:
        deadline = time.monotonic() + 20
        while True:
            status = (await svc.exchange("TCAP", "tcap")).status
            # the callback follows the batch's commit and the matcher's refresh
            if status.get("state") == "running" and status["progress"]["batches"] >= 1 \
                    and seen:
                break
            assert time.monotonic() < deadline and not fetch.done(), status
            await asyncio.sleep(0.02)
        assert status["progress"]["fetched"] == 2 and status["progress"]["added"] == 2
        assert status["running_since"] is not None
        assert len(moderation.matcher) == 2  # what is committed already matches
        from tidings.protocol.errors import Conflict
        with pytest.raises(Conflict):  # one fetch of an exchange at a time
            await svc.fetch("TCAP", "tcap")
    finally:
        standin.release.set()
    result = await fetch
    assert seen[0] == (1, 2) and seen[-1] == (result.batches, result.added)
    status = (await svc.exchange("TCAP", "tcap")).status
    assert status["state"] == "ok" and "progress" not in status
    assert status["totals"] == {"added": 4, "removed": 1, "rejected": 2}


async def test_tat_bad_credentials_recorded(database: Database, tmp_path: Path,
                                            standin: StandIn) -> None:
    standin.tat_users = {"someone-else": "x"}
    svc, _ = await _service(database, tmp_path, standin)
    await svc.create_bank("TCAP")
    await svc.put_exchange("TCAP", "tcap", "tat", LABELS, {})
    with pytest.raises(Unavailable, match="401"):
        await svc.fetch("TCAP", "tcap")
    assert (await svc.exchange("TCAP", "tcap")).status["last_error"].count("401") == 1


async def test_ncmec_converts_through_pytx(database: Database, tmp_path: Path,
                                           standin: StandIn) -> None:
    assert NCMECHashAPI.ENTRIES_PER_FETCH > 0
    standin.ncmec_xml = (DATA / "ncmec_entries.xml").read_text()
    svc, moderation = await _service(database, tmp_path, standin)
    await svc.create_bank("NCMEC_INDUSTRY")
    await svc.put_exchange("NCMEC_INDUSTRY", "ncmec", "ncmec", ["category:other_illegal"], {})
    result = await svc.fetch("NCMEC_INDUSTRY", "ncmec")
    entries = {(e.signal_type, e.value): e for e in await svc.entries("NCMEC_INDUSTRY")}
    # pytx maps image PDQ and video MD5 (identity check on its own classes).
    assert set(entries) == {("pdq", PDQ), ("pdq", "0" * 64), ("md5", "b1" * 16),
                            ("md5", "c2" * 16)}
    assert entries["md5", "b1" * 16].content_type == "video"
    assert result.added == 4
    assert result.rejected_by_reason == {
        "image md5: no pytx signal type for it": 1,
        "image sha1: no pytx signal type for it": 1,
        "video sha1: no pytx signal type for it": 1,
        "image deleted upstream: no hash given, not applied": 1,
    }
    assert len(moderation.matcher) == 4
    assert any(r.startswith("GET /v2/entries?") for r in standin.requests), standin.requests


async def test_scheduled_fetch_runs_as_a_job_and_backs_off(database: Database, tmp_path: Path,
                                                           standin: StandIn) -> None:
    import asyncio
    import time

    from tidings.services.clock import system_clock
    from tidings.services.exchange_schedule import JOB_KIND, ExchangeScheduler
    from tidings.services.jobs import JobRunner, JobService
    from tidings.storage.jobs import JobStore

    standin.tat_records = _tat_list()
    standin.fail_tat_pages = {1}
    clock = ManualClock()
    svc, moderation = await _service(database, tmp_path, standin, clock)
    await svc.create_bank("TCAP")
    await svc.put_exchange("TCAP", "tcap", "tat", LABELS, {})
    jobs = JobService(database, JobStore(), system_clock)
    scheduler = ExchangeScheduler(svc, jobs)
    assert await scheduler.tick() == []  # not scheduled: nothing due
    await svc.set_schedule("TCAP", "tcap", 600)
    runner = JobRunner(jobs, lease_ms=5000, heartbeat_s=0.5, poll_s=0.05)
    runner.register(JOB_KIND, scheduler.handle)
    runner.start()

    async def run_due() -> dict[str, t.Any]:
        [job_id] = await scheduler.tick()
        assert await scheduler.tick() == [job_id]  # deduplicated while active
        deadline = time.monotonic() + 20
        while (job := await jobs.get(job_id)).state not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            await asyncio.sleep(0.05)
        return job.result or {"error": job.error, "state": job.state}

    try:
        failed = await run_due()
        assert failed["state"] == "failed" and "403" in failed["error"]
        record = await svc.exchange("TCAP", "tcap")
        assert record.next_run_at == clock.now + 60_000 and record.failures == 1
        assert await scheduler.tick() == []  # backing off
        standin.fail_tat_pages = set()
        clock.advance(60_000)
        assert (await run_due())["added"] == 4
        record = await svc.exchange("TCAP", "tcap")
        assert record.failures == 0 and record.next_run_at == clock.now + 600_000
        assert _matching(moderation) == {"a" * 32: False, PDQ: True, "c" * 32: True,
                                         "e" * 32: True}
        assert await scheduler.tick() == []
    finally:
        await runner.stop()


async def test_threatexchange_through_pytx_client(database: Database, tmp_path: Path,
                                                  standin: StandIn) -> None:
    standin.te_updates = [
        te_update(1, "HASH_PDQ", PDQ),
        te_update(2, "HASH_VIDEO_MD5", "a" * 32),
        te_update(3, "HASH_MD5", "b" * 32, tags=("media_type_video",)),
        te_update(4, "HASH_MD5", "c" * 32),  # no video tag: pytx leaves it out
        te_update(5, "HASH_VIDEO_MD5", "d" * 32, status="NON_MALICIOUS"),
        te_update(6, "HASH_TMK", "00"),
    ]
    svc, moderation = await _service(database, tmp_path, standin)
    await svc.create_bank("TE_GROUP")
    await svc.put_exchange("TE_GROUP", "te", "threatexchange", LABELS, {"privacy_group": 303})
    result = await svc.fetch("TE_GROUP", "te")
    entries = {(e.signal_type, e.value) for e in await svc.entries("TE_GROUP")}
    assert entries == {("pdq", PDQ), ("md5", "a" * 32), ("md5", "b" * 32)}
    assert result.rejected_by_reason == {
        "HASH_MD5: left out by pytx's mapping (tags)": 1,
        "HASH_TMK: no pytx signal type for it": 1,
        "video_md5 marked non-malicious upstream: not banked, disabled if held": 1}
    assert any("/303/threat_updates/" in r for r in standin.requests)
    # Later: the PDQ is withdrawn upstream; the next fetch disables it.
    standin.te_updates = [te_update(7, "HASH_PDQ", PDQ, delete=True)]
    again = await svc.fetch("TE_GROUP", "te")
    assert again.disabled == 1
    enabled = {e.signal_type: e.enabled for e in await svc.entries("TE_GROUP")
               if e.signal_type == "pdq"}
    assert enabled == {"pdq": False}
    assert not moderation.matcher.query([Signal("pdq", PDQ)])
