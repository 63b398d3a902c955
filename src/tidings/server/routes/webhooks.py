"""Admin API for outbound webhooks: endpoints, their events and their delivery log."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tidings.server.bodies import StrictBody
from tidings.server.deps import require_role
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.webhooks import EVENTS, LOG_PAGE_MAX, URL_MAX, URL_PATTERN, WebhookService

router = APIRouter(prefix="/api/v1/admin/webhooks", tags=["webhooks"])

ADMIN = Depends(require_role("admin"))
READ = Depends(require_role("admin", "auditor"))
ENDPOINT_ID = Path(ge=1, lt=2**63)
Event = Literal[tuple(EVENTS)]  # type: ignore[valid-type]
"""The events an endpoint may ask for (published as an enum)."""


def webhooks(request: Request) -> WebhookService:
    svc: WebhookService = kernel_of(request).webhooks
    return svc


class EndpointIn(StrictBody):
    model_config = ConfigDict(extra="forbid", strict=True)
    url: str = Field(min_length=1, max_length=URL_MAX, pattern=URL_PATTERN,
                     description="http(s), an ASCII host, an optional port, no user or "
                     "password, no spaces or control characters")
    events: list[Event] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=len(EVENTS))
    description: str = Field(default="", max_length=200)


class EndpointOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    created_by: str
    created_at: int


class CreatedEndpoint(EndpointOut):
    secret: str = Field(description="The signing secret, shown once: store it now")


class EndpointList(BaseModel):
    endpoints: list[EndpointOut]
    events: dict[str, str] = Field(description="Every event an endpoint can ask for")


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: int
    event: str
    event_key: str
    state: str = Field(description="pending, retrying, delivered or failed")
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]


@router.post("", status_code=201, operation_id="create_webhook", response_model=CreatedEndpoint)
async def create_webhook(body: EndpointIn, who: Principal = ADMIN,
                         svc: WebhookService = Depends(webhooks)) -> CreatedEndpoint:
    """Register an endpoint for some events; the answer carries its signing secret once."""
    endpoint, secret = await svc.create(body.url, body.events, body.description, who.username)
    return CreatedEndpoint(**endpoint.to_json(), secret=secret)


@router.get("", operation_id="list_webhooks", response_model=EndpointList)
async def list_webhooks(_: Principal = READ,
                        svc: WebhookService = Depends(webhooks)) -> EndpointList:
    """The endpoints (without their secrets) and the events there are."""
    return EndpointList(endpoints=[EndpointOut(**e.to_json()) for e in await svc.endpoints()],
                        events=dict(EVENTS))


@router.delete("/{endpoint_id}", status_code=204, operation_id="delete_webhook")
async def delete_webhook(endpoint_id: int = ENDPOINT_ID, _: Principal = ADMIN,
                         svc: WebhookService = Depends(webhooks)) -> Response:
    """Stop sending to an endpoint and forget its delivery log."""
    await svc.delete(endpoint_id)
    return Response(status_code=204)


@router.get("/{endpoint_id}/deliveries", operation_id="list_webhook_deliveries",
            response_model=DeliveryList)
async def list_deliveries(endpoint_id: int = ENDPOINT_ID,
                          limit: int = Query(50, ge=1, le=LOG_PAGE_MAX), _: Principal = READ,
                          svc: WebhookService = Depends(webhooks)) -> DeliveryList:
    """The newest deliveries to an endpoint: state, attempts, last answer or error."""
    return DeliveryList(deliveries=[DeliveryOut(**d.to_json())
                                    for d in await svc.deliveries(endpoint_id, limit)])
