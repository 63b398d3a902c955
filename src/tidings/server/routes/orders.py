"""Removal orders (TCO Art. 3), preservation (Art. 6) and authority accounts (thin routes).

Who may call what: authorities submit orders and read their own; moderators, auditors
and admins read every order; moderators and admins execute an open order again or
answer that it cannot be complied with; admins create authorities. Preserved items
are read by admins and the authority whose order caused them, nobody else.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import Field

from tidings.moderation.orders import WITHHOLD_MAX_DAYS
from tidings.protocol import limits
from tidings.protocol.api.orders import (
    CannotComplyAnswer,
    Confirmation,
    NewAuthority,
    Order,
    Preserved,
)
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.deps import require_role
from tidings.server.openapi import binary, typed
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.authorities import AuthorityService
from tidings.services.orders import OrderService
from tidings.services.preservation import PreservationService

router = APIRouter(tags=["removal orders"])

AUTHORITY = Depends(require_role("authority"))
READ_ORDERS = Depends(require_role("authority", "admin", "moderator", "auditor"))
DECIDE = Depends(require_role("admin", "moderator"))
PRESERVED = Depends(require_role("admin", "authority"))
ADMIN = Depends(require_role("admin"))
ORDER_ID = Path(min_length=1, max_length=40)
ITEM_ID = Path(min_length=1, max_length=40)


def orders(request: Request) -> OrderService:
    svc: OrderService = kernel_of(request).orders
    return svc


def preservation(request: Request) -> PreservationService:
    svc: PreservationService = kernel_of(request).preservation
    return svc


def authorities(request: Request) -> AuthorityService:
    svc: AuthorityService = kernel_of(request).authorities
    return svc


class OrderIn(StrictBody):
    target: str = Field(max_length=limits.ORDER_TARGET_MAX,
                        description="A public URL (/c/HANDLE, /c/HANDLE/POST) or "
                                    "post:ID, channel:ID-or-handle, account:ID-or-username")
    legal_basis: str = Field(max_length=limits.ORDER_TEXT_MAX)
    reasons: str = Field(max_length=limits.ORDER_TEXT_MAX)
    reference: str = Field(max_length=limits.ORDER_REFERENCE_MAX)
    label: str | None = Field(default=None, max_length=64,
                              description="category; default terrorist_content")
    withhold_days: int | None = Field(default=None, ge=0, le=WITHHOLD_MAX_DAYS,
                                      description="TCO Art. 11(3): withhold the notice to "
                                                  "the content provider (max 42 days)")
    basis: str | None = Field(default=None, max_length=16,
                              description="tco_art3 (TCO removal order, terrorist content "
                                          "only) or dsa_art9 (DSA Art. 9 order); default: "
                                          "from the regulation legal_basis cites")
    category: str | None = Field(default=None, max_length=80,
                                 description="dsa_art9: the DSA statement category "
                                             "(STATEMENT_CATEGORY_...)")
    territorial_scope: list[str] | None = Field(
        default=None, max_length=32, description="dsa_art9: Member States the order has "
        "effect in (default: the issuing one's)")


class CannotComplyIn(StrictBody):
    reason: str = Field(max_length=32, description="manifest_error, force_majeure, "
                        "de_facto_impossibility or insufficient_information")
    details: str = Field(max_length=limits.ORDER_TEXT_MAX)


class ExtendIn(StrictBody):
    months: int = Field(ge=1, le=6)


class AuthorityIn(StrictBody):
    username: str = Field(max_length=64, json_schema_extra={"pattern": published.USERNAME})
    authority_name: str = Field(max_length=limits.AUTHORITY_NAME_MAX,
                                json_schema_extra={"pattern": published.AUTHORITY_NAME})
    member_state: str = Field(max_length=8,
                              json_schema_extra={"enum": list(published.MEMBER_STATES)})


@router.post("/api/v1/orders", status_code=201, **typed(Order))
async def submit(body: OrderIn, who: Principal = AUTHORITY,
                 svc: OrderService = Depends(orders)) -> dict[str, Any]:
    """Submit a removal order. The target is disabled in this request; the answer holds
    the Annex II confirmation (``confirmation``), or ``execution_error`` and status
    ``open`` when disabling failed and staff must act within the hour."""
    return await svc.submit(who, target=body.target, legal_basis=body.legal_basis,
                            reasons=body.reasons, reference=body.reference, label=body.label,
                            withhold_days=body.withhold_days, basis=body.basis,
                            category=body.category, territorial_scope=body.territorial_scope)


@router.get("/api/v1/orders", **typed(list[Order]))
async def list_orders(status: str | None = Query(None, max_length=16),
                      limit: int = Query(100, ge=1, le=limits.ORDERS_PAGE_MAX),
                      who: Principal = READ_ORDERS,
                      svc: OrderService = Depends(orders)) -> list[dict[str, Any]]:
    """An authority's own orders; staff see all. Newest first."""
    return await svc.orders(who, status, limit)


@router.get("/api/v1/orders/{order_id}", **typed(Order))
async def get_order(order_id: str = ORDER_ID, who: Principal = READ_ORDERS,
                    svc: OrderService = Depends(orders)) -> dict[str, Any]:
    return await svc.get(who, order_id)


@router.get("/api/v1/orders/{order_id}/confirmation", **typed(Confirmation | CannotComplyAnswer))
async def get_confirmation(order_id: str = ORDER_ID, who: Principal = READ_ORDERS,
                           svc: OrderService = Depends(orders)) -> dict[str, Any]:
    """Annex II (removed) or Annex III (cannot comply); 409 while the order is open."""
    return await svc.confirmation(who, order_id)


@router.post("/api/v1/orders/{order_id}/withholding/extend", **typed(Order))
async def extend_withholding(order_id: str = ORDER_ID, who: Principal = AUTHORITY,
                             svc: OrderService = Depends(orders)) -> dict[str, Any]:
    """TCO Art. 11(3): withhold the notice six more weeks (once)."""
    return await svc.extend_withholding(who, order_id)


@router.post("/api/v1/orders/{order_id}/cannot-comply", **typed(Order))
async def cannot_comply(body: CannotComplyIn, order_id: str = ORDER_ID,
                        who: Principal = DECIDE,
                        svc: OrderService = Depends(orders)) -> dict[str, Any]:
    return await svc.cannot_comply(who, order_id, body.reason, body.details)


@router.post("/api/v1/orders/{order_id}/execute", **typed(Order))
async def execute(order_id: str = ORDER_ID, who: Principal = DECIDE,
                  svc: OrderService = Depends(orders)) -> dict[str, Any]:
    """Run an open order's disabling again (after a failure)."""
    return await svc.execute(who, order_id)


@router.post("/api/v1/orders/{order_id}/confirm", **typed(Order))
async def confirm(order_id: str = ORDER_ID, who: Principal = ADMIN,
                  svc: OrderService = Depends(orders)) -> dict[str, Any]:
    """Confirm an order that arrived above the authority's hourly rate (it was executed
    already; ``needs_confirmation`` orders are listed until confirmed)."""
    return await svc.confirm(who, order_id)


@router.get("/api/v1/preservation", **typed(list[Preserved]))
async def list_preserved(limit: int = Query(100, ge=1, le=limits.ORDERS_PAGE_MAX),
                         who: Principal = PRESERVED,
                         svc: PreservationService = Depends(preservation)
                         ) -> list[dict[str, Any]]:
    return await svc.items(who, limit)


@router.get("/api/v1/preservation/{item_id}")
async def get_preserved(item_id: str = ITEM_ID, who: Principal = PRESERVED,
                        svc: PreservationService = Depends(preservation)) -> dict[str, Any]:
    return await svc.get(who, item_id)


@router.get("/api/v1/preservation/{item_id}/blobs/{sha256}",
            **binary("application/octet-stream", "A preserved blob"))
async def get_preserved_blob(item_id: str = ITEM_ID,
                             sha256: str = Path(min_length=64, max_length=64),
                             who: Principal = PRESERVED,
                             svc: PreservationService = Depends(preservation)) -> Response:
    data = await svc.blob(who, item_id, sha256)
    return Response(data, media_type="application/octet-stream",
                    headers={"cache-control": "no-store",
                             "content-disposition": f'attachment; filename="{sha256[:16]}"'})


@router.post("/api/v1/preservation/{item_id}/extend", **typed(Preserved))
async def extend_preserved(body: ExtendIn, item_id: str = ITEM_ID,
                           who: Principal = PRESERVED,
                           svc: PreservationService = Depends(preservation)) -> dict[str, Any]:
    """TCO Art. 6(2): keep the item longer, at the authority's request."""
    return await svc.extend(who, item_id, body.months)


@router.post("/api/v1/admin/authorities", status_code=201, **typed(NewAuthority))
async def create_authority(body: AuthorityIn, _: Principal = ADMIN,
                           svc: AuthorityService = Depends(authorities)) -> dict[str, Any]:
    """Create a competent authority's account; the answer holds its token, once."""
    created = await svc.create(body.username, body.authority_name, body.member_state)
    return created.json()
