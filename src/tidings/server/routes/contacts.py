"""Blocks and message requests over HTTP (services/contacts.py has the rules).

Only the owner reads or changes their lists; nothing here tells anyone else whether
they are blocked or whether their request was seen.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from tidings.protocol import limits
from tidings.protocol.api.messaging import Blocked, MessageRequests
from tidings.server.bodies import StrictBody
from tidings.server.deps import principal
from tidings.server.openapi import typed
from tidings.server.published import USERNAME, user_path
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.contacts import ContactService

router = APIRouter(prefix="/api/v1", tags=["contacts"])

_NAME = limits.USERNAME_MAX * 4


def contacts(request: Request) -> ContactService:
    service: ContactService = kernel_of(request).contacts
    return service


class BlockIn(StrictBody):
    user: str = Field(min_length=1, max_length=_NAME,
                      json_schema_extra={"pattern": USERNAME})


@router.post("/blocks", status_code=204)
async def block(body: BlockIn, who: Principal = Depends(principal),
                svc: ContactService = Depends(contacts)) -> Response:
    """Block a user: their messages, group invitations and typing never reach you, and
    the server answers them exactly as if you had not blocked them."""
    await svc.block(who, body.user)
    return Response(status_code=204)


@router.delete("/blocks/{user}", status_code=204)
async def unblock(user: str = user_path(), who: Principal = Depends(principal),
                  svc: ContactService = Depends(contacts)) -> Response:
    await svc.unblock(who, user)
    return Response(status_code=204)


@router.get("/blocks", **typed(Blocked))
async def blocked(who: Principal = Depends(principal),
                  svc: ContactService = Depends(contacts)) -> dict[str, Any]:
    """Your block list (only you can read it)."""
    return {"blocked": await svc.blocked(who)}


@router.get("/requests", **typed(MessageRequests))
async def requests(who: Principal = Depends(principal),
                   svc: ContactService = Depends(contacts)) -> dict[str, Any]:
    """People who wrote to you first and whom you have not accepted yet."""
    return {"requests": await svc.requests(who)}


@router.post("/requests/{user}/accept", operation_id="accept_request", status_code=204)
async def accept(user: str = user_path(), who: Principal = Depends(principal),
                 svc: ContactService = Depends(contacts)) -> Response:
    await svc.accept(who, user)
    return Response(status_code=204)


@router.delete("/requests/{user}", operation_id="delete_request", status_code=204)
async def delete(user: str = user_path(), who: Principal = Depends(principal),
                 svc: ContactService = Depends(contacts)) -> Response:
    await svc.delete_request(who, user)
    return Response(status_code=204)
