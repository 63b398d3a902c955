"""Bank import/export formats, pure: text in, values out (and back).

Two formats:

* pytx local-file format, exactly what ``LocalFileSignalExchangeAPI`` reads
  (threatexchange/exchanges/impl/file_api.py): one signal per line,
  ``<signal_type> <value>`` split on the first space, or the bare value when
  the collaboration fixes the type; blank lines are skipped. Type names may be
  pytx's (``video_md5``, ``raw_text``...) or Tidings' (``md5``...); see
  ``pytx_names``. Writing with pytx names leaves out what pytx has no type for
  and says how many, and why.
* Bank CSV, with header ``signal_type,signal_value,bank,labels,source,
  added_at,enabled,content_type``: labels ``;``-separated, ``added_at`` ISO 8601 with
  an offset, ``enabled`` ``true``/``false``, ``content_type`` empty (unknown) or
  ``photo``/``video``/``file`` (files without that column still import).
  (Tidings' own columns; HMA's bank export was not verified, see docs/matching.md.)

Parsing is strict: the first bad line raises ``FormatError`` with its
1-based number, so an operator fixes the file instead of silently losing
hashes. Sizes are bounded before any work.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from tidings.moderation.banks import BankEntry
from tidings.moderation.errors import FormatError, ModerationError
from tidings.moderation.limits import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_LINES,
    MAX_LINE_CHARS,
    VPDQ_MAX_SIGNAL_CHARS,
)
from tidings.moderation.pytx_names import (
    CONTENT_TYPES,
    from_named,
    is_known_name,
    known_names,
    omit_reason,
    to_pytx,
)

CSV_COLUMNS = ("signal_type", "signal_value", "bank", "labels", "source", "added_at", "enabled",
               "content_type")
LEGACY_CSV_COLUMNS = CSV_COLUMNS[:7]
"""Files written before ``content_type`` was kept still import (content type unknown)."""
LABEL_SEPARATOR = ";"


@dataclass(frozen=True, slots=True)
class ParsedSignal:
    line: int
    signal_type: str
    value: str
    content_type: str | None = None
    """``video`` for a pytx ``video_md5``/``video_sha256`` line, else None (unknown)."""


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """A signal file and what it left out: ``{reason: count}``."""

    text: str
    written: int
    omitted: dict[str, int]


def _lines(data: str) -> list[str]:
    if len(data) > MAX_IMPORT_BYTES:
        raise FormatError(0, f"input over {MAX_IMPORT_BYTES} characters")
    lines = data.splitlines()
    if len(lines) > MAX_IMPORT_LINES:
        raise FormatError(0, f"more than {MAX_IMPORT_LINES} lines")
    return lines


def _line_limit(signal_type: str) -> int:
    """vpdq values are a list of frames, longer than any other signal."""
    return VPDQ_MAX_SIGNAL_CHARS + 64 if signal_type == "vpdq" else MAX_LINE_CHARS


def parse_signal_file(data: str, default_signal_type: str | None = None) -> list[ParsedSignal]:
    """Parse pytx's local-file format; values come back normalised.

    One line can give several signals (``raw_text`` gives the text's hashes)."""
    if default_signal_type is not None and not is_known_name(default_signal_type):
        raise FormatError(0, f"unknown signal type {default_signal_type!r}")
    out: list[ParsedSignal] = []
    for number, raw in enumerate(_lines(data), start=1):
        limit = _line_limit(default_signal_type or raw.lstrip().partition(" ")[0])
        if len(raw) > limit:
            raise FormatError(number, f"line over {limit} characters")
        line = raw.strip()
        if not line:
            continue
        if default_signal_type is None:
            signal_type, _, value = line.partition(" ")
            if not value:
                raise FormatError(number, "expected '<signal_type> <value>'")
        else:
            signal_type, value = default_signal_type, line
        if not is_known_name(signal_type):
            raise FormatError(number, f"unknown signal type {signal_type[:40]!r}; known: "
                              + ", ".join(known_names()))
        try:
            out.extend(ParsedSignal(number, c.signal_type, c.value, c.content_type)
                       for c in from_named(signal_type, value))
        except ModerationError as exc:
            raise FormatError(number, str(exc)) from exc
    return out


def format_signal_file(signals: list[tuple[str, str]]) -> str:
    """Inverse of ``parse_signal_file`` (what pytx's report_opinion writes)."""
    return "".join(f"{signal_type} {value}\n" for signal_type, value in signals)


def format_pytx_file(signals: list[tuple[str, str, str | None]]) -> WrittenFile:
    """``(signal_type, value, content_type)`` written under pytx's names; what pytx
    has no type for is left out and counted by reason (never relabelled)."""
    lines: list[str] = []
    omitted: dict[str, int] = {}
    for signal_type, value, content_type in signals:
        name = to_pytx(signal_type, content_type)
        if name is None:
            reason = omit_reason(signal_type, content_type)
            omitted[reason] = omitted.get(reason, 0) + 1
        else:
            lines.append(f"{name} {value}\n")
    return WrittenFile("".join(lines), len(lines), omitted)


def parse_bank_csv(data: str, first_entry_id: int) -> list[BankEntry]:
    """Parse bank CSV; entries get ids ``first_entry_id``, +1, ... in order."""
    lines = _lines(data)
    if not lines:
        raise FormatError(1, "missing header")
    reader = csv.reader(io.StringIO(data, newline=""), strict=True)
    entries: list[BankEntry] = []
    try:
        header = tuple(next(reader))
        if header not in (CSV_COLUMNS, LEGACY_CSV_COLUMNS):
            raise FormatError(1, f"header must be {','.join(CSV_COLUMNS)}")
        for row in reader:
            number = reader.line_num
            if not row:
                continue
            limit = _line_limit(row[0])
            if len(row) != len(header) or any(len(c) > limit for c in row):
                raise FormatError(number, f"expected {len(header)} columns")
            if len(row) == len(LEGACY_CSV_COLUMNS):
                row = [*row, ""]
            entries.append(_entry(number, row, first_entry_id + len(entries)))
    except csv.Error as exc:
        raise FormatError(reader.line_num, f"bad CSV: {exc}") from exc
    return entries


def _entry(number: int, row: list[str], entry_id: int) -> BankEntry:
    signal_type, value, bank, labels, source, added_at, enabled, content_type = row
    if enabled not in ("true", "false"):
        raise FormatError(number, "enabled must be true or false")
    if content_type and content_type not in CONTENT_TYPES:
        raise FormatError(number, f"content_type must be empty or one of "
                                  f"{', '.join(CONTENT_TYPES)}")
    try:
        when = datetime.fromisoformat(added_at)
    except ValueError as exc:
        raise FormatError(number, f"bad added_at {added_at!r}") from exc
    label_set = frozenset(x for x in labels.split(LABEL_SEPARATOR) if x)
    try:
        return BankEntry.create(
            entry_id, bank, signal_type, value, label_set, source, when, enabled == "true",
            content_type or None,
        )
    except ModerationError as exc:
        raise FormatError(number, str(exc)) from exc


def format_bank_csv(entries: list[BankEntry]) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e.signal_type,
                e.value,
                e.bank,
                LABEL_SEPARATOR.join(sorted(e.labels)),
                e.source,
                e.added_at.isoformat(),
                "true" if e.enabled else "false",
                e.content_type or "",
            ]
        )
    return buf.getvalue()
