"""Names and free-text fields people see: usernames, channel handles, titles.

Handles and usernames are identifiers in links and mentions, so they are plain
lower-case ASCII; anything else is rejected rather than silently rewritten (a
rewritten name is a name the user did not choose). Lookalikes of reserved names are
caught with :func:`tidings.protocol.confusables.handle_key` (UTS #39 section 4 plus
handle-specific folds), so ``adm1n`` and ``аdmin`` (Cyrillic ``а``) are reserved too.

Free text (titles, descriptions, display names) may be any Unicode, but not control
characters that corrupt logs and terminals, nor lone surrogates: they can arrive
through JSON ``"\\ud800"`` escapes and then fail to encode as UTF-8 deep inside
storage, long after the request that should have been refused.
"""

from __future__ import annotations

import functools
import re
from typing import Final, Literal

from tidings.protocol.confusables import handle_key

# Limits (characters, i.e. code points, after stripping surrounding whitespace).
HANDLE_MIN: Final = 5
HANDLE_MAX: Final = 32
USERNAME_MIN: Final = 3
USERNAME_MAX: Final = 32
CHANNEL_TITLE_MAX: Final = 128
CHANNEL_DESCRIPTION_MAX: Final = 1024
DISPLAY_NAME_MAX: Final = 64

_HANDLE_RE: Final = re.compile(rf"[a-z][a-z0-9_]{{{HANDLE_MIN - 1},{HANDLE_MAX - 1}}}")
_USERNAME_RE: Final = re.compile(rf"[a-z0-9_]{{{USERNAME_MIN},{USERNAME_MAX}}}")

HANDLE_RULE: Final = (
    f"a channel handle is {HANDLE_MIN}-{HANDLE_MAX} characters of a-z, 0-9 and _, "
    "starting with a letter"
)
USERNAME_RULE: Final = f"a username is {USERNAME_MIN}-{USERNAME_MAX} characters of a-z, 0-9 and _"

# Names nobody may take: they would let a user pose as the operator, the platform,
# another well-known service, or collide with routes and sentinel values.
RESERVED_NAMES: Final = frozenset(
    {
        "abuse", "account", "accounts", "admin", "administrator", "api", "app", "auth",
        "bot", "c", "channel", "channels", "contact", "dev", "everyone", "false",
        "help", "here", "hostmaster", "info", "legal", "login", "logout", "mail",
        "me", "media", "mod", "moderation", "moderator", "news", "noreply", "null",
        "official", "operator", "postmaster", "privacy", "register", "report",
        "reports", "root", "safety", "security", "settings", "signal", "signup",
        "staff", "static", "status", "support", "system", "telegram", "terms",
        "tidings", "transparency", "true", "trust", "undefined", "user", "users",
        "webmaster", "whatsapp", "www",
    }
)
# A name whose key *contains* one of these is reserved: "tidings_team" and
# "tidingsofficial" pose as the platform however they are decorated.
RESERVED_SUBSTRINGS: Final = frozenset({"tidings"})
# What a channel *title* may not be: the platform, its teams and roles, other well-known
# services. The rest of RESERVED_NAMES are ordinary words ("News", "Info", "Status")
# that only matter as handles and usernames (links, mentions, routes), so a channel may
# be titled "News" while "Tidings Support" or "Тidings Оfficial" (Cyrillic Т, О) is
# still refused (docs/decisions.md, "Names and titles").
PLATFORM_NAMES: Final = frozenset(
    {
        "abuse", "admin", "administrator", "hostmaster", "mod", "moderation", "moderator",
        "noreply", "official", "operator", "postmaster", "root", "safety", "security",
        "signal", "staff", "support", "system", "telegram", "tidings", "transparency",
        "trust", "webmaster", "whatsapp",
    }
)

NameKind = Literal["handle", "username"]


class HandleError(ValueError):
    """A username or channel handle was refused; ``code`` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TextFieldError(ValueError):
    """A free-text field was refused; ``code`` is always "invalid_text"."""

    code: Final = "invalid_text"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = f"{field}: {message}"


def _normalize(name: str, pattern: re.Pattern[str], code: str, rule: str) -> str:
    # Accept the "@name" people paste from mentions; check ASCII before lower() so
    # that e.g. KELVIN SIGN cannot lower-case its way into "k".
    candidate = name.strip().removeprefix("@")
    if not candidate.isascii() or pattern.fullmatch(candidate.lower()) is None:
        raise HandleError(code, f"{rule}; got {name!r}")
    return candidate.lower()


def normalize_handle(handle: str) -> str:
    """Return the canonical (lower-case) channel handle or raise "invalid_handle"."""
    return _normalize(handle, _HANDLE_RE, "invalid_handle", HANDLE_RULE)


def normalize_username(name: str) -> str:
    """Return the canonical (lower-case) username or raise "invalid_username"."""
    return _normalize(name, _USERNAME_RE, "invalid_username", USERNAME_RULE)


@functools.cache
def _reserved_keys() -> frozenset[str]:
    return frozenset(handle_key(name) for name in RESERVED_NAMES)


@functools.cache
def _reserved_substring_keys() -> frozenset[str]:
    return frozenset(handle_key(name) for name in RESERVED_SUBSTRINGS)


def is_reserved(name: str) -> bool:
    """True if name is, or looks like, a reserved name (compared by handle_key)."""
    key = handle_key(name)
    return key in _reserved_keys() or any(part in key for part in _reserved_substring_keys())


def check_not_reserved(name: str, kind: NameKind = "handle") -> None:
    """Raise "reserved_handle" / "reserved_username" if name looks like a reserved one.

    Works on any string (handles, usernames, display names, channel titles), since
    the comparison is by lookalike key, not by exact spelling.
    """
    if is_reserved(name):
        raise HandleError(f"reserved_{kind}", f"the {kind} {name!r} is reserved")


@functools.cache
def _platform_keys() -> frozenset[str]:
    return frozenset(handle_key(name) for name in PLATFORM_NAMES)


def check_title_not_reserved(title: str) -> None:
    """Raise "reserved_title" if a title is, or looks like, the platform's own name or a
    role of its staff (``PLATFORM_NAMES``), or contains "tidings" in any disguise."""
    key = handle_key(title)
    if key in _platform_keys() or any(part in key for part in _reserved_substring_keys()):
        raise HandleError("reserved_title", f"the title {title!r} poses as the platform")


def clean_text(s: str, max_len: int, field: str, *, allow_empty: bool = True) -> str:
    """Validate and tidy a free-text field; raise TextFieldError ("invalid_text").

    Strips surrounding whitespace and turns CRLF into LF (what browsers send for
    textareas); refuses other control characters (C0 except tab and newline, DEL,
    C1) and lone surrogates; enforces max_len in code points after stripping.
    """
    text = s.replace("\r\n", "\n").strip()
    for index, ch in enumerate(text):
        cp = ord(ch)
        if 0xD800 <= cp <= 0xDFFF:
            raise TextFieldError(field, f"lone surrogate U+{cp:04X} at position {index}")
        if (cp < 0x20 and ch not in "\n\t") or 0x7F <= cp <= 0x9F:
            raise TextFieldError(field, f"control character U+{cp:04X} at position {index}")
    if len(text) > max_len:
        raise TextFieldError(field, f"at most {max_len} characters, got {len(text)}")
    if not text and not allow_empty:
        raise TextFieldError(field, "must not be empty")
    return text


def clean_channel_title(s: str) -> str:
    """A channel title: required, at most CHANNEL_TITLE_MAX characters."""
    return clean_text(s, CHANNEL_TITLE_MAX, "title", allow_empty=False)


def clean_channel_description(s: str) -> str:
    """A channel description: optional, at most CHANNEL_DESCRIPTION_MAX characters."""
    return clean_text(s, CHANNEL_DESCRIPTION_MAX, "description")


def clean_display_name(s: str) -> str:
    """A person's display name: required, at most DISPLAY_NAME_MAX characters."""
    return clean_text(s, DISPLAY_NAME_MAX, "display_name", allow_empty=False)
