"""Drive a python-threatexchange exchange's ``fetch_iter`` with checkpoints.

The exchange object is built and authenticated by the caller (the I/O
shell): this helper only iterates, converts each delta to our signal types
and hands back the checkpoint so the caller can persist it and resume. It
does no I/O of its own; whatever the exchange does is the exchange's.

Conversion goes through pytx's own code with pytx's own classes
(``pytx_names.PYTX_SIGNAL_TYPES``): exchanges keyed by ``(signal_type, value)``
(TAT, ThreatExchange's simple updates, local files) name pytx types, and
the others (NCMEC) are converted by their ``naive_convert_to_signal_type``, which
tests class identity. pytx names then map onto ours (``video_md5`` -> ``md5`` of a
video). Every value that does not make it is counted under a reason, so an operator
sees *what* a partner sent that Tidings could not use.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from threatexchange.exchanges.fetch_state import (
    AggregateSignalOpinionCategory,
    FetchCheckpointBase,
    FetchedSignalMetadata,
)
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPIWithSimpleUpdates
from threatexchange.signal_type.signal_base import SignalType

from tidings.moderation.errors import ModerationError
from tidings.moderation.limits import MAX_FETCH_BATCHES
from tidings.moderation.pytx_names import PYTX_SIGNAL_TYPES, from_named, is_known_name

ProgressCallback = t.Callable[[int, int], None]
MAX_REASON_CHARS = 120


@dataclass(frozen=True, slots=True)
class FetchedSignal:
    """One converted signal; ``metadata`` None means deleted upstream."""

    signal_type: str
    value: str
    content_type: str | None
    metadata: FetchedSignalMetadata | None


@dataclass(frozen=True, slots=True)
class FetchBatch:
    """One delta: its signals, what was rejected (``{reason: count}``), and the
    checkpoint to store once the signals are applied."""

    signals: list[FetchedSignal]
    rejected_by_reason: dict[str, int]
    checkpoint: FetchCheckpointBase
    fetched: int = 0
    """Upstream records in the delta (before conversion)."""

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


@dataclass
class Rejections:
    """Reasons -> counts, with reasons kept short (they are shown and stored)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, n: int = 1) -> None:
        key = reason[:MAX_REASON_CHARS]
        self.counts[key] = self.counts.get(key, 0) + n


class ReportsRejections(t.Protocol):
    """An exchange that drops records before we see them says so here (see
    ``services.bank_exchanges``: TAT's mapping drops non-video MD5s)."""

    def take_rejected(self) -> dict[str, int]: ...


def fetch_batches(
    exchange: t.Any,
    checkpoint: FetchCheckpointBase | None = None,
    signal_types: t.Sequence[type[SignalType]] = PYTX_SIGNAL_TYPES,
    progress: ProgressCallback | None = None,
    max_batches: int = MAX_FETCH_BATCHES,
) -> t.Iterator[FetchBatch]:
    """Yield converted batches; ``progress(batches, signals)`` after each."""
    total = 0
    for number, delta in enumerate(exchange.fetch_iter(signal_types, checkpoint), start=1):
        rejected = Rejections()
        take = getattr(exchange, "take_rejected", None)
        if callable(take):
            for reason, n in take().items():
                rejected.add(reason, n)
        signals = _convert(exchange, signal_types, delta.updates, rejected)
        total += len(signals)
        yield FetchBatch(signals, rejected.counts, delta.checkpoint, len(delta.updates))
        if progress is not None:
            progress(number, total)
        if number >= max_batches:
            return


def _is_simple(exchange: t.Any) -> bool:
    """Keys are ``(pytx signal type name, value)``: TAT, local files, static samples (and
    stand-ins without a converter). Others (NCMEC, ThreatExchange) need pytx's converter:
    ThreatExchange's keys are ``(threat type, indicator)``, e.g. ``("HASH_PDQ", ...)``."""
    convert = getattr(type(exchange), "naive_convert_to_signal_type", None)
    if convert is None:
        return True
    simple = SignalExchangeAPIWithSimpleUpdates.naive_convert_to_signal_type
    return getattr(convert, "__func__", convert) is getattr(simple, "__func__", simple)


def _indicator_types(signal_types: t.Sequence[type[SignalType]]) -> dict[str, str]:
    """ThreatExchange threat type -> pytx signal name (for deletions, which carry no
    record for pytx's converter to read)."""
    out: dict[str, str] = {}
    for cls in signal_types:
        declared = getattr(cls, "INDICATOR_TYPE", None)
        names = [declared] if isinstance(declared, str) else list(declared or ())
        for name in names:
            out.setdefault(name, cls.get_name())
    return out


def _negative(meta: t.Any) -> bool:
    """A partner's own opinion says false positive (ThreatExchange NON_MALICIOUS)."""
    aggregate = getattr(meta, "get_as_aggregate_opinion", None)
    if aggregate is None or not getattr(meta, "get_as_opinions", lambda: [])():
        return False
    return bool(aggregate().category == AggregateSignalOpinionCategory.NEGATIVE_CLASS)


def _convert(exchange: t.Any, signal_types: t.Sequence[type[SignalType]],
             updates: t.Mapping[t.Any, t.Any], rejected: Rejections) -> list[FetchedSignal]:
    if _is_simple(exchange):
        pairs = [(str(k[0]), str(k[1]), v) for k, v in updates.items()]
    else:
        converted = exchange.naive_convert_to_signal_type(signal_types, exchange.collab,
                                                          updates)
        pairs = [(cls.get_name(), value, meta)
                 for cls, by_value in converted.items() for value, meta in by_value.items()]
        indicator = _indicator_types(signal_types)
        kept = {value for by_value in converted.values() for value in by_value}
        for key, meta in updates.items():  # ThreatExchange: (threat type, indicator)
            if not (isinstance(key, tuple) and len(key) == 2):
                continue
            kind, value = str(key[0]), str(key[1])
            if kind not in indicator:
                rejected.add(f"{kind}: no pytx signal type for it")
            elif meta is None:  # deleted upstream: pytx's converter skips these
                pairs.append((indicator[kind], value, None))
            elif value.strip().lower() not in kept and value not in kept:
                rejected.add(f"{kind}: left out by pytx's mapping (tags)")
        _explain_unconverted(updates, converted, getattr(exchange, "collab", None), rejected)
    out: list[FetchedSignal] = []
    for name, value, meta in pairs:
        if meta is not None and _negative(meta):
            rejected.add(f"{name} marked non-malicious upstream: not banked, disabled if held")
            meta = None
        if not is_known_name(name):
            rejected.add(f"unsupported signal type {name!r}")
            continue
        try:
            out.extend(FetchedSignal(c.signal_type, c.value, c.content_type, meta)
                       for c in from_named(name, value))
        except ModerationError:
            rejected.add(f"invalid {name} value")
    return out


def _explain_unconverted(updates: t.Mapping[t.Any, t.Any], converted: t.Mapping[t.Any, t.Any],
                         collab: t.Any, rejected: Rejections) -> None:
    """Count fingerprints a record-based exchange (NCMEC) had but pytx did not map.

    NCMEC records carry ``entry_type`` and ``fingerprints`` (md5, sha1, pdna, pdq...);
    pytx maps video md5, image pdq and (with a plugin) photodna. Deleted records carry
    no fingerprints, so the hashes they withdraw cannot be named (counted as such)."""
    kept = {value for by_value in converted.values() for value in by_value}
    for record in updates.values():
        if record is None or not hasattr(record, "fingerprints"):
            continue
        fingerprints = getattr(record, "fingerprints", None)
        kind = getattr(getattr(record, "entry_type", None), "value", "record")
        if getattr(record, "deleted", False):
            rejected.add(f"{kind} deleted upstream: no hash given, not applied")
            continue
        if not isinstance(fingerprints, dict):
            continue
        only = getattr(collab, "only_esp_ids", None)
        if only and getattr(record, "member_id", None) not in only:
            rejected.add(f"{kind} from a member not in only_esp_ids", len(fingerprints))
            continue
        for fp_type, fp_value in fingerprints.items():
            if str(fp_value).strip().lower() not in kept:
                rejected.add(f"{kind} {fp_type}: no pytx signal type for it")
