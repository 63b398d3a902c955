"""Label taxonomy for bank entries.

Labels say why a hash is banked and drive statements of reasons and
transparency counts, so they are a closed vocabulary, not free text.
``category:<name>`` says what kind of content; ``behaviour:<name>`` refines
terrorist content along the behaviours in GIFCT's taxonomy and the TCO
Regulation (EU 2021/784, art. 2(7)). CSAM is deliberately absent: it is
handled by a separate, legally distinct pipeline (NCMEC/IWF hash lists,
mandatory reporting), not by these banks.
"""

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
