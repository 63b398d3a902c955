"""The rules on names and free text, as the published schema states them.

The services strip surrounding whitespace, then check the length and the characters
(``protocol/handles.py``, ``services/accounts.py``, ``services/groups.py``). A schema's
``maxLength`` counts the raw string, so these patterns say the real rule instead:
optional whitespace at each end (:data:`SPACE`, what ``str.strip`` removes), then an
edge character that is not whitespace, at most ``max_len - 2`` inner characters and
another edge character. ``maxLength`` stays a bound on the raw value (4x, what a body
may carry). tests/server/test_fuzz_api.py holds the service to them
(``positive_data_acceptance``: a request the schema allows is not refused).
"""

from __future__ import annotations

from typing import Any

from fastapi import Path
from pydantic import Field

from tidings.moderation import labels, orders, vocabulary
from tidings.moderation.limits import BANK_NAME_PATTERN
from tidings.protocol import handles, limits, names

SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
"""What ``str.strip`` removes (``str.isspace``), spelled out: ``\\s`` means less in an
ECMA-262 or ASCII reading of the pattern, more in others."""
_CONTROLS = r"\x00-\x08\x0b-\x1f\x7f-\x9f"
"""What ``handles.clean_text`` refuses inside free text (C0 but tab and newline, DEL, C1);
CR only as part of CRLF, which it reads as LF."""


INVISIBLE_RANGES = (
    (0x00A0, 0x00A0), (0x00AD, 0x00AD), (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C),
    (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160),
    (0x1680, 0x1680), (0x17B4, 0x17B5), (0x180E, 0x180E), (0x2000, 0x200F), (0x2028, 0x202F),
    (0x205F, 0x2064), (0x2066, 0x206F), (0x2800, 0x2800), (0x3000, 0x3000), (0x3164, 0x3164),
    (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F))
"""What ``names.invisible`` refuses in a title or display name: blank-looking characters,
bidi controls, joiners, every space but U+0020 (Zs) and format character (Cf).
tests/server/test_published.py checks the list against that rule. (The service lets a
joiner between two non-ASCII letters and tag characters after a black flag through;
the schema, stricter, does not offer them.)"""
_INVISIBLE = "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in INVISIBLE_RANGES)
_BADGES = "".join(sorted(names.OFFICIAL_MARKS))
"""``names.decoration``'s badges (the claiming words it refuses no pattern can say)."""


def stripped(max_len: int, *, inner: str, edge: str, allow_empty: bool = False) -> str:
    """A pattern for text that is 1..max_len characters (0.. if ``allow_empty``) of
    ``inner`` after stripping, whose ends are ``edge`` characters."""
    body = f"{edge}(?:{inner}{{0,{max_len - 2}}}{edge})?"
    return rf"^[{SPACE}]*(?:{body}){'?' if allow_empty else ''}[{SPACE}]*$"


def free_text(max_len: int, *, allow_empty: bool = False, visible: bool = False) -> str:
    """What ``handles.clean_text`` takes; ``visible``: and neither ``names.invisible``
    nor the badges of ``names.decoration`` refuse."""
    hidden = _INVISIBLE + _BADGES if visible else ""
    return stripped(max_len, inner=rf"(?:[^{_CONTROLS}{hidden}]|\r\n)",
                    edge=rf"[^{SPACE}{_CONTROLS}{hidden}]", allow_empty=allow_empty)


def field(pattern: str, max_len: int, **kwargs: Any) -> Any:
    """A request field published with ``pattern`` (checked by the service, which
    answers 400 with its own code) and a raw length bound of 4x ``max_len``."""
    return Field(max_length=max_len * 4, json_schema_extra={"pattern": pattern}, **kwargs)


USERNAME = (rf"^[{SPACE}]*@?[A-Za-z0-9_]{{{handles.USERNAME_MIN},{handles.USERNAME_MAX}}}"
            rf"[{SPACE}]*$")
"""``handles.normalize_username``: an ``@`` people paste, ASCII, case folded."""
def user_path() -> Any:
    """A username in a path (``/blocks/{user}``): published, checked by the service (400
    ``invalid_username``), so a schema-valid name is never refused as malformed. One
    ``Path`` per parameter: FastAPI writes the parameter's name into it."""
    return Path(json_schema_extra={"pattern": USERNAME})
HANDLE = (rf"^[{SPACE}]*@?[A-Za-z][A-Za-z0-9_]{{{handles.HANDLE_MIN - 1},{handles.HANDLE_MAX - 1}}}"
          rf"[{SPACE}]*$")
"""``handles.normalize_handle``: as a username, but 5.. characters and a letter first."""
DEVICE_NAME = stripped(limits.DEVICE_NAME_MAX, inner=r"[^\x00-\x1f]", edge=rf"[^{SPACE}\x00-\x1f]",
                       allow_empty=True)
"""``accounts._device_name``: blank means "device"; no C0 control characters."""
GROUP_TITLE = stripped(limits.GROUP_TITLE_MAX, inner=r"[^\x00]", edge=rf"[^{SPACE}\x00]")
"""``groups._check_title``: 1..GROUP_TITLE_MAX characters after stripping."""
CHANNEL_TITLE = free_text(handles.CHANNEL_TITLE_MAX, visible=True)
CHANNEL_DESCRIPTION = free_text(handles.CHANNEL_DESCRIPTION_MAX, allow_empty=True)
DISPLAY_NAME = free_text(handles.DISPLAY_NAME_MAX, visible=True)
AUTHORITY_NAME = stripped(limits.AUTHORITY_NAME_MAX, inner=r"[^\x00-\x1f]",
                          edge=rf"[^{SPACE}\x00-\x1f]")
"""``authorities``: 1..AUTHORITY_NAME_MAX characters after stripping, no C0 controls."""
POLICIES = tuple(sorted({*vocabulary.POLICIES, *vocabulary.REPORT_CATEGORIES,
                         *(p.label for p in vocabulary.POLICIES.values())}))
"""What ``vocabulary.policy`` names a policy by: short name, report category, label."""
LABELS = tuple(sorted({*labels.ALL_LABELS, *(label.split(":", 1)[1] for label in
                                                labels.CATEGORIES | labels.BEHAVIOURS)}))
"""What ``rules.normalize_label`` takes: a full label or a category's or behaviour's
short form."""
MEMBER_STATES = tuple(sorted({*orders.MEMBER_STATES, "EL"}))
"""``orders.member_state``: ISO 3166-1 alpha-2 codes of the EU (and EL for Greece)."""
MEDIA_ID = r"^([0-9a-f]{64})?$"
"""A media id (SHA-256, lower-case hex); empty removes a picture."""
NOT_BLANK = rf"^[^\x00]*[^{SPACE}\x00][^\x00]*$"
"""Text with something in it besides whitespace (an appeal's reasons)."""
BANK_NAME = rf"^{BANK_NAME_PATTERN}$"
"""``moderation.banks.validate_bank_name`` (and HMA's rule, which it narrows)."""
