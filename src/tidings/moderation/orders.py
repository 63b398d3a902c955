"""Removal orders under the TCO Regulation (EU) 2021/784, as pure values and rules.

No clock and no storage here: the service passes ``now_ms`` and rows in and gets
decisions and documents out.

* Art. 3(3): the hosting provider removes or disables the content *as soon as
  possible and in any event within one hour of receipt* — ``deadline_ms``,
  ``overdue``.
* Art. 3(5) and Annex II: the provider informs the authority, without undue delay,
  of the removal and its time — ``confirmation``.
* Art. 3(7)/(8) and Annex III: when it cannot comply (force majeure, de facto
  impossibility, manifest errors, insufficient information) it says so and why —
  ``cannot_comply_answer``.
* Art. 6: removed content and related data are preserved for six months, longer on
  request — ``PRESERVATION_MONTHS``.
* Art. 11(3): the content provider is told, unless the authority asks to withhold it
  for up to six weeks, extendable once by six weeks — ``withhold_until``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

from tidings.moderation.errors import ModerationError

MS_PER_DAY: Final = 86_400_000
ORDER_DEADLINE_MS: Final = 3_600_000
"""Art. 3(3): within one hour of receipt."""
WITHHOLD_MAX_DAYS: Final = 42
"""Art. 11(3): withholding the information lasts at most six weeks..."""
WITHHOLD_EXTENSION_MS: Final = 42 * MS_PER_DAY
"""...and may be extended by another six weeks, once."""
WITHHOLD_MAX_EXTENSIONS: Final = 1
PRESERVATION_MONTHS: Final = 6
"""Art. 6(2): preserved for six months from the removal or disabling."""
PRESERVATION_EXTENSION_MAX_MONTHS: Final = 6
"""One extension request asks for at most this many further months (Art. 6(2))."""

#: EU member states (ISO 3166-1 alpha-2). The EU writes Greece "EL"; we store "GR".
MEMBER_STATES: Final = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})
_MEMBER_STATE_ALIASES: Final = {"EL": "GR"}


class OrderError(ModerationError, ValueError):
    """Bad order input; ``code`` says which part."""

    code = "invalid_order"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Status(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANNOT_COMPLY = "cannot_comply"


class TargetKind(StrEnum):
    POST = "post"
    CHANNEL = "channel"
    ACCOUNT = "account"


class CannotComply(StrEnum):
    """Annex III, section B: why the order could not be executed."""

    MANIFEST_ERROR = "manifest_error"
    FORCE_MAJEURE = "force_majeure"
    DE_FACTO_IMPOSSIBILITY = "de_facto_impossibility"
    INSUFFICIENT_INFORMATION = "insufficient_information"


def member_state(code: str) -> str:
    value = code.strip().upper() if isinstance(code, str) else ""
    value = _MEMBER_STATE_ALIASES.get(value, value)
    if value not in MEMBER_STATES:
        raise OrderError("invalid_member_state",
                         "member state must be an EU member state's ISO 3166-1 alpha-2 code")
    return value


def cannot_comply_reason(reason: str) -> CannotComply:
    try:
        return CannotComply(reason)
    except ValueError as exc:
        raise OrderError("invalid_reason", "reason must be one of "
                         + ", ".join(r.value for r in CannotComply)) from exc


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """What the authority named, before it is looked up: a kind and a key, where the
    key is a numeric id or a name (channel handle, username). ``post:ID`` (staff tools)
    sets ``post_id``, the internal id; a post's public URL ``/c/HANDLE/N`` sets the key
    to its channel's handle and ``number`` to N, the post's number in that channel."""

    kind: TargetKind
    key: str
    post_id: int | None = None
    url: str | None = None
    number: int | None = None


_NAME_RE: Final = re.compile(r"@?[A-Za-z0-9_]{1,64}")
_ID_MAX: Final = 2**63 - 1
"""Ids are 64-bit integers in the database; a larger number names nothing."""


class _IdPattern:
    """Digits that fit a 64-bit id (a bare regex would let 20 nines through)."""

    _digits = re.compile(r"[0-9]{1,19}")

    def fullmatch(self, text: str) -> bool:
        return self._digits.fullmatch(text) is not None and int(text) <= _ID_MAX


_ID_RE: Final = _IdPattern()


def id_of(key: str) -> int | None:
    """The key as a database id, or None when it is a name (or too large to be an id)."""
    return int(key) if _ID_RE.fullmatch(key) else None


def parse_target(text: str, public_url: str) -> TargetSpec:
    """``post:ID``, ``channel:ID-or-handle``, ``account:ID-or-username`` or a public URL
    of this server (``/c/HANDLE`` a channel, ``/c/HANDLE/N`` the channel's N-th post, as
    the web view serves them). A URL of another host is refused: an order must name our content."""
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        raise OrderError("invalid_target", "name the target: a URL or kind:id")
    prefix, sep, rest = value.partition(":")
    if sep and prefix in {k.value for k in TargetKind} and not rest.startswith("//"):
        kind = TargetKind(prefix)
        key = rest.strip().removeprefix("@")
        if kind is TargetKind.POST:
            if not _ID_RE.fullmatch(key):
                raise OrderError("invalid_target", "post:ID needs the post's numeric id")
            return TargetSpec(kind, key, int(key))
        if not (_ID_RE.fullmatch(key) or _NAME_RE.fullmatch(key)):
            raise OrderError("invalid_target", f"{kind}: needs an id or a name")
        return TargetSpec(kind, key.lower())
    return _parse_url(value, public_url)


def _parse_url(value: str, public_url: str) -> TargetSpec:
    parts = urlsplit(value)
    if parts.scheme and parts.scheme not in ("http", "https"):
        raise OrderError("invalid_target", "a target is a web URL, or post:, channel: or "
                         "account: with an id")
    if (parts.scheme or parts.netloc) and (
            parts.netloc.lower() != urlsplit(public_url).netloc.lower()):
        raise OrderError("foreign_url", f"the URL is not on this server ({public_url})")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) in (2, 3) and segments[0] == "c" and _NAME_RE.fullmatch(segments[1]):
        handle = segments[1].removeprefix("@").lower()
        if len(segments) == 2:
            return TargetSpec(TargetKind.CHANNEL, handle, url=value)
        if _ID_RE.fullmatch(segments[2]):
            return TargetSpec(TargetKind.POST, handle, url=value, number=int(segments[2]))
    raise OrderError("invalid_target", "a target URL looks like /c/HANDLE or /c/HANDLE/N")


def deadline_ms(received_ms: int) -> int:
    return received_ms + ORDER_DEADLINE_MS


def overdue(status: str, received_ms: int, now_ms: int) -> bool:
    """Still open after the hour of Art. 3(3)."""
    return status == Status.OPEN and now_ms > deadline_ms(received_ms)


def remaining_ms(status: str, received_ms: int, now_ms: int) -> int | None:
    """Time left on the one-hour clock (negative once overdue); None when answered."""
    if status != Status.OPEN:
        return None
    return deadline_ms(received_ms) - now_ms


def withhold_until(received_ms: int, days: int | None) -> int | None:
    """Art. 11(3): the end of the withholding the authority asked for (None: no request)."""
    if days is None or days == 0:
        return None
    if not 1 <= days <= WITHHOLD_MAX_DAYS:
        raise OrderError("invalid_withholding",
                         f"withholding lasts 1..{WITHHOLD_MAX_DAYS} days (six weeks)")
    return received_ms + days * MS_PER_DAY


def extend_withholding(until_ms: int | None, extensions: int, sent_ms: int | None,
                       now_ms: int) -> int:
    """The new end after one extension request (refused if there is nothing to extend)."""
    if until_ms is None:
        raise OrderError("not_withheld", "this order did not ask to withhold the notice")
    if sent_ms is not None or now_ms >= until_ms:
        raise OrderError("withholding_ended", "the content provider was informed already")
    if extensions >= WITHHOLD_MAX_EXTENSIONS:
        raise OrderError("withholding_extended",
                         "withholding can be extended once, by six weeks (Art. 11(3))")
    return until_ms + WITHHOLD_EXTENSION_MS


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


_ACTION_OF_KIND: Final = {
    TargetKind.POST: "content_removed",
    TargetKind.CHANNEL: "access_disabled",
    TargetKind.ACCOUNT: "access_disabled",
}


def confirmation(order: Mapping[str, Any], provider: str, contact_point: str) -> dict[str, Any]:
    """Annex II: the hosting provider's confirmation of removal or disabling.

    ``order`` has the removal_orders columns. Section A names the order (authority,
    member state, reference, receipt), B the content and what was done when, C the
    provider and its contact point (Art. 15)."""
    completed = order["completed_ms"]
    return {
        "form": "Regulation (EU) 2021/784, Annex II",
        "order_id": order["id"],
        "order_reference": order["reference"],
        "issuing_authority": order["authority_name"],
        "member_state": order["member_state"],
        "received_at": iso(order["received_ms"]),
        "received_ms": order["received_ms"],
        "target": {"kind": order["target_kind"], "ref": order["target_ref"],
                   "url": order["target_url"]},
        "action": _ACTION_OF_KIND[TargetKind(order["target_kind"])],
        "removed": completed is not None,
        "removed_at": iso(completed),
        "removed_ms": completed,
        "within_one_hour": completed is not None and completed <= deadline_ms(
            order["received_ms"]),
        "territorial_scope": "all Member States",
        "hosting_service_provider": provider,
        "contact_point": contact_point,
    }


def cannot_comply_answer(order: Mapping[str, Any], provider: str,
                         contact_point: str) -> dict[str, Any]:
    """Annex III: why the order was not executed (Art. 3(7) and (8))."""
    return {
        "form": "Regulation (EU) 2021/784, Annex III",
        "order_id": order["id"],
        "order_reference": order["reference"],
        "issuing_authority": order["authority_name"],
        "member_state": order["member_state"],
        "received_at": iso(order["received_ms"]),
        "target": {"kind": order["target_kind"], "ref": order["target_ref"],
                   "url": order["target_url"]},
        "reason": order["cannot_comply_reason"],
        "details": order["cannot_comply_details"],
        "answered_at": iso(order["answered_ms"]),
        "hosting_service_provider": provider,
        "contact_point": contact_point,
    }


# --- the legal scope of an order (issue 17, item 7) ----------------------------------------
# Two kinds of order reach the API. A TCO removal order (Regulation (EU) 2021/784, Art. 3)
# covers terrorist content (Art. 2(7)) only and has effect in every Member State. Any
# other order to act against illegal content is a DSA order (Regulation (EU) 2022/2065,
# Art. 9): it cites its own basis in Union or national law (Art. 9(2)(a)(i)), names the
# kind of illegal content (one of the Transparency Database's statement categories) and
# a territorial scope limited to what is strictly necessary (Art. 9(2)(b)).


class LegalBasis(StrEnum):
    TCO = "tco_art3"
    DSA_ART9 = "dsa_art9"


TCO_REGULATION: Final = "2021/784"
DSA_REGULATION: Final = "2022/2065"
TCO_CATEGORY: Final = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
#: The DSA Transparency Database's statement categories (``STATEMENT_CATEGORIES`` of
#: github.com/digital-services-act/transparency-database, app/Models/Statement.php,
#: commit 69e80a0b, 2026-06-24); the test compares this list with that file.
DSA_CATEGORIES: Final = frozenset({
    "STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE", "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS", "STATEMENT_CATEGORY_VIOLENCE"})
#: Categories that are not illegal content an authority can order against: a breach of
#: the provider's own terms, and a notifier who did not say what is illegal.
NOT_ORDERABLE: Final = frozenset({"STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
                                  "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"})
ORDERABLE_CATEGORIES: Final = DSA_CATEGORIES - NOT_ORDERABLE
_PLACEHOLDERS: Final = frozenset({"", "none", "n/a", "na", "-", "unknown", "tbd", "null",
                                  "nil", "no", "other"})
TERRORIST_LABEL: Final = "category:terrorist_content"
ILLEGAL_LABEL: Final = "category:other_illegal"


@dataclass(frozen=True, slots=True)
class OrderScope:
    """What an order may do, decided before anything is stored."""

    basis: LegalBasis
    label: str
    """The taxonomy label the measure is counted under (transparency, statements)."""
    category: str
    """The DSA statement category (the statement of reasons and its export)."""
    territorial_scope: tuple[str, ...]


#: How a citation names each regulation: its number, or its usual short name as a word
#: ("TCO Art. 3", "Art. 9 DSA").
_NAMES: Final = {TCO_REGULATION: re.compile(r"\bTCO\b"), DSA_REGULATION: re.compile(r"\bDSA\b")}


def _cites(citation: str, regulation: str) -> bool:
    return (regulation in citation.replace(" ", "")
            or _NAMES[regulation].search(citation) is not None)


def order_scope(basis: str | None, citation: str, label: str | None, category: str | None,
                territory: list[str] | None, issuer_state: str) -> OrderScope:
    """Check an order against its legal basis. ``label`` is the full taxonomy label the
    authority named (None: the basis's own, terrorist or illegal content), ``citation``
    its legal-basis text.

    Refused (``OrderError``, answered 422): a basis that is neither ``tco_art3`` nor
    ``dsa_art9``, or, when none is named, a citation of neither regulation (legal basis
    "none"); a TCO order that does not cite Regulation (EU) 2021/784, is not about
    terrorist content or limits its territory; a DSA order that cites no law of its own,
    is about terrorist content (that is a TCO order), or names no orderable category."""
    if basis is None:
        if _cites(citation, TCO_REGULATION):
            kind = LegalBasis.TCO
        elif _cites(citation, DSA_REGULATION):
            kind = LegalBasis.DSA_ART9
        else:
            raise OrderError("unknown_legal_basis",
                             "the legal basis is not one this service acts on: a removal order "
                             "under Regulation (EU) 2021/784, Art. 3 (basis tco_art3) or an "
                             "order under Regulation (EU) 2022/2065, Art. 9 citing the Union or "
                             "national law it applies (basis dsa_art9)")
    else:
        try:
            kind = LegalBasis(basis)
        except ValueError:
            raise OrderError("unknown_legal_basis", "basis must be one of "
                             + ", ".join(b.value for b in LegalBasis)) from None
    if kind is LegalBasis.TCO:
        label = label or TERRORIST_LABEL
        if not _cites(citation, TCO_REGULATION):
            raise OrderError("invalid_legal_basis", "a TCO removal order cites Regulation (EU) "
                             "2021/784, Art. 3 in legal_basis")
        if label != TERRORIST_LABEL:
            raise OrderError("outside_tco_scope",
                             "a TCO removal order covers terrorist content only (Regulation "
                             "(EU) 2021/784, Art. 2(7)); other illegal content is ordered under "
                             "Regulation (EU) 2022/2065, Art. 9 (basis dsa_art9)")
        if category not in (None, TCO_CATEGORY):
            raise OrderError("invalid_category",
                             f"the category of terrorist content is {TCO_CATEGORY}")
        if territory:
            raise OrderError("invalid_territorial_scope", "a TCO removal order has effect in "
                             "every Member State (Regulation (EU) 2021/784, Art. 3)")
        return OrderScope(kind, label, TCO_CATEGORY, tuple(sorted(MEMBER_STATES)))
    if citation.strip().strip(".").lower() in _PLACEHOLDERS or _cites(citation, TCO_REGULATION):
        raise OrderError("invalid_legal_basis",
                         "an order under Regulation (EU) 2022/2065, Art. 9 cites the provision "
                         "of Union or national law it applies (Art. 9(2)(a)(i)); terrorist "
                         "content is ordered under Regulation (EU) 2021/784 (basis tco_art3)")
    label = label or ILLEGAL_LABEL
    if label == TERRORIST_LABEL:
        raise OrderError("outside_dsa_scope", "terrorist content is ordered under Regulation "
                         "(EU) 2021/784, Art. 3 (basis tco_art3)")
    if label != ILLEGAL_LABEL:
        raise OrderError("outside_dsa_scope", "an order acts against illegal content: label "
                         "other_illegal (terms-of-service labels are the provider's own call)")
    if category not in ORDERABLE_CATEGORIES:
        raise OrderError("invalid_category", "category must be one of the DSA statement "
                         "categories of illegal content: "
                         + ", ".join(sorted(ORDERABLE_CATEGORIES)))
    states = tuple(sorted({member_state(s) for s in territory})) if territory else (
        issuer_state,)
    return OrderScope(kind, label, category, states)


def rate_exceeded(recent: int, per_hour: int) -> bool:
    """More orders from one authority in the last hour than ``per_hour`` (0: no limit).
    The order still executes — refusing a genuine order against the one-hour clock is
    not an option — but an admin must confirm it and an alert fires."""
    return per_hour > 0 and recent >= per_hour
