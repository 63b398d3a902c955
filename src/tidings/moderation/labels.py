"""Label taxonomy for bank entries.

Labels say why a hash is banked and drive statements of reasons and
transparency counts, so they are a closed vocabulary, not free text.
``category:<name>`` says what kind of content; ``behaviour:<name>`` refines
terrorist content along the behaviours in GIFCT's taxonomy and the TCO
Regulation (EU 2021/784, art. 2(7)). CSAM is deliberately absent: it is
handled by a separate, legally distinct pipeline (NCMEC/IWF hash lists,
mandatory reporting), not by these banks.
"""

from collections.abc import Iterable
from difflib import get_close_matches
from typing import Final

from tidings.moderation.errors import InvalidLabelError
from tidings.moderation.limits import MAX_LABELS_PER_ENTRY

TERRORIST_CONTENT: Final = "category:terrorist_content"
VIOLENT_EXTREMISM: Final = "category:violent_extremism"
OTHER_ILLEGAL: Final = "category:other_illegal"
SPAM: Final = "category:spam"
CATEGORIES: Final = frozenset({TERRORIST_CONTENT, VIOLENT_EXTREMISM, OTHER_ILLEGAL, SPAM})

GLORIFICATION: Final = "behaviour:glorification"
RECRUITMENT: Final = "behaviour:recruitment"
INSTRUCTION: Final = "behaviour:instruction"
GRAPHIC_VIOLENCE: Final = "behaviour:graphic_violence"
THREAT: Final = "behaviour:threat"
FINANCING: Final = "behaviour:financing"
BEHAVIOURS: Final = frozenset(
    {GLORIFICATION, RECRUITMENT, INSTRUCTION, GRAPHIC_VIOLENCE, THREAT, FINANCING}
)

ALL_LABELS: Final = CATEGORIES | BEHAVIOURS


def validate_labels(labels: frozenset[str]) -> frozenset[str]:
    """Known labels only, at most one category, behaviours only with a category
    that has behaviours (terrorist content or violent extremism)."""
    if len(labels) > MAX_LABELS_PER_ENTRY:
        raise InvalidLabelError(f"more than {MAX_LABELS_PER_ENTRY} labels")
    unknown = labels - ALL_LABELS
    if unknown:
        raise InvalidLabelError(f"unknown labels: {sorted(unknown)}")
    categories = labels & CATEGORIES
    if len(categories) != 1:
        raise InvalidLabelError("exactly one category: label is required")
    if labels & BEHAVIOURS and not categories & {TERRORIST_CONTENT, VIOLENT_EXTREMISM}:
        raise InvalidLabelError("behaviour labels apply to terrorist or extremist content")
    return labels


def _short(label: str) -> str:
    return label.split(":", 1)[1]


SHORT_FORMS: Final = {_short(label): label for label in ALL_LABELS}
"""``terrorist_content`` -> ``category:terrorist_content``: every name after the colon
is unique across categories and behaviours, so the short form is never ambiguous
(tests/moderation/test_labels.py holds that)."""


def suggest(label: str) -> str | None:
    """The known label closest to a mistyped one (as written, or its short form)."""
    names = sorted(ALL_LABELS | SHORT_FORMS.keys())
    found = get_close_matches(label.strip().lower(), names, n=1, cutoff=0.6)
    return SHORT_FORMS.get(found[0], found[0]) if found else None


def normalize_labels(labels: Iterable[str]) -> frozenset[str]:
    """Labels as people write them: the full form, or the short form after the colon
    (``terrorist_content``). An unknown label is refused with the closest known one,
    and the list of the valid ones."""
    full: set[str] = set()
    for label in labels:
        if label in ALL_LABELS:
            full.add(label)
        elif label in SHORT_FORMS:
            full.add(SHORT_FORMS[label])
        else:
            close = suggest(label)
            hint = f"did you mean {close!r}? " if close else ""
            raise InvalidLabelError(
                f"unknown label {label!r}; {hint}labels are "
                f"{', '.join(sorted(ALL_LABELS))} (or the part after the colon)")
    return validate_labels(frozenset(full))
