"""The key directory: upload, query and claim device keys (services/keys.py has the rules)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tidings.protocol import limits
from tidings.protocol.api.messaging import DeviceKeysRecord, OneTimeKeyRecord
from tidings.server.bodies import StrictBody
from tidings.server.deps import principal, rate_limit
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.keys import KeyService

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


def keys(request: Request) -> KeyService:
    service: KeyService = kernel_of(request).keys
    return service


class UploadIn(StrictBody):
    device_keys: dict[str, Any] | None = Field(
        default=None, description="The DeviceKeys record, signed with its Ed25519 key.")
    one_time_keys: list[dict[str, Any]] = Field(
        default_factory=list, max_length=limits.KEYS_UPLOAD_OTK_MAX,
        description="Signed one-time keys (fallback false).")
    fallback_key: dict[str, Any] | None = Field(
        default=None, description="A signed fallback key (fallback true); replaces the old one.")


class CountOut(BaseModel):
    one_time_key_count: int


class QueryIn(StrictBody):
    users: list[str] = Field(max_length=limits.KEYS_QUERY_USERS_MAX)


class QueryOut(BaseModel):
    devices: dict[str, dict[str, DeviceKeysRecord]] = Field(
        description="username -> device_id -> signed DeviceKeys record.")


class ClaimIn(StrictBody):
    devices: dict[str, list[str]] = Field(
        description="username -> device ids; an empty list claims for every device.")


class ClaimOut(BaseModel):
    one_time_keys: dict[str, dict[str, OneTimeKeyRecord]] = Field(
        description="username -> device_id -> signed one-time (or fallback) key.")


@router.post("/upload", operation_id="upload_keys", response_model=CountOut)
async def upload(body: UploadIn, who: Principal = Depends(principal),
                 svc: KeyService = Depends(keys)) -> CountOut:
    """Publish this device's identity keys (once), one-time keys and fallback key."""
    count = await svc.upload(who, body.device_keys, body.one_time_keys, body.fallback_key)
    return CountOut(one_time_key_count=count)


@router.get("/count", response_model=CountOut)
async def count(who: Principal = Depends(principal), svc: KeyService = Depends(keys)
                ) -> CountOut:
    return CountOut(one_time_key_count=await svc.count(who))


@router.post("/query", response_model=QueryOut)
async def query(body: QueryIn, _: Principal = Depends(principal),
                svc: KeyService = Depends(keys)) -> QueryOut:
    """Signed device records of the named users (verify them before use)."""
    return QueryOut(devices=await svc.query(body.users))


@router.post("/claim", operation_id="claim_keys", response_model=ClaimOut,
             dependencies=[Depends(rate_limit("key_claim_device")),
                           Depends(rate_limit("key_claim_account"))])
async def claim(body: ClaimIn, who: Principal = Depends(principal),
                svc: KeyService = Depends(keys)) -> ClaimOut:
    """Take one one-time key per device (never the same twice); the fallback key when none
    is left, or beyond the claim limits (one fresh key per claimer per device a day,
    ``KEY_CLAIM_PER_DEVICE_MAX`` per device an hour), so nobody can drain a device."""
    return ClaimOut(one_time_keys=await svc.claim(who, body.devices))
