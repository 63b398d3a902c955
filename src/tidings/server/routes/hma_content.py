"""HMA 2.0-compatible routes for one banked item and the configuration lists.

``/hma/c/bank/<name>/content/<id>`` (GET, PUT, DELETE), ``/hma/c/signal_type``,
``/hma/c/signal_type/index``, ``/hma/c/signal_type/<name>`` and
``/hma/c/content_type``, following ``OpenMediaMatch/blueprints/curation.py`` at
facebook/ThreatExchange commit baefb4ed67b6cdc1d4c82dbaef858d50866ac424. Differences
(docs/matching.md, "Deliberate differences"): an item is disabled or enabled, not
disabled until a time; a deleted item's entries are disabled and kept for the audit
trail; signal and content types are always on.
"""

from __future__ import annotations

import time
import typing as t

from fastapi import APIRouter, Depends, Path, Query, Request

from tidings.protocol.api.hma import ContentType, HmaContent, SignalType, SignalTypeIndex
from tidings.protocol.errors import BadRequest, NotFound
from tidings.server.deps import bearer
from tidings.server.hma_auth import CALLER, HmaCaller
from tidings.server.openapi import JSON_VALUE_REF, typed
from tidings.server.routes.hma import HmaRoute, hma, json_object
from tidings.services.hma import CONTENT_TYPES, INDEX_NAMES

router = APIRouter(prefix="/hma/c", tags=["hma"], route_class=HmaRoute,
                   dependencies=[Depends(bearer)])

ContentId = t.Annotated[int, Path(ge=-(2**63), lt=2**63)]
"""A banked item's id: any 64-bit integer (one naming no item is HMA's 404)."""
ITEM_UPDATE = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "additionalProperties": JSON_VALUE_REF, "properties": {
        "disable_until_ts": {"type": "integer", "minimum": 0,
                             "description": "1: enabled, 0: disabled (pytx's values); a "
                             "time (Unix seconds) in the past enables; a future time is "
                             "refused (400 timed_disable_unsupported)"},
        "note": {"anyOf": [{"type": "string", "maxLength": 255}, {"type": "null"}],
                 "description": "accepted and not stored"}}}}}}}


def _flag(value: str, default: bool) -> bool:
    return default if value == "" else value.lower() == "true"


@router.get("/bank/{bank_name}/content/{content_id}", **typed(HmaContent))
async def content_show(bank_name: str, content_id: ContentId, request: Request,
                       include_signals: str = "", include_metadata: str = "",
                       _: HmaCaller = CALLER) -> dict[str, t.Any]:
    """HMA's ``BankContentResponse``; ``signals`` (pytx-named) with
    ``include_signals=true``. No metadata is kept, so none is answered."""
    return await hma(request).item_json(bank_name, content_id,
                                        _flag(include_signals, False))


@router.put("/bank/{bank_name}/content/{content_id}", openapi_extra=ITEM_UPDATE,
            **typed(HmaContent))
async def content_update(bank_name: str, content_id: ContentId, request: Request,
                         caller: HmaCaller = CALLER) -> dict[str, t.Any]:
    """``{disable_until_ts}``: 0 disables every signal of the item, 1 enables them."""
    caller.may_change(bank_name)
    data = await json_object(request, empty=True)
    svc = hma(request)
    current = await svc.item_json(bank_name, content_id)
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 255):
        raise BadRequest("note must be at most 255 characters", "invalid_note")
    if "disable_until_ts" in data:
        value = data["disable_until_ts"]
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON's 1.0 is the integer 1
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadRequest("disable_until_ts must be a non-negative integer",
                             "invalid_disable_until")
        until = value
        if until > max(1, int(time.time())):
            raise BadRequest("Tidings disables an item until staff enable it again: send 0 "
                             "to disable, 1 to enable (no disabling until a time)",
                             "timed_disable_unsupported")
        await svc.set_item_enabled(bank_name, content_id, until != 0)
        current = await svc.item_json(bank_name, content_id)
    return {**current, "collab_metadata": {}, "user_metadata": None, "note": None}


@router.delete("/bank/{bank_name}/content/{content_id}")
async def content_delete(bank_name: str, content_id: ContentId, request: Request,
                         caller: HmaCaller = CALLER) -> dict[str, int]:
    """``{deleted: n}``: the item's signals stop matching (kept, disabled, for audit)."""
    caller.may_change(bank_name)
    try:
        await hma(request).banks.bank(bank_name)
    except NotFound:
        raise NotFound(f"bank '{bank_name}' not found", "unknown_bank") from None
    return {"deleted": await hma(request).delete_item(bank_name, content_id)}


@router.get("/signal_type", **typed(list[SignalType]))
async def signal_types(request: Request, _: HmaCaller = CALLER) -> list[dict[str, t.Any]]:
    """Every signal type the matcher indexes, by HMA's (pytx's) names; always on."""
    return [{"name": name, "enabled_ratio": 1.0}
            for name in sorted(hma(request).signal_type_names())]


@router.get("/signal_type/index", **typed(dict[str, SignalTypeIndex]))
async def signal_type_index(request: Request, signal_type: str | None = Query(
                                None, json_schema_extra={"enum": list(INDEX_NAMES)}),
                            _: HmaCaller = CALLER) -> dict[str, t.Any]:
    return await hma(request).signal_type_index(signal_type)


@router.put("/signal_type/{signal_type_name}", **typed(SignalType))
async def signal_type_update(signal_type_name: str, request: Request,
                             caller: HmaCaller = CALLER) -> dict[str, t.Any]:
    """Signal types are always on (banks are switched instead): ``enabled_ratio`` 1 is
    accepted, anything else is refused."""
    caller.may_change("")  # admins only; never a client's prefix
    if signal_type_name not in hma(request).signal_type_names():
        raise NotFound(f"No such signal type '{signal_type_name}'", "unknown_signal_type")
    data = await json_object(request, empty=True)
    if "enabled_ratio" not in data:
        raise BadRequest("enabled_ratio is required", "missing_enabled_ratio")
    try:
        ratio = float(data["enabled_ratio"])
    except (TypeError, ValueError):
        raise BadRequest("enabled_ratio must be a number", "invalid_ratio") from None
    if ratio != 1.0:
        raise BadRequest("Tidings signal types are always on: turn banks off instead "
                         "(PUT /hma/c/bank/<name> {\"enabled\": false})",
                         "signal_type_always_on")
    return {"name": signal_type_name, "enabled_ratio": 1.0}


@router.get("/content_type", **typed(list[ContentType]))
async def content_types(_: HmaCaller = CALLER) -> list[dict[str, t.Any]]:
    return [{"name": name, "enabled": True} for name in CONTENT_TYPES]
