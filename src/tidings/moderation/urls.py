"""URLs as a browser reads them: WHATWG-style parsing, one canonical form, extraction.

A URL bank entry is only useful if every way of writing the same link reaches
the same key. Each step names the trick it closes (issue 18, item 5):

* ``HTTP://`` vs ``https://``, userinfo (``https://x@bad.example``), default
  ports, fragments, tracking parameters, query order (as before);
* tabs and newlines inside a URL, backslashes for slashes, ``//`` at the start,
  leading and trailing C0 controls and spaces: the WHATWG URL Standard
  (basic URL parser) removes or rewrites them, so browsers follow such links;
* hosts: percent-decoded, then UTS #46 processing (nontransitional, as the URL
  Standard's "domain to ASCII" with ``UseSTD3ASCIIRules`` false) through the
  ``idna`` package (IDNA 2008): full-width letters and ideographic full stops
  fold, ``пример.рф`` becomes ``xn--e1afmkfd.xn--p1ai``; IPv4 in hex, octal or
  one number (``0x7f.1``, ``2130706433``) becomes dotted decimal (URL Standard
  "IPv4 parser"); IPv6 is compressed;
* ``www.`` and ``m.`` in front of a registrable domain are the same site, so
  they are dropped (never when what remains would be a public suffix);
* paths: percent-encoded unreserved characters are decoded (RFC 3986 section
  6.2.2.2: ``%61`` is ``a``), other escapes upper-cased, characters a browser
  would escape are escaped; ``.``/``..`` segments are resolved (RFC 3986
  section 5.2.4, after decoding, so ``%2e%2e`` counts) and empty segments
  (``//``) collapse; a trailing slash is dropped.

Extraction finds ``http(s)://`` links, ``www.`` links, and scheme-less links
whose last label is an ICANN public suffix of the list bundled with the
``publicsuffixlist`` package (never downloaded at run time), minus endings that
are mostly file names (``setup.py``, ``readme.md``) unless the candidate has a
path or ``www.``; defanged forms (``hxxp``, ``[.]``, ``(dot)``) are re-armed
first. The bundled list is read once per process, like ``confusables.txt``.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from importlib import resources
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlencode

import idna

from tidings.moderation.errors import ContentTooLargeError, InvalidSignalError
from tidings.moderation.limits import MAX_URL_CHARS, MAX_URLS_PER_TEXT

DOMAIN_PREFIX: Final = "domain:"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
#: Defanged schemes threat-intel feeds use, read as the real ones.
_SCHEME_ALIASES: Final = {"hxxp": "http", "hxxps": "https", "http": "http", "https": "https"}
#: Query parameters that only track the click, never select the resource.
TRACKING_PARAM_PREFIXES: Final = ("utm_",)
TRACKING_PARAMS: Final = frozenset({"fbclid", "gclid", "mc_eid", "igshid"})
#: Host labels in front of a registrable domain that name the same site.
SAME_SITE_PREFIXES: Final = ("www", "m")
#: Public suffixes that are mostly file extensions in chat text; a
#: scheme-less candidate ending in one is a link only with a path or ``www.``.
FILE_LIKE_SUFFIXES: Final = frozenset(
    {"py", "md", "sh", "rs", "pl", "pm", "so", "cc", "cs", "ps", "ml", "zip", "mov", "gz"}
)
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
#: Characters kept as they are in a path; the rest is percent-encoded (UTF-8).
_PATH_SAFE: Final = "/%!$&'()*+,;=:@-._~"
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEMED = re.compile(r"(?:h[tx]{2}ps?://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_SCHEMELESS = re.compile(
    r"(?<![\w@./:%-])((?:[^\W_](?:[\w-]{0,62}[^\W_])?\.)+[^\W\d_]{2,63})\.?"
    r"(:\d{1,5})?(/[^\s<>\"'`]*)?(?![\w@-])",
)
_DEFANG = (
    (re.compile(r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}", re.IGNORECASE), "."),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[/\]"), "/"),
    (re.compile(r"\bhxxp", re.IGNORECASE), "http"),
)
_TRAILING_PUNCT: Final = ".,;:!?)]}'\"»…"
_PSL_PACKAGE: Final = "publicsuffixlist"
_PSL_FILE: Final = "public_suffix_list.dat"


# --- public suffixes ------------------------------------------------------------


@functools.cache
def _suffix_rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(rules, wildcard parents, exceptions) of the bundled list's ICANN section."""
    text = resources.files(_PSL_PACKAGE).joinpath(_PSL_FILE).read_text(encoding="utf-8")
    start = text.index("===BEGIN ICANN DOMAINS===")
    end = text.index("===END ICANN DOMAINS===")
    rules: set[str] = set()
    wild: set[str] = set()
    exceptions: set[str] = set()
    for raw in text[start:end].splitlines():
        line = raw.strip()
        if not line or line.startswith("//"):
            continue
        target = exceptions if line.startswith("!") else wild if line.startswith("*.") else rules
        name = line.lstrip("!").removeprefix("*.")
        try:
            ascii_name = idna.encode(name, uts46=True).decode() if not name.isascii() else name
        except idna.IDNAError:
            continue
        target.add(ascii_name.lower())
    return frozenset(rules), frozenset(wild), frozenset(exceptions)


def is_public_suffix(host: str) -> bool:
    """True when ``host`` (ASCII, lower case) is itself an ICANN public suffix."""
    rules, wild, exceptions = _suffix_rules()
    if host in exceptions:
        return False
    if host in rules:
        return True
    parent = host.partition(".")[2]
    return bool(parent) and parent in wild


def has_public_suffix(host: str) -> bool:
    """True when ``host`` is a name under an ICANN public suffix (not one itself)."""
    labels = host.split(".")
    if len(labels) < 2 or is_public_suffix(host):
        return False
    rules, wild, _ = _suffix_rules()
    return labels[-1] in rules or labels[-1] in wild


# --- hosts ------------------------------------------------------------------------


def _ipv4_number(part: str) -> int | None:
    """URL Standard "IPv4 number parser": decimal, 0x hex, leading-0 octal."""
    if not part:
        return None
    base = 10
    if part[:2].lower() == "0x":
        part, base = part[2:], 16
    elif len(part) > 1 and part.startswith("0"):
        part, base = part[1:], 8
    if not part:
        return 0
    try:
        return int(part, base)
    except ValueError:
        return None


def _ipv4(host: str) -> str | None:
    """Dotted decimal of a host that ends in a number (URL Standard), else None."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if _ipv4_number(parts[-1]) is None or len(parts) > 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        raise InvalidSignalError(f"invalid IPv4 address {host!r}")
    values = [n for n in numbers if n is not None]
    if any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise InvalidSignalError(f"invalid IPv4 address {host!r}")
    address = values[-1] + sum(v * 256 ** (3 - i) for i, v in enumerate(values[:-1]))
    return str(ipaddress.IPv4Address(address))


def _strip_same_site(host: str) -> str:
    while True:
        label, _, rest = host.partition(".")
        if label not in SAME_SITE_PREFIXES or "." not in rest or is_public_suffix(rest):
            return host
        host = rest


def normalize_host(host: str) -> str:
    """Canonical ASCII host: UTS #46 nontransitional, IPv4/IPv6 canonical, no www./m."""
    raw = unquote(host.strip())
    if raw.startswith("[") and raw.endswith("]"):
        try:
            return f"[{ipaddress.IPv6Address(raw[1:-1]).compressed}]"
        except ValueError as exc:
            raise InvalidSignalError(f"invalid IPv6 host {host!r}") from exc
    try:
        mapped = idna.uts46_remap(raw, std3_rules=False, transitional=False)
    except idna.IDNAError as exc:
        raise InvalidSignalError(f"invalid host {host!r}") from exc
    mapped = mapped.rstrip(".")
    if not mapped or ".." in mapped:
        raise InvalidSignalError(f"invalid host {host!r}")
    labels = []
    for label in mapped.split("."):
        if label.isascii():
            labels.append(label.lower())
            continue
        try:
            labels.append(idna.alabel(label).decode("ascii"))
        except (idna.IDNAError, UnicodeError) as exc:
            raise InvalidSignalError(f"invalid host {host!r}") from exc
    ascii_host = ".".join(labels)
    if not re.fullmatch(r"[a-z0-9._-]+", ascii_host) or len(ascii_host) > 253:
        raise InvalidSignalError(f"invalid host {host!r}")
    ipv4 = _ipv4(ascii_host)
    return ipv4 if ipv4 is not None else _strip_same_site(ascii_host)


# --- paths ------------------------------------------------------------------------


def _normalize_escapes(segment: str) -> str:
    def one(m: re.Match[str]) -> str:
        char = chr(int(m.group(1), 16))
        return char if char in _UNRESERVED else "%" + m.group(1).upper()

    decoded = _ESCAPE.sub(one, segment)
    # A "%" not starting a valid escape is escaped itself, as a browser sends it.
    decoded = re.sub(r"%(?![0-9A-F]{2})", "%25", decoded)
    return quote(decoded, safe=_PATH_SAFE)


def normalize_path(path: str) -> str:
    """Escapes canonical, dot segments resolved, empty segments and final slash dropped."""
    out: list[str] = []
    for segment in _normalize_escapes(path).split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return "/" + "/".join(out) if out else ""


def _normalize_query(query: str) -> str:
    pairs = sorted(
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if not k.lower().startswith(TRACKING_PARAM_PREFIXES) and k.lower() not in TRACKING_PARAMS
    )
    return urlencode(pairs)


# --- URLs -------------------------------------------------------------------------


def refang(text: str) -> str:
    """Re-arm defanged links (``hxxps://bad[.]example``) so they are matched."""
    for pattern, replacement in _DEFANG:
        text = pattern.sub(replacement, text)
    return text


def normalize_url(url: str) -> str:
    """Canonical ``https://host[:port][/path][?query]`` of an http(s) URL.

    ``http`` folds into ``https`` (a scheme change must not evade a bank).
    """
    if len(url) > MAX_URL_CHARS:
        raise ContentTooLargeError(f"URL over {MAX_URL_CHARS} characters")
    raw = _TAB_NEWLINE.sub("", refang(url.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c"
                                                   "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17"
                                                   "\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \t\n\r")))
    raw = raw.replace("\\", "/")
    scheme, sep, rest = raw.partition("://")
    if not sep:
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)", raw):
            raise InvalidSignalError(f"unsupported URL scheme in {url!r}")
        scheme, rest = "http", raw.lstrip("/")
    scheme = _SCHEME_ALIASES.get(scheme.lower(), "")
    if not scheme:
        raise InvalidSignalError(f"unsupported URL scheme in {url!r}")
    rest = rest.lstrip("/")
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    authority = authority.rpartition("@")[2]
    host, port_str = authority, ""
    if not authority.startswith("[") or "]:" in authority:
        before, port_sep, after = authority.rpartition(":")
        if port_sep:
            host, port_str = before, after
    host = normalize_host(host)
    if port_str:
        if not port_str.isdigit() or int(port_str) > 65535:
            raise InvalidSignalError(f"invalid port in {url!r}")
        if int(port_str) not in _DEFAULT_PORTS.values():
            host = f"{host}:{int(port_str)}"
    tail = tail.partition("#")[0]
    path, _, query = tail.partition("?")
    result = f"https://{host}{normalize_path(path)}"
    normalized_query = _normalize_query(query)
    return f"{result}?{normalized_query}" if normalized_query else result


def normalize_domain_entry(value: str) -> str:
    """Canonical ``domain:<host>`` bank value (matches the host and subdomains)."""
    if not value.startswith(DOMAIN_PREFIX):
        raise InvalidSignalError("domain entry must start with 'domain:'")
    host = value[len(DOMAIN_PREFIX) :].strip()
    if not host or any(c in host for c in "/?#@ "):
        raise InvalidSignalError("a domain entry is a host name, e.g. domain:example.com")
    normalized = normalize_host(host)
    if is_public_suffix(normalized):
        raise InvalidSignalError(f"{normalized} is a public suffix: it would match every site")
    return DOMAIN_PREFIX + normalized


def host_of(normalized_url: str) -> str:
    """Host (without port) of an already-normalised URL."""
    authority = normalized_url.partition("://")[2].split("/", 1)[0].split("?", 1)[0]
    if authority.startswith("["):
        return authority.partition("]")[0] + "]"
    return authority.partition(":")[0]


def parent_domains(host: str) -> list[str]:
    """``a.b.example.com`` -> itself and every parent down to ``com``."""
    labels = host.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def registrable_domain(host: str) -> str | None:
    """The registrable domain (public suffix plus one label) of a normalised host:
    ``news.bbc.co.uk`` -> ``bbc.co.uk``. A host under no listed suffix takes its last
    label as the suffix (the list's default rule). None for IP addresses and bare
    labels."""
    labels = host.split(".")
    if len(labels) < 2 or host.startswith("[") or labels[-1].isdigit():
        return None
    for i in range(1, len(labels)):
        if is_public_suffix(".".join(labels[i:])):
            return ".".join(labels[i - 1:])
    return ".".join(labels[-2:])


def _schemeless_candidates(text: str) -> list[tuple[int, str]]:
    out = []
    for m in _SCHEMELESS.finditer(text):
        host, port, path = m.group(1), m.group(2) or "", m.group(3) or ""
        try:
            ascii_host = normalize_host(host)
        except InvalidSignalError:
            continue
        if not has_public_suffix(ascii_host):
            continue
        suffix = ascii_host.rsplit(".", 1)[-1]
        if suffix in FILE_LIKE_SUFFIXES and not path and not host.lower().startswith("www."):
            continue
        out.append((m.start(), host + port + path))
    return out


def _strip_trailing(candidate: str) -> str:
    """Drop sentence punctuation after a link, but not a final dot segment
    (``https://bad.example/x/..`` resolves to the site's root)."""
    stripped = candidate.rstrip(_TRAILING_PUNCT)
    tail = candidate[len(stripped) :]
    if stripped.endswith("/"):
        for dots in ("..", "."):
            if tail.startswith(dots):
                return stripped + dots
    return stripped


def extract_urls(text: str) -> list[str]:
    """Normalised URLs found in free text, deduplicated, in order, bounded.

    Unparseable candidates are skipped: a typo in a post is not an error.
    """
    armed = refang(text)
    found = [(m.start(), m.group(0)) for m in _SCHEMED.finditer(armed)]
    taken = [(s, s + len(c)) for s, c in found]
    for start, candidate in _schemeless_candidates(armed):
        if not any(a <= start < b for a, b in taken):
            found.append((start, candidate))
    seen: dict[str, None] = {}
    for _, candidate in sorted(found):
        try:
            seen.setdefault(normalize_url(_strip_trailing(candidate)), None)
        except (InvalidSignalError, ContentTooLargeError):
            continue
        if len(seen) >= MAX_URLS_PER_TEXT:
            break
    return list(seen)
