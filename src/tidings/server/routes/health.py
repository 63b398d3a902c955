"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from tidings.protocol.errors import TidingsError
from tidings.server.metrics import Metrics
from tidings.server.state import edge_of, kernel_of
from tidings.storage import migrate
from tidings.storage.database import Database

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


class Readiness(BaseModel):
    status: str
    """ready, or unready (503) with the ``reason``."""
    reason: str | None = None


_UNREADY: dict[int | str, dict[str, Any]] = {
    503: {"model": Readiness, "description": "Not ready: database or schema"}}


@router.get("/readyz", response_model=Readiness, responses=_UNREADY)
async def readyz(request: Request) -> Response:
    """The database answers and its schema is the one this code expects."""
    db: Database = kernel_of(request).db
    try:
        await migrate.check_current(db)
    except TidingsError as exc:
        return Response(status_code=503, media_type="application/json",
                        content=f'{{"status":"unready","reason":"{exc.code}"}}')
    except (OSError, SQLAlchemyError):
        return Response(status_code=503, media_type="application/json",
                        content='{"status":"unready","reason":"database_unreachable"}')
    return Response(media_type="application/json", content='{"status":"ready"}')


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    m: Metrics = edge_of(request).metrics
    db: Database = kernel_of(request).db
    store = kernel_of(request).streams.store
    bank_sync = kernel_of(request).bank_sync
    async with db.read() as conn:
        m.stream_backlog.set(await store.backlog(conn))
        await m.ops.refresh(conn, kernel_of(request).clock(),
                            matcher_entries=len(bank_sync.moderation.matcher),
                            matcher_version=bank_sync.version,
                            snapshot=bank_sync.snapshot_path)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
