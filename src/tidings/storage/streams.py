"""Per-device ordered event streams: the durable half of delivery.

Each device has its own sequence. Appending takes the device row's counter with an
``UPDATE ... RETURNING`` inside the writer's transaction, so two writers to the same
device serialise on that row and commit in sequence order; a reader that has seen
``seq = n`` can never later find an uncommitted ``n - 1`` appear (the gap would break
resume on PostgreSQL, where many writers run at once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.storage.plan import Plan, Raw, run_async
from tidings.storage.records import StreamEvent
from tidings.storage.schema import devices, stream_events


class StreamStore:
    async def append(self, conn: AsyncConnection, items: Sequence[tuple[str, str, str]],
                     now: int) -> list[StreamEvent]:
        """Append ``(device_id, kind, body_json)`` items; returns them with their seqs.

        Devices that no longer exist (revoked mid-send) are skipped silently: there is
        no one left to deliver to.
        """
        if not items:
            return []
        wanted = Counter(device for device, _, _ in items)
        last: dict[str, int] = {}
        for device in sorted(wanted):  # fixed lock order: no deadlocks between writers
            result = await conn.execute(
                devices.update().where(devices.c.id == device)
                .values(stream_seq=devices.c.stream_seq + wanted[device])
                .returning(devices.c.stream_seq))
            row = result.first()
            if row is not None:
                last[device] = int(row[0])
        next_seq = {d: top - wanted[d] + 1 for d, top in last.items()}
        out: list[StreamEvent] = []
        for device, kind, body in items:
            if device not in next_seq:
                continue
            seq = next_seq[device]
            next_seq[device] = seq + 1
            out.append(StreamEvent(device, seq, kind, body, now))
        if out:
            await conn.execute(stream_events.insert(), [
                {"device_id": e.device_id, "seq": e.seq, "kind": e.kind, "body": e.body,
                 "created_at": e.created_at} for e in out])
        return out

    async def read(self, conn: AsyncConnection, device_id: str, after: int,
                   limit: int) -> list[StreamEvent]:
        rows = await conn.execute(
            sa.select(stream_events.c.device_id, stream_events.c.seq, stream_events.c.kind,
                      stream_events.c.body, stream_events.c.created_at)
            .where(stream_events.c.device_id == device_id, stream_events.c.seq > after)
            .order_by(stream_events.c.seq).limit(limit))
        return [StreamEvent(*r) for r in rows]

    async def ack(self, conn: AsyncConnection, device_id: str, upto: int) -> int:
        """Delete everything up to and including ``upto`` (acks are cumulative)."""
        result = await conn.execute(stream_events.delete().where(
            stream_events.c.device_id == device_id, stream_events.c.seq <= upto))
        return int(result.rowcount or 0)

    async def head(self, conn: AsyncConnection, device_id: str) -> int:
        result = await conn.execute(sa.select(devices.c.stream_seq)
                                    .where(devices.c.id == device_id))
        value = result.scalar_one_or_none()
        return int(value) if value is not None else 0

    async def backlog(self, conn: AsyncConnection) -> int:
        result = await conn.execute(sa.select(sa.func.count()).select_from(stream_events))
        return int(result.scalar_one())

    async def append_batch(self, conn: AsyncConnection, items: Sequence[tuple[str, str, str]],
                           now: int) -> list[StreamEvent]:
        return await run_async(conn, self.append_batch_plan(items, now, conn.dialect.name))

    def append_batch_plan(self, items: Sequence[tuple[str, str, str]], now: int,
                          dialect: str) -> Plan[list[StreamEvent]]:
        """:meth:`append` with one counter statement for all devices (group commit).

        One ``UPDATE ... SET stream_seq = stream_seq + CASE id ... END RETURNING`` takes
        every device's range at once instead of one round trip per device. On
        PostgreSQL the rows are first locked in id order (``SELECT ... ORDER BY id FOR
        UPDATE``) so this cannot deadlock with :meth:`append`, which also goes in id
        order.
        """
        if not items:
            return []
        wanted = Counter(device for device, _, _ in items)
        ids = sorted(wanted)
        if dialect == "sqlite":
            return (yield from _append_sqlite(items, wanted, ids, now))
        if dialect == "postgresql":
            yield (sa.select(devices.c.id).where(devices.c.id.in_(ids))
                   .order_by(devices.c.id).with_for_update())
        bump = sa.case(dict(wanted), value=devices.c.id, else_=0)
        rows = yield (devices.update().where(devices.c.id.in_(ids))
                      .values(stream_seq=devices.c.stream_seq + bump)
                      .returning(devices.c.id, devices.c.stream_seq))
        next_seq = {str(r[0]): int(r[1]) - wanted[str(r[0])] + 1 for r in rows}
        out = _numbered(items, next_seq, now)
        if out:
            yield (stream_events.insert(), [
                {"device_id": e.device_id, "seq": e.seq, "kind": e.kind, "body": e.body,
                 "created_at": e.created_at} for e in out])
        return out

    def ack_batch_plan(self, acks: Sequence[tuple[str, int]], dialect: str = ""
                       ) -> Plan[dict[str, int]]:
        """Several cumulative acks in one statement; deleted rows per device."""
        if not acks:
            return {}
        upto: dict[str, int] = {}
        for device, seq in acks:
            upto[device] = max(seq, upto.get(device, 0))
        if dialect == "sqlite":
            deleted: dict[str, int] = {}
            for device, seq in upto.items():
                rows = yield Raw(_SQLITE_ACK, (device, seq))
                if rows:
                    deleted[device] = len(rows)
            return deleted
        result = yield (stream_events.delete().where(sa.or_(*(
            sa.and_(stream_events.c.device_id == d, stream_events.c.seq <= s)
            for d, s in upto.items()))).returning(stream_events.c.device_id))
        return dict(Counter(str(r[0]) for r in result))


# SQLite's forms of the group commit's statements (``Raw``: prepared once per connection
# by sqlite3). One short statement per device instead of one statement whose text
# depends on how many devices the batch has: on SQLite a statement is a function call,
# not a round trip, and these stay in sqlite3's statement cache.
_SQLITE_BUMP = "UPDATE devices SET stream_seq = stream_seq + ? WHERE id = ? RETURNING stream_seq"
_SQLITE_INSERT = ("INSERT INTO stream_events (device_id, seq, kind, body, created_at) "
                  "VALUES (?, ?, ?, ?, ?)")
_SQLITE_ACK = "DELETE FROM stream_events WHERE device_id = ? AND seq <= ? RETURNING seq"


def _numbered(items: Sequence[tuple[str, str, str]], next_seq: dict[str, int],
              now: int) -> list[StreamEvent]:
    """The items as events, numbered on from each device's first new ``seq`` (items for
    a device that no longer exists are dropped)."""
    out: list[StreamEvent] = []
    for device, kind, body in items:
        seq = next_seq.get(device)
        if seq is None:
            continue
        next_seq[device] = seq + 1
        out.append(StreamEvent(device, seq, kind, body, now))
    return out


def _append_sqlite(items: Sequence[tuple[str, str, str]], wanted: Counter[str],
                   ids: list[str], now: int) -> Plan[list[StreamEvent]]:
    next_seq: dict[str, int] = {}
    for device in ids:
        rows = yield Raw(_SQLITE_BUMP, (wanted[device], device))
        if rows:
            next_seq[device] = int(rows[0][0]) - wanted[device] + 1
    out = _numbered(items, next_seq, now)
    if out:
        yield Raw(_SQLITE_INSERT, [(e.device_id, e.seq, e.kind, e.body, e.created_at)
                                   for e in out], many=True)
    return out
