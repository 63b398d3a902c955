"""HMA 2.0-compatible hashing and matching under ``/hma`` (issue 19 item 3).

Routes, parameters and answers follow facebook/ThreatExchange's
``hasher-matcher-actioner/src/OpenMediaMatch/blueprints/hashing.py`` and ``matching.py``
(commit baefb4ed67b6cdc1d4c82dbaef858d50866ac424); curation is in ``hma_curation.py``.
Errors carry HMA's ``{"message": ...}`` beside Tidings' ``{"error": {...}}``.
Who may call: ``server/hma_auth.py``. Matching: ``services/hma.py`` over the publish
gate's matcher.
"""

from __future__ import annotations

import asyncio
import json
import typing as t
from collections.abc import Callable, Coroutine

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from tidings.config import Settings
from tidings.moderation.pytx_names import known_names
from tidings.protocol.api.hma import ByBank, BySignalType, Compared, IndexStatus, RawLookup
from tidings.protocol.errors import BadRequest, TidingsError
from tidings.server.deps import bearer
from tidings.server.hma_auth import CALLER, HmaCaller
from tidings.server.openapi import typed
from tidings.server.routes.banks import read_bounded
from tidings.server.state import kernel_of
from tidings.server.url_fetch import FetchPolicy, fetch
from tidings.services.hma import (
    CONTENT_TYPES,
    INDEX_NAMES,
    HmaService,
    compare,
    hashes_of,
    signals_of,
)


class HmaRoute(APIRoute):
    """Answers errors in both shapes: HMA clients read ``message``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[t.Any, t.Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                return await handler(request)
            except TidingsError as exc:
                body = {"message": exc.message, **exc.to_json()}
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
                return JSONResponse(body, status_code=exc.status, headers=headers)

        return wrapped


router = APIRouter(prefix="/hma", tags=["hma"], route_class=HmaRoute,
                   dependencies=[Depends(bearer)])
"""``bearer`` only documents the staff token; ``hma_caller`` decides (clients need none)."""

FETCHED_TOO_LARGE: dict[int | str, dict[str, t.Any]] = {
    413: {"description": "The media at ?url= is over hma_fetch_max_bytes"}}
UPLOAD = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "description": "One file; its field name is photo or video (or "
    "file: the kind comes from the bytes). The bytes must be a photo or video the "
    "server can read, of the kind the field names (400 unsupported_content, "
    "content_type_mismatch): no schema says that.",
    "properties": {name: {"type": "string", "format": "binary"}
                   for name in ("photo", "video", "file")},
    "minProperties": 1, "maxProperties": 1, "additionalProperties": False}}}}}
FETCHED = ("The media at ``url`` is fetched from a host on this server's allow-list "
           "(``hma_fetch_hosts``) and must be a photo or video: a URL that cannot be "
           "fetched, or whose bytes are neither, is HMA's 400 (no schema says that).")
CONTENT_TYPE = Query(None, json_schema_extra={"enum": list(CONTENT_TYPES)})
"""``content_type`` where a file is hashed: the kind the bytes must be."""
TYPES = Query(None, description="comma-separated pytx names of the hashes to answer, each "
              "one the file yields (pdq for a photo; video_md5, video_sha256, vpdq for a "
              "video): which these are depends on the bytes (400 unknown_signal_type)")
SIGNAL_TYPE = Query(json_schema_extra={"enum": list(known_names())})
SIGNAL = Query(description="a hash in the format of its signal_type (400 if it does not "
               "decode as one: the pair is no schema's to state)")


async def json_object(request: Request, *, empty: bool = False) -> dict[str, t.Any]:
    """The body as a JSON object, or HMA's 400; with ``empty``, no body is ``{}``."""
    body = await request.body()
    try:
        data = json.loads((body or b"{}") if empty else body)
    except ValueError:
        raise BadRequest("this endpoint expects a json object payload", "invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("this endpoint expects a json object payload", "invalid_json")
    return data


def hma(request: Request) -> HmaService:
    svc: HmaService = kernel_of(request).hma
    return svc


def policy(request: Request) -> FetchPolicy:
    s: Settings = kernel_of(request).settings
    return FetchPolicy(s.hma_fetch_hosts, s.hma_fetch_private, s.hma_fetch_max_bytes,
                       float(s.hma_fetch_timeout_s))


async def fetch_url(request: Request, url: str) -> bytes:
    """``?url=`` media, within the operator's allow-list and limits (url_fetch.py)."""
    return await fetch(url, policy(request))


async def form_file(request: Request) -> tuple[bytes, str | None]:
    """HMA's upload: one multipart file whose *field name* is its content type."""
    data, kind, _ = await form_upload(request)
    return data, kind


async def form_upload(request: Request) -> tuple[bytes, str | None, dict[str, str]]:
    """The file, its content type (None: from the bytes) and the form's text fields."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("Missing multipart/form-data file upload", "missing_file")
    body = await read_bounded(request)

    async def replay() -> dict[str, t.Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(request.scope, replay).form(max_files=2, max_fields=8)
    files = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise BadRequest("Missing multipart/form-data file upload", "missing_file")
    if len(files) > 1:
        raise BadRequest("Only one file allowed per request", "too_many_files")
    field, upload = files[0]
    if field not in (*CONTENT_TYPES, "file"):
        raise BadRequest(f"no such content_type: '{field}' (the file's field name must be "
                         f"one of {', '.join(CONTENT_TYPES)}, or file)", "bad_content_type")
    # ``file`` (a Tidings extension, used by ``tidings bank match``): the kind comes
    # from the bytes, as it always does; a named field must agree with them.
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    return await upload.read(), (None if field == "file" else field), fields


def banks_param(banks: str | None) -> set[str] | None:
    return {b for b in banks.split(",") if b} if banks else None


@router.get("/h/hash", responses=FETCHED_TOO_LARGE, description=(
    "Fetch the media at ``url`` and return its hashes. " + FETCHED))
async def hash_url(request: Request, url: str = Query(...), content_type: str | None = CONTENT_TYPE,
                   types: str | None = TYPES, _: HmaCaller = CALLER) -> dict[str, str]:
    data = await fetch_url(request, url)
    return await asyncio.to_thread(hashes_of, data, content_type, types)


@router.post("/h/hash", openapi_extra=UPLOAD)
async def hash_upload(request: Request, _: HmaCaller = CALLER) -> dict[str, str]:
    """Hash an uploaded file (multipart field ``photo`` or ``video``)."""
    data, kind = await form_file(request)
    return await asyncio.to_thread(hashes_of, data, kind)


@router.get("/m/raw_lookup", **typed(RawLookup))
async def raw_lookup(request: Request, signal: str = SIGNAL, signal_type: str = SIGNAL_TYPE,
                     banks: str | None = None, include_distance: bool = False,
                     _: HmaCaller = CALLER) -> dict[str, t.Any]:
    found = await hma(request).match(signals_of(signal_type, signal), banks_param(banks))
    matches: list[t.Any] = ([m.json() for m in found] if include_distance
                            else [m.content_id for m in found])
    return {"matches": matches}


LOOKUP = (
    "By hash (``signal_type`` + ``signal``): ``{bank: [{bank_content_id, distance}]}``; by "
    "``url``: the same keyed by signal type first (``signal_type`` then picks one). ``seed`` "
    "and ``bypass_coinflip`` are accepted and have no effect: Tidings banks match all or "
    "nothing.\n\nGive ``url``, or both ``signal`` and ``signal_type`` (a known type, the "
    "signal in its format): otherwise HMA's 400; query parameters cannot say that in a "
    "schema. With ``url``: " + FETCHED)


@router.get("/m/lookup", responses=FETCHED_TOO_LARGE, description=LOOKUP,
            **typed(ByBank | BySignalType))
async def lookup(request: Request, url: str | None = None, content_type: str | None = None,
                 types: str | None = None, signal: str | None = None,
                 signal_type: str | None = None, banks: str | None = None,
                 seed: str | None = None, bypass_coinflip: bool = False,
                 _: HmaCaller = CALLER) -> dict[str, t.Any]:
    only = banks_param(banks)
    svc = hma(request)
    if url:
        data = await fetch_url(request, url)
        hashes = await asyncio.to_thread(hashes_of, data, content_type, types)
        by_type = await svc.lookup_hashes(hashes, only)
        if signal_type is not None:
            return by_type.get(signal_type, {})
        return by_type
    if not signal or not signal_type:
        raise BadRequest("Either url or both signal and signal_type are required",
                         "missing_signal")
    return await svc.lookup(signal_type, signal, only)


@router.post("/m/lookup", openapi_extra=UPLOAD, description="The upload's hashes looked up, "
             "keyed by signal type: ``{signal_type: {bank: [matches]}}``", **typed(BySignalType))
async def lookup_upload(request: Request, banks: str | None = None,
                        _: HmaCaller = CALLER) -> dict[str, t.Any]:
    data, kind = await form_file(request)
    hashes = await asyncio.to_thread(hashes_of, data, kind)
    return await hma(request).lookup_hashes(hashes, banks_param(banks))


@router.get("/m/index/status", **typed(dict[str, IndexStatus]))
async def index_status(request: Request, signal_type: str | None = Query(
                           None, json_schema_extra={"enum": list(INDEX_NAMES)}),
                       _: HmaCaller = CALLER) -> dict[str, t.Any]:
    return hma(request).index_status(signal_type)


@router.post("/m/compare", openapi_extra={"requestBody": {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "propertyNames": {"enum": list(known_names())},
        "description": "each hash in the format of its signal type (400 if one does not "
        "decode as one; raw_text short enough to give one signal)",
        "additionalProperties": {
            "type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}}}}}},
             **typed(Compared))
async def compare_hashes(request: Request, _: HmaCaller = CALLER) -> dict[str, t.Any]:
    """``{"pdq": [a, b]}`` -> ``{"pdq": [match, {"distance": n}]}`` (HMA's shape)."""
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise BadRequest("Request input was not a dict", "invalid_json") from None
    return compare(data)
