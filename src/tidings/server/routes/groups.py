"""Private groups over HTTP: membership management and Megolm message relay."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from tidings.protocol import limits
from tidings.protocol.api.messaging import Group, Groups
from tidings.protocol.messages import BASE64_PATTERN, COMMITMENT_PATTERN
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.deps import principal, rate_limit
from tidings.server.openapi import typed
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.groups import GroupSend, GroupService

router = APIRouter(prefix="/api/v1/groups", tags=["groups"])


def groups(request: Request) -> GroupService:
    service: GroupService = kernel_of(request).groups
    return service


class CreateIn(StrictBody):
    title: str = published.field(published.GROUP_TITLE, limits.GROUP_TITLE_MAX)
    members: list[str] = Field(default_factory=list, max_length=limits.GROUP_MEMBERS_MAX + 1)
    admins: list[str] = Field(default_factory=list, max_length=limits.GROUP_ADMINS_MAX)


class UsersIn(StrictBody):
    users: list[str] = Field(max_length=limits.GROUP_MEMBERS_MAX + 1, json_schema_extra={
        "minItems": 1, "maxItems": limits.GROUP_CHANGE_USERS_MAX})
    """Published: what the service takes (1..GROUP_CHANGE_USERS_MAX, else 400)."""


class TitleIn(StrictBody):
    title: str = published.field(published.GROUP_TITLE, limits.GROUP_TITLE_MAX)


TimerMs = Annotated[int, Field(ge=0, lt=2**53, json_schema_extra={
    "minimum": limits.DISAPPEAR_MIN_MS, "maximum": limits.DISAPPEAR_MAX_MS})]
"""Published: the timers the service sets (else 400 ``bad_timer``)."""


class TimerIn(StrictBody):
    timer_ms: TimerMs | None = None
    """null clears the timer."""


class GroupSendIn(StrictBody):
    client_id: str = Field(max_length=limits.MESSAGE_CLIENT_ID_MAX, min_length=1)
    session_id: str = Field(max_length=limits.GROUP_SESSION_ID_MAX, min_length=1)
    ciphertext: str = Field(max_length=limits.GROUP_CIPHERTEXT_MAX_CHARS, min_length=1,
                            pattern=BASE64_PATTERN,
                            description="The Megolm message, base64; stored once.")
    """Base64 (ASCII): the longest one the schema allows fits in ``MAX_BODY_BYTES``, as
    any string of that many characters would not (413 for a schema-valid body)."""
    commitment: str = Field(max_length=64, json_schema_extra={"pattern": COMMITMENT_PATTERN},
                            description="Franking commitment, base64 of 32 bytes (else 400 "
                            "``bad_commitment``).")


class SentOut(BaseModel):
    id: str
    ts: int


@router.post("", **typed(Group))
async def create(body: CreateIn, who: Principal = Depends(principal),
                 svc: GroupService = Depends(groups)) -> dict[str, Any]:
    """Create a group; you are an admin. 422 ``content_rejected`` for a rejected title,
    422 ``group_full`` beyond ``GROUP_MEMBERS_MAX`` members."""
    return (await svc.create(who, body.title, body.members, body.admins)).to_json()


@router.get("", operation_id="my_groups", **typed(Groups))
async def mine(who: Principal = Depends(principal),
               svc: GroupService = Depends(groups)) -> dict[str, Any]:
    return {"groups": [{"id": g.id, "title": g.title, "timer_ms": g.timer_ms}
                       for g in await svc.mine(who)]}


@router.get("/{gid}", **typed(Group))
async def get(gid: str, who: Principal = Depends(principal),
              svc: GroupService = Depends(groups)) -> dict[str, Any]:
    return (await svc.get(who, gid)).to_json()


@router.post("/{gid}/members", **typed(Group))
async def add(gid: str, body: UsersIn, who: Principal = Depends(principal),
              svc: GroupService = Depends(groups)) -> dict[str, Any]:
    return (await svc.add(who, gid, body.users)).to_json()


@router.delete("/{gid}/members/{user}", **typed(Group))
async def remove(gid: str, user: str = published.user_path(), who: Principal = Depends(principal),
                 svc: GroupService = Depends(groups)) -> dict[str, Any]:
    return (await svc.remove(who, gid, user)).to_json()


@router.post("/{gid}/leave", **typed(Group))
async def leave(gid: str, who: Principal = Depends(principal),
                svc: GroupService = Depends(groups)) -> dict[str, Any]:
    return (await svc.leave(who, gid)).to_json()


@router.put("/{gid}/title", **typed(Group))
async def title(gid: str, body: TitleIn, who: Principal = Depends(principal),
                svc: GroupService = Depends(groups)) -> dict[str, Any]:
    return (await svc.set_title(who, gid, body.title)).to_json()


@router.put("/{gid}/timer", **typed(Group))
async def timer(gid: str, body: TimerIn, who: Principal = Depends(principal),
                svc: GroupService = Depends(groups)) -> dict[str, Any]:
    return (await svc.set_timer(who, gid, body.timer_ms)).to_json()


@router.post("/{gid}/messages", operation_id="send_group_message", response_model=SentOut,
             dependencies=[Depends(rate_limit("send"))])
async def send(gid: str, body: GroupSendIn, response: Response,
               who: Principal = Depends(principal),
               svc: GroupService = Depends(groups)) -> SentOut:
    """Relay one Megolm ciphertext to every member device; answered once durable.

    ``Server-Timing: store;dur=<ms>`` says how long storing (and publishing) took.
    """
    started = time.perf_counter()
    sent = await svc.send(who, gid, GroupSend(body.client_id, body.session_id,
                                              body.ciphertext, body.commitment))
    response.headers["server-timing"] = f"store;dur={(time.perf_counter() - started) * 1000:.1f}"
    return SentOut(id=sent.id, ts=sent.ts)
