"""Formatting the user interfaces share (CLI, TUI, demo): they share it through here,
never by importing each other."""

from __future__ import annotations

FINGERPRINT_GROUP = 4
"""Characters per group when a key is shown for reading aloud."""


def fingerprint(ed25519: str) -> str:
    """An Ed25519 key in groups of four characters, for reading aloud and comparing."""
    return " ".join(ed25519[i:i + FINGERPRINT_GROUP]
                    for i in range(0, len(ed25519), FINGERPRINT_GROUP))
