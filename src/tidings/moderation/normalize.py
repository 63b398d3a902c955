"""Normalisation of text and URLs before hashing.

Exact hashes only catch exact copies, so everything that does not change what
a reader sees or where a link leads is folded away first: otherwise a single
zero-width space or a ``?utm_source=`` defeats a bank. Each step below names
the evasion it closes.
"""

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tidings.moderation.errors import ContentTooLargeError, InvalidSignalError
from tidings.moderation.limits import MAX_TEXT_CHARS, MAX_URL_CHARS, MAX_URLS_PER_TEXT
from tidings.moderation.textforms import ARABIC_FOLD, drop_invisible, drop_marks

_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Fold text to the form the exact and near-duplicate text hashes read.

    Order matters: NFKC first (full-width, ligatures, compatibility digits),
    then casefold, then drop format characters and every other invisible
    code point (zero-width space/joiners, bidi controls, Hangul and braille
    fillers: used to break hashes), then NFD and drop non-spacing and
    enclosing marks (Latin diacritics, Arabic harakat, hamza above/below,
    U+20E3 keycap), then fold Arabic letter variants and tatweel, then
    collapse whitespace. Homoglyphs, leetspeak and spacing tricks are folded
    by the compact forms of ``textforms``, not here.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ContentTooLargeError(f"text over {MAX_TEXT_CHARS} characters")
    folded = drop_invisible(unicodedata.normalize("NFKC", text).casefold())
    stripped = drop_marks(folded).translate(ARABIC_FOLD)
    return _WHITESPACE.sub(" ", stripped).strip()


# --- URLs --------------------------------------------------------------------

DOMAIN_PREFIX = "domain:"
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Query parameters that only track the click, never select the resource.
TRACKING_PARAM_PREFIXES = ("utm_",)
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "mc_eid", "igshid"})
_URL_IN_TEXT = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?)]}'\"»"


def normalize_host(host: str) -> str:
    """Lowercase, drop the root dot, and IDNA-encode to punycode.

    Punycode makes ``пример.рф`` and ``xn--e1afmkfd.xn--p1ai`` one key.
    """
    host = host.strip().rstrip(".").lower()
    if not host:
        raise InvalidSignalError("empty host")
    try:
        encoded = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidSignalError(f"invalid host {host!r}") from exc
    if not re.fullmatch(r"[a-z0-9.\-_\[\]:]+", encoded):
        raise InvalidSignalError(f"invalid host {host!r}")
    return encoded


def normalize_url(url: str) -> str:
    """Canonical form of an http(s) URL for exact matching.

    Lowercases scheme and host, folds ``http`` into ``https`` (a scheme
    change must not evade a bank), punycodes the host, drops userinfo,
    default ports, the fragment, tracking parameters and a trailing slash,
    and sorts the remaining query parameters.
    """
    if len(url) > MAX_URL_CHARS:
        raise ContentTooLargeError(f"URL over {MAX_URL_CHARS} characters")
    raw = url.strip()
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise InvalidSignalError(f"invalid URL {url!r}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidSignalError(f"unsupported URL scheme {scheme!r}")
    host = normalize_host(parts.hostname or "")
    if port is not None and port not in _DEFAULT_PORTS.values():
        host = f"{host}:{port}"
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(TRACKING_PARAM_PREFIXES) and k.lower() not in TRACKING_PARAMS
    )
    path = parts.path.rstrip("/")
    return urlunsplit(("https", host, path, urlencode(query), ""))


def normalize_domain_entry(value: str) -> str:
    """Canonical ``domain:<host>`` bank value (matches the host and subdomains)."""
    if not value.startswith(DOMAIN_PREFIX):
        raise InvalidSignalError("domain entry must start with 'domain:'")
    return DOMAIN_PREFIX + normalize_host(value[len(DOMAIN_PREFIX) :])


def host_of(normalized_url: str) -> str:
    """Host (without port) of an already-normalised URL."""
    return (urlsplit(normalized_url).hostname or "").lower()


def parent_domains(host: str) -> list[str]:
    """``a.b.example.com`` -> itself and every parent down to ``com``."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def extract_urls(text: str) -> list[str]:
    """Normalised URLs found in free text, deduplicated, in order, bounded.

    Unparseable candidates are skipped: a typo in a post is not an error.
    """
    seen: dict[str, None] = {}
    for match in _URL_IN_TEXT.finditer(text):
        candidate = match.group(0).rstrip(_TRAILING_PUNCT)
        try:
            seen.setdefault(normalize_url(candidate), None)
        except (InvalidSignalError, ContentTooLargeError):
            continue
        if len(seen) >= MAX_URLS_PER_TEXT:
            break
    return list(seen)
