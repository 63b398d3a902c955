"""The ASGI application: wiring of stores, services, bus, routes and middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import tidings
from tidings.bus.base import Bus
from tidings.bus.local import LocalBus
from tidings.bus.redis import RedisBus
from tidings.protocol.errors import TidingsError
from tidings.protocol.handles import HandleError, TextFieldError
from tidings.protocol.stream import CATCH_UP, bus_control
from tidings.server import secrets
from tidings.server.config import Settings
from tidings.server.gateway import Gateway
from tidings.server.metrics import Metrics
from tidings.server.middleware import MetricsAndHeaders, RequestLimits
from tidings.server.ratelimit import (
    DisabledRateLimiter,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from tidings.server.routes import accounts, health, jobs, stream
from tidings.services.accounts import AccountService
from tidings.services.clock import Clock, system_clock
from tidings.services.imaging import MediaError, MediaTooLargeError
from tidings.services.jobs import JobRunner, JobService
from tidings.services.names import reserved_names
from tidings.services.streams import StreamService, device_topic
from tidings.storage import migrate
from tidings.storage.accounts import AccountStore
from tidings.storage.database import Database
from tidings.storage.jobs import JobStore
from tidings.storage.streams import StreamStore

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

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
        return JSONResponse({"error": {"code": "invalid_request", "message": message}},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return JSONResponse(
            {"error": {"code": codes.get(exc.status_code, "http_error"),
                       "message": str(exc.detail)}},
            status_code=exc.status_code, headers=getattr(exc, "headers", None))


def make_bus(settings: Settings, metrics: Metrics) -> Bus:
    """Redis pub/sub when ``redis_url`` is set (several processes), else in-process."""
    if not settings.redis_url:
        return LocalBus()
    return RedisBus(settings.redis_url, prefix=settings.redis_prefix + "bus:",
                    on_drop=metrics.bus_dropped.inc, on_reconnect=metrics.bus_reconnects.inc,
                    resync={device_topic(""): bus_control(CATCH_UP)})


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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
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
        account_svc = AccountService(db, AccountStore(), server_secrets.token_pepper, clock,
                                     reserved_names(settings.reserved_names))
        stream_svc = StreamService(db, StreamStore(), live_bus, clock)
        app.state.settings = settings
        app.state.secrets = server_secrets
        app.state.db = db
        app.state.bus = live_bus
        app.state.limiter = limiter
        job_svc = JobService(db, JobStore(), clock)
        job_runner = JobRunner(job_svc, concurrency=settings.job_concurrency)
        app.state.jobs = job_svc
        app.state.job_runner = job_runner
        app.state.metrics = metrics
        app.state.accounts = account_svc
        app.state.streams = stream_svc
        app.state.gateway = Gateway(account_svc, stream_svc, live_bus, metrics,
                                    settings.ws_send_queue)
        job_runner.start()  # claims only kinds that services register handlers for
        try:
            yield
        finally:
            await job_runner.stop()
            await limiter.close()
            await live_bus.close()
            await db.close()

    app = FastAPI(title="Tidings", version=tidings.__version__, description=API_DESCRIPTION,
                  lifespan=lifespan, docs_url="/api/docs", redoc_url=None)
    _install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(accounts.router)
    app.include_router(stream.router)
    app.include_router(jobs.router)

    @app.websocket("/api/v1/ws")
    async def websocket(ws: WebSocket) -> None:
        gateway: Gateway = ws.app.state.gateway
        await gateway.handle(ws)

    app.add_middleware(RequestLimits, max_body=settings.max_body_bytes)
    app.add_middleware(MetricsAndHeaders, metrics=metrics)
    return app
