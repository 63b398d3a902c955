"""Results of the removal-order, preservation and authority routes."""

from __future__ import annotations

from tidings.protocol.api import Result


class OrderTarget(Result):
    kind: str
    ref: str
    url: str | None


class Scope(Result):
    basis: str
    legal_basis: str
    label: str
    category: str | None
    territorial_scope: list[str]
    target: OrderTarget


class OrderAnswer(Result):
    """What both of the provider's answers to an order (Annex II, Annex III) name first."""
    form: str
    order_id: str
    order_reference: str
    issuing_authority: str
    member_state: str
    received_at: str | None


class Confirmation(OrderAnswer):
    """Annex II of Regulation (EU) 2021/784 (or the DSA Art. 9(1) effect given)."""
    received_ms: int
    target: OrderTarget
    action: str
    removed: bool
    removed_at: str | None
    removed_ms: int | None
    within_one_hour: bool
    territorial_scope: str | list[str]
    hosting_service_provider: str
    contact_point: str
    category: str | None = None


class CannotComplyAnswer(OrderAnswer):
    """Annex III: why the order was not executed."""
    target: OrderTarget
    reason: str | None
    details: str | None
    answered_at: str | None
    hosting_service_provider: str
    contact_point: str


class PreservedTarget(Result):
    kind: str
    ref: str


class Preserved(Result):
    id: str
    target: PreservedTarget
    cause: str
    order_id: str | None
    case_id: str | None
    created_ms: int
    expires_ms: int
    extensions: int
    restored_ms: int | None


class ExecutionError(Result):
    code: str
    message: str


class Order(Result):
    id: str
    reference: str
    authority_name: str
    member_state: str
    target: OrderTarget
    legal_basis: str
    reasons: str
    label: str
    status: str
    received_ms: int
    completed_ms: int | None
    answered_ms: int | None
    deadline_ms: int
    remaining_ms: int | None
    overdue: bool
    withhold_until_ms: int | None
    withhold_extensions: int
    notice_sent_ms: int | None
    case_id: str | None
    cannot_comply_reason: str | None
    cannot_comply_details: str | None
    confirmation: Confirmation | None
    answer: CannotComplyAnswer | None
    scope: Scope
    needs_confirmation: bool
    confirmed_ms: int | None
    confirmed_by: str | None
    preservation: list[Preserved] | None = None
    """What was preserved for the order (one order read; not in lists)."""
    execution_error: ExecutionError | None = None
    """The target could not be disabled (the order stays open)."""


class NewAuthority(Result):
    username: str
    role: str
    authority_name: str
    member_state: str
    token: str
    """Its access token, shown once."""
    device_id: str
