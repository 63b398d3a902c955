"""Hash bank API (issue #6): staff only. Admins write; moderators and auditors read.

Routes stay thin: parse, authorise, call ``BankService``, shape JSON. File uploads and
imports are read here with their own bound (``BANK_UPLOAD_MAX_BYTES``) because the
general body limit is sized for JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import ConfigDict, Field, model_validator
from starlette.datastructures import UploadFile

from tidings.moderation.labels import BEHAVIOURS, CATEGORIES, TERRORIST_CONTENT, VIOLENT_EXTREMISM
from tidings.moderation.limits import MAX_LABELS_PER_ENTRY, MAX_SOURCE_CHARS
from tidings.moderation.manifest import SIGNAL_TYPES
from tidings.moderation.pytx_names import known_names
from tidings.protocol import limits
from tidings.protocol.api.banks import (
    Added,
    Bank,
    Banks,
    ConfigValue,
    Entries,
    Entry,
    Exchange,
    Exchanges,
    ExportSummary,
    Fetched,
    Imported,
)
from tidings.protocol.errors import BadRequest, PayloadTooLarge
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.deps import require_role
from tidings.server.openapi import typed
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.banks import FORMATS, AddResult, BankService, FetchResult, check_labels
from tidings.services.entry_safety import entry_json
from tidings.storage.banks import BankRecord, ExchangeRecord

router = APIRouter(prefix="/api/v1/banks", tags=["banks"])

READ = Depends(require_role("admin", "moderator", "auditor"))
WRITE = Depends(require_role("admin"))
EntryId = Annotated[int, Path(ge=1, lt=limits.ID_MAX + 1)]
FORMAT_PATTERN = "^(" + "|".join(FORMATS) + ")$"


Distance = Annotated[int, Field(ge=0, lt=2**63)]
SignalTypeName = Literal[tuple(SIGNAL_TYPES)]  # type: ignore[valid-type]
Thresholds = Distance | dict[SignalTypeName, Distance] | None  # type: ignore[valid-type]
"""``threshold_override`` as ``services.banks.check_thresholds`` takes it: one distance
for every type, or one per (Tidings-named) signal type; published and checked here."""
NOT_TRUSTED_ALLOW_LIST: dict[str, Any] = {"not": {
    "required": ["negative", "trusted"],
    "properties": {"negative": {"const": True}, "trusted": {"const": True}}}}
"""``services.banks.check_flags``: an allow list (``negative``) is never ``trusted``."""


def service(request: Request) -> BankService:
    svc: BankService = kernel_of(request).banks
    return svc


class _BankKind(StrictBody):
    """A body with a bank's kind flags: an allow list (``negative``) is never ``trusted``
    (``NOT_TRUSTED_ALLOW_LIST``, published, and checked here: 422)."""

    model_config = ConfigDict(json_schema_extra=NOT_TRUSTED_ALLOW_LIST)

    @model_validator(mode="after")
    def _kind(self) -> Self:
        if getattr(self, "negative", None) and getattr(self, "trusted", None):
            raise ValueError("a negative (allow) bank cannot be trusted")
        return self


class BankIn(_BankKind):
    name: str = Field(max_length=limits.BANK_NAME_MAX,
                      json_schema_extra={"pattern": published.BANK_NAME})
    description: str = Field("", max_length=limits.BANK_DESCRIPTION_MAX)
    threshold_override: Thresholds = None
    enabled: bool = True
    partner: bool = False
    """Fed by a partner (exchange or partner file): matches hold for review."""
    trusted: bool = False
    """A partner list whose matches may reject at once (e.g. TCO-verified)."""
    negative: bool = False
    """An allow list: its entries suppress other banks' matches."""


class BankPatch(_BankKind):
    """A change that makes an allow list trusted, or a trusted bank an allow list, is
    409 ``invalid_bank_kind`` (the bank's state); asking for both at once is invalid."""

    enabled: bool | None = None
    description: str | None = Field(None, max_length=limits.BANK_DESCRIPTION_MAX)
    threshold_override: Thresholds = None
    partner: bool | None = None
    trusted: bool | None = None
    negative: bool | None = None


def _forms(label: str) -> list[str]:
    return [label, label.split(":", 1)[1]]


def _one_category() -> dict[str, Any]:
    """``labels.validate_labels`` as a schema: exactly one category (full or short
    form, repeats allowed), behaviours only with terrorist or extremist content."""
    branches = []
    for category in sorted(CATEGORIES):
        banned = [f for other in sorted(CATEGORIES - {category}) for f in _forms(other)]
        if category not in (TERRORIST_CONTENT, VIOLENT_EXTREMISM):
            banned += [f for behaviour in sorted(BEHAVIOURS) for f in _forms(behaviour)]
        branches.append({"contains": {"enum": _forms(category)},
                         "items": {"not": {"enum": banned}}})
    return {"oneOf": branches}


LABELS_RULE = {"items": {"type": "string", "enum": list(published.LABELS)}, **_one_category()}
"""Published; checked by ``services.banks.check_labels`` (400 invalid_label, which
names the closest label to a typo)."""
_NONE = {"type": "null"}
ENTRY_KINDS: dict[str, Any] = {"oneOf": [
    {"required": ["text"], "properties": {"text": {"type": "string"}, "url": _NONE,
                                          "signal_type": _NONE}},
    {"required": ["url"], "properties": {"url": {"type": "string"}, "text": _NONE,
                                         "signal_type": _NONE, "slogan": {"const": False}}},
    {"required": ["signal_type", "value"], "properties": {
        "signal_type": {"type": "string"}, "value": {"type": "string"}, "text": _NONE,
        "url": _NONE, "slogan": {"const": False}}}]}
"""``EntryIn``'s rule: exactly one of ``text``, ``url`` or ``signal_type`` + ``value``;
``slogan`` only with ``text``."""


class EntryIn(StrictBody):
    """Exactly one of ``text``, ``url`` or ``signal_type`` + ``value``. A ``url`` must
    parse as an http(s) URL with a host, a ``value`` as a hash of its ``signal_type``
    (400 otherwise: no schema states either)."""

    model_config = ConfigDict(json_schema_extra=ENTRY_KINDS)
    text: str | None = None
    url: str | None = None
    signal_type: str | None = Field(None, max_length=limits.BANK_SIGNAL_TYPE_MAX,
                                    json_schema_extra={"enum": list(known_names())})
    value: str | None = None
    slogan: bool = False
    """With ``text``: also match it inside longer posts (held for review by default)."""
    labels: list[str] = Field(max_length=MAX_LABELS_PER_ENTRY, json_schema_extra=LABELS_RULE)
    source: str = Field("api", max_length=MAX_SOURCE_CHARS)

    @model_validator(mode="after")
    def _one_kind(self) -> EntryIn:
        given = [k for k in ("text", "url", "signal_type") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, url or signal_type+value")
        if self.slogan and self.text is None:
            raise ValueError("slogan applies to a text entry")
        if self.signal_type is not None and self.value is None:
            raise ValueError("signal_type needs a value")
        return self


ENTRY_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": EntryIn.model_json_schema()},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                            "minLength": 1}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string",
                                                               "format": "binary",
                                                               "minLength": 1}}}}}}}
"""JSON adds one entry; any other body is one file banked by its signals."""


class EntryPatch(StrictBody):
    enabled: bool | None = None
    labels: list[str] | None = Field(None, max_length=MAX_LABELS_PER_ENTRY)


class ExchangeIn(StrictBody):
    exchange_type: str = Field(max_length=limits.BANK_SIGNAL_TYPE_MAX)
    labels: list[str] = Field(max_length=MAX_LABELS_PER_ENTRY)
    config: dict[str, ConfigValue] = Field(default_factory=dict)
    credentials_ref: str = Field("", max_length=limits.BANK_CREDENTIALS_REF_MAX)


class FetchIn(StrictBody):
    exchange: str = Field(max_length=limits.BANK_EXCHANGE_NAME_MAX)


class ScheduleIn(StrictBody):
    interval_s: int | None = Field(None, ge=limits.EXCHANGE_INTERVAL_MIN_S,
                                   le=limits.EXCHANGE_INTERVAL_MAX_S)
    """Fetch every so many seconds; null stops the schedule."""


def bank_json(b: BankRecord, entries: int | None = None,
              enabled_entries: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": b.name, "enabled": b.enabled,
                           "threshold_override": b.thresholds, "description": b.description,
                           "created_at": b.created_at, "partner": b.partner,
                           "trusted": b.trusted, "negative": b.negative,
                           "trust": "own" if not b.partner else
                           ("trusted" if b.trusted else "partner")}
    if entries is not None:
        out["entries"] = entries
        out["enabled_entries"] = enabled_entries
    return out


def added_json(r: AddResult) -> dict[str, Any]:
    return {"added": len(r.added), "duplicates": r.duplicates,
            "entries": [entry_json(e) for e in r.added[:limits.BANK_ENTRIES_PAGE_MAX]],
            "notes": list(r.notes)}


def exchange_json(x: ExchangeRecord) -> dict[str, Any]:
    status = x.status
    return {"name": x.name, "exchange_type": x.exchange_type, "bank": x.bank,
            "credentials_ref": x.credentials_ref, "config": x.config, "labels": list(x.labels),
            "has_checkpoint": x.checkpoint is not None, "last_fetch_at": x.last_fetch_at,
            "interval_s": x.interval_s, "next_run_at": x.next_run_at,
            "failures_in_a_row": x.failures,
            "state": status.get("state", "never"),
            "running_since": status.get("running_since"),
            "last_attempt_at": status.get("last_attempt_at"),
            "last_success_at": status.get("last_success_at"),
            "last_error": status.get("last_error"),
            "last_error_at": status.get("last_error_at"),
            "progress": status.get("progress") if status.get("state") == "running" else None,
            "last_run": status.get("last_run"),
            "totals": status.get("totals", {"added": 0, "removed": 0, "rejected": 0}),
            "rejected_by_reason": status.get("rejected_by_reason", {})}


def fetch_json(result: FetchResult) -> dict[str, Any]:
    return {"batches": result.batches, "added": result.added,
            "duplicates": result.duplicates, "disabled": result.disabled,
            "rejected": result.rejected, "rejected_by_reason": result.rejected_by_reason}


async def read_bounded(request: Request) -> bytes:
    """The body, refusing (413) past BANK_UPLOAD_MAX_BYTES without buffering more."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and \
            int(declared) > limits.BANK_UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(f"body over {limits.BANK_UPLOAD_MAX_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limits.BANK_UPLOAD_MAX_BYTES:
            raise PayloadTooLarge(f"body over {limits.BANK_UPLOAD_MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def upload_bytes(request: Request) -> bytes:
    """A file from a multipart form (field ``file``) or the raw body."""
    body = await read_bounded(request)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body

    async def replay() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise BadRequest("multipart upload needs a 'file' field", "missing_file")
    return await upload.read()


@router.get("", **typed(Banks))
async def list_banks(request: Request, _: Principal = READ) -> dict[str, Any]:
    rows = await service(request).list_banks()
    return {"banks": [bank_json(b, n, en) for b, n, en in rows]}


@router.post("", status_code=201, **typed(Bank))
async def create_bank(body: BankIn, request: Request, _: Principal = WRITE) -> dict[str, Any]:
    bank = await service(request).create_bank(body.name, body.description,
                                              body.threshold_override, body.enabled,
                                              body.partner, body.trusted, body.negative)
    return bank_json(bank)


@router.patch("/{name}", **typed(Bank))
async def update_bank(name: str, body: BankPatch, request: Request,
                      _: Principal = WRITE) -> dict[str, Any]:
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    return bank_json(await service(request).update_bank(name, changes))


@router.get("/{name}/entries", **typed(Entries))
async def list_entries(name: str, request: Request, _: Principal = READ,
                       q: str = Query("", max_length=limits.BANK_QUERY_MAX),
                       cursor: int = Query(0, ge=0),
                       limit: int = Query(limits.BANK_ENTRIES_PAGE_DEFAULT, ge=1,
                                          le=limits.BANK_ENTRIES_PAGE_MAX)) -> dict[str, Any]:
    rows = await service(request).entries(name, q, cursor, limit)
    return {"entries": [entry_json(e) for e in rows],
            "next_cursor": rows[-1].id if len(rows) == limit else None}


@router.post("/{name}/entries", status_code=201, openapi_extra=ENTRY_BODY, **typed(Added))
async def add_entry(name: str, request: Request, _: Principal = WRITE,
                    label: list[str] = Query([], max_length=MAX_LABELS_PER_ENTRY,
                                             json_schema_extra=LABELS_RULE),
                    source: str = Query("upload", max_length=MAX_SOURCE_CHARS)
                    ) -> dict[str, Any]:
    """JSON adds text, a URL or an explicit signal (its ``labels`` in the body); any
    other body is a file upload (multipart field ``file`` or the raw bytes), labelled
    by ``?label=``, which a file needs (400 invalid_label without: which body comes
    is no query parameter's schema to say). Any file is banked: its md5 and sha256,
    and the PDQ of a photo the server can read."""
    svc = service(request)
    if label:
        check_labels(label)  # the published rule, whichever body comes
    if "json" not in request.headers.get("content-type", ""):
        return added_json(await svc.add_file(name, await upload_bytes(request), label,
                                             source))
    try:
        entry = EntryIn.model_validate_json(await request.body())
    except ValueError as exc:
        raise BadRequest(f"invalid entry: {exc}".splitlines()[0], "invalid_request") from exc
    if entry.text is not None:
        result = await svc.add_text(name, entry.text, entry.labels, entry.source,
                                    slogan=entry.slogan)
    elif entry.url is not None:
        result = await svc.add_url(name, entry.url, entry.labels, entry.source)
    else:  # a signal_type and its value (EntryIn._one_kind)
        result = await svc.add_signals(name, [(str(entry.signal_type), str(entry.value))],
                                       entry.labels, entry.source)
    return added_json(result)


@router.patch("/{name}/entries/{entry_id}", **typed(Entry))
async def update_entry(name: str, entry_id: EntryId, body: EntryPatch, request: Request,
                       _: Principal = WRITE) -> dict[str, Any]:
    entry = await service(request).set_entry(name, entry_id, body.enabled, body.labels)
    return entry_json(entry)


@router.post("/{name}/import", **typed(Imported))
async def import_entries(name: str, request: Request, _: Principal = WRITE,
                         format: str = Query("pytx", pattern=FORMAT_PATTERN),
                         label: list[str] = Query([]),
                         source: str = Query("import", max_length=MAX_SOURCE_CHARS),
                         line_offset: int = Query(0, ge=0)) -> dict[str, Any]:
    """Body: the file (pytx local-file lines, or bank CSV). Errors name the line,
    counted from ``line_offset`` so a client sending chunks reports file lines."""
    try:
        text = (await read_bounded(request)).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"import is not UTF-8 (byte {exc.start})", "invalid_utf8") from exc
    result = await service(request).import_text(name, text, format, label, source,
                                                line_offset)
    return {"added": len(result.added), "duplicates": result.duplicates}


@router.get("/{name}/export", response_class=PlainTextResponse, description=(
    "``names=pytx`` writes pytx's type names (``video_md5``...) and leaves out what pytx "
    "has no type for; ``X-Tidings-Omitted`` (JSON) says what and why. ``names=pytx`` "
    "needs ``format=pytx`` (400 bad_format): a rule between two query parameters, which "
    "no schema of an OpenAPI parameter can state."), responses={200: {
    "description": "The bank's entries: CSV for format=csv, else one per line",
    "content": {"text/plain": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}}},
    "headers": {"X-Tidings-Omitted": {
        "description": "names=pytx only: what was left out and why (JSON)",
        "schema": {"type": "string"}}}}})
async def export_entries(name: str, request: Request, _: Principal = READ,
                         format: str = Query("pytx", pattern=FORMAT_PATTERN),
                         names: str = Query("tidings", pattern="^(tidings|pytx)$"),
                         ) -> PlainTextResponse:
    headers: dict[str, str] = {}
    if names == "pytx":
        if format != "pytx":
            raise BadRequest("names=pytx applies to format=pytx", "bad_format")
        written = await service(request).export_pytx(name)
        text = written.text
        headers["X-Tidings-Omitted"] = json.dumps(written.omitted, ensure_ascii=True)
    else:
        text = await service(request).export(name, format)
    media = "text/csv" if format == "csv" else "text/plain"
    suffix = "csv" if format == "csv" else "txt"
    return PlainTextResponse(text, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}.{suffix}"', **headers})


@router.get("/{name}/export/summary", **typed(ExportSummary))
async def export_summary(name: str, request: Request, _: Principal = READ) -> dict[str, Any]:
    """What a pytx-named export would hold and leave out, by reason."""
    written = await service(request).export_pytx(name)
    return {"written": written.written, "omitted": written.omitted}


@router.get("/{name}/exchanges", **typed(Exchanges))
async def list_exchanges(name: str, request: Request, _: Principal = READ) -> dict[str, Any]:
    rows = await service(request).list_exchanges(name)
    return {"exchanges": [exchange_json(x) for x in rows]}


@router.put("/{name}/exchanges/{exchange}", **typed(Exchange))
async def put_exchange(name: str, exchange: str, body: ExchangeIn, request: Request,
                       _: Principal = WRITE) -> dict[str, Any]:
    record = await service(request).put_exchange(name, exchange, body.exchange_type,
                                                 body.labels, body.config,
                                                 body.credentials_ref)
    return exchange_json(record)


@router.post("/{name}/fetch", **typed(Fetched))
async def fetch(name: str, body: FetchIn, request: Request,
                _: Principal = WRITE) -> dict[str, Any]:
    result: FetchResult = await service(request).fetch(name, body.exchange)
    return fetch_json(result)


@router.get("/{name}/exchanges/{exchange}", operation_id="bank_exchange_status", **typed(Exchange))
async def exchange_status(name: str, exchange: str, request: Request,
                          _: Principal = READ) -> dict[str, Any]:
    """Configuration, schedule and status: last success and error, counts of the last
    run and in total (added, removed, rejected by reason), progress while running."""
    return exchange_json(await service(request).exchange(name, exchange))


@router.put("/{name}/exchanges/{exchange}/schedule", **typed(Exchange))
async def schedule_exchange(name: str, exchange: str, body: ScheduleIn, request: Request,
                            _: Principal = WRITE) -> dict[str, Any]:
    return exchange_json(await service(request).set_schedule(name, exchange, body.interval_s))
