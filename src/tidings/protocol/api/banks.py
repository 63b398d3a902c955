"""Results of the bank routes (hash and text banks, their entries and exchanges)."""

from __future__ import annotations

from tidings.protocol.api import Result

ConfigValue = str | int | float | bool | list[str] | None
"""A value of an exchange's configuration (``privacy_group``, ``environment``,
``filename``, ``signal_type``...): the request and the result say the same."""


class Bank(Result):
    name: str
    enabled: bool
    threshold_override: int | dict[str, int] | None
    description: str
    created_at: int
    partner: bool
    trusted: bool
    negative: bool
    trust: str
    """own, partner or trusted."""
    entries: int | None = None
    enabled_entries: int | None = None


class Banks(Result):
    banks: list[Bank]


class Entry(Result):
    id: int
    bank: str
    signal_type: str
    value: str
    labels: list[str]
    source: str
    added_at: int
    enabled: bool
    quarantined_at: int | None
    quarantine_reason: str | None
    matching: bool


class Entries(Result):
    entries: list[Entry]
    next_cursor: int | None


class Added(Result):
    added: int
    duplicates: int
    entries: list[Entry]
    notes: list[str]


class Imported(Result):
    added: int
    duplicates: int


class ExportSummary(Result):
    written: int
    omitted: dict[str, int]


class Totals(Result):
    added: int
    removed: int
    rejected: int


class Run(Result):
    started_at: int
    batches: int
    fetched: int
    added: int
    duplicates: int
    removed: int
    rejected: int
    rejected_by_reason: dict[str, int]
    finished_at: int | None = None
    """In ``last_run``: when it ended (and ``error`` if it failed)."""
    error: str | None = None


class Exchange(Result):
    name: str
    exchange_type: str
    bank: str
    credentials_ref: str
    config: dict[str, ConfigValue]
    labels: list[str]
    has_checkpoint: bool
    last_fetch_at: int | None
    interval_s: int | None
    next_run_at: int | None
    failures_in_a_row: int
    state: str
    running_since: int | None
    last_attempt_at: int | None
    last_success_at: int | None
    last_error: str | None
    last_error_at: int | None
    progress: Run | None
    last_run: Run | None
    totals: Totals
    rejected_by_reason: dict[str, int]


class Exchanges(Result):
    exchanges: list[Exchange]


class Fetched(Result):
    batches: int
    added: int
    duplicates: int
    disabled: int
    rejected: int
    rejected_by_reason: dict[str, int]
