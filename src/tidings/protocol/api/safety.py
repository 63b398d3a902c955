"""Results of the reporting, notice and staff moderation routes."""

from __future__ import annotations

from tidings.protocol.api import Result


class ReportReceipt(Result):
    id: int
    case_id: str
    status: str
    verified: bool
    """A reported message's franking tag checked out."""
    source: str
    received_at: int
    disclosed: int
    """Messages the reporter disclosed with the report."""
    message: str


class ReportStatus(Result):
    id: int
    case_id: str
    status: str
    outcome: str | None
    category: str
    verified: bool
    received_at: int
    updated_at: int


class TrustedFlagger(Result):
    username: str
    since: int


class TrustedFlaggerSet(Result):
    username: str
    trusted_flagger: bool


class Rules(Result):
    version: int
    content_hash: str
    source: str
    rules: list[str]
    """The rules' names, in order."""
    text: str
    """The rule set's TOML."""


class AuditCheck(Result):
    ok: bool
    first_bad_index: int | None
    problem: str | None


class Removal(Result):
    removed: bool
    post: int
    """The post's internal id."""
    banked: int | None = None
    media_withdrawn: list[str] | None = None
    low_texture_media: list[str] | None = None
    note: str | None = None
    preservation_id: str | None = None


