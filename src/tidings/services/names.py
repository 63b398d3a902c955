"""Names an operator reserves on top of the built-in list in ``protocol.handles``."""

from __future__ import annotations


def reserved_names(extra: tuple[str, ...] = ()) -> frozenset[str]:
    return frozenset(n.strip().lower() for n in extra if n.strip())
