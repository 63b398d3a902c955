"""The key directory: upload, query and claim device keys (services/keys.py has the rules)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tidings.protocol import limits
from tidings.protocol.api.messaging import DeviceKeysRecord, OneTimeKeyRecord
from tidings.protocol.keys import (
    CURVE25519_KEY_BYTES,
    ED25519_KEY_BYTES,
    ED25519_SIGNATURE_BYTES,
    ID_PATTERN,
    KEY_LIMITS_MAX_DEVICE_ID_CHARS,
    KEY_LIMITS_MAX_KEY_ID_CHARS,
    KEY_LIMITS_MAX_USER_ID_CHARS,
    TEXT_PATTERN,
    b64_pattern,
)
from tidings.server.bodies import StrictBody
from tidings.server.deps import principal, rate_limit
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.keys import KeyService

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


def keys(request: Request) -> KeyService:
    service: KeyService = kernel_of(request).keys
    return service


def _b64(size: int) -> Any:
    return Field(max_length=2 * size, json_schema_extra={"pattern": b64_pattern(size)})


def _id(max_chars: int) -> Any:
    return Field(max_length=max_chars, json_schema_extra={"minLength": 1, "pattern": ID_PATTERN})


class DeviceKeysIn(StrictBody):
    """``protocol/keys.DeviceKeys``, published and checked here (422); the service checks
    it again as it does records from any source (400 ``bad_key_format``)."""

    user: str = Field(max_length=KEY_LIMITS_MAX_USER_ID_CHARS,
                      json_schema_extra={"minLength": 1, "pattern": TEXT_PATTERN})
    device_id: str = _id(KEY_LIMITS_MAX_DEVICE_ID_CHARS)
    curve25519: str = _b64(CURVE25519_KEY_BYTES)
    ed25519: str = _b64(ED25519_KEY_BYTES)
    signature: str = _b64(ED25519_SIGNATURE_BYTES)


class _KeyIn(StrictBody):
    """``protocol/keys.OneTimeKey`` (as :class:`DeviceKeysIn`)."""

    key_id: str = _id(KEY_LIMITS_MAX_KEY_ID_CHARS)
    key: str = _b64(CURVE25519_KEY_BYTES)
    signature: str = _b64(ED25519_SIGNATURE_BYTES)


class OneTimeKeyIn(_KeyIn):
    fallback: Literal[False]


class FallbackKeyIn(_KeyIn):
    fallback: Literal[True]


class UploadIn(StrictBody):
    device_keys: DeviceKeysIn | None = Field(
        default=None, description="The DeviceKeys record, signed with its Ed25519 key.")
    one_time_keys: list[OneTimeKeyIn] = Field(
        default_factory=list, max_length=limits.KEYS_UPLOAD_OTK_MAX,
        description="Signed one-time keys (fallback false).")
    fallback_key: FallbackKeyIn | None = Field(
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
    """Publish this device's identity keys (once), one-time keys and fallback key.

    Rules no JSON Schema states: ``device_keys`` names your own user and device (else
    403 ``not_your_device``) and its ``signature`` verifies with its ``ed25519`` key over
    the record (``protocol/keys.DeviceKeys.signed_bytes``); every one-time and fallback
    key is signed by the Ed25519 key this device published (else 400 ``bad_signature``);
    the key ids of one upload differ (else 400 ``duplicate_key_id``). State: one-time
    keys before the device keys 409 ``no_device_keys``; other identity keys than the ones
    published 409 ``identity_key_change``; more than ``KEYS_STORED_OTK_MAX`` unclaimed
    keys 409 ``too_many_keys``."""
    dump = BaseModel.model_dump
    count = await svc.upload(
        who, dump(body.device_keys) if body.device_keys is not None else None,
        [dump(k) for k in body.one_time_keys],
        dump(body.fallback_key) if body.fallback_key is not None else None)
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
