"""Outbound webhooks: the operator's tools are told when something needs a human.

An admin registers an endpoint (URL, the events it wants) and receives its signing
secret once. Events are found by a scanner that reads the database (new removal orders,
orders past their one-hour deadline, cases opened or held, appeals filed, jobs such as
exchange fetches that failed for good), so every process finds the same events and the
delivery table's unique key ``(endpoint, event_key)`` makes each one a single delivery
however many processes scan. Each delivery is a durable job: the job queue retries it
with exponential backoff, and the delivery log keeps every attempt's outcome.

Signature (documented in docs/operating.md): ``Tidings-Signature: t=<unix seconds>,
v1=<hex HMAC-SHA256 of "<t>.<raw body>" under the endpoint's secret>``. A receiver
recomputes it and rejects a timestamp outside its replay window (5 minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation import orders as order_rules
from tidings.moderation import review as rv
from tidings.protocol.errors import BadRequest, Conflict, NotFound
from tidings.services.clock import Clock
from tidings.services.jobs import JobContext, JobService
from tidings.storage.database import Database
from tidings.storage.order_schema import removal_orders
from tidings.storage.report_schema import review_cases
from tidings.storage.schema import jobs
from tidings.storage.webhook_schema import webhook_deliveries, webhook_endpoints

DELIVER_JOB: Final = "webhook.deliver"
EVENTS: Final = {
    "order.received": "a removal order arrived (the one-hour clock started)",
    "order.overdue": "a removal order is still open after its one-hour deadline",
    "case.opened": "a review case was opened by a report, a flagger or an order",
    "case.held": "content was held for review by the rules (automated hold)",
    "appeal.filed": "a person appealed a decision",
    "exchange.failing": "a hash-exchange fetch failed after all its retries",
    "job.failed": "any background job failed after all its retries",
}
SIGNATURE_HEADER: Final = "Tidings-Signature"
REPLAY_WINDOW_S: Final = 300
"""A receiver rejects a signature whose timestamp is further than this from its clock."""
LOOKBACK_MS: Final = 3_600_000
"""The scanner looks this far back: events older than an hour when the server was down
are not sent (the console still shows them)."""
ENDPOINTS_MAX: Final = 50
URL_MAX: Final = 2000
URL_PATTERN: Final = (r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9._~%!$&'()*+,;=-]+(:[0-9]{0,5})?"
                      r"([/?#][^\x00-\x20\x7f]*)?$")
"""A webhook URL as the API takes it (published, and checked by the request model):
http(s), an ASCII host (RFC 3986 reg-name characters: IDN hosts in punycode), an
optional port, no user or password, no spaces or control characters. Every such URL
passes ``check_url``; what ``urlsplit`` reads oddly (stripped or dropped spaces and
controls, IPv6 literals it must parse, non-ASCII hosts it normalises) is left out."""
DELIVERY_TIMEOUT_S: Final = 10.0
DELIVERY_ATTEMPTS: Final = 8
ERROR_MAX: Final = 500
LOG_PAGE_MAX: Final = 200


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Tidings-Signature`` header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now_s: float | None = None,
           window_s: int = REPLAY_WINDOW_S) -> bool:
    """What a receiver does: the MAC matches and the timestamp is inside the window."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now_s is None else now_s
    if abs(now - timestamp) > window_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: int
    url: str
    events: tuple[str, ...]
    description: str
    enabled: bool
    created_by: str
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": list(self.events),
                "description": self.description, "enabled": self.enabled,
                "created_by": self.created_by, "created_at": self.created_at}


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    endpoint_id: int
    event: str
    event_key: str
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "endpoint_id": self.endpoint_id, "event": self.event,
                "event_key": self.event_key, "state": self.state, "attempts": self.attempts,
                "last_status": self.last_status, "last_error": self.last_error,
                "created_at": self.created_at, "delivered_at": self.delivered_at}


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row.id, row.url, tuple(json.loads(row.events)), row.description,
                    bool(row.enabled), row.created_by, row.created_at)


def _delivery(row: Any) -> Delivery:
    return Delivery(row.id, row.endpoint_id, row.event, row.event_key, row.state,
                    row.attempts, row.last_status, row.last_error, row.created_at,
                    row.delivered_at)


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if len(url) > URL_MAX or parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("a webhook URL is an http(s) URL of at most "
                         f"{URL_MAX} characters", "invalid_webhook_url")
    if parts.username or parts.password:
        raise BadRequest("put no credentials in a webhook URL; verify the signature instead",
                         "invalid_webhook_url")
    return url


def check_events(events: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(events) - EVENTS.keys())
    if not events or unknown:
        raise BadRequest(f"events must be a non-empty subset of {sorted(EVENTS)}"
                         + (f"; unknown: {unknown}" if unknown else ""), "invalid_webhook_events")
    return tuple(sorted(set(events)))


class WebhookService:
    def __init__(self, db: Database, jobs_svc: JobService, clock: Clock,
                 observe: Callable[[str, str], None] | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.db = db
        self.jobs = jobs_svc
        self.clock = clock
        self.observe = observe
        """Told (event, result) of each attempt: the metrics count deliveries."""
        self.transport = transport

    # --- endpoints -------------------------------------------------------------------
    async def create(self, url: str, events: list[str], description: str,
                     actor: str) -> tuple[Endpoint, str]:
        """Register an endpoint; the secret is returned here and never again."""
        secret = "whsec_" + secrets.token_urlsafe(32)
        now = self.clock()
        values = {"url": check_url(url), "events": json.dumps(list(check_events(events))),
                  "secret": secret, "description": description[:200], "enabled": True,
                  "created_by": actor, "created_at": now}
        async with self.db.write() as conn:
            count = (await conn.execute(sa.select(sa.func.count())
                                        .select_from(webhook_endpoints))).scalar_one()
            if count >= ENDPOINTS_MAX:
                raise Conflict(f"at most {ENDPOINTS_MAX} webhook endpoints", "too_many_webhooks")
            new_id = (await conn.execute(webhook_endpoints.insert().values(**values)
                                         .returning(webhook_endpoints.c.id))).scalar_one()
        return (Endpoint(new_id, url, check_events(events), description[:200], True, actor,
                         now), secret)

    async def endpoints(self) -> list[Endpoint]:
        async with self.db.read() as conn:
            rows = (await conn.execute(sa.select(webhook_endpoints)
                                       .order_by(webhook_endpoints.c.id))).all()
        return [_endpoint(r) for r in rows]

    async def delete(self, endpoint_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(webhook_deliveries.delete()
                               .where(webhook_deliveries.c.endpoint_id == endpoint_id))
            gone = await conn.execute(webhook_endpoints.delete()
                                      .where(webhook_endpoints.c.id == endpoint_id))
        if gone.rowcount == 0:
            raise NotFound("no such webhook endpoint", "webhook_not_found")

    async def deliveries(self, endpoint_id: int, limit: int = 50) -> list[Delivery]:
        async with self.db.read() as conn:
            if (await conn.execute(sa.select(webhook_endpoints.c.id).where(
                    webhook_endpoints.c.id == endpoint_id))).first() is None:
                raise NotFound("no such webhook endpoint", "webhook_not_found")
            rows = (await conn.execute(
                sa.select(webhook_deliveries)
                .where(webhook_deliveries.c.endpoint_id == endpoint_id)
                .order_by(webhook_deliveries.c.id.desc())
                .limit(max(1, min(limit, LOG_PAGE_MAX))))).all()
        return [_delivery(r) for r in rows]

    # --- events ----------------------------------------------------------------------
    async def scan(self) -> int:
        """Find new events in the database and queue their deliveries; returns how many
        deliveries were queued (0 when another process already queued them)."""
        now = self.clock()
        since = now - LOOKBACK_MS
        async with self.db.read() as conn:
            endpoints = [_endpoint(r) for r in (await conn.execute(
                sa.select(webhook_endpoints).where(webhook_endpoints.c.enabled.is_(True))
            )).all()]
            if not endpoints:
                return 0
            found = await _events(conn, since, now)
        queued = 0
        for endpoint in endpoints:
            for event, key, at, data in found:
                if event in endpoint.events and at >= endpoint.created_at:
                    queued += await self._queue(endpoint, event, key, data, now)
        return queued

    async def _queue(self, endpoint: Endpoint, event: str, key: str, data: dict[str, Any],
                     now: int) -> int:
        body = json.dumps({"event": event, "id": key, "created_at": now, "data": data},
                          separators=(",", ":"), sort_keys=True)
        values = {"endpoint_id": endpoint.id, "event": event, "event_key": key, "body": body,
                  "state": "pending", "attempts": 0, "created_at": now}
        async with self.db.write() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            new_id = (await conn.execute(
                dialect.insert(webhook_deliveries).values(**values)
                .on_conflict_do_nothing(index_elements=["endpoint_id", "event_key"])
                .returning(webhook_deliveries.c.id))).scalar()
        if new_id is None:
            return 0
        await self.jobs.enqueue(DELIVER_JOB, {"delivery": new_id},
                                dedupe_key=f"webhook:{new_id}", max_attempts=DELIVERY_ATTEMPTS)
        return 1

    # --- delivery (a job) ------------------------------------------------------------
    async def deliver_job(self, ctx: JobContext) -> dict[str, Any] | None:
        delivery_id = int(ctx.payload["delivery"])
        async with self.db.read() as conn:
            row = (await conn.execute(
                sa.select(webhook_deliveries, webhook_endpoints.c.url,
                          webhook_endpoints.c.secret, webhook_endpoints.c.enabled)
                .join(webhook_endpoints,
                      webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
                .where(webhook_deliveries.c.id == delivery_id))).first()
        if row is None or not row.enabled or row.state == "delivered":
            return {"skipped": True}
        body = row.body.encode()
        timestamp = self.clock() // 1000
        headers = {"Content-Type": "application/json", "User-Agent": "Tidings-Webhook/1",
                   "Tidings-Event": row.event, "Tidings-Delivery": str(delivery_id),
                   "Tidings-Timestamp": str(timestamp),
                   SIGNATURE_HEADER: sign(row.secret, timestamp, body)}
        status: int | None = None
        error: str | None = None
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=DELIVERY_TIMEOUT_S,
                                         follow_redirects=False) as client:
                answer = await client.post(row.url, content=body, headers=headers)
            status = answer.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:ERROR_MAX]
        last = ctx.job.attempts >= ctx.job.max_attempts
        state = "delivered" if error is None else ("failed" if last else "retrying")
        async with self.db.write() as conn:
            await conn.execute(webhook_deliveries.update()
                               .where(webhook_deliveries.c.id == delivery_id)
                               .values(state=state, attempts=webhook_deliveries.c.attempts + 1,
                                       last_status=status, last_error=error,
                                       delivered_at=self.clock() if error is None else None))
        if self.observe is not None:
            self.observe(row.event, "delivered" if error is None else "failed")
        if error is not None:
            raise RuntimeError(f"webhook delivery {delivery_id}: {error}")
        return {"status": status}


async def _events(conn: AsyncConnection, since: int, now: int
                  ) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(event, key, time, data) of everything that happened since ``since``."""
    out: list[tuple[str, str, int, dict[str, Any]]] = []
    orders = (await conn.execute(
        sa.select(removal_orders.c.id, removal_orders.c.reference,
                  removal_orders.c.authority_name, removal_orders.c.member_state,
                  removal_orders.c.status, removal_orders.c.received_ms,
                  removal_orders.c.target_kind, removal_orders.c.target_ref)
        .where(sa.or_(removal_orders.c.received_ms >= since,
                      removal_orders.c.status == str(order_rules.Status.OPEN))))).all()
    for o in orders:
        deadline = order_rules.deadline_ms(o.received_ms)
        data = {"order": o.id, "reference": o.reference, "authority": o.authority_name,
                "member_state": o.member_state, "status": o.status,
                "target": {"kind": o.target_kind, "ref": o.target_ref},
                "received_ms": o.received_ms, "deadline_ms": deadline}
        if o.received_ms >= since:
            out.append(("order.received", f"order.received:{o.id}", o.received_ms, data))
        if order_rules.overdue(o.status, o.received_ms, now):
            out.append(("order.overdue", f"order.overdue:{o.id}", deadline, data))
    hold_rank = rv.SOURCE_RANK[rv.Source.AUTOMATED_HOLD]
    cases = (await conn.execute(
        sa.select(review_cases.c.id, review_cases.c.target_kind, review_cases.c.target_ref,
                  review_cases.c.state, review_cases.c.rank, review_cases.c.created_at,
                  review_cases.c.updated_at)
        .where(sa.or_(review_cases.c.created_at >= since,
                      sa.and_(review_cases.c.updated_at >= since,
                              review_cases.c.state.in_([str(rv.State.APPEALED),
                                                        str(rv.State.APPEAL_CLAIMED)])))))).all()
    for c in cases:
        data = {"case": c.id, "target": {"kind": c.target_kind, "ref": c.target_ref},
                "state": c.state, "source": str(list(rv.SOURCE_RANK)[c.rank])
                if 0 <= c.rank < len(rv.SOURCE_RANK) else None}
        if c.created_at >= since:
            event = "case.held" if c.rank == hold_rank else "case.opened"
            out.append((event, f"case.opened:{c.id}", c.created_at, data))
        if c.state in (rv.State.APPEALED, rv.State.APPEAL_CLAIMED):
            out.append(("appeal.filed", f"appeal.filed:{c.id}", c.updated_at, data))
    failed = (await conn.execute(
        sa.select(jobs.c.id, jobs.c.kind, jobs.c.error, jobs.c.attempts, jobs.c.updated_at)
        .where(jobs.c.state == "failed", jobs.c.updated_at >= since,
               jobs.c.kind != DELIVER_JOB))).all()
    for j in failed:
        data = {"job": j.id, "kind": j.kind, "attempts": j.attempts,
                "error": (j.error or "")[:ERROR_MAX]}
        out.append(("job.failed", f"job.failed:{j.id}", j.updated_at, data))
        if j.kind.startswith(("exchange", "bank.fetch", "banks.fetch")):
            out.append(("exchange.failing", f"exchange.failing:{j.id}", j.updated_at, data))
    return out
