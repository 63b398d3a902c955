"""Partner credentials, sealed (migration 0024): one row per exchange type.

HMA keeps credentials per exchange API (``/c/exchanges/api/<api>``), and so does this
table. ``sealed`` is ``crypto.sealed.Sealer``'s output; the plaintext never reaches
the database (nor its statement log: only the sealed string is a parameter).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.schema import metadata

exchange_credentials = sa.Table(
    "exchange_credentials", metadata,
    sa.Column("exchange_type", sa.String(32), primary_key=True),
    sa.Column("sealed", sa.Text(), nullable=False),
    sa.Column("updated_at", sa.BigInteger(), nullable=False),
    sa.Column("updated_by", sa.String(64), nullable=False),
)


@dataclass(frozen=True, slots=True)
class SealedCredential:
    exchange_type: str
    sealed: str
    updated_at: int
    updated_by: str


class CredentialStore:
    async def get(self, conn: AsyncConnection, exchange_type: str) -> SealedCredential | None:
        row = (await conn.execute(sa.select(exchange_credentials).where(
            exchange_credentials.c.exchange_type == exchange_type))).first()
        return SealedCredential(*row) if row else None

    async def all(self, conn: AsyncConnection) -> list[SealedCredential]:
        rows = await conn.execute(sa.select(exchange_credentials)
                                  .order_by(exchange_credentials.c.exchange_type))
        return [SealedCredential(*r) for r in rows]

    async def put(self, conn: AsyncConnection, value: SealedCredential) -> None:
        await self.delete(conn, value.exchange_type)
        await conn.execute(exchange_credentials.insert().values(
            exchange_type=value.exchange_type, sealed=value.sealed,
            updated_at=value.updated_at, updated_by=value.updated_by))

    async def delete(self, conn: AsyncConnection, exchange_type: str) -> bool:
        result = await conn.execute(exchange_credentials.delete().where(
            exchange_credentials.c.exchange_type == exchange_type))
        return bool(result.rowcount)
