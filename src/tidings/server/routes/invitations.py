"""Group invitations over HTTP (issue 20): being added to a group is being asked.

Only the invitee sees their invitations; declining is silent to the inviter.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from tidings.protocol.api.messaging import Group, Invitations
from tidings.server.deps import principal
from tidings.server.openapi import typed
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.groups import GroupService

router = APIRouter(prefix="/api/v1/invitations", tags=["groups"])


def groups(request: Request) -> GroupService:
    service: GroupService = kernel_of(request).groups
    return service


@router.get("", operation_id="my_invitations", **typed(Invitations))
async def mine(who: Principal = Depends(principal),
               svc: GroupService = Depends(groups)) -> dict[str, Any]:
    """Your pending group invitations: the group id and who invited you (no title or
    members: nothing of the group reaches you before you accept)."""
    return {"invitations": await svc.invitations_of(who)}


@router.post("/{gid}/accept", operation_id="accept_invitation", **typed(Group))
async def accept(gid: str, who: Principal = Depends(principal),
                 svc: GroupService = Depends(groups)) -> dict[str, Any]:
    """Join the group; 404 ``no_invitation``, 409 ``too_many_groups``."""
    return (await svc.accept(who, gid[:64])).to_json()


@router.post("/{gid}/decline", status_code=204)
async def decline(gid: str, who: Principal = Depends(principal),
                  svc: GroupService = Depends(groups)) -> Response:
    await svc.decline(who, gid[:64])
    return Response(status_code=204)
