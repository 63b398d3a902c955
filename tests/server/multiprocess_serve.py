"""``tidings`` exactly as installed, plus one job kind the multi-process tests enqueue.

The server registers no job kinds of its own yet, so to show that a job enqueued twice
runs once across real ``tidings serve`` processes, each process started through this
module also handles ``scale_test``: it sleeps (``JOB_SECONDS``, or the payload's
``seconds``), then appends ``<pid> <job id> <payload n>`` to
``<data>/jobs-ran.log`` (O_APPEND; lines from several processes do not interleave).
Everything else is the real CLI: ``python -m tests.server.multiprocess_serve serve ...``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

import tidings.server.app as app_module
from tidings.cli.main import main
from tidings.config import Settings
from tidings.server.state import app_edge
from tidings.services.jobs import JobContext

JOB_KIND = "scale_test"
JOB_LOG = "jobs-ran.log"
JOB_SECONDS = 0.5
"""Long enough that the other processes poll while a job runs."""

_create_app = app_module.create_app


def create_app(settings: Settings, **kwargs: Any) -> FastAPI:
    app = _create_app(settings, **kwargs)
    original: Callable[[FastAPI], AbstractAsyncContextManager[Any]] = \
        app.router.lifespan_context
    log_path = settings.data_dir / JOB_LOG

    async def handler(ctx: JobContext) -> dict[str, Any]:
        await asyncio.sleep(float(ctx.payload.get("seconds", JOB_SECONDS)))
        line = f"{os.getpid()} {ctx.job.id} {ctx.payload.get('n')}\n".encode()
        fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        return {"pid": os.getpid()}

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with original(a):
            app_edge(a).kernel.job_runner.register(JOB_KIND, handler)
            yield

    app.router.lifespan_context = lifespan
    return app


app_module.create_app = create_app  # `tidings serve` imports it at call time

if __name__ == "__main__":
    main()
