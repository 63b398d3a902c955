"""Private messages over HTTP, and the gateway hook that serves WebSocket ``send`` frames."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, TidingsError
from tidings.protocol.limits import RateRule
from tidings.protocol.messages import (
    BASE64_PATTERN,
    COMMITMENT_PATTERN,
    ID_PATTERN,
    BadSend,
    MessageFormatError,
    SendFrame,
    parse_send,
    send_error_frame,
    sent_frame,
)
from tidings.server.bodies import StrictBody
from tidings.server.deps import check_rates, principal, rate_limit
from tidings.server.metrics import Metrics
from tidings.server.ratelimit import RateLimiter
from tidings.server.state import edge_of, kernel_of
from tidings.services.accounts import Principal
from tidings.services.messages import MessageService

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


async def messages(request: Request) -> MessageService:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a thread hop
    # per send for a dictionary lookup (it showed in the send path's profile).
    service: MessageService = kernel_of(request).messages
    return service


def _id(max_chars: int, **kwargs: Any) -> Any:
    return Field(max_length=max_chars, json_schema_extra={"minLength": 1, "pattern": ID_PATTERN},
                 **kwargs)


class Ciphertext(StrictBody):
    type: int = Field(description="Olm message type: 0 pre-key, 1 normal.",
                      json_schema_extra={"enum": [0, 1]})
    body: str = Field(max_length=limits.MESSAGE_CIPHERTEXT_MAX_CHARS,
                      json_schema_extra={"minLength": 1, "pattern": BASE64_PATTERN})


class EnvelopeIn(StrictBody):
    device_id: str = _id(64)
    ciphertext: Ciphertext


class SendIn(StrictBody):
    """The rules ``protocol/messages.parse_send`` checks (400, its codes), published;
    strict types and no unknown fields, as every body (a WebSocket ``send`` frame adds
    ``type`` and ``ref``)."""

    client_id: str = _id(limits.MESSAGE_CLIENT_ID_MAX,
                         description="Idempotency key: a retry with it is not stored twice.")
    to: str = Field(max_length=limits.USERNAME_MAX * 4, json_schema_extra={"minLength": 1})
    to_device: str | None = _id(64, default=None,
                                description="Only for device-to-device control messages.")
    commitment: str = Field(max_length=64, json_schema_extra={"pattern": COMMITMENT_PATTERN},
                            description="Franking commitment, base64 of 32 bytes.")
    expires_in_ms: int | None = Field(
        default=None, description="Disappearing message timer (else 400 ``bad_timer``).",
        json_schema_extra={"minimum": limits.DISAPPEAR_MIN_MS,
                           "maximum": limits.DISAPPEAR_MAX_MS})
    envelopes: list[EnvelopeIn] = Field(max_length=limits.MESSAGE_ENVELOPES_MAX,
                                        json_schema_extra={"minItems": 1})


class SentOut(BaseModel):
    id: str
    ts: int


@router.post("", operation_id="send_message", response_model=SentOut,
             dependencies=[Depends(rate_limit("send"))])
async def send(request: Request, body: SendIn, who: Principal = Depends(principal),
               svc: MessageService = Depends(messages)) -> SentOut:
    """Relay one Olm ciphertext per device; answered once stored durably.

    409 ``mismatched_devices`` (details: ``missing``, ``extra``) when the envelopes do not
    cover exactly the recipient's devices and your other devices; 404 ``user_not_found``
    for an unknown ``to``. One rule the schema cannot state: one envelope per device
    (two with the same ``device_id``: 400 ``duplicate_device``).
    """
    try:
        parsed = parse_send(body.model_dump(exclude_none=True))
    except MessageFormatError as exc:
        raise BadRequest(exc.message, exc.code) from exc
    sent = await svc.send(who, parsed)
    metrics: Metrics = edge_of(request).metrics
    metrics.messages_sent.labels("http").inc()
    return SentOut(id=sent.id, ts=sent.ts)


def ws_send_hook(svc: MessageService, limiter: RateLimiter, rules: dict[str, RateRule],
                 metrics: Metrics | None = None) -> Any:
    """The gateway's ``send`` handler: one frame in, one ``sent`` or ``error`` frame out.

    A send over the rate gets an ``error`` frame (code ``rate_limited``, details
    ``retry_after`` in seconds) and the connection stays open, as HTTP answers 429.
    """

    async def handle(who: Principal, frame: SendFrame | BadSend) -> str:
        if isinstance(frame, BadSend):
            reply = send_error_frame(frame.ref, frame.code, frame.message)
        else:
            try:
                await check_rates(limiter, rules, who, "send")
                sent = await svc.send(who, frame.request)
                if metrics is not None:
                    metrics.messages_sent.labels("websocket").inc()
                reply = sent_frame(frame.ref, sent.id, sent.ts)
            except TidingsError as exc:
                reply = send_error_frame(frame.ref, exc.code, exc.message, exc.details,
                                         exc.status)
        return json.dumps(reply, separators=(",", ":"))

    return handle
