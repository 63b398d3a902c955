"""Pure request builders for the hash bank API (staff accounts only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tidings.client.requests import API, Request
from tidings.protocol.api.banks import (
    Added,
    Bank,
    Banks,
    Entries,
    Entry,
    Exchange,
    Exchanges,
    ExportSummary,
    Fetched,
    Imported,
)
from tidings.protocol.api.hma import ByBank, BySignalType

BANKS = f"{API}/banks"


def list_banks() -> Request:
    return Request("GET", BANKS, result=Banks)


def create_bank(name: str, description: str = "",
                threshold_override: int | dict[str, int] | None = None,
                partner: bool = False, trusted: bool = False,
                negative: bool = False) -> Request:
    return Request("POST", BANKS, {"name": name, "description": description,
                                   "threshold_override": threshold_override,
                                   "partner": partner, "trusted": trusted,
                                   "negative": negative}, result=Bank)


def update_bank(name: str, **changes: Any) -> Request:
    return Request("PATCH", f"{BANKS}/{name}", changes, result=Bank)


def entries(name: str, q: str = "", cursor: int = 0, limit: int = 100) -> Request:
    return Request("GET", f"{BANKS}/{name}/entries",
                   params={"q": q, "cursor": cursor, "limit": limit}, result=Entries)


def add_text(name: str, text: str, labels: Sequence[str], source: str = "cli",
             slogan: bool = False) -> Request:
    body = {"text": text, "labels": list(labels), "source": source}
    return Request("POST", f"{BANKS}/{name}/entries", {**body, "slogan": True} if slogan else body,
                   result=Added)


def add_url(name: str, url: str, labels: Sequence[str], source: str = "cli") -> Request:
    return Request("POST", f"{BANKS}/{name}/entries",
                   {"url": url, "labels": list(labels), "source": source}, result=Added)


def add_signal(name: str, signal_type: str, value: str, labels: Sequence[str],
               source: str = "cli") -> Request:
    return Request("POST", f"{BANKS}/{name}/entries",
                   {"signal_type": signal_type, "value": value, "labels": list(labels),
                    "source": source}, result=Added)


def add_file(name: str, data: bytes, labels: Sequence[str], source: str = "cli") -> Request:
    return Request("POST", f"{BANKS}/{name}/entries", params={"label": list(labels),
                                                              "source": source},
                   content=data, result=Added)


def set_entry(name: str, entry_id: int, enabled: bool | None = None,
              labels: Sequence[str] | None = None) -> Request:
    body: dict[str, Any] = {}
    if enabled is not None:
        body["enabled"] = enabled
    if labels is not None:
        body["labels"] = list(labels)
    return Request("PATCH", f"{BANKS}/{name}/entries/{entry_id}", body, result=Entry)


def import_chunk(name: str, data: bytes, fmt: str, labels: Sequence[str] = (),
                 line_offset: int = 0, source: str = "import") -> Request:
    return Request("POST", f"{BANKS}/{name}/import",
                   params={"format": fmt, "label": list(labels), "line_offset": line_offset,
                           "source": source},
                   content=data, content_type="text/plain; charset=utf-8", result=Imported)


def export(name: str, fmt: str) -> Request:
    return Request("GET", f"{BANKS}/{name}/export", params={"format": fmt},
                   text_response=True)


def put_exchange(name: str, exchange: str, exchange_type: str, labels: Sequence[str],
                 config: dict[str, Any], credentials_ref: str = "") -> Request:
    return Request("PUT", f"{BANKS}/{name}/exchanges/{exchange}",
                   {"exchange_type": exchange_type, "labels": list(labels), "config": config,
                    "credentials_ref": credentials_ref}, result=Exchange)


def fetch(name: str, exchange: str) -> Request:
    return Request("POST", f"{BANKS}/{name}/fetch", {"exchange": exchange}, result=Fetched)


def export_names(name: str, fmt: str, names: str) -> Request:
    """An export with ``names`` ``tidings`` or ``pytx`` (pytx's signal-type names)."""
    return Request("GET", f"{BANKS}/{name}/export", params={"format": fmt, "names": names},
                   text_response=True)


def export_summary(name: str) -> Request:
    return Request("GET", f"{BANKS}/{name}/export/summary", result=ExportSummary)


def exchanges(name: str) -> Request:
    return Request("GET", f"{BANKS}/{name}/exchanges", result=Exchanges)


def exchange(name: str, exchange: str) -> Request:
    return Request("GET", f"{BANKS}/{name}/exchanges/{exchange}", result=Exchange)


def schedule(name: str, exchange: str, interval_s: int | None) -> Request:
    return Request("PUT", f"{BANKS}/{name}/exchanges/{exchange}/schedule",
                   {"interval_s": interval_s}, result=Exchange)


HMA = "/hma"
_BOUNDARY = "tidings-match-6f1c0e"


def match_signal(signal_type: str, value: str) -> Request:
    """``GET /hma/m/lookup`` for one hash: ``{bank: [{bank_content_id, distance}]}``."""
    return Request("GET", f"{HMA}/m/lookup", params={"signal_type": signal_type,
                                                      "signal": value}, result=ByBank)


def match_file(data: bytes, filename: str = "upload") -> Request:
    """``POST /hma/m/lookup`` with the file (the server hashes it): by signal type."""
    safe = "".join(c for c in filename if c.isalnum() or c in "._-")[:100] or "upload"
    head = (f"--{_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{safe}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    body = head + data + f"\r\n--{_BOUNDARY}--\r\n".encode()
    return Request("POST", f"{HMA}/m/lookup", content=body,
                   content_type=f"multipart/form-data; boundary={_BOUNDARY}", result=BySignalType)
