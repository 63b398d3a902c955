"""Accounts and devices."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from tidings.protocol import limits
from tidings.protocol.control import EndReason
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.deps import accounts, principal, rate_limit
from tidings.server.login_guard import guarded_login
from tidings.server.state import kernel_of
from tidings.services.accounts import AccountService, Principal, Session
from tidings.services.groups import GroupService

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


class Credentials(StrictBody):
    username: str = published.field(published.USERNAME, limits.USERNAME_MAX)
    password: str = Field(max_length=limits.PASSWORD_MAX,
                          json_schema_extra={"minLength": limits.PASSWORD_MIN})
    device_name: str = published.field(published.DEVICE_NAME, limits.DEVICE_NAME_MAX,
                                       default="device")


class SessionOut(BaseModel):
    username: str
    role: str
    device_id: str
    token: str = Field(description="Shown once; keep it secret.")


class DeviceOut(BaseModel):
    id: str
    name: str
    created_at: int
    last_seen_at: int
    current: bool


class MeOut(BaseModel):
    username: str
    role: str
    device_id: str


class DeletePassword(StrictBody):
    password: str = Field(max_length=limits.PASSWORD_MAX)


def _session(s: Session) -> SessionOut:
    return SessionOut(username=s.principal.username, role=s.principal.role,
                      device_id=s.device.id, token=s.token)


@router.post("/register", status_code=201, response_model=SessionOut,
             dependencies=[Depends(rate_limit("register"))])
async def register(body: Credentials, svc: AccountService = Depends(accounts)) -> SessionOut:
    """Create an account and log this device in.

    Rules no JSON Schema states (400 ``weak_password``): the password, lower-cased, is
    not one of the server's list of common passwords and does not contain the
    username. State: a taken name or a lookalike of one 409 ``username_taken``,
    ``username_confusable``; a reserved name 409 ``reserved_username``."""
    return _session(await svc.register(body.username, body.password, body.device_name))


@router.post("/login", response_model=SessionOut, dependencies=[Depends(rate_limit("login"))])
async def login(body: Credentials, request: Request) -> SessionOut:
    """Log a new device in (each login is a new device with its own token).

    Wrong passwords start an exponential lockout (429 with Retry-After, code
    ``login_locked``) for the username from that address, and after many from
    anywhere for the username from addresses it has not logged in from lately; a
    successful login clears the first (server/ratelimit.py explains the design).
    """
    return _session(await guarded_login(request, body.username, body.password,
                                        body.device_name))


@router.get("/me", response_model=MeOut)
async def me(who: Principal = Depends(principal)) -> MeOut:
    return MeOut(username=who.username, role=who.role, device_id=who.device_id)


@router.post("/logout", status_code=204)
async def logout(who: Principal = Depends(principal),
                 svc: AccountService = Depends(accounts)) -> Response:
    """Revoke this device's token; its live connections close."""
    await svc.revoke_device(who, who.device_id, EndReason.LOGGED_OUT)
    return Response(status_code=204)


@router.get("/devices", response_model=list[DeviceOut])
async def list_devices(who: Principal = Depends(principal),
                       svc: AccountService = Depends(accounts)) -> list[DeviceOut]:
    return [DeviceOut(id=d.id, name=d.name, created_at=d.created_at,
                      last_seen_at=d.last_seen_at, current=d.id == who.device_id)
            for d in await svc.devices(who)]


@router.delete("/devices/{device_id}", status_code=204)
async def revoke_device(device_id: str, who: Principal = Depends(principal),
                        svc: AccountService = Depends(accounts)) -> Response:
    """Log out one of your own devices."""
    await svc.revoke_device(who, device_id[:64])
    return Response(status_code=204)


@router.post("/delete", status_code=204)
async def delete_account(body: DeletePassword, request: Request,
                         who: Principal = Depends(principal),
                         svc: AccountService = Depends(accounts)) -> Response:
    """Delete your account: all devices log out, keys and queued messages go, and it
    leaves every group (the members are told) and loses its invitations."""
    await svc.delete_account(who, body.password)
    groups: GroupService = kernel_of(request).groups
    await groups.leave_all(who)
    return Response(status_code=204)
