"""Scheduled exchange fetches: one durable job per due exchange, run once across processes.

Each server process ticks every ``EXCHANGE_SCHEDULE_POLL_S`` and enqueues an
``exchange_fetch`` job for every scheduled exchange whose ``next_run_at`` has come, with
a dedupe key per exchange, so however many processes tick, one fetch is queued. The job
runs :meth:`BankService.fetch`, which resumes from the stored checkpoint and writes the
status; on success the next run is an interval away, on failure a backoff away
(``bank_exchanges.backoff_ms``: 1 min doubling to 6 h, capped by the interval). A failed
fetch fails its job (one attempt only, so the job queue's retries never stack on the
exchange's backoff): the ``exchange.failing`` webhook and the failed-jobs metrics see it,
and the exchange's own status carries the error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from tidings.protocol import limits
from tidings.protocol.errors import Conflict, TidingsError
from tidings.services.banks import BankService
from tidings.services.jobs import JobContext, JobService

log = logging.getLogger("tidings.banks")

JOB_KIND = "exchange_fetch"


class ExchangeFetchFailed(Exception):
    """A scheduled fetch failed; its exchange's status says why and when it retries."""


def dedupe_key(exchange: str) -> str:
    return f"{JOB_KIND}:{exchange}"


class ExchangeScheduler:
    def __init__(self, banks: BankService, jobs: JobService) -> None:
        self.banks = banks
        self.jobs = jobs

    async def tick(self) -> list[int]:
        """Queue a fetch for each due exchange; returns the job ids (existing or new)."""
        ids = []
        for record in await self.banks.due_exchanges():
            job = await self.jobs.enqueue(JOB_KIND, {"bank": record.bank,
                                                     "exchange": record.name},
                                          dedupe_key=dedupe_key(record.name), max_attempts=1)
            ids.append(job.id)
        return ids

    async def handle(self, ctx: JobContext) -> dict[str, Any]:
        bank, name = str(ctx.payload["bank"]), str(ctx.payload["exchange"])
        try:
            result = await self.banks.fetch(bank, name)
        except Conflict:
            return {"skipped": "a fetch of this exchange is running in this process"}
        except TidingsError as exc:  # recorded in the exchange's status, with backoff
            raise ExchangeFetchFailed(f"{name}: {exc.message}") from exc
        await ctx.progress(result.batches, result.batches)
        return {"batches": result.batches, "added": result.added, "removed": result.disabled,
                "rejected": result.rejected}

    async def run(self) -> None:
        """The tick loop of one server process."""
        while True:
            await asyncio.sleep(limits.EXCHANGE_SCHEDULE_POLL_S)
            try:
                await self.tick()
            except (OSError, SQLAlchemyError, TidingsError) as exc:
                log.warning("exchange schedule tick failed, retrying: %s", exc)
