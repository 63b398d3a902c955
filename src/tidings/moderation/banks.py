"""Banks and bank entries as plain values.

A bank is a named list of hashes with one purpose (e.g. ``GIFCT_TCAP``,
``OPERATOR_TERROR``); storage and the matcher hold entries by id. Values are
frozen so that a decision can quote the exact entry that caused it.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from tidings.moderation.errors import InvalidBankError
from tidings.moderation.labels import validate_labels
from tidings.moderation.limits import BANK_NAME_PATTERN, MAX_SOURCE_CHARS
from tidings.moderation.manifest import validate_value

_BANK_NAME = re.compile(BANK_NAME_PATTERN)


def validate_bank_name(name: str) -> str:
    if not _BANK_NAME.fullmatch(name):
        raise InvalidBankError(f"bank name {name!r} must match {BANK_NAME_PATTERN}")
    return name


@dataclass(frozen=True, slots=True)
class Bank:
    """``threshold_override`` replaces each type's default distance (None: keep)."""

    name: str
    enabled: bool = True
    threshold_override: int | None = None

    def __post_init__(self) -> None:
        validate_bank_name(self.name)
        if self.threshold_override is not None and self.threshold_override < 0:
            raise InvalidBankError("threshold_override must be >= 0")


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One banked signal. ``value`` is normalised by its signal type on creation
    (use ``BankEntry.create``) so that equal hashes compare equal."""

    entry_id: int
    bank: str
    signal_type: str
    value: str
    labels: frozenset[str]
    source: str
    added_at: datetime
    enabled: bool = True
    content_type: str | None = None
    """What a byte hash was taken of (``photo``, ``video``, ``file``); None if unknown."""

    def __post_init__(self) -> None:
        validate_bank_name(self.bank)
        validate_labels(self.labels)
        if not 0 <= self.entry_id < 2**63:
            raise InvalidBankError("entry_id must fit in int64 and be >= 0")
        if len(self.source) > MAX_SOURCE_CHARS:
            raise InvalidBankError(f"source over {MAX_SOURCE_CHARS} characters")
        if self.added_at.tzinfo is None:
            raise InvalidBankError("added_at must be timezone-aware")

    @classmethod
    def create(
        cls,
        entry_id: int,
        bank: str,
        signal_type: str,
        value: str,
        labels: frozenset[str],
        source: str,
        added_at: datetime,
        enabled: bool = True,
        content_type: str | None = None,
    ) -> "BankEntry":
        normalized = validate_value(signal_type, value)
        return cls(entry_id, bank, signal_type, normalized, labels, source, added_at, enabled,
                   content_type)
