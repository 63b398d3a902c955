"""Transparency report figures for a period (DSA Art. 15 and 24, TCO Art. 7).

Pure aggregation: the service loads records for a period from the store and
passes them in; this module counts. What is counted follows the regulations:

* DSA Art. 15(1)(a)/(b): orders and notices received, by type and source, and
  the median time to act on them;
* DSA Art. 15(1)(c): own-initiative measures by category, detection method and
  type of restriction, with automated tools;
* DSA Art. 15(1)(d) and 24(1)(a): complaints (appeals), and decisions reversed;
* DSA Art. 15(1)(e): automated means — decisions taken automatically vs by people;
* TCO Art. 7(2): removal orders, those completed within the one hour of
  Art. 3(3), those not complied with and why, measures against reposts
  (auto-banked variants), complaints and their outcome.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from tidings.moderation import labels as L

ONE_HOUR_MS: Final = 3_600_000
"""TCO Art. 3(3): remove or disable within one hour of receiving a removal order."""


class DetectionChannel(StrEnum):
    HASH_MATCH = "hash_match"
    USER_REPORT = "user_report"
    VERIFIED_PRIVATE_REPORT = "verified_private_report"
    TRUSTED_FLAGGER = "trusted_flagger"
    REMOVAL_ORDER = "removal_order"
    AUTOMATED_RULE = "automated_rule"
    """Automated detection other than a hash match (name look-alikes, ban evasion)."""
    MODERATOR = "moderator"
    """Staff acting on their own initiative (no notice, no automated flag)."""


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """A measure taken: ``action`` is an ``ActionKind`` value (``reject``,
    ``ban_channel``…), ``label`` the ground's label, ``bank`` set for hash matches."""

    action: str
    label: str
    source: DetectionChannel
    detected_ms: int
    actioned_ms: int
    automated: bool
    bank: str | None = None
    repost_blocked: bool = False
    """A rejection caused by an entry that ``auto_bank`` added earlier."""


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    received_ms: int
    source: DetectionChannel
    actioned: bool


@dataclass(frozen=True, slots=True)
class AppealRecord:
    appealed_ms: int
    decided_ms: int | None
    reversed: bool = False


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A removal order (TCO Art. 3). ``not_complied_reason`` when it was not
    executed (e.g. ``force_majeure``, ``manifest_error``, ``content_gone`` — Art. 3(7)/(8))."""

    received_ms: int
    completed_ms: int | None
    not_complied_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReturningRecord:
    """A channel held because it resembled a banned one (issue 24; TCO Art. 7(2)(b)
    asks for the measures against the re-appearance of removed terrorist content)."""

    held_ms: int
    decided_ms: int | None
    banned: bool
    banned_label: str
    """The ground of the ban of the channel it resembled."""
    decision_label: str | None = None


@dataclass(frozen=True, slots=True)
class TransparencyReport:
    period_start_ms: int
    period_end_ms: int
    actions_total: int = 0
    actions_by_category: Mapping[str, int] = field(default_factory=dict)
    actions_by_source: Mapping[str, int] = field(default_factory=dict)
    """Hash matches are split per bank: ``hash_match:GIFCT_TCAP``."""
    actions_by_action: Mapping[str, int] = field(default_factory=dict)
    median_time_to_action_ms: int | None = None
    """Lower median of ``actioned - detected`` over the period's actions."""
    automated_decisions: int = 0
    human_decisions: int = 0
    notices_by_source: Mapping[str, int] = field(default_factory=dict)
    notices_actioned: int = 0
    appeals_received: int = 0
    appeals_decided: int = 0
    appeals_reversed: int = 0
    orders_received: int = 0
    orders_completed_within_hour: int = 0
    orders_not_complied: int = 0
    orders_not_complied_reasons: Mapping[str, int] = field(default_factory=dict)
    reposts_blocked: int = 0
    terror_channel_bans_by_day: Mapping[str, int] = field(default_factory=dict)
    returning_channels_held: int = 0
    returning_channels_banned: int = 0

    def to_json(self) -> dict[str, Any]:
        return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in asdict(self).items()}

    def csv_rows(self) -> list[tuple[str, str, str]]:
        """``(metric, key, value)`` rows; scalar metrics have an empty key."""
        rows: list[tuple[str, str, str]] = []
        for name, value in self.to_json().items():
            if isinstance(value, dict):
                rows += [(name, str(k), str(v)) for k, v in sorted(value.items())]
            else:
                rows.append((name, "", "" if value is None else str(value)))
        return rows


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def aggregate(start_ms: int, end_ms: int, actions: Iterable[ActionRecord] = (),
              notices: Iterable[NoticeRecord] = (), appeals: Iterable[AppealRecord] = (),
              orders: Iterable[OrderRecord] = (),
              returning: Iterable[ReturningRecord] = ()) -> TransparencyReport:
    """Figures for ``[start_ms, end_ms)``: actions by when they were taken, notices,
    appeals and orders by when they were received, returning channels by when they were
    held and banned. A returning channel of a terrorist channel, banned (as ban evasion
    or otherwise), is a terrorist channel ban of the day it was banned."""

    def inside(ms: int) -> bool:
        return start_ms <= ms < end_ms

    acts = [a for a in actions if inside(a.actioned_ms)]
    nots = [n for n in notices if inside(n.received_ms)]
    apps = [a for a in appeals if inside(a.appealed_ms)]
    ords = [o for o in orders if inside(o.received_ms)]
    by_source = Counter(
        f"{a.source.value}:{a.bank}" if a.source is DetectionChannel.HASH_MATCH and a.bank
        else a.source.value for a in acts)
    delays = [a.actioned_ms - a.detected_ms for a in acts]
    not_complied = [o for o in ords if o.not_complied_reason is not None]
    terror_bans = Counter(_day(a.actioned_ms) for a in acts
                          if a.action == "ban_channel" and a.label == L.TERRORIST_CONTENT)
    back = list(returning)
    banned_back = [r for r in back if r.banned and r.decided_ms is not None
                   and inside(r.decided_ms)]
    terror_bans.update(_day(r.decided_ms) for r in banned_back if r.decided_ms is not None
                       and r.banned_label == L.TERRORIST_CONTENT
                       and r.decision_label != L.TERRORIST_CONTENT)  # else counted above
    return TransparencyReport(
        start_ms, end_ms,
        actions_total=len(acts),
        actions_by_category=dict(Counter(a.label for a in acts)),
        actions_by_source=dict(by_source),
        actions_by_action=dict(Counter(a.action for a in acts)),
        median_time_to_action_ms=int(statistics.median_low(delays)) if delays else None,
        automated_decisions=sum(a.automated for a in acts),
        human_decisions=sum(not a.automated for a in acts),
        notices_by_source=dict(Counter(n.source.value for n in nots)),
        notices_actioned=sum(n.actioned for n in nots),
        appeals_received=len(apps),
        appeals_decided=sum(a.decided_ms is not None for a in apps),
        appeals_reversed=sum(a.decided_ms is not None and a.reversed for a in apps),
        orders_received=len(ords),
        orders_completed_within_hour=sum(
            o.completed_ms is not None and o.completed_ms - o.received_ms <= ONE_HOUR_MS
            for o in ords),
        orders_not_complied=len(not_complied),
        orders_not_complied_reasons=dict(Counter(
            o.not_complied_reason for o in not_complied if o.not_complied_reason)),
        reposts_blocked=sum(a.repost_blocked for a in acts),
        terror_channel_bans_by_day=dict(sorted(terror_bans.items())),
        returning_channels_held=sum(inside(r.held_ms) for r in back),
        returning_channels_banned=len(banned_back),
    )
