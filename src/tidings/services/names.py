"""Names nobody may register: they would let an account pose as the service or its staff."""

from __future__ import annotations

RESERVED_NAMES = frozenset({
    "admin", "administrator", "root", "system", "support", "help", "tidings", "moderator",
    "moderators", "mod", "mods", "staff", "security", "abuse", "official", "api", "www",
    "mail", "postmaster", "hostmaster", "webmaster", "noreply", "no_reply", "everyone",
    "null", "undefined", "settings", "login", "register", "transparency", "legal",
    "authority", "trust_safety", "safety", "info", "owner", "team",
})


def reserved_names(extra: tuple[str, ...] = ()) -> frozenset[str]:
    return RESERVED_NAMES | {n.strip().lower() for n in extra if n.strip()}
