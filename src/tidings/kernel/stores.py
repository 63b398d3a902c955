"""The kernel's stores and blob stores, each built once; their places on disk."""

from __future__ import annotations

from pathlib import Path

from tidings.kernel.parts import Blobs, Stores
from tidings.storage.accounts import AccountStore
from tidings.storage.actions import ActionStore
from tidings.storage.banks import BankStore
from tidings.storage.blobs import BlobStore
from tidings.storage.channels import ChannelStore
from tidings.storage.console_sessions import ConsoleSessionStore
from tidings.storage.contacts import ContactStore
from tidings.storage.credentials import CredentialStore
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

MATCHER_SNAPSHOT = ("index", "matcher.bin")
"""Where each process keeps its matcher snapshot, under the data directory."""

PUBLIC_BLOBS = "blobs"
ATTACHMENT_BLOBS = "attachments"
DISCLOSED_BLOBS = "disclosed"
PRESERVED_BLOBS = "preserved"


def make_stores() -> Stores:
    return Stores(
        accounts=AccountStore(), actions=ActionStore(), banks=BankStore(),
        channels=ChannelStore(), console_sessions=ConsoleSessionStore(),
        contacts=ContactStore(), credentials=CredentialStore(),
        entry_safety=EntrySafetyStore(), groups=GroupStore(), invitations=InvitationStore(),
        jobs=JobStore(), keys=KeyDirectoryStore(), media=MediaStore(), orders=OrderStore(),
        preservation=PreservationStore(), reports=ReportStore(), returning=ReturningStore(),
        search=SearchIndex(), sent=SentStore(), session_ends=SessionEndStore(),
        streams=StreamStore(),
        transparency=TransparencyStore())


def make_blobs(data_dir: Path) -> Blobs:
    return Blobs(public=BlobStore(data_dir / PUBLIC_BLOBS),
                 attachments=BlobStore(data_dir / ATTACHMENT_BLOBS),
                 disclosed=BlobStore(data_dir / DISCLOSED_BLOBS),
                 preserved=BlobStore(data_dir / PRESERVED_BLOBS))
