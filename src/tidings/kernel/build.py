"""The one composition root: every store and service, by constructor, in dependency order.

Cycles are cut explicitly, never by setting an attribute on a built service:

- streams <-> group commit <-> groups: the commit publishes with
  :func:`~tidings.services.streams.publish_events` over the bus and the group
  ciphertexts' ``expand`` (services/group_ciphertexts.py), both built first;
- banks -> retro-scan -> actions -> banks: the banks emit :class:`EntriesAdded` on a
  :class:`Topic` the scanner is subscribed to here;
- jobs -> job runner (built last, it runs the handlers of services that enqueue): the
  queue emits :class:`JobEnqueued` on a :class:`Topic` the runner's ``wake`` is
  subscribed to here;
- everything else is ordered so a service's collaborators exist before it
  (notices and preservation before the takedowns, reports before posts, takedowns
  before the enforcer);
- the gate (built first: media, channels, posts and groups check through it) asks
  the actions service and the partner-entry watch, built after it, through
  :class:`Hook` objects given to its constructor and answered here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tidings.bus.base import Bus
from tidings.config import Settings
from tidings.crypto.sealed import Sealer
from tidings.kernel.parts import Kernel
from tidings.kernel.stores import MATCHER_SNAPSHOT, make_blobs, make_stores
from tidings.moderation.engine import Actor
from tidings.moderation.rules import ActorHistory
from tidings.protocol.franking import FrankingKeyring, FrankingSecret
from tidings.server.secrets import ServerSecrets
from tidings.services.accounts import AccountService
from tidings.services.actions import ActionService
from tidings.services.attachments import AttachmentService
from tidings.services.authorities import AuthorityService
from tidings.services.bank_exchanges import Exchanges
from tidings.services.bank_sync import BankSync
from tidings.services.banks import BankService
from tidings.services.channels import ChannelService
from tidings.services.clock import Clock
from tidings.services.console_sessions import ConsoleSessions
from tidings.services.contacts import ContactService
from tidings.services.directory import DirectoryCache
from tidings.services.enforcement import Enforcer
from tidings.services.entry_safety import EntrySafety, SafetyPolicy
from tidings.services.events import EntriesAdded, Hook, JobEnqueued, Topic
from tidings.services.exchange_credentials import ExchangeCredentials
from tidings.services.exchange_schedule import JOB_KIND as EXCHANGE_JOB_KIND
from tidings.services.exchange_schedule import ExchangeScheduler
from tidings.services.expiry import ExpiryService
from tidings.services.group_ciphertexts import GroupCiphertexts
from tidings.services.groups import GroupService
from tidings.services.hma import HmaService
from tidings.services.jobs import JobRunner, JobService
from tidings.services.keys import KeyService
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
from tidings.services.streams import StreamService, publish_events
from tidings.services.takedowns import TakedownService
from tidings.services.transparency import TransparencyService
from tidings.services.webhooks import DELIVER_JOB, WebhookService
from tidings.storage.committer import GroupCommitter
from tidings.storage.database import Database


@dataclass(frozen=True, slots=True)
class Observers:
    """Where the services report measurements (the server's Prometheus metrics)."""

    decision: Callable[[Decision], None] | None = None
    webhook: Callable[[str, str], None] | None = None


def franking_keyring(server_secrets: ServerSecrets) -> FrankingKeyring:
    """The server's franking keys: the current one tags, all of them verify reports."""
    keys_by_id = {k: FrankingSecret(k, v) for k, v in server_secrets.franking_keys.items()}
    current = keys_by_id.pop(server_secrets.franking_current)
    return FrankingKeyring(current, keys_by_id)


def build_kernel(settings: Settings, clock: Clock, bus: Bus, db: Database,
                 server_secrets: ServerSecrets, observers: Observers = Observers()) -> Kernel:
    """Build every store and service. Touches no database or network (the blob stores
    make their directories): loading the matcher snapshot and the rule set, and
    starting background work, are the caller's (server/app.py, kernel/operator.py)."""
    s = make_stores()
    blobs = make_blobs(settings.data_dir)
    reserved = reserved_names(settings.reserved_names)
    keyring = franking_keyring(server_secrets)

    # -- private messaging ----------------------------------------------------------
    accounts = AccountService(db, s.accounts, server_secrets.token_pepper, clock, reserved,
                              bus, settings.password_cost)
    console_sessions = ConsoleSessions(
        db, s.console_sessions, s.accounts, accounts.hash_token, clock,
        settings.console_idle_timeout_s * 1000, settings.console_session_max_s * 1000)
    group_ciphertexts = GroupCiphertexts(db, s.groups)
    committer = GroupCommitter(
        db, s.streams, s.sent, clock,
        lambda events: publish_events(bus, group_ciphertexts.expand, events))
    streams = StreamService(db, s.streams, bus, clock, committer, group_ciphertexts.expand)
    directory = DirectoryCache(db, s.accounts, s.keys, clock)
    keys = KeyService(db, s.keys, s.accounts, streams, clock, directory)
    contacts = ContactService(db, s.contacts, s.accounts, clock, bus)
    messages = MessageService(db, committer, s.sent, directory, keyring, clock, contacts)

    # -- moderation engine, banks, jobs -----------------------------------------------
    # The gate is built first (media, channels, posts and groups check through it); the
    # actions service and the partner-entry watch it asks are built after it, from
    # services that need the gate, so they answer its hooks once they exist.
    history: Hook[Actor, ActorHistory] = Hook("actor history")
    sink: Hook[Decision, dict[str, Any] | None] = Hook("action sink")
    watch: Hook[Decision, None] = Hook("partner-entry watch")
    moderation = ModerationService(observe=observers.decision, history=history, sink=sink,
                                   watch=watch)
    bank_sync = BankSync(db, s.banks, moderation, settings.data_dir.joinpath(*MATCHER_SNAPSHOT))
    exchange_credentials = ExchangeCredentials(
        db, s.credentials, Sealer.from_secrets(server_secrets.credentials_current,
                                               server_secrets.credentials_keys),
        os.environ, clock)
    entries_added: Topic[EntriesAdded] = Topic()
    banks = BankService(db, s.banks, bank_sync, clock,
                        Exchanges(settings.data_dir, os.environ, settings.exchange_urls()),
                        exchange_credentials.stored, entries_added)
    hma = HmaService(banks, moderation, (settings.hma_label,))
    jobs_enqueued: Topic[JobEnqueued] = Topic()
    jobs = JobService(db, s.jobs, clock, jobs_enqueued)
    webhooks = WebhookService(db, jobs, clock, observers.webhook)
    exchange_scheduler = ExchangeScheduler(banks, jobs)

    # -- public channels, behind the one moderation gate ------------------------------
    media = MediaService(db, s.media, blobs.public, clock, moderation,
                         preview_key(server_secrets.cookie_secret))
    notices = NoticeService(db, s.reports, s.accounts, streams, clock)
    preservation = PreservationService(db, s.preservation, s.channels, s.accounts, s.media,
                                       blobs.public, blobs.preserved, jobs, clock)
    returning = ReturningChannels(db, s.returning, s.channels, s.reports, s.accounts, media,
                                  s.search, clock, notices)
    groups = GroupService(db, s.groups, s.accounts, streams, committer, directory, keyring,
                          moderation, clock, contacts, s.invitations, group_ciphertexts)
    attachments = AttachmentService(db, blobs.attachments, clock)
    expiry = ExpiryService(db, groups, attachments, clock)
    reports = ReportService(db, s.reports, s.accounts, s.channels, keyring, clock,
                            groups.is_member, blobs.disclosed)
    channels = ChannelService(db, s.channels, s.search, s.accounts, media, moderation, bus,
                              clock, reserved, returning, bans=s.actions,
                              preserve=preservation.preserve)
    posts = PostService(db, s.channels, s.search, channels, media, moderation, bus, clock,
                        reports.post_held)
    profiles = ProfileService(db, s.media, media, moderation)

    # -- rules and actions (issue #7), review, legal (issue #9) ----------------------
    actions = ActionService(db, s.actions, s.accounts, banks, bus, clock, notices,
                            (returning.fingerprint,))
    takedowns = TakedownService(actions, s.channels, s.search, media, notices, preservation)
    retro_scan = RetroScanner(jobs, s.banks, moderation, actions, takedowns, media, s.reports)

    async def scan_added(event: EntriesAdded) -> None:
        await retro_scan.entries_added(event.bank, list(event.entries))

    entries_added.subscribe(scan_added)
    entry_safety = EntrySafety(
        db, s.entry_safety, banks, moderation, actions, s.reports, clock,
        SafetyPolicy(settings.quarantine_items, settings.quarantine_uploaders,
                     settings.quarantine_window_s * 1000, settings.false_match_limit))

    async def statement_of(decision: Decision) -> dict[str, Any] | None:
        return (await actions.apply(decision)).statement

    history.bind(actions.history)
    sink.bind(statement_of)
    watch.bind(entry_safety.watch)
    rule_config = RuleConfig(db, s.actions, moderation, settings.data_dir, clock)
    enforcer = Enforcer(db, s.channels, s.accounts, posts, clock, takedowns)
    review = ReviewService(db, s.reports, s.accounts, s.channels, enforcer, notices, clock,
                           returning, entries=entry_safety, actions=s.actions)
    transparency = TransparencyService(db, clock, store=s.transparency, returning=s.returning)
    authorities = AuthorityService(accounts, s.orders, s.accounts)
    order_targets = OrderTargets(db, s.channels, s.accounts, actions, takedowns, clock)
    public_url = settings.resolved_public_url
    orders = OrderService(db, s.orders, authorities, order_targets, preservation, notices,
                          s.reports, jobs, clock, settings.provider_name,
                          settings.legal_contact or f"{public_url}/api/v1/orders", public_url,
                          settings.order_confirm_per_hour, audit=s.actions)
    job_runner = JobRunner(jobs, concurrency=settings.job_concurrency, handlers={
        DELIVER_JOB: webhooks.deliver_job, EXCHANGE_JOB_KIND: exchange_scheduler.handle,
        RETRO_SCAN: retro_scan.run, PURGE_JOB: preservation.purge_job,
        NOTICE_JOB: orders.notice_job})
    jobs_enqueued.subscribe(job_runner.wake)

    return Kernel(
        settings=settings, clock=clock, db=db, bus=bus, secrets=server_secrets, stores=s,
        blobs=blobs, entries_added=entries_added, jobs_enqueued=jobs_enqueued,
        accounts=accounts, console_sessions=console_sessions, streams=streams,
        committer=committer, directory=directory, keys=keys, contacts=contacts,
        messages=messages, group_ciphertexts=group_ciphertexts, groups=groups,
        attachments=attachments, expiry=expiry,
        moderation=moderation, bank_sync=bank_sync, exchange_credentials=exchange_credentials,
        banks=banks, hma=hma, jobs=jobs, webhooks=webhooks,
        exchange_scheduler=exchange_scheduler,
        media=media, notices=notices, preservation=preservation, returning=returning,
        reports=reports, channels=channels, posts=posts, profiles=profiles,
        actions=actions, takedowns=takedowns, retro_scan=retro_scan, entry_safety=entry_safety,
        rule_config=rule_config, enforcer=enforcer, review=review, transparency=transparency,
        authorities=authorities, order_targets=order_targets, orders=orders,
        job_runner=job_runner)
