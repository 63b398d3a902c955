"""One moderation vocabulary: what a reporter says, what a moderator decides under, what
the Transparency Database is told, and which decisions fit which target (issue 21).

A reporter picks a **report category** (``harassment``); a moderator decides under a
**policy** (the statement of reasons' ground, ``policy:harassment``), which carries the
**DSA statement category** the export uses (``STATEMENT_CATEGORY_CYBER_VIOLENCE``). Every
category maps to exactly one policy, so the policy a report suggests is always one the
decision accepts; ``policy`` accepts a category's name as well as a policy's, so
``--policy harassment`` and ``--policy illegal`` mean what the reporter meant.

Decisions apply to some targets only: a private message cannot be removed (the server
holds no copy to remove: it is end-to-end encrypted), so its restrictive decision is
suspending the sender. ``ACTIONS`` lists, per target kind, the decisions that apply,
the default first (the lightest restriction that acts on the target); the console offers
only these and the service refuses any other, whatever a form sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from tidings.moderation import labels as L
from tidings.moderation.errors import ModerationError
from tidings.moderation.reasons import (
    BAN_EVASION,
    GROUND_PRIORITY,
    HARASSMENT,
    IMPERSONATION,
    OTHER_POLICY,
)
from tidings.moderation.review import Decision
from tidings.moderation.sor_export import CATEGORY_OF_LABEL


class VocabularyError(ModerationError, ValueError):
    """An unknown policy or category, or a decision that does not fit the target."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    """What a moderator types or picks: ``harassment``."""
    label: str
    """The statement of reasons' ground label: ``policy:harassment``."""
    dsa_category: str
    """The Transparency Database's statement category (DSA Art. 24(5))."""


def _short(label: str) -> str:
    return label.split(":", 1)[1]


#: Every decision policy, gravest first (the order statements pick grounds in).
POLICIES: Final[Mapping[str, Policy]] = {
    _short(label): Policy(_short(label), label, CATEGORY_OF_LABEL[label][0])
    for label in GROUND_PRIORITY}

#: Report category (DSA Art. 16(2)(a), what the reporter picks) -> decision policy.
REPORT_CATEGORIES: Final[Mapping[str, str]] = {
    "terrorist_content": _short(L.TERRORIST_CONTENT),
    "violent_extremism": _short(L.VIOLENT_EXTREMISM),
    "illegal": _short(L.OTHER_ILLEGAL),
    "spam": _short(L.SPAM),
    "harassment": _short(HARASSMENT),
    "impersonation": _short(IMPERSONATION),
    "other": _short(OTHER_POLICY),
}
#: Policies no report category suggests, and what raises them instead.
AUTOMATED_POLICIES: Final[Mapping[str, str]] = {
    _short(BAN_EVASION): "the rules' flags on new and returning channels of a banned owner",
}

TARGET_KINDS: Final = ("post", "channel", "account", "message")
"""What a report can be about."""
BANK_ENTRY: Final = "bank_entry"
"""A quarantined bank entry under review: ``remove`` disables it, ``no_violation``
restores it (``services/review.py``)."""
#: Decisions that apply to each kind of case; the first is the form's default.
ACTIONS: Final[Mapping[str, tuple[Decision, ...]]] = {
    "post": (Decision.REMOVE, Decision.BAN_CHANNEL, Decision.SUSPEND_ACCOUNT,
             Decision.NO_VIOLATION, Decision.ESCALATE),
    "channel": (Decision.BAN_CHANNEL, Decision.SUSPEND_ACCOUNT, Decision.NO_VIOLATION,
                Decision.ESCALATE),
    "account": (Decision.SUSPEND_ACCOUNT, Decision.NO_VIOLATION, Decision.ESCALATE),
    "message": (Decision.SUSPEND_ACCOUNT, Decision.NO_VIOLATION, Decision.ESCALATE),
    BANK_ENTRY: (Decision.REMOVE, Decision.NO_VIOLATION, Decision.ESCALATE),
}
_WHY_NOT: Final = {
    Decision.REMOVE: "remove applies to channel posts (a private message is end-to-end "
                     "encrypted: there is no copy to remove)",
    Decision.BAN_CHANNEL: "ban_channel needs a channel or a post in it",
    Decision.SUSPEND_ACCOUNT: "no account to suspend (whose it is is unknown)",
}


def policy(name: str) -> Policy:
    """The policy named by its short name, its label or a report category's name."""
    key = name.strip().lower()
    found = (next((p for p in POLICIES.values() if p.label == key), None) if ":" in key
             else POLICIES.get(REPORT_CATEGORIES.get(key, key)))
    if found is None:
        raise VocabularyError("unknown_policy", "policy must be one of "
                              + ", ".join(POLICIES) + " (or a report category: "
                              + ", ".join(REPORT_CATEGORIES) + ")")
    return found


def policy_of_category(category: str) -> Policy:
    """The policy a report category suggests."""
    if category not in REPORT_CATEGORIES:
        raise VocabularyError("bad_category",
                              "category must be one of " + ", ".join(REPORT_CATEGORIES))
    return POLICIES[REPORT_CATEGORIES[category]]


def actions_for(kind: str, has_account: bool = True) -> tuple[Decision, ...]:
    """The decisions that apply to a target of ``kind``; suspension only when the case
    knows whose account it is."""
    actions = ACTIONS.get(kind, (Decision.NO_VIOLATION, Decision.ESCALATE))
    return tuple(a for a in actions if has_account or a is not Decision.SUSPEND_ACCOUNT)


def check_action(decision: Decision, kind: str, has_account: bool = True) -> None:
    """Refuse a decision that cannot apply to the target (``not_applicable``)."""
    allowed = actions_for(kind, has_account)
    if decision not in allowed:
        why = _WHY_NOT.get(decision, f"{decision} does not apply here")
        raise VocabularyError("not_applicable", f"{why}; for a {kind} choose one of "
                              + ", ".join(allowed))
