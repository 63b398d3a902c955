"""Exchange fetch resumes from its stored checkpoint after a failure; deletions disable."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
from threatexchange.exchanges.fetch_state import FetchCheckpointBase, FetchDelta

from tidings.protocol.errors import Unavailable
from tidings.services.bank_exchanges import BuiltExchange, Exchanges
from tidings.services.bank_sync import BankSync
from tidings.services.banks import BankService
from tidings.services.clock import ManualClock
from tidings.services.moderation import ModerationService
from tidings.storage.banks import BankStore, ExchangeRecord
from tidings.storage.database import Database

LABELS = ["category:terrorist_content"]


@dataclass
class PageCheckpoint(FetchCheckpointBase):
    page: int


class PagedExchange:
    """Three pages of md5s; page 2 deletes page 1's first hash. Fails once on page 2."""

    pages: t.ClassVar[list[dict[tuple[str, str], t.Any]]] = [
        {("video_md5", f"{i:032x}"): object() for i in range(0, 3)},
        {("video_md5", f"{0:032x}"): None,
         **{("video_md5", f"{i:032x}"): object() for i in range(3, 5)}},
        {("video_md5", f"{i:032x}"): object() for i in range(5, 6)},
    ]

    def __init__(self, fail_on: int | None) -> None:
        self.fail_on = fail_on
        self.started_at: list[int] = []

    def fetch_iter(self, _types: t.Any, checkpoint: PageCheckpoint | None
                   ) -> t.Iterator[FetchDelta[t.Any, t.Any, PageCheckpoint]]:
        start = checkpoint.page if checkpoint else 0
        self.started_at.append(start)
        for page in range(start, len(self.pages)):
            if page == self.fail_on:
                self.fail_on = None
                raise OSError("connection reset")
            yield FetchDelta(self.pages[page], PageCheckpoint(page + 1))


async def test_fetch_resumes_from_checkpoint(database: Database, tmp_path: Path) -> None:
    exchange = PagedExchange(fail_on=1)
    moderation = ModerationService()
    sync = BankSync(database, BankStore(), moderation, None)
    svc = BankService(database, BankStore(), sync, ManualClock(),
                      lambda _record, _stored: BuiltExchange(exchange, PageCheckpoint))
    await sync.load()
    await svc.create_bank("PARTNER_X")
    await svc.put_exchange("PARTNER_X", "paged", "static_sample", LABELS, {})
    with pytest.raises(Unavailable, match="connection reset"):
        await svc.fetch("PARTNER_X", "paged")
    assert len(moderation.matcher) == 3  # page 0 committed with its checkpoint
    result = await svc.fetch("PARTNER_X", "paged")
    assert exchange.started_at == [0, 1]
    assert (result.batches, result.added, result.disabled) == (2, 3, 1)
    entries = await svc.entries("PARTNER_X")
    assert [e.enabled for e in entries] == [False, True, True, True, True, True]
    assert all(e.source == "exchange:paged" for e in entries)


def test_exchange_builder_errors(tmp_path: Path) -> None:
    build = Exchanges(tmp_path, {"TIDINGS_TAT_CREDENTIALS": "nocolon"})

    def record(kind: str, config: dict[str, t.Any] | None = None) -> ExchangeRecord:
        return ExchangeRecord("x", kind, "BANK_X", "", config or {}, tuple(LABELS), None, None)

    with pytest.raises(Exception, match="username:password"):
        build(record("tat"))
    with pytest.raises(Exception, match="TIDINGS_TX_ACCESS_TOKEN"):
        build(record("threatexchange", {"privacy_group": 1}))
    with pytest.raises(Exception, match="needs config"):
        build(record("local_file"))
    (tmp_path / "exchanges").mkdir()
    (tmp_path / "exchanges" / "a.txt").write_text("md5 " + "0" * 32 + "\n")
    built = build(record("local_file", {"filename": "a.txt"}))
    assert built.api.collab.filename.endswith("a.txt")


def test_status_bounds_a_hostile_partners_reasons() -> None:
    """A partner sending endless distinct file types cannot grow the status without
    bound: 50 reasons are kept, the rest count as "other reasons"; backoff is capped."""
    from tidings.protocol import limits
    from tidings.services.bank_exchanges import StatusTracker, backoff_ms

    tracker = StatusTracker({}, 0)
    tracker.batch(100, {f"tat MD5 of x{i} file": 1 for i in range(80)})
    done = tracker.done(1)
    assert len(done["rejected_by_reason"]) == limits.EXCHANGE_REASONS_KEPT + 1
    assert done["rejected_by_reason"]["other reasons"] == 80 - limits.EXCHANGE_REASONS_KEPT
    assert done["totals"]["rejected"] == 80
    again = StatusTracker(done, 2)
    again.batch(1, {"brand new reason": 3})
    assert again.done(3)["rejected_by_reason"]["other reasons"] == 33
    assert [backoff_ms(n, None) // 1000 for n in (1, 2, 3)] == [60, 120, 240]
    assert backoff_ms(30, None) == limits.EXCHANGE_BACKOFF_MAX_S * 1000
    assert backoff_ms(30, 900) == 900_000
