"""Console pages for removal orders: open orders with the one-hour countdown of TCO
Art. 3(3), overdue ones first, and each order's detail with the staff answers.

Server-rendered without JavaScript (the CSP forbids it): the list page refreshes
itself every 30 seconds with a meta refresh, so the countdown stays current.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.moderation.orders import CannotComply
from tidings.protocol.errors import Forbidden, TidingsError
from tidings.server.routes.console import login_redirect, render, templates
from tidings.server.routes.review_console import DECIDERS, STAFF, _form_user, _page
from tidings.server.state import kernel_of
from tidings.services.orders import OrderService

router = APIRouter(prefix="/console", include_in_schema=False)
SECTIONS: Final[list[dict[str, Any]]] = [
    {"title": "Removal orders", "href": "/console/orders", "roles": STAFF,
     "about": "orders of competent authorities (TCO Art. 3): one hour to act"},
]
REFRESH_S: Final = 30


def countdown(ms: int | None) -> str:
    """Time left on the clock for people: "41 min left", or how late it is."""
    if ms is None:
        return "—"
    minutes = abs(ms) // 60_000
    text = f"{minutes // 60} h {minutes % 60} min" if minutes > 60 else f"{minutes} min"
    return f"{text} left" if ms >= 0 else f"overdue by {text}"


templates.env.filters["countdown"] = countdown


def _orders(request: Request) -> OrderService:
    found: OrderService = kernel_of(request).orders
    return found


@router.get("/orders", response_class=HTMLResponse)
async def orders_page(request: Request) -> Response:
    page = await _page(request)
    if page is None:
        return login_redirect()
    who, context = page
    svc = _orders(request)
    open_orders = await svc.orders(who, "open")
    open_orders.sort(key=lambda o: o["deadline_ms"])
    overdue = [o for o in open_orders if o["overdue"]]
    pending = [o for o in open_orders if not o["overdue"]]
    answered = [o for o in await svc.orders(who, None, 50) if o["status"] != "open"]
    return render(request, "console/orders.html", overdue=overdue, pending=pending,
                  answered=answered, refresh=REFRESH_S, **context)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(request: Request, order_id: str) -> Response:
    return await _order_view(request, order_id)


async def _order_view(request: Request, order_id: str, error: str = "", status: int = 200
                      ) -> Response:
    """The order page; after a refused form, with the server's own message (never text
    from the URL: see ``review_console._case_view``)."""
    page = await _page(request)
    if page is None:
        return login_redirect()
    who, context = page
    try:
        order = await _orders(request).get(who, order_id[:40])
    except TidingsError as exc:
        return render(request, "console/missing.html", status=exc.status, message=exc.message,
                      **context)
    return render(request, "console/order.html", status=status, order=order, error=error,
                  reasons=[r.value for r in CannotComply], **context)


def _back(order_id: str) -> RedirectResponse:
    return RedirectResponse(f"/console/orders/{order_id}", status_code=303)


@router.post("/orders/{order_id}/cannot-comply")
async def cannot_comply(request: Request, order_id: str,
                        csrf: str = Form(default="", max_length=128),
                        reason: str = Form(max_length=32),
                        details: str = Form(default="", max_length=8000)) -> Response:
    who = await _form_user(request, csrf)
    try:
        if who.role not in DECIDERS:
            raise Forbidden("auditors cannot answer orders", "forbidden_role")
        await _orders(request).cannot_comply(who, order_id[:40], reason, details)
    except TidingsError as exc:
        return await _order_view(request, order_id, exc.message, exc.status)
    return _back(order_id)


@router.post("/orders/{order_id}/execute")
async def execute(request: Request, order_id: str,
                  csrf: str = Form(default="", max_length=128)) -> Response:
    who = await _form_user(request, csrf)
    try:
        if who.role not in DECIDERS:
            raise Forbidden("auditors cannot execute orders", "forbidden_role")
        result = await _orders(request).execute(who, order_id[:40])
    except TidingsError as exc:
        return await _order_view(request, order_id, exc.message, exc.status)
    error = result.get("execution_error")
    if error:
        return await _order_view(request, order_id, str(error.get("message") or error["code"]))
    return _back(order_id)
