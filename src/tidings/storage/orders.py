"""SQL store of authority accounts and removal orders. Every method runs inside a
transaction the caller owns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.protocol.errors import Conflict
from tidings.storage.order_schema import authorities, removal_orders
from tidings.storage.schema import users


@dataclass(frozen=True, slots=True)
class AuthorityRecord:
    user_id: int
    authority_name: str
    member_state: str
    created_ms: int


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: str
    authority_user_id: int
    authority_name: str
    member_state: str
    reference: str
    target_kind: str
    target_ref: str
    target_url: str | None
    legal_basis: str
    reasons: str
    label: str
    withhold_until_ms: int | None
    status: str
    received_ms: int
    completed_ms: int | None
    cannot_comply_reason: str | None
    cannot_comply_details: str | None
    answered_ms: int | None
    confirmation: str | None
    affected_user_id: int | None
    withhold_extensions: int
    notice_sent_ms: int | None
    case_id: str | None
    basis: str = "tco_art3"
    category: str | None = None
    territorial_scope: str | None = None
    """JSON list of Member States (ISO 3166-1 alpha-2)."""
    needs_confirmation: bool = False
    confirmed_ms: int | None = None
    confirmed_by: str | None = None

    def columns(self) -> dict[str, Any]:
        return asdict(self)


_ORDER_COLS = [removal_orders.c[f.name] for f in fields(OrderRow)]


class OrderStore:
    # --- authorities -----------------------------------------------------------------
    async def add_authority(self, conn: AsyncConnection, record: AuthorityRecord) -> None:
        await conn.execute(authorities.insert().values(**asdict(record)))

    async def authority(self, conn: AsyncConnection, user_id: int) -> AuthorityRecord | None:
        row = (await conn.execute(sa.select(authorities).where(
            authorities.c.user_id == user_id))).first()
        return AuthorityRecord(*row) if row else None

    # --- orders ----------------------------------------------------------------------
    async def insert(self, conn: AsyncConnection, row: OrderRow) -> None:
        """Store a new order; 409 if this authority used the reference before."""
        try:
            async with conn.begin_nested():
                await conn.execute(removal_orders.insert().values(**row.columns()))
        except IntegrityError as exc:
            raise Conflict(f"an order with reference {row.reference!r} was received already",
                           "duplicate_reference") from exc

    async def by_reference(self, conn: AsyncConnection, authority_user_id: int,
                           reference: str) -> OrderRow | None:
        row = (await conn.execute(sa.select(*_ORDER_COLS).where(
            removal_orders.c.authority_user_id == authority_user_id,
            removal_orders.c.reference == reference))).first()
        return OrderRow(*row) if row else None

    async def get(self, conn: AsyncConnection, order_id: str) -> OrderRow | None:
        row = (await conn.execute(sa.select(*_ORDER_COLS).where(
            removal_orders.c.id == order_id))).first()
        return OrderRow(*row) if row else None

    async def items(self, conn: AsyncConnection, *, authority_user_id: int | None,
                   status: str | None, limit: int) -> list[OrderRow]:
        query = sa.select(*_ORDER_COLS)
        if authority_user_id is not None:
            query = query.where(removal_orders.c.authority_user_id == authority_user_id)
        if status is not None:
            query = query.where(removal_orders.c.status == status)
        query = query.order_by(removal_orders.c.received_ms.desc(),
                               removal_orders.c.id).limit(limit)
        return [OrderRow(*r) for r in await conn.execute(query)]

    async def update(self, conn: AsyncConnection, order_id: str, *,
                     expect_status: str | None = None, **values: Any) -> bool:
        """Change an order; with ``expect_status`` only if it still has that status."""
        query = removal_orders.update().where(removal_orders.c.id == order_id)
        if expect_status is not None:
            query = query.where(removal_orders.c.status == expect_status)
        result = await conn.execute(query.values(**values))
        return bool(result.rowcount)

    async def confirm(self, conn: AsyncConnection, order_id: str, now: int, by: str) -> bool:
        result = await conn.execute(removal_orders.update().where(
            removal_orders.c.id == order_id, removal_orders.c.needs_confirmation.is_(True),
            removal_orders.c.confirmed_ms.is_(None)).values(confirmed_ms=now,
                                                            confirmed_by=by[:64]))
        return bool(result.rowcount)

    async def admin_ids(self, conn: AsyncConnection) -> list[int]:
        """Admins to alert (live accounts only)."""
        rows = await conn.execute(sa.select(users.c.id).where(
            users.c.role == "admin", users.c.deleted_at.is_(None)).order_by(users.c.id))
        return [int(r[0]) for r in rows]

    async def recent(self, conn: AsyncConnection, authority_user_id: int, since_ms: int) -> int:
        """How many orders this authority sent since ``since_ms``."""
        count = (await conn.execute(sa.select(sa.func.count()).select_from(removal_orders)
                                    .where(removal_orders.c.authority_user_id
                                           == authority_user_id,
                                           removal_orders.c.received_ms >= since_ms))
                 ).scalar_one()
        return int(count)

    async def mark_notice_sent(self, conn: AsyncConnection, order_id: str, now: int) -> bool:
        """Claim the one Art. 11 notice of an order: true only for the first caller."""
        result = await conn.execute(removal_orders.update().where(
            removal_orders.c.id == order_id, removal_orders.c.notice_sent_ms.is_(None))
            .values(notice_sent_ms=now))
        return bool(result.rowcount)
