"""SDK methods for removal orders and preservation (mixed into TidingsClient)."""

from __future__ import annotations

from typing import Any

from tidings.client import order_requests as orq
from tidings.client.requests import Request

Json = dict[str, Any]


class OrderMethods:
    async def call(self, request: Request) -> Any:
        raise NotImplementedError

    async def submit_order(self, target: str, legal_basis: str, reasons: str, reference: str,
                           label: str | None = None, withhold_days: int | None = None,
                           basis: str | None = None, category: str | None = None,
                           territorial_scope: list[str] | None = None) -> Json:
        """An authority's order (TCO Art. 3 or DSA Art. 9); the answer holds the
        confirmation."""
        result: Json = await self.call(orq.submit_order(
            target, legal_basis, reasons, reference, label, withhold_days, basis, category,
            territorial_scope))
        return result

    async def confirm_order(self, order_id: str) -> Json:
        result: Json = await self.call(orq.confirm_order(order_id))
        return result

    async def order(self, order_id: str) -> Json:
        result: Json = await self.call(orq.order(order_id))
        return result

    async def orders(self, status: str | None = None, limit: int = 100) -> list[Json]:
        result: list[Json] = await self.call(orq.orders(status, limit))
        return result

    async def order_confirmation(self, order_id: str) -> Json:
        result: Json = await self.call(orq.confirmation(order_id))
        return result

    async def cannot_comply(self, order_id: str, reason: str, details: str) -> Json:
        result: Json = await self.call(orq.cannot_comply(order_id, reason, details))
        return result

    async def execute_order(self, order_id: str) -> Json:
        result: Json = await self.call(orq.execute(order_id))
        return result

    async def extend_withholding(self, order_id: str) -> Json:
        result: Json = await self.call(orq.extend_withholding(order_id))
        return result

    async def preserved(self, item_id: str) -> Json:
        result: Json = await self.call(orq.preserved(item_id))
        return result

    async def preserved_items(self, limit: int = 100) -> list[Json]:
        result: list[Json] = await self.call(orq.preserved_items(limit))
        return result

    async def preserved_blob(self, item_id: str, sha256: str) -> bytes:
        result: bytes = await self.call(orq.preserved_blob(item_id, sha256))
        return result

    async def extend_preservation(self, item_id: str, months: int) -> Json:
        result: Json = await self.call(orq.extend_preservation(item_id, months))
        return result

    async def create_authority(self, username: str, authority_name: str,
                               member_state: str) -> Json:
        """Admin: a competent authority's account; the answer holds its token once."""
        result: Json = await self.call(orq.create_authority(username, authority_name,
                                                            member_state))
        return result
