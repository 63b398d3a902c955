"""The ASGI application: routes, middleware, error shapes and the lifespan that builds
the kernel (tidings/kernel/) and runs its background work."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

import tidings
from tidings.bus.base import Bus
from tidings.bus.local import LocalBus
from tidings.bus.redis import RedisBus
from tidings.config import Settings
from tidings.kernel import Observers, build_kernel
from tidings.protocol import limits
from tidings.protocol.control import CatchUp, encode_device
from tidings.protocol.errors import TidingsError
from tidings.protocol.handles import HandleError, TextFieldError
from tidings.protocol.limits import BANK_REFRESH_INTERVAL_S
from tidings.server import gc_policy, log_redaction, openapi, secrets
from tidings.server.channel_fanout import ChannelFanout
from tidings.server.gateway import Gateway
from tidings.server.hma_auth import HmaSlashes
from tidings.server.metrics import Metrics
from tidings.server.middleware import MetricsAndHeaders, RequestLimits, headers_too_large
from tidings.server.ratelimit import (
    DisabledRateLimiter,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from tidings.server.routes import (
    accounts,
    admin,
    banks,
    console,
    exchange_console,
    groups,
    health,
    hma_content,
    hma_curation,
    home,
    jobs,
    keys,
    messages,
    order_console,
    orders,
    review_console,
    stream,
)
from tidings.server.routes import attachments as attachment_routes
from tidings.server.routes import channels as channel_routes
from tidings.server.routes import contacts as contact_routes
from tidings.server.routes import hma as hma_routes
from tidings.server.routes import invitations as invitation_routes
from tidings.server.routes import media as media_routes
from tidings.server.routes import posts as post_routes
from tidings.server.routes import profile as profile_routes
from tidings.server.routes import reports as report_routes
from tidings.server.routes import transparency as transparency_routes
from tidings.server.routes import web as web_routes
from tidings.server.routes import webhooks as webhook_routes
from tidings.server.sessions import SessionWatch
from tidings.server.state import Edge, app_edge
from tidings.services import hash_workers
from tidings.services.bank_sync import BankSync, limit_matcher_threads
from tidings.services.clock import Clock, system_clock
from tidings.services.imaging import MediaError, MediaTooLargeError
from tidings.services.live import device_topic
from tidings.services.rule_config import RuleConfig
from tidings.storage import data_dir, migrate
from tidings.storage.database import Database

log = logging.getLogger("tidings")

API_DESCRIPTION = """Tidings: end-to-end encrypted private chats and public channels with
trust and safety built in. Authenticate with `Authorization: Bearer <device token>`.
Errors always have the shape `{"error": {"code": "...", "message": "..."}}`."""


def _error_response(exc: TidingsError) -> JSONResponse:
    headers = {}
    retry = exc.details.get("retry_after")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if exc.status == 408:
        headers["Connection"] = "close"  # the rest of the stalled body is not awaited
    return JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TidingsError)
    async def _tidings(_: Request, exc: TidingsError) -> JSONResponse:
        return _error_response(exc)

    @app.exception_handler(HandleError)
    @app.exception_handler(TextFieldError)
    @app.exception_handler(MediaError)
    async def _value(_: Request, exc: Exception) -> JSONResponse:
        status = 413 if isinstance(exc, MediaTooLargeError) else 400
        code = str(getattr(exc, "code", "bad_request"))
        message = str(getattr(exc, "message", exc))
        return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # A number past what the database stores (SQLite and PostgreSQL integers are
        # 64-bit) reaches the driver as OverflowError / DataError; the transaction it
        # was in is rolled back, so nothing was stored. Routes bound their own ids;
        # this is the net under every other number (found by tests/server/test_fuzz_api).
        log.info("refused a value the database cannot store: %s", type(exc).__name__)
        return JSONResponse({"error": {"code": "value_out_of_range",
                                       "message": "a number or value in the request is out "
                                                  "of the range the server stores"}},
                            status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return JSONResponse({"error": {"code": "invalid_request", "message": message}},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        headers = getattr(exc, "headers", None)
        allowed = openapi.allowed_methods(app, request.url.path) if exc.status_code == 405 else None
        if allowed:
            headers = {**(headers or {}), "Allow": allowed}
        return JSONResponse(
            {"error": {"code": codes.get(exc.status_code, "http_error"),
                       "message": str(exc.detail)}},
            status_code=exc.status_code, headers=headers)


GATEWAY_PATH = "/api/v1/ws"
CONSOLE_SECTIONS = [*review_console.SECTIONS, *order_console.SECTIONS,
                    *exchange_console.SECTIONS]


class TidingsApp(FastAPI):
    """The FastAPI app with one fast path: the WebSocket gateway.

    Every ASGI layer between the server and the gateway (FastAPI, Starlette, each
    middleware, the router) is a coroutine frame kept alive for the whole life of
    every connection; with 10,000 idle connections per process that is measurable
    (docs/benchmarks.md, "Channel fan-out"). So the gateway's path is dispatched
    here, after the same header limit RequestLimits applies, and nowhere else.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == GATEWAY_PATH:
            if headers_too_large(scope):
                await send({"type": "websocket.close", "code": 1008})
                return
            scope["app"] = self
            await app_edge(self).gateway.handle(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


async def _poll_banks(sync: BankSync) -> None:
    """Apply bank changes made by other server processes (and any missed locally)."""
    while True:
        await asyncio.sleep(BANK_REFRESH_INTERVAL_S)
        try:
            await sync.refresh()
        except (OSError, SQLAlchemyError, TidingsError) as exc:
            log.warning("bank refresh failed, retrying: %s", exc)


async def _poll_rules(rules: RuleConfig) -> None:
    """Apply a rule set stored through another server process's admin API."""
    while True:
        await asyncio.sleep(BANK_REFRESH_INTERVAL_S)
        try:
            await rules.refresh()
        except (OSError, SQLAlchemyError, TidingsError) as exc:
            log.warning("rule set refresh failed, retrying: %s", exc)


async def _every(seconds: float, work: Callable[[], Awaitable[object]], what: str) -> None:
    """Run ``work`` every ``seconds`` in this process, logging (not ending on) a failure:
    the webhook scan, the disappearing-message sweep, the disclosed-attachment sweep."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.exception("%s failed", what)


def make_bus(settings: Settings, metrics: Metrics) -> Bus:
    """Redis pub/sub when ``redis_url`` is set (several processes), else in-process."""
    if not settings.redis_url:
        return LocalBus()
    return RedisBus(settings.redis_url, prefix=settings.redis_prefix + "bus:",
                    on_drop=metrics.bus_dropped.inc, on_reconnect=metrics.bus_reconnects.inc,
                    resync={device_topic(""): encode_device(CatchUp())})


def make_limiter(settings: Settings, clock: Clock) -> RateLimiter:
    """Shared through Redis when there is one, so every process counts the same requests."""
    if not settings.rate_limits:
        return DisabledRateLimiter()
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, clock, prefix=settings.redis_prefix + "rl:")
    return MemoryRateLimiter(clock)


def create_app(settings: Settings, *, clock: Clock = system_clock,
               bus: Bus | None = None) -> FastAPI:
    metrics = Metrics()
    log_redaction.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for line in data_dir.secure(settings.data_dir, settings.resolved_database_url):
            log.warning("tightened permissions of the data directory: %s", line)
        server_secrets = secrets.load_or_create(settings.data_dir)
        db = Database(settings.resolved_database_url)
        try:
            await migrate.check_current(db)
        except TidingsError:
            await db.close()
            raise
        live_bus = bus or make_bus(settings, metrics)
        await live_bus.start()
        limiter = make_limiter(settings, clock)
        limit_matcher_threads()
        k = build_kernel(settings, clock, live_bus, db, server_secrets, Observers(
            metrics.observe_decision,
            lambda event, result: metrics.webhook_deliveries.labels(event, result).inc()))
        session_watch = SessionWatch(db, k.stores.session_ends, live_bus, clock)
        await session_watch.start()
        contact_watch = k.contacts.watch()
        await k.bank_sync.load()
        poller = asyncio.create_task(_poll_banks(k.bank_sync), name="bank-refresh")
        hooks_task = asyncio.create_task(  # new events for the webhooks (services/webhooks.py)
            _every(settings.webhook_scan_s, k.webhooks.scan, "webhook scan"),
            name="webhook-scan")
        scheduler_task = asyncio.create_task(k.exchange_scheduler.run(),
                                             name="exchange-schedule")
        sweeper = asyncio.create_task(  # expired messages and attachments (services/expiry.py)
            _every(limits.DISAPPEAR_SWEEP_S, k.expiry.sweep, "disappearing-message sweep"),
            name="disappear-sweep")
        disclosed_sweeper = asyncio.create_task(  # past their keep (services/reports.py)
            _every(limits.REPORT_DISCLOSED_SWEEP_S, k.reports.sweep_disclosed,
                   "disclosed-attachment sweep"), name="disclosed-sweep")
        await k.rule_config.load()
        rule_poller = asyncio.create_task(_poll_rules(k.rule_config), name="rules-refresh")
        rate_rules = settings.rate_rules()
        gateway = Gateway(k.accounts, k.streams, live_bus, metrics, settings.ws_send_queue,
                          messages.ws_send_hook(k.messages, limiter, rate_rules, metrics),
                          ChannelFanout(live_bus), k.channels.live_ids, session_watch,
                          settings.ws_connections_per_token)
        app.state.edge = Edge(k, metrics, limiter, rate_rules, session_watch, gateway,
                              CONSOLE_SECTIONS)
        gc_task = asyncio.create_task(gc_policy.run())
        hash_workers.start()  # uploads' PDQ processes, ready before the first photo
        k.job_runner.start()  # claims only kinds that services register handlers for
        try:
            yield
        finally:
            gc_task.cancel()
            await session_watch.close()
            if contact_watch is not None:
                contact_watch.close()
            await k.job_runner.stop()
            await limiter.close()
            await k.committer.close()
            for task in (poller, rule_poller, sweeper, disclosed_sweeper, hooks_task,
                         scheduler_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if k.bank_sync.changes_since_snapshot:
                await k.bank_sync.save_snapshot()
            await live_bus.close()
            await db.close()

    app = TidingsApp(title="Tidings", version=tidings.__version__, description=API_DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None,  # routes/home.py
                  generate_unique_id_function=openapi.operation_id)
    _install_error_handlers(app)
    openapi.install(app)
    app.include_router(health.router)
    app.include_router(home.router)
    app.include_router(accounts.router)
    app.include_router(stream.router)
    app.include_router(keys.router)
    app.include_router(messages.router)
    app.include_router(groups.router)
    app.include_router(contact_routes.router)
    app.include_router(invitation_routes.router)
    app.include_router(attachment_routes.router)
    app.include_router(channel_routes.router)
    app.include_router(post_routes.router)
    app.include_router(media_routes.router)
    app.include_router(profile_routes.router)
    app.include_router(web_routes.router)
    app.include_router(banks.router)
    app.include_router(hma_routes.router)
    app.include_router(hma_curation.router)
    app.include_router(hma_content.router)
    app.include_router(jobs.router)
    app.include_router(webhook_routes.router)
    app.include_router(admin.router)
    app.include_router(console.router)
    app.include_router(report_routes.router)
    app.include_router(review_console.router)
    app.include_router(transparency_routes.router)
    app.include_router(transparency_routes.public)
    app.include_router(orders.router)
    app.include_router(order_console.router)
    app.include_router(exchange_console.router)
    app.mount("/static", StaticFiles(directory=str(resources.files("tidings.server") / "static"),
                                     packages=[("fastapi_offline", "static")]),  # Swagger UI
              name="static")

    app.add_middleware(RequestLimits, max_body=settings.max_body_bytes,
                       body_timeout=settings.request_body_timeout_s)
    app.add_middleware(MetricsAndHeaders, metrics=metrics)
    app.add_middleware(HmaSlashes)
    return app
