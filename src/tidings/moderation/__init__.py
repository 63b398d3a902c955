"""Trust & safety engine: pure functions and values, no I/O, no clock.

Public API re-exported here; see docs/matching.md.
"""

from tidings.moderation.banks import Bank, BankEntry, validate_bank_name
from tidings.moderation.content import MediaContent, Signal, TextContent, UrlContent
from tidings.moderation.exchange import FetchBatch, fetch_batches
from tidings.moderation.formats import (
    format_bank_csv,
    format_signal_file,
    parse_bank_csv,
    parse_signal_file,
)
from tidings.moderation.manifest import SIGNAL_TYPES, get_signal_type, signals_for
from tidings.moderation.matcher import Match, Matcher

__all__ = [
    "SIGNAL_TYPES",
    "Bank",
    "BankEntry",
    "FetchBatch",
    "Match",
    "Matcher",
    "MediaContent",
    "Signal",
    "TextContent",
    "UrlContent",
    "fetch_batches",
    "format_bank_csv",
    "format_signal_file",
    "get_signal_type",
    "parse_bank_csv",
    "parse_signal_file",
    "signals_for",
    "validate_bank_name",
]
