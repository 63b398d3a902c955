"""The device event stream over plain HTTP (for clients that poll instead of holding a socket)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from tidings.protocol import limits
from tidings.server.bodies import StrictBody
from tidings.server.deps import principal, streams
from tidings.services.accounts import Principal
from tidings.services.streams import StreamService

router = APIRouter(prefix="/api/v1/stream", tags=["stream"])


class EventOut(BaseModel):
    seq: int
    kind: str
    ts: int
    body: dict[str, Any]


class StreamPage(BaseModel):
    events: list[EventOut]
    head: int


class AckIn(StrictBody):
    upto: int = Field(ge=0, lt=2**63)


class AckOut(BaseModel):
    deleted: int


@router.get("", response_model=StreamPage)
async def read_stream(since: int = Query(0, ge=0, lt=2**63),
                      limit: int = Query(limits.WS_REPLAY_BATCH, ge=1,
                                         le=limits.WS_REPLAY_BATCH),
                      who: Principal = Depends(principal),
                      svc: StreamService = Depends(streams)) -> StreamPage:
    events = await svc.read(who.device_id, since, limit)
    return StreamPage(
        events=[EventOut(seq=e.seq, kind=e.kind, ts=e.created_at, body=json.loads(e.body))
                for e in events],
        head=await svc.head(who.device_id))


@router.post("/ack", response_model=AckOut)
async def ack(body: AckIn, who: Principal = Depends(principal),
              svc: StreamService = Depends(streams)) -> AckOut:
    """Acknowledge everything up to ``upto``; the server then deletes it."""
    return AckOut(deleted=await svc.ack(who.device_id, body.upto))
