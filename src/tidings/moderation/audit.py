"""Append-only, hash-chained audit log of moderation actions.

Each record's hash covers the previous record's hash, so changing, removing,
inserting or reordering any record breaks every later link; keeping the head
hash somewhere else (a transparency report, an operator's notes) also catches
truncation. This backs the record keeping behind DSA Art. 15 and 24 reports,
the TCO Art. 6 preservation of removed terrorist content and its related data,
and answers to complaints under DSA Art. 20 and TCO Art. 10.

    record_hash = SHA-256(prev_hash_bytes || canonical_json(record))

``canonical_json`` is sorted keys, no whitespace, UTF-8, no floats (floats do
not round-trip identically everywhere; use integers such as milliseconds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from tidings.moderation.errors import ModerationError

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first record."""

JsonValue = str | int | bool | None | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


class AuditError(ModerationError, ValueError):
    code = "invalid_audit_record"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What happened: ``actor`` (``moderator:…``, ``system``, ``authority:…``),
    ``action``, the ``rule`` or policy it followed, the ``target``, ``time_ms``
    (Unix ms, supplied by the caller) and free ``details`` (JSON values)."""

    actor: str
    action: str
    rule: str
    target: str
    time_ms: int
    details: Mapping[str, JsonValue] = field(default_factory=dict)

    def to_json(self) -> dict[str, JsonValue]:
        return {"actor": self.actor, "action": self.action, "rule": self.rule,
                "target": self.target, "time_ms": self.time_ms, "details": dict(self.details)}


@dataclass(frozen=True, slots=True)
class ChainedRecord:
    index: int
    record: AuditRecord
    prev_hash: str
    record_hash: str


def _check(value: object, path: str) -> None:
    if isinstance(value, float):
        raise AuditError(f"{path}: floats are not allowed in audit records")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if not isinstance(k, str):
                raise AuditError(f"{path}: keys must be strings")
            _check(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]")
    elif not (value is None or isinstance(value, str | int | bool)):
        raise AuditError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical_json(record: AuditRecord) -> bytes:
    body = record.to_json()
    _check(body, "record")
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def record_hash(prev_hash: str, record: AuditRecord) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_json(record)).hexdigest()


def append(chain: Sequence[ChainedRecord], record: AuditRecord) -> ChainedRecord:
    """The next link after ``chain`` (only its last element is read)."""
    prev = chain[-1].record_hash if chain else GENESIS_HASH
    return ChainedRecord(len(chain), record, prev, record_hash(prev, record))


def build_chain(records: Sequence[AuditRecord]) -> list[ChainedRecord]:
    chain: list[ChainedRecord] = []
    for record in records:
        chain.append(append(chain, record))
    return chain


class Problem(StrEnum):
    CHANGED = "changed"
    """A record's hash does not cover its content: it was edited."""
    BROKEN_LINK = "broken_link"
    """``prev_hash`` is not the previous record's hash: removed, inserted or reordered."""
    BAD_INDEX = "bad_index"
    TRUNCATED = "truncated"
    """The last hash is not the head kept elsewhere."""


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    first_bad_index: int | None = None
    problem: Problem | None = None


def verify_chain(chain: Sequence[ChainedRecord], expected_head: str | None = None,
                 ) -> VerifyResult:
    """Walk the chain; report the first index where it stops being consistent.

    Without ``expected_head`` a chain cut off at its end still verifies: pass
    the head hash kept outside the log to catch that too."""
    prev = GENESIS_HASH
    for i, link in enumerate(chain):
        if link.prev_hash != prev:
            return VerifyResult(False, i, Problem.BROKEN_LINK)
        try:
            recomputed = record_hash(link.prev_hash, link.record)
        except (AuditError, ValueError):
            return VerifyResult(False, i, Problem.CHANGED)
        if recomputed != link.record_hash:
            return VerifyResult(False, i, Problem.CHANGED)
        if link.index != i:
            return VerifyResult(False, i, Problem.BAD_INDEX)
        prev = link.record_hash
    if expected_head is not None and prev != expected_head:
        return VerifyResult(False, len(chain), Problem.TRUNCATED)
    return VerifyResult(True)
