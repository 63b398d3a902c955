"""GET /api/v1/jobs and /api/v1/jobs/{id}: staff follow long work; everyone else is
refused."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.apps import kernel_of
from tests.conftest import AppFactory, bearer, login, register
from tidings.services.jobs import JobContext, JobRunner, JobService


async def test_staff_see_job_progress(api: AppFactory) -> None:
    async with api() as client:
        kernel = kernel_of(client)
        await kernel.accounts.create_user("modmin", "a long enough passphrase", "moderator")
        staff = bearer(await login(client, "modmin"))
        user = bearer(await register(client, "alice"))
        halfway = asyncio.Event()
        finish = asyncio.Event()

        async def scan(ctx: JobContext) -> dict[str, Any]:
            await ctx.progress(5, 10)
            halfway.set()
            await finish.wait()
            await ctx.progress(10, 10)
            return {"matches": 0}

        runner: JobRunner = kernel.job_runner
        runner.register("retro_scan", scan)
        jobs: JobService = kernel.jobs
        job = await jobs.enqueue("retro_scan", {"bank": 3}, dedupe_key="retro_scan:3")
        await asyncio.wait_for(halfway.wait(), 10)

        r = await client.get(f"/api/v1/jobs/{job.id}", headers=staff)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["state"] == "running" and body["kind"] == "retro_scan"
        assert body["progress"] == {"done": 5, "total": 10, "fraction": 0.5}
        assert body["payload"] == {"bank": 3}

        assert (await client.get(f"/api/v1/jobs/{job.id}", headers=user)).status_code == 403
        assert (await client.get(f"/api/v1/jobs/{job.id}")).status_code == 401
        missing = await client.get("/api/v1/jobs/424242", headers=staff)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"
        assert (await client.get("/api/v1/jobs/0", headers=staff)).status_code == 422

        listed = await client.get("/api/v1/jobs", params={"state": "running"}, headers=staff)
        assert [j["id"] for j in listed.json()["jobs"]] == [job.id], listed.text
        assert listed.json()["jobs"][0]["progress"]["done"] == 5
        other = await client.get("/api/v1/jobs", params={"kind": "exchange_fetch"},
                                 headers=staff)
        assert other.json() == {"jobs": []}
        bad = await client.get("/api/v1/jobs", params={"state": "stuck"}, headers=staff)
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_state"
        too_many = await client.get("/api/v1/jobs", params={"limit": 101}, headers=staff)
        assert too_many.status_code == 422
        assert (await client.get("/api/v1/jobs", headers=user)).status_code == 403

        finish.set()
        deadline = time.monotonic() + 10
        while (body := (await client.get(f"/api/v1/jobs/{job.id}", headers=staff)).json()
               )["state"] != "done":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert body["result"] == {"matches": 0} and body["progress"]["fraction"] == 1.0
