"""HMA 2.0's view of Tidings' banks: hash, look up, curate (issue 19 item 3).

Hasher-Matcher-Actioner (facebook/ThreatExchange, ``hasher-matcher-actioner``) names
things differently: a *bank content* is one banked item (a file) with several signals,
signal types carry pytx's names (``pdq``, ``video_md5``...), and a bank is enabled by a
ratio. This service translates; it owns no matching of its own. Lookups go through
``ModerationService.match`` (the publish gate's matcher, with each bank's thresholds
and enabled state), so ``/hma/m/lookup``, ``tidings bank match`` and a publish agree.
"""

from __future__ import annotations

import asyncio
import re
import typing as t
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tidings.moderation import Signal
from tidings.moderation.errors import ModerationError
from tidings.moderation.manifest import SIGNAL_TYPES
from tidings.moderation.pytx_names import from_named, is_known_name, known_names, to_pytx
from tidings.moderation.signal_types import HasThreshold
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge
from tidings.services.banks import BankService, file_signals
from tidings.services.imaging import sniff
from tidings.services.moderation import ModerationService
from tidings.storage.banks import BankRecord

HMA_BANK_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
"""HMA's rule (``OpenMediaMatch/storage/postgres/database.py``, ``_bank_name_ok``)."""

CONTENT_TYPES = ("photo", "video")
"""HMA's content types; anything else a URL or upload holds is refused."""

_INDEX_NAMES = {"md5": "video_md5", "sha256": "video_sha256"}
INDEX_NAMES: t.Final = tuple(sorted(_INDEX_NAMES.get(st, st) for st in SIGNAL_TYPES))
"""The signal types of HMA's index routes, by HMA's names (published as an enum)."""
"""How Tidings' byte-hash indexes are reported in HMA's index status."""


@dataclass(frozen=True, slots=True)
class HmaMatch:
    bank: str
    content_id: int
    distance: int

    def json(self) -> dict[str, t.Any]:
        # HMA sends the distance as pytx's ``pretty_str()``: the integer as a string.
        return {"bank_content_id": self.content_id, "distance": str(self.distance)}


@dataclass(frozen=True, slots=True)
class BankedItem:
    content_id: int
    signals: dict[str, str]


def check_hma_bank_name(name: str) -> str:
    """HMA's rule, then Tidings' own (narrower: a letter first, 3 to 64 characters)."""
    if not HMA_BANK_NAME.fullmatch(name):
        raise BadRequest("Bank names must be UPPER_WITH_UNDERSCORE", "invalid_bank")
    return name


RATIO_TEXT = r"^(0+\.?0*|0*\.0+|0*1(\.0*)?)$"
"""``enabled_ratio`` as a string (Coop sends ``"1"``): 0 or 1 written plainly."""
RATIO_SCHEMA: dict[str, t.Any] = {"anyOf": [
    {"type": "number", "enum": [0, 1]}, {"type": "string", "pattern": RATIO_TEXT},
    {"type": "null"}], "description": "0 or 1 (Tidings banks match all or nothing), a "
    "number or a string; null: not given"}
"""What :func:`ratio_to_enabled` takes, as the bank routes publish it."""
_RATIO_TEXT = re.compile(RATIO_TEXT)


def ratio_to_enabled(value: t.Any) -> bool:
    """HMA's ``enabled_ratio`` (Coop sends it as a string): Tidings banks are on or off."""
    if isinstance(value, str) and _RATIO_TEXT.fullmatch(value):
        return float(value) == 1.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRequest("enabled_ratio must be a number", "invalid_ratio")
    if isinstance(value, str) or value not in (0, 1):
        raise BadRequest("Tidings banks match all or nothing: enabled_ratio must be 0 or 1",
                         "invalid_ratio")
    return value == 1


def bank_config(record: BankRecord) -> dict[str, t.Any]:
    return {"name": record.name, "matching_enabled_ratio": 1.0 if record.enabled else 0.0}


def signals_of(signal_type: str, value: str) -> list[Signal]:
    """Query signals for one (pytx- or Tidings-named) hash; 400 if unknown or bad."""
    if not is_known_name(signal_type):
        raise BadRequest(f"No such SignalType '{signal_type}' (known: "
                         f"{', '.join(known_names())})", "unknown_signal_type")
    try:
        return [Signal(c.signal_type, c.value) for c in from_named(signal_type, value)]
    except ModerationError as exc:
        raise BadRequest(f"invalid signal: {exc}", exc.code) from exc


def compare(pairs: t.Any) -> dict[str, list[t.Any]]:
    """HMA's ``/m/compare``: ``{signal_type: [a, b]}`` -> ``{signal_type: [match,
    {"distance": n}]}``, pytx's ``SignalComparisonResult`` as HMA serialises it. The
    distance is the signal type's own (``compare_hash``); ``match`` is within the
    type's default threshold, as a bank without an override matches."""
    if not isinstance(pairs, dict):
        raise BadRequest("Request input was not a dict", "invalid_json")
    out: dict[str, list[t.Any]] = {}
    for name, values in pairs.items():
        if not isinstance(values, list):
            raise BadRequest(f"Comparison hashes for {name} was not a list", "invalid_compare")
        if len(values) != 2 or not all(isinstance(v, str) for v in values):
            raise BadRequest("Comparison hash list length must be exactly 2",
                             "invalid_compare")
        left, right = (signals_of(name, v) for v in values)
        if len(left) != 1 or len(right) != 1:
            raise BadRequest(f"{name} does not support hash comparison", "invalid_compare")
        cls = SIGNAL_TYPES[left[0].signal_type]
        compare_fn = getattr(cls, "compare_hash", None)
        if not callable(compare_fn):
            raise BadRequest(f"{name} does not support hash comparison", "invalid_compare")
        result = compare_fn(left[0].value, right[0].value)
        distance = int(getattr(result.distance, "distance", 0 if result.match else 1))
        limit = cls.default_threshold() if issubclass(cls, HasThreshold) else 0
        info = ({"distance": distance} if hasattr(result.distance, "distance") else {})
        out[name] = [distance <= limit, info]
    return out


def hashes_of(data: bytes, content_type: str | None = None,
              types: str | None = None) -> dict[str, str]:
    """pytx-named hashes of a photo or video, as HMA's ``/h/hash`` answers.

    The kind comes from the bytes (magic numbers), never from a header; a
    ``content_type`` hint that disagrees is refused. CPU-bound: call in a thread."""
    if not data:
        raise BadRequest("empty file", "empty_file")
    kind = sniff(data).kind
    if kind not in CONTENT_TYPES:
        raise BadRequest("unsupported content: not a photo or video (by its bytes)",
                         "unsupported_content")
    if content_type is not None and content_type != kind:
        if content_type not in CONTENT_TYPES:
            raise BadRequest(f"no such content_type: '{content_type}'", "bad_content_type")
        raise BadRequest(f"content_type {content_type} but the bytes are a {kind}",
                         "content_type_mismatch")
    out: dict[str, str] = {}
    for signal_type, value in file_signals(data, augment=False):
        name = to_pytx(signal_type, kind)
        if name is not None:
            out[name] = value
    if types is not None:
        wanted = [n.strip() for n in types.split(",") if n.strip()]
        for name in wanted:
            if name not in out:
                raise BadRequest(f"signal type '{name}' doesn't exist or is disabled",
                                 "unknown_signal_type")
        if not wanted:
            raise BadRequest("empty signal type selection", "unknown_signal_type")
        out = {n: out[n] for n in wanted}
    return out


class HmaService:
    def __init__(self, banks: BankService, moderation: ModerationService,
                 labels: Sequence[str] = ("category:other_illegal",)) -> None:
        self.banks = banks
        self.moderation = moderation
        self.labels = tuple(labels)
        """Given to every entry banked here: HMA content carries no labels, Tidings'
        entries need a category (the operator's ``hma_label``)."""

    # --- matching ------------------------------------------------------------------
    async def match(self, signals: Sequence[Signal],
                    only: set[str] | None = None) -> list[HmaMatch]:
        """Matches by banked item, nearest first; one per (bank, item). As at the
        publish gate, a match an allow-list (negative bank) entry suppresses is none."""
        matches, _suppressed = self.moderation.match(signals)
        if only is not None:
            matches = [m for m in matches if m.bank in only]
        entries = await self.banks.entries_by_ids([m.entry_id for m in matches])
        nearest: dict[tuple[str, int], HmaMatch] = {}
        for m in matches:
            entry = entries.get(m.entry_id)
            item = entry.item_id if entry is not None else m.entry_id
            key = (m.bank, item)
            if key not in nearest or m.distance < nearest[key].distance:
                nearest[key] = HmaMatch(m.bank, item, m.distance)
        return sorted(nearest.values(), key=lambda h: (h.distance, h.content_id))

    async def lookup(self, signal_type: str, value: str,
                     only: set[str] | None = None) -> dict[str, list[dict[str, t.Any]]]:
        """HMA's ``/m/lookup`` answer for one hash: bank -> [{bank_content_id, distance}]."""
        by_bank: dict[str, list[dict[str, t.Any]]] = {}
        for m in await self.match(signals_of(signal_type, value), only):
            by_bank.setdefault(m.bank, []).append(m.json())
        return by_bank

    async def lookup_hashes(self, hashes: Mapping[str, str], only: set[str] | None = None
                            ) -> dict[str, dict[str, list[dict[str, t.Any]]]]:
        return {name: await self.lookup(name, value, only) for name, value in hashes.items()}

    def index_status(self, only: str | None = None) -> dict[str, dict[str, t.Any]]:
        """HMA's ``/m/index/status``: per signal type, whether an index is present and
        its size. ``built_to`` is the bank version the index reflects (HMA: a time)."""
        sizes = self.moderation.matcher.sizes()
        names = {_INDEX_NAMES.get(st, st): st for st in SIGNAL_TYPES}
        if only is not None:
            if only not in names:
                raise BadRequest(f"No such signal type '{only}'", "unknown_signal_type")
            names = {only: names[only]}
        version = self.banks.sync.version
        return {name: ({"present": True, "built_to": version, "size": sizes[st]}
                       if st in sizes else {"present": False, "built_to": -1, "size": 0})
                for name, st in sorted(names.items())}

    def signal_type_names(self) -> dict[str, str]:
        """HMA (pytx) name -> Tidings signal type, for every type the matcher indexes."""
        return {_INDEX_NAMES.get(st, st): st for st in SIGNAL_TYPES}

    async def signal_type_index(self, only: str | None = None) -> dict[str, dict[str, t.Any]]:
        """HMA's ``/c/signal_type/index``: entries in the database against entries in
        this process's index; HMA's timestamps are Tidings' bank versions."""
        names = self.signal_type_names()
        if only is not None:
            if only not in names:
                raise BadRequest(f"No such signal type '{only}'", "unknown_signal_type")
            names = {only: names[only]}
        counts, newest = await self.banks.signal_counts()
        sizes = self.moderation.matcher.sizes()
        built = self.banks.sync.version
        return {name: {"db_size": counts.get(st, 0), "index_size": sizes.get(st, 0),
                       "index_out_of_date": built != newest, "newest_db_item": newest,
                       "index_built_to": built}
                for name, st in sorted(names.items())}

    # --- curation ------------------------------------------------------------------
    async def item_json(self, bank: str, item_id: int, include_signals: bool = False
                        ) -> dict[str, t.Any]:
        """HMA's ``BankContentResponse`` for one banked item. ``disable_until_ts`` is
        pytx's 1 (enabled) or 0 (disabled): Tidings has no timed disable; a quarantined
        item is disabled until staff decide."""
        entries = await self.banks.item(bank, item_id)
        record = await self.banks.bank(bank)
        live = any(e.enabled and e.quarantined_at is None for e in entries)
        out: dict[str, t.Any] = {"id": item_id, "disable_until_ts": 1 if live else 0,
                                 "original_media_uri": None, "bank": bank_config(record)}
        if include_signals:
            signals: dict[str, str] = {}
            for e in entries:
                name = to_pytx(e.signal_type, e.content_type)
                if name is not None:
                    signals.setdefault(name, e.value)
            out["signals"] = signals
        return out

    async def set_item_enabled(self, bank: str, item_id: int, enabled: bool) -> None:
        await self.banks.set_item(bank, item_id, enabled)

    async def delete_item(self, bank: str, item_id: int) -> int:
        """HMA removes the item; Tidings disables its entries and keeps them for the
        audit trail (statements of reasons cite them). Answers how many stopped."""
        try:
            entries = await self.banks.item(bank, item_id)
        except NotFound:
            return 0
        await self.banks.set_item(bank, item_id, False)
        return sum(1 for e in entries if e.enabled)

    async def add_item(self, bank: str, data: bytes, source: str,
                       content_type: str | None = None) -> BankedItem:
        """Bank a photo or video as one item; answers HMA's ``{id, signals}``."""
        if len(data) > limits.BANK_UPLOAD_MAX_BYTES:
            raise PayloadTooLarge(f"file over {limits.BANK_UPLOAD_MAX_BYTES} bytes")
        await self.banks.bank(bank)
        named = await asyncio.to_thread(hashes_of, data, content_type)
        pairs = await asyncio.to_thread(file_signals, data)
        result = await self.banks.add_signals(bank, pairs, self.labels, source, sniff(data).kind,
                                              as_item=True)
        return await self._item(bank, result.added, named, pairs)

    async def add_named(self, bank: str, named: Mapping[str, str], source: str) -> BankedItem:
        """HMA's ``/c/bank/<name>/signal``: ``{signal_type: value}`` as one item."""
        if not named:
            raise BadRequest("No signals given", "no_signals")
        await self.banks.bank(bank)
        pairs: list[tuple[str, str]] = []
        for name, value in named.items():
            if not isinstance(value, str):
                raise BadRequest(f"Invalid {name} signal: not a string", "invalid_signal")
            pairs.extend((s.signal_type, s.value) for s in signals_of(name, value))
        result = await self.banks.add_signals(bank, list(named.items()), self.labels, source,
                                              as_item=True)
        return await self._item(bank, result.added, dict(named), pairs)

    async def _item(self, bank: str, added: Sequence[t.Any], named: dict[str, str],
                    pairs: Sequence[tuple[str, str]]) -> BankedItem:
        if added:
            return BankedItem(min(e.id for e in added), named)
        for signal_type, value in pairs:  # everything was banked before: that item
            found = await self.banks.find(bank, signal_type, value)
            if found is not None:
                return BankedItem(found.item_id, named)
        raise BadRequest("nothing to bank: no signal could be taken", "no_signals")

    async def create_bank(self, name: str, enabled: bool) -> BankRecord:
        check_hma_bank_name(name)
        return await self.banks.create_bank(name, "created through the HMA API",
                                            enabled=enabled)

    async def set_enabled(self, name: str, enabled: bool) -> BankRecord:
        return await self.banks.update_bank(name, {"enabled": enabled})

    @staticmethod
    def check_write(name: str, prefix: str) -> None:
        """A client limited to banks named ``prefix...`` may not write others."""
        if prefix and not name.startswith(prefix):
            raise Forbidden(f"this client may only change banks named {prefix}...",
                            "bank_not_yours")
