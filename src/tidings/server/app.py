"""The ASGI application: wiring of stores, services, bus, routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
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
from tidings.crypto.sealed import Sealer
from tidings.protocol import limits
from tidings.protocol.control import CatchUp, encode_device
from tidings.protocol.errors import TidingsError
from tidings.protocol.franking import FrankingKeyring, FrankingSecret
from tidings.protocol.handles import HandleError, TextFieldError
from tidings.protocol.limits import BANK_REFRESH_INTERVAL_S
from tidings.server import gc_policy, log_redaction, openapi, secrets
from tidings.server.channel_fanout import ChannelFanout
from tidings.server.config import Settings
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
from tidings.services.accounts import AccountService
from tidings.services.actions import ActionService
from tidings.services.attachments import AttachmentService
from tidings.services.authorities import AuthorityService
from tidings.services.bank_exchanges import Exchanges
from tidings.services.bank_sync import BankSync, limit_matcher_threads
from tidings.services.banks import BankService
from tidings.services.channels import ChannelService
from tidings.services.clock import Clock, system_clock
from tidings.services.console_sessions import ConsoleSessions
from tidings.services.contacts import ContactService
from tidings.services.directory import DirectoryCache
from tidings.services.enforcement import Enforcer
from tidings.services.entry_safety import EntrySafety, SafetyPolicy
from tidings.services.exchange_credentials import ExchangeCredentials
from tidings.services.exchange_schedule import JOB_KIND as EXCHANGE_JOB_KIND
from tidings.services.exchange_schedule import ExchangeScheduler
from tidings.services.expiry import ExpiryService
from tidings.services.groups import GroupService
from tidings.services.hma import HmaService
from tidings.services.imaging import MediaError, MediaTooLargeError
from tidings.services.jobs import JobRunner, JobService
from tidings.services.keys import KeyService
from tidings.services.live import device_topic
from tidings.services.media import MediaService, preview_key
from tidings.services.messages import MessageService
from tidings.services.moderation import Decision, ModerationService
from tidings.services.names import reserved_names
from tidings.services.notices import NoticeService
from tidings.services.order_targets import OrderTargets
from tidings.services.orders import NOTICE_JOB, OrderService
from tidings.services.posts import PostService
from tidings.services.preservation import PURGE_JOB, PreservationService
from tidings.services.profiles import ProfileService
from tidings.services.reports import ReportService
from tidings.services.retro_scan import RETRO_SCAN, RetroScanner
from tidings.services.returning import ReturningChannels
from tidings.services.review import ReviewService
from tidings.services.rule_config import RuleConfig
from tidings.services.streams import StreamService
from tidings.services.takedowns import TakedownService
from tidings.services.transparency import TransparencyService
from tidings.services.webhooks import DELIVER_JOB, WebhookService
from tidings.storage import data_dir, migrate
from tidings.storage.accounts import AccountStore
from tidings.storage.actions import ActionStore
from tidings.storage.banks import BankStore
from tidings.storage.blobs import BlobStore
from tidings.storage.channels import ChannelStore
from tidings.storage.committer import GroupCommitter
from tidings.storage.console_sessions import ConsoleSessionStore
from tidings.storage.contacts import ContactStore
from tidings.storage.credentials import CredentialStore
from tidings.storage.database import Database
from tidings.storage.entry_safety import EntrySafetyStore
from tidings.storage.groups import GroupStore
from tidings.storage.jobs import JobStore
from tidings.storage.keys import KeyDirectoryStore
from tidings.storage.media import MediaStore
from tidings.storage.messages import SentStore
from tidings.storage.orders import OrderStore
from tidings.storage.preservation import PreservationStore
from tidings.storage.reports import ReportStore
from tidings.storage.returning import ReturningStore
from tidings.storage.search import SearchIndex
from tidings.storage.sessions import SessionEndStore
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


def franking_keyring(server_secrets: secrets.ServerSecrets) -> FrankingKeyring:
    """The server's franking keys: the current one tags, all of them verify reports."""
    keys_by_id = {k: FrankingSecret(k, v) for k, v in server_secrets.franking_keys.items()}
    current = keys_by_id.pop(server_secrets.franking_current)
    return FrankingKeyring(current, keys_by_id)


GATEWAY_PATH = "/api/v1/ws"


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
            gateway: Gateway = self.state.gateway
            await gateway.handle(WebSocket(scope, receive, send))
            return
        await super().__call__(scope, receive, send)


def _wire_channels(app: FastAPI, settings: Settings, db: Database, bus: Bus,
                   clock: Clock) -> None:
    """Public channels, their media and profiles, all behind the one moderation gate."""
    moderation: ModerationService = app.state.moderation  # one instance, fed by the banks
    store, search, media_store = ChannelStore(), SearchIndex(), MediaStore()
    media = MediaService(db, media_store, BlobStore(settings.data_dir / "blobs"), clock,
                         moderation, preview_key(app.state.secrets.cookie_secret))
    returning = ReturningChannels(db, ReturningStore(), store, ReportStore(), AccountStore(),
                                  media, search, clock)
    channels = ChannelService(db, store, search, AccountStore(), media, moderation, bus,
                              clock, reserved_names(settings.reserved_names), returning)
    app.state.returning = returning
    app.state.media = media
    app.state.channels = channels
    app.state.posts = PostService(db, store, search, channels, media, moderation, bus, clock)
    app.state.profiles = ProfileService(db, media_store, media, moderation)
    _wire_actions(app, settings, db, bus, clock, store, search, media)


def _wire_actions(app: FastAPI, settings: Settings, db: Database, bus: Bus, clock: Clock,
                  store: ChannelStore, search: SearchIndex, media: MediaService) -> None:
    """Rules and actions (issue #7): the gate gets the actor's history and applies the
    rules' action requests; bank additions queue retro-scans."""
    moderation: ModerationService = app.state.moderation
    action_svc = ActionService(db, ActionStore(), app.state.banks, bus, clock)

    async def sink(decision: Decision) -> dict[str, Any] | None:
        return (await action_svc.apply(decision)).statement

    moderation.history = action_svc.history
    moderation.sink = sink
    action_svc.on_ban.append(app.state.returning.fingerprint)
    takedown_svc = TakedownService(action_svc, store, search, media)
    scanner = RetroScanner(app.state.jobs, BankStore(), moderation, action_svc, takedown_svc,
                           media)
    app.state.banks.on_added.append(scanner.entries_added)
    app.state.job_runner.register(RETRO_SCAN, scanner.run)
    app.state.actions = action_svc
    app.state.takedowns = takedown_svc
    app.state.entry_safety = EntrySafety(
        db, EntrySafetyStore(), app.state.banks, moderation, action_svc, ReportStore(), clock,
        SafetyPolicy(settings.quarantine_items, settings.quarantine_uploaders,
                     settings.quarantine_window_s * 1000, settings.false_match_limit))
    moderation.watch = app.state.entry_safety.watch
    app.state.rule_config = RuleConfig(db, ActionStore(), moderation, settings.data_dir, clock)


def _wire_reports(app: FastAPI, db: Database, streams: StreamService,
                  keyring: FrankingKeyring, clock: Clock) -> None:
    """Reports, the review queue and the system inbox; holds from the gate open cases."""
    store = ReportStore()
    notices = NoticeService(db, store, AccountStore(), streams, clock)
    report_svc = ReportService(db, store, AccountStore(), ChannelStore(), keyring, clock,
                               lambda: getattr(app.state, "group_membership", None),
                               BlobStore(app.state.settings.data_dir / "disclosed"))
    enforcer = Enforcer(db, ChannelStore(), AccountStore(), app.state.posts, clock,
                        lambda: getattr(app.state, "takedowns", None))
    app.state.notices = notices
    app.state.reports = report_svc
    app.state.review = ReviewService(db, store, AccountStore(), ChannelStore(), enforcer,
                                     notices, clock, app.state.returning,
                                     entries=app.state.entry_safety)
    app.state.returning.notices = notices
    app.state.posts.on_hold = report_svc.post_held
    app.state.transparency = TransparencyService(db, clock)
    app.state.takedowns.notices = notices
    app.state.actions.notices = notices


def _wire_orders(app: FastAPI, settings: Settings, db: Database, clock: Clock) -> None:
    """Removal orders, authority accounts and the preservation store (issue #9)."""
    media: MediaService = app.state.media
    preservation = PreservationService(
        db, PreservationStore(), ChannelStore(), AccountStore(), media.store, media.blobs,
        BlobStore(settings.data_dir / "preserved"), app.state.jobs, clock)
    app.state.takedowns.preservation = preservation
    app.state.channels.preserve = preservation.preserve
    authorities = AuthorityService(app.state.accounts, OrderStore())
    targets = OrderTargets(db, ChannelStore(), AccountStore(), app.state.actions,
                           app.state.takedowns, clock)
    public_url = settings.resolved_public_url
    contact = settings.legal_contact or f"{public_url}/api/v1/orders"
    order_svc = OrderService(db, OrderStore(), authorities, targets, preservation,
                             app.state.notices, ReportStore(), app.state.jobs, clock,
                             settings.provider_name, contact, public_url,
                             settings.order_confirm_per_hour)
    app.state.job_runner.register(PURGE_JOB, preservation.purge_job)
    app.state.job_runner.register(NOTICE_JOB, order_svc.notice_job)
    app.state.preservation = preservation
    app.state.authorities = authorities
    app.state.orders = order_svc


MATCHER_SNAPSHOT = ("index", "matcher.bin")
"""Where each process keeps its matcher snapshot, under the data directory."""


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
        account_svc = AccountService(db, AccountStore(), server_secrets.token_pepper, clock,
                                     reserved_names(settings.reserved_names), live_bus,
                                     settings.password_cost)
        app.state.console_sessions = ConsoleSessions(
            db, ConsoleSessionStore(), AccountStore(), account_svc.hash_token, clock,
            settings.console_idle_timeout_s * 1000, settings.console_session_max_s * 1000)
        session_watch = SessionWatch(db, SessionEndStore(), live_bus, clock)
        await session_watch.start()
        stream_svc = StreamService(db, StreamStore(), live_bus, clock)
        committer = GroupCommitter(db, stream_svc.store, SentStore(), clock, stream_svc.publish)
        stream_svc.committer = committer
        directory = DirectoryCache(db, AccountStore(), KeyDirectoryStore(), clock)
        key_svc = KeyService(db, KeyDirectoryStore(), AccountStore(), stream_svc, clock,
                             directory)
        contact_svc = ContactService(db, ContactStore(), AccountStore(), clock, live_bus)
        contact_watch = contact_svc.watch()
        app.state.contacts = contact_svc
        message_svc = MessageService(db, committer, SentStore(), directory,
                                     franking_keyring(server_secrets), clock, contact_svc)
        limit_matcher_threads()
        moderation = ModerationService(observe=metrics.observe_decision)
        bank_sync = BankSync(db, BankStore(), moderation,
                             settings.data_dir.joinpath(*MATCHER_SNAPSHOT))
        await bank_sync.load()
        app.state.moderation = moderation
        app.state.bank_sync = bank_sync
        app.state.exchange_credentials = ExchangeCredentials(
            db, CredentialStore(), Sealer.from_secrets(server_secrets.credentials_current,
                                                       server_secrets.credentials_keys),
            os.environ, clock)
        app.state.banks = BankService(db, BankStore(), bank_sync, clock,
                                      Exchanges(settings.data_dir, os.environ,
                                                settings.exchange_urls()),
                                      app.state.exchange_credentials.stored)
        app.state.hma = HmaService(app.state.banks, moderation, (settings.hma_label,))
        poller = asyncio.create_task(_poll_banks(bank_sync), name="bank-refresh")
        app.state.settings = settings
        app.state.clock = clock
        app.state.secrets = server_secrets
        app.state.db = db
        app.state.bus = live_bus
        app.state.limiter = limiter
        app.state.rate_rules = settings.rate_rules()
        job_svc = JobService(db, JobStore(), clock)
        job_runner = JobRunner(job_svc, concurrency=settings.job_concurrency)
        app.state.jobs = job_svc
        app.state.webhooks = WebhookService(
            db, job_svc, clock, lambda event, result:
            metrics.webhook_deliveries.labels(event, result).inc())
        job_runner.register(DELIVER_JOB, app.state.webhooks.deliver_job)
        hooks_task = asyncio.create_task(  # new events for the webhooks (services/webhooks.py)
            _every(settings.webhook_scan_s, app.state.webhooks.scan, "webhook scan"),
            name="webhook-scan")
        app.state.job_runner = job_runner
        exchange_scheduler = ExchangeScheduler(app.state.banks, job_svc)
        job_runner.register(EXCHANGE_JOB_KIND, exchange_scheduler.handle)
        scheduler_task = asyncio.create_task(exchange_scheduler.run(),
                                             name="exchange-schedule")
        app.state.metrics = metrics
        app.state.accounts = account_svc
        app.state.streams = stream_svc
        app.state.keys = key_svc
        app.state.messages = message_svc
        _wire_channels(app, settings, db, live_bus, clock)
        app.state.groups = GroupService(db, GroupStore(), AccountStore(), stream_svc, committer,
                                        directory, message_svc.keyring, moderation, clock,
                                        contact_svc)
        stream_svc.expand = app.state.groups.expand
        app.state.group_membership = app.state.groups.is_member
        app.state.attachments = AttachmentService(db, BlobStore(settings.data_dir / "attachments"),
                                                  clock)
        app.state.expiry = ExpiryService(db, app.state.groups, app.state.attachments, clock)
        sweeper = asyncio.create_task(  # expired messages and attachments (services/expiry.py)
            _every(limits.DISAPPEAR_SWEEP_S, app.state.expiry.sweep,
                   "disappearing-message sweep"), name="disappear-sweep")
        _wire_reports(app, db, stream_svc, franking_keyring(server_secrets), clock)
        disclosed_sweeper = asyncio.create_task(  # past their keep (services/reports.py)
            _every(limits.REPORT_DISCLOSED_SWEEP_S, app.state.reports.sweep_disclosed,
                   "disclosed-attachment sweep"), name="disclosed-sweep")
        _wire_orders(app, settings, db, clock)
        await app.state.rule_config.load()
        rule_poller = asyncio.create_task(_poll_rules(app.state.rule_config),
                                          name="rules-refresh")
        app.state.gateway = Gateway(account_svc, stream_svc, live_bus, metrics,
                                    settings.ws_send_queue,
                                    messages.ws_send_hook(message_svc, limiter,
                                                          app.state.rate_rules, metrics),
                                    ChannelFanout(live_bus), app.state.channels.live_ids,
                                    session_watch, settings.ws_connections_per_token)
        gc_task = asyncio.create_task(gc_policy.run())
        job_runner.start()  # claims only kinds that services register handlers for
        try:
            yield
        finally:
            gc_task.cancel()
            await session_watch.close()
            if contact_watch is not None:
                contact_watch.close()
            await job_runner.stop()
            await limiter.close()
            await committer.close()
            for task in (poller, rule_poller, sweeper, disclosed_sweeper, hooks_task,
                         scheduler_task):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if bank_sync.changes_since_snapshot:
                await bank_sync.save_snapshot()
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
    app.state.console_sections = [*review_console.SECTIONS, *order_console.SECTIONS,
                                  *exchange_console.SECTIONS]

    app.add_middleware(RequestLimits, max_body=settings.max_body_bytes,
                       body_timeout=settings.request_body_timeout_s)
    app.add_middleware(MetricsAndHeaders, metrics=metrics)
    app.add_middleware(HmaSlashes)
    return app
