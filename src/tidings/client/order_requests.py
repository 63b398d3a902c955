"""Pure request builders for removal orders, preservation and authority accounts (no I/O)."""

from __future__ import annotations

from typing import Any

from tidings.client.requests import API, Request
from tidings.protocol.api.orders import (
    CannotComplyAnswer,
    Confirmation,
    NewAuthority,
    Order,
    Preserved,
)


def submit_order(target: str, legal_basis: str, reasons: str, reference: str,
                 label: str | None = None, withhold_days: int | None = None,
                 basis: str | None = None, category: str | None = None,
                 territorial_scope: list[str] | None = None) -> Request:
    body: dict[str, Any] = {"target": target, "legal_basis": legal_basis, "reasons": reasons,
                            "reference": reference}
    optional = {"label": label, "withhold_days": withhold_days, "basis": basis,
                "category": category, "territorial_scope": territorial_scope}
    body.update({k: v for k, v in optional.items() if v is not None})
    return Request("POST", f"{API}/orders", body, result=Order)


def confirm_order(order_id: str) -> Request:
    return Request("POST", f"{API}/orders/{order_id}/confirm", result=Order)


def order(order_id: str) -> Request:
    return Request("GET", f"{API}/orders/{order_id}", result=Order)


def orders(status: str | None = None, limit: int = 100) -> Request:
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = status
    return Request("GET", f"{API}/orders", params=params, result=list[Order])


def confirmation(order_id: str) -> Request:
    return Request("GET", f"{API}/orders/{order_id}/confirmation",
                   result=Confirmation | CannotComplyAnswer)


def cannot_comply(order_id: str, reason: str, details: str) -> Request:
    return Request("POST", f"{API}/orders/{order_id}/cannot-comply",
                   {"reason": reason, "details": details}, result=Order)


def execute(order_id: str) -> Request:
    return Request("POST", f"{API}/orders/{order_id}/execute", result=Order)


def extend_withholding(order_id: str) -> Request:
    return Request("POST", f"{API}/orders/{order_id}/withholding/extend", result=Order)


def preserved(item_id: str) -> Request:
    return Request("GET", f"{API}/preservation/{item_id}")


def preserved_items(limit: int = 100) -> Request:
    return Request("GET", f"{API}/preservation", params={"limit": limit}, result=list[Preserved])


def preserved_blob(item_id: str, sha256: str) -> Request:
    return Request("GET", f"{API}/preservation/{item_id}/blobs/{sha256}", bytes_response=True)


def extend_preservation(item_id: str, months: int) -> Request:
    return Request("POST", f"{API}/preservation/{item_id}/extend", {"months": months},
                   result=Preserved)


def create_authority(username: str, authority_name: str, member_state: str) -> Request:
    return Request("POST", f"{API}/admin/authorities", {
        "username": username, "authority_name": authority_name, "member_state": member_state},
                   result=NewAuthority)
