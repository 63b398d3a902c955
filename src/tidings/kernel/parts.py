"""What the kernel holds: one typed field per store and per service.

Frozen: nothing is swapped in after :func:`tidings.kernel.build.build_kernel` returns.
The kernel is a container for the edges (ASGI app, CLI, demo, tests) to take services
from; no service is handed the kernel, only its own collaborators
(tests/kernel/test_kernel.py checks both).
"""

from __future__ import annotations

from dataclasses import dataclass

from tidings.bus.base import Bus
from tidings.config import Settings
from tidings.server.secrets import ServerSecrets
from tidings.services.accounts import AccountService
from tidings.services.actions import ActionService
from tidings.services.attachments import AttachmentService
from tidings.services.authorities import AuthorityService
from tidings.services.bank_sync import BankSync
from tidings.services.banks import BankService
from tidings.services.channels import ChannelService
from tidings.services.clock import Clock
from tidings.services.console_sessions import ConsoleSessions
from tidings.services.contacts import ContactService
from tidings.services.directory import DirectoryCache
from tidings.services.enforcement import Enforcer
from tidings.services.entry_safety import EntrySafety
from tidings.services.events import EntriesAdded, JobEnqueued, Topic
from tidings.services.exchange_credentials import ExchangeCredentials
from tidings.services.exchange_schedule import ExchangeScheduler
from tidings.services.expiry import ExpiryService
from tidings.services.group_ciphertexts import GroupCiphertexts
from tidings.services.groups import GroupService
from tidings.services.hma import HmaService
from tidings.services.jobs import JobRunner, JobService
from tidings.services.keys import KeyService
from tidings.services.media import MediaService
from tidings.services.messages import MessageService
from tidings.services.moderation import ModerationService
from tidings.services.notices import NoticeService
from tidings.services.order_targets import OrderTargets
from tidings.services.orders import OrderService
from tidings.services.posts import PostService
from tidings.services.preservation import PreservationService
from tidings.services.profiles import ProfileService
from tidings.services.reports import ReportService
from tidings.services.retro_scan import RetroScanner
from tidings.services.returning import ReturningChannels
from tidings.services.review import ReviewService
from tidings.services.rule_config import RuleConfig
from tidings.services.streams import StreamService
from tidings.services.takedowns import TakedownService
from tidings.services.transparency import TransparencyService
from tidings.services.webhooks import WebhookService
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
from tidings.storage.invitations import InvitationStore
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
from tidings.storage.transparency import TransparencyStore


@dataclass(frozen=True, slots=True)
class Blobs:
    """The data directory's blob stores, each spelled once (kernel/stores.py)."""

    public: BlobStore
    """Public media of channels and profiles (``<data>/blobs``)."""
    attachments: BlobStore
    """Encrypted private attachments (``<data>/attachments``)."""
    disclosed: BlobStore
    """Attachments reporters disclosed (``<data>/disclosed``, staff-only)."""
    preserved: BlobStore
    """Removed content kept for authorities (``<data>/preserved``, TCO Art. 6)."""


@dataclass(frozen=True, slots=True)
class Stores:
    """Each SQL store once (they are stateless: the connection is an argument)."""

    accounts: AccountStore
    actions: ActionStore
    banks: BankStore
    channels: ChannelStore
    console_sessions: ConsoleSessionStore
    contacts: ContactStore
    credentials: CredentialStore
    entry_safety: EntrySafetyStore
    groups: GroupStore
    invitations: InvitationStore
    jobs: JobStore
    keys: KeyDirectoryStore
    media: MediaStore
    orders: OrderStore
    preservation: PreservationStore
    reports: ReportStore
    returning: ReturningStore
    search: SearchIndex
    sent: SentStore
    session_ends: SessionEndStore
    streams: StreamStore
    transparency: TransparencyStore


@dataclass(frozen=True, slots=True)
class Kernel:
    """Every store and service of one process, built once, in dependency order."""

    settings: Settings
    clock: Clock
    db: Database
    bus: Bus
    secrets: ServerSecrets
    stores: Stores
    blobs: Blobs
    entries_added: Topic[EntriesAdded]
    jobs_enqueued: Topic[JobEnqueued]
    # private messaging
    accounts: AccountService
    console_sessions: ConsoleSessions
    streams: StreamService
    committer: GroupCommitter
    directory: DirectoryCache
    keys: KeyService
    contacts: ContactService
    messages: MessageService
    group_ciphertexts: GroupCiphertexts
    groups: GroupService
    attachments: AttachmentService
    expiry: ExpiryService
    # moderation engine, banks and background work
    moderation: ModerationService
    bank_sync: BankSync
    exchange_credentials: ExchangeCredentials
    banks: BankService
    hma: HmaService
    jobs: JobService
    webhooks: WebhookService
    exchange_scheduler: ExchangeScheduler
    # public channels
    media: MediaService
    notices: NoticeService
    preservation: PreservationService
    returning: ReturningChannels
    reports: ReportService
    channels: ChannelService
    posts: PostService
    profiles: ProfileService
    # rules, actions, review and legal
    actions: ActionService
    takedowns: TakedownService
    retro_scan: RetroScanner
    entry_safety: EntrySafety
    rule_config: RuleConfig
    enforcer: Enforcer
    review: ReviewService
    transparency: TransparencyService
    authorities: AuthorityService
    order_targets: OrderTargets
    orders: OrderService
    job_runner: JobRunner
