"""Drive a python-threatexchange exchange's ``fetch_iter`` with checkpoints.

The exchange object is built and authenticated by the caller (the I/O
shell): this helper only iterates, converts each delta to our signal types
and hands back the checkpoint so the caller can persist it and resume. It
does no I/O of its own; whatever the exchange does is the exchange's.
"""

import typing as t
from dataclasses import dataclass

from threatexchange.exchanges.fetch_state import FetchCheckpointBase, FetchedSignalMetadata
from threatexchange.signal_type.signal_base import SignalType

from tidings.moderation.errors import ModerationError
from tidings.moderation.limits import MAX_FETCH_BATCHES
from tidings.moderation.manifest import SIGNAL_TYPES, validate_value

#: ``(signal_type, normalised value, metadata)``; metadata None = deleted upstream.
FetchedSignal = tuple[str, str, FetchedSignalMetadata | None]
ProgressCallback = t.Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class FetchBatch:
    """One delta: its signals, values the types rejected, and the checkpoint
    to store once the signals are applied."""

    signals: list[FetchedSignal]
    rejected: int
    checkpoint: FetchCheckpointBase


def fetch_batches(
    exchange: t.Any,
    checkpoint: FetchCheckpointBase | None = None,
    signal_types: t.Sequence[type[SignalType]] = tuple(SIGNAL_TYPES.values()),
    progress: ProgressCallback | None = None,
    max_batches: int = MAX_FETCH_BATCHES,
) -> t.Iterator[FetchBatch]:
    """Yield converted batches; ``progress(batches, signals)`` after each.

    Exchanges keyed by ``(signal_type, value)`` (``SignalExchangeAPIWithSimple
    Updates``) are read directly; others are converted with the exchange's
    ``naive_convert_to_signal_type`` using its ``collab``.
    """
    known = {cls.get_name() for cls in signal_types}
    total = 0
    for number, delta in enumerate(exchange.fetch_iter(signal_types, checkpoint), start=1):
        pairs = _pairs(exchange, signal_types, delta.updates)
        signals: list[FetchedSignal] = []
        rejected = 0
        for (signal_type, value), meta in pairs:
            if signal_type not in known:
                rejected += 1
                continue
            try:
                signals.append((signal_type, validate_value(signal_type, value), meta))
            except ModerationError:
                rejected += 1
        total += len(signals)
        yield FetchBatch(signals, rejected, delta.checkpoint)
        if progress is not None:
            progress(number, total)
        if number >= max_batches:
            return


def _pairs(
    exchange: t.Any, signal_types: t.Sequence[type[SignalType]], updates: t.Mapping[t.Any, t.Any]
) -> list[tuple[tuple[str, str], FetchedSignalMetadata | None]]:
    if all(isinstance(k, tuple) and len(k) == 2 for k in updates):
        return [((str(k[0]), str(k[1])), v) for k, v in updates.items()]
    converted = exchange.naive_convert_to_signal_type(signal_types, exchange.collab, updates)
    return [
        ((cls.get_name(), value), meta)
        for cls, by_value in converted.items()
        for value, meta in by_value.items()
    ]
