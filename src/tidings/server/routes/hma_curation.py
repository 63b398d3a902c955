"""HMA 2.0-compatible curation under ``/hma/c`` (banks, bank content, exchanges).

Follows ``OpenMediaMatch/blueprints/curation.py`` at facebook/ThreatExchange commit
baefb4ed67b6cdc1d4c82dbaef858d50866ac424. Where Tidings differs it says so with a 400:
banks match all or nothing (``enabled_ratio`` 0 or 1) and banks are not renamed.
Partner credentials set here are sealed at rest (``services/exchange_credentials.py``).
Exchange routes cover the exchange types Tidings runs (``EXCHANGE_APIS``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import typing as t

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tidings.moderation.limits import MAX_SOURCE_CHARS
from tidings.protocol.api.hma import ApiSchema, FetchStatus, HmaBank, HmaBankItem, HmaExchange
from tidings.protocol.errors import BadRequest, Forbidden, NotFound, TidingsError
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.deps import bearer
from tidings.server.hma_auth import CALLER, HmaCaller
from tidings.server.openapi import JSON_VALUE_REF, typed
from tidings.server.routes.hma import (
    FETCHED_TOO_LARGE,
    UPLOAD,
    HmaRoute,
    fetch_url,
    form_upload,
    hma,
    json_object,
)
from tidings.server.state import kernel_of
from tidings.services.banks import BankService
from tidings.services.exchange_credentials import (
    CREDENTIAL_CLASSES,
    MAX_FIELD_CHARS,
    ExchangeCredentials,
    credential_fields,
)
from tidings.services.hma import RATIO_SCHEMA, bank_config, check_hma_bank_name, ratio_to_enabled
from tidings.storage.banks import ExchangeRecord

router = APIRouter(prefix="/hma/c", tags=["hma"], route_class=HmaRoute,
                   dependencies=[Depends(bearer)])

EXCHANGE_APIS = {"fb_threatexchange": "threatexchange", "ncmec": "ncmec", "tat": "tat",
                 "sample": "static_sample", "local_file": "local_file"}
"""HMA's (pytx's) exchange API names -> Tidings' exchange types."""
API_NAME = t.Annotated[str, Path(json_schema_extra={"enum": list(EXCHANGE_APIS)})]
"""Published: the exchange types this server runs (else 400 ``unknown_exchange_type``)."""
_API_OF = {v: k for k, v in EXCHANGE_APIS.items()}
_CONFIG_FIELDS: dict[str, list[dict[str, t.Any]]] = {
    "fb_threatexchange": [{"name": "privacy_group", "type": "number", "required": True,
                           "default": None, "choices": None,
                           "help": "ThreatPrivacyGroup ID for this collaboration"}],
    "ncmec": [{"name": "environment", "type": "string", "required": False,
               "default": "Industry", "choices": None,
               "help": "pytx NCMECEnvironment name"}],
    "local_file": [{"name": "path", "type": "string", "required": True, "default": None,
                    "choices": None,
                    "help": "a file under <data>/exchanges on the server"}],
}


def banks(request: Request) -> BankService:
    svc: BankService = kernel_of(request).banks
    return svc


BodyT = t.TypeVar("BodyT", bound=BaseModel)


class BankCreate(StrictBody):
    name: str = Field(json_schema_extra={"pattern": published.BANK_NAME})
    enabled_ratio: float | str | None = Field(default=1.0, json_schema_extra=RATIO_SCHEMA)
    enabled: bool | None = None


class BankUpdate(StrictBody):
    name: str | None = None
    enabled_ratio: float | str | None = Field(default=None, json_schema_extra=RATIO_SCHEMA)
    enabled: bool | None = None


def _source(caller: HmaCaller, content_id: str | None) -> str:
    return (f"hma:{caller.name}" + (f":{content_id}" if content_id else ""))[:MAX_SOURCE_CHARS]


# --- banks -------------------------------------------------------------------------
@router.get("/banks", **typed(list[HmaBank]))
async def banks_index(request: Request, _: HmaCaller = CALLER) -> list[dict[str, t.Any]]:
    return [bank_config(b) for b, _n, _e in await banks(request).list_banks()]


def _body(model: type[BodyT], raw: bytes) -> BodyT:
    try:
        return model.model_validate_json(raw or b"{}")
    except ValueError as exc:
        raise BadRequest(f"invalid body: {exc}".splitlines()[0], "invalid_request") from exc


@router.post("/banks", status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": BankCreate.model_json_schema()}}}},
                 **typed(HmaBank))
async def bank_create(request: Request, caller: HmaCaller = CALLER) -> dict[str, t.Any]:
    """``{name, enabled_ratio?, enabled?}`` (HMA's BankCreateRequest)."""
    caller.must_write()
    return await _create(_body(BankCreate, await request.body()), request, caller)


async def _create(body: BankCreate, request: Request, caller: HmaCaller) -> dict[str, t.Any]:
    caller.may_change(body.name)
    if body.enabled_ratio is not None and "enabled_ratio" in body.model_fields_set:
        enabled = ratio_to_enabled(body.enabled_ratio)
    else:
        enabled = body.enabled if body.enabled is not None else True
    try:
        bank = await hma(request).create_bank(body.name, enabled)
    except TidingsError as exc:
        if exc.status == 409:  # HMA answers an existing name with 403
            raise Forbidden("Bank already exists", "bank_exists") from exc
        raise
    return bank_config(bank)


@router.get("/bank/{bank_name}", **typed(HmaBank))
async def bank_show(bank_name: str, request: Request, _: HmaCaller = CALLER
                    ) -> dict[str, t.Any]:
    try:
        return bank_config(await banks(request).bank(bank_name))
    except NotFound:
        raise NotFound(f"bank '{bank_name}' not found", "unknown_bank") from None


@router.put("/bank/{bank_name}",
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/json": {"schema": BankUpdate.model_json_schema()}}}}, **typed(HmaBank))
async def bank_update(bank_name: str, request: Request,
                      caller: HmaCaller = CALLER) -> dict[str, t.Any]:
    """``{enabled_ratio?, enabled?}`` (HMA's BankUpdateRequest; renaming is refused)."""
    caller.may_change(bank_name)
    body = _body(BankUpdate, await request.body())
    current = await bank_show(bank_name, request, caller)
    if body.name is not None and body.name != bank_name:
        raise BadRequest("Tidings banks are not renamed: create the new bank and delete "
                         "this one", "rename_unsupported")
    enabled = None
    if body.enabled is not None:
        enabled = body.enabled
    if body.enabled_ratio is not None:
        enabled = ratio_to_enabled(body.enabled_ratio)
    if enabled is None:
        return current
    return bank_config(await hma(request).set_enabled(bank_name, enabled))


@router.delete("/bank/{bank_name}")
async def bank_delete(bank_name: str, request: Request,
                      caller: HmaCaller = CALLER) -> dict[str, str]:
    """Deletes the bank, its entries and exchanges; like HMA, a missing bank is no error."""
    caller.may_change(bank_name)
    with contextlib.suppress(NotFound):
        await banks(request).delete_bank(bank_name)
    return {"message": "Done"}


# --- content -----------------------------------------------------------------------
@router.post("/bank/{bank_name}/content", responses=FETCHED_TOO_LARGE,
             openapi_extra={"requestBody": {**UPLOAD["requestBody"], "required": False}},
             **typed(HmaBankItem))
async def bank_add_content(bank_name: str, request: Request, url: str | None = None,
                           content_type: str | None = None, content_id: str | None = None,
                           caller: HmaCaller = CALLER) -> dict[str, t.Any]:
    """By ``?url=`` (allow-listed hosts) or a multipart file whose field is ``photo`` or
    ``video``; answers ``{id, signals}``: the banked item's id (``bank_content_id`` in
    lookups) and its pytx-named hashes."""
    caller.may_change(bank_name)
    await bank_show(bank_name, request, caller)
    if url:
        data, kind = await fetch_url(request, url), content_type
    elif request.headers.get("content-type", "").startswith("multipart/form-data"):
        data, kind, fields = await form_upload(request)
        content_id = content_id or fields.get("content_id")
    else:
        raise BadRequest("Neither `url` nor multipart file upload was received",
                         "missing_file")
    item = await hma(request).add_item(bank_name, data, _source(caller, content_id), kind)
    return {"id": item.content_id, "signals": item.signals}


@router.post("/bank/{bank_name}/signal", **typed(HmaBankItem))
async def bank_add_signals(bank_name: str, request: Request,
                           caller: HmaCaller = CALLER) -> dict[str, t.Any]:
    """Body ``{signal_type: value, ..., "note": optional}`` banked as one item."""
    caller.may_change(bank_name)
    await bank_show(bank_name, request, caller)
    data = await json_object(request)
    note = data.pop("note", None)
    if note is not None and (not isinstance(note, str) or len(note) > 255):
        raise BadRequest("note must be a string of at most 255 characters", "invalid_note")
    item = await hma(request).add_named(bank_name, data, _source(caller, None))
    return {"id": item.content_id, "signals": item.signals}


# --- exchanges ---------------------------------------------------------------------
def _api(api_name: str) -> str:
    if api_name not in EXCHANGE_APIS:
        raise BadRequest(f"no such Exchange API '{api_name}' (this server runs: "
                         f"{', '.join(EXCHANGE_APIS)})", "unknown_exchange_type")
    return EXCHANGE_APIS[api_name]


def credentials(request: Request) -> ExchangeCredentials:
    svc: ExchangeCredentials = kernel_of(request).exchange_credentials
    return svc


async def _exchange(request: Request, name: str) -> ExchangeRecord:
    for record in await banks(request).all_exchanges():
        if record.name == name:
            return record
    raise NotFound(f"Exchange '{name}' not found", "unknown_exchange")


@router.get("/exchanges/apis")
async def exchange_apis(_: HmaCaller = CALLER) -> list[str]:
    return list(EXCHANGE_APIS)


async def _api_config(request: Request, kind: str) -> dict[str, bool]:
    """HMA's answer: whether the API takes credentials and whether they are set (stored
    or in the server's environment); never the credentials themselves."""
    return {"supports_authentification": kind in CREDENTIAL_CLASSES,
            "has_set_authentification": await credentials(request).is_set(kind)}


@router.get("/exchanges/api/{api_name}")
async def exchange_api(api_name: API_NAME, request: Request, _: HmaCaller = CALLER
                       ) -> dict[str, bool]:
    return await _api_config(request, _api(api_name))


def _credential_schemas() -> list[dict[str, t.Any]]:
    """Each API's ``credential_json`` (``exchange_credentials.to_secret``)."""
    value: dict[str, t.Any] = {"type": "string", "maxLength": MAX_FIELD_CHARS,
             "pattern": rf"^[^\x00-\x1f]*[^{published.SPACE}\x00-\x1f][^\x00-\x1f]*$"}
    out = []
    for cls in CREDENTIAL_CLASSES.values():
        names = [f.name for f in dataclasses.fields(cls) if f.init]
        props = {n: dict(value) for n in names}
        if len(names) == 2:  # user:password, the user without ':'
            props[names[0]]["pattern"] = props[names[0]]["pattern"].replace("]", ":]")
        out.append({"type": "object", "required": names, "properties": props,
                    "additionalProperties": False})
    return out


@router.post("/exchanges/api/{api_name}", openapi_extra={"requestBody": {
    "required": True, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": JSON_VALUE_REF,
        "properties": {"credential_json": {
            "anyOf": [{"type": "null"}, {"type": "object", "maxProperties": 0},
                      *_credential_schemas()],
            "description": "the fields of credentials_schema (GET .../schema) of this "
            "API (fb_threatexchange, ncmec and tat take credentials, the others none); "
            "{} clears the stored credentials"}}}}}}})
async def exchange_api_credentials(api_name: API_NAME, request: Request,
                                   caller: HmaCaller = CALLER) -> dict[str, bool]:
    """Set (or with ``{}`` clear) the partner credentials of one exchange API, sealed
    at rest (AES-256-GCM); admins only. The answer, like every read, says only
    whether credentials are set."""
    caller.may_change("")  # admins only; never a client's prefix
    kind = _api(api_name)
    data = await json_object(request)
    if data.get("credential_json") is not None:
        await credentials(request).set(kind, data["credential_json"], caller.name)
    return await _api_config(request, kind)


@router.get("/exchanges/api/{api_name}/schema", **typed(ApiSchema))
async def exchange_api_schema(api_name: API_NAME, _: HmaCaller = CALLER) -> dict[str, t.Any]:
    _api(api_name)
    fields = credential_fields(EXCHANGE_APIS[api_name])
    return {"config_schema": {"fields": _CONFIG_FIELDS.get(api_name, [])},
            "credentials_schema": None if fields is None else {"fields": fields}}


CONFIG_VALUE: dict[str, t.Any] = {"anyOf": [
    {"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
    {"type": "array", "items": {"type": "string"}}]}
"""A value of an exchange's configuration (``protocol.api.banks.ConfigValue``)."""
EXCHANGE_CREATE = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "required": ["bank", "api"],
               "additionalProperties": JSON_VALUE_REF, "properties": {
        "bank": {"type": "string", "pattern": published.BANK_NAME},
        "api": {"type": "string", "enum": list(EXCHANGE_APIS)},
        "api_json": {"type": "object", "additionalProperties": CONFIG_VALUE,
                     "description": "the exchange's configuration (config_schema of GET "
                     ".../schema); name, enabled and api are ignored"}}}}}}}
"""HMA's ``{bank, api, api_json}`` as :func:`exchange_create` reads it."""


def _config_value(value: t.Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value))


@router.post("/exchanges", status_code=201, openapi_extra=EXCHANGE_CREATE)
async def exchange_create(request: Request, caller: HmaCaller = CALLER) -> dict[str, str]:
    """``{bank, api, api_json}``: creates the bank and an exchange of that name feeding it.
    A bank of that name already there is HMA's 403 (as ``POST /c/banks`` answers)."""
    caller.must_write()
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise BadRequest("this endpoint expects a json object payload", "invalid_json") from None
    if not isinstance(data, dict) or not isinstance(data.get("bank"), str):
        raise BadRequest("bank is required", "missing_bank")
    bank = data["bank"]
    if not re.fullmatch(r"[A-Z0-9_]+", bank):
        raise BadRequest("Field `bank` must match /^[A-Z0-9_]+$/", "invalid_bank")
    api_json = data.get("api_json", {})
    if not isinstance(api_json, dict):
        raise BadRequest("Field `api_json` must be object", "invalid_exchange")
    if not all(_config_value(v) for v in api_json.values()):
        raise BadRequest("Field `api_json` holds strings, numbers, booleans, null or lists "
                         "of strings", "invalid_exchange")
    if data.get("api") is None:
        raise BadRequest("Field `api_type` is required", "invalid_exchange")
    if not isinstance(data["api"], str):
        raise BadRequest("Field `api` must be a string", "invalid_exchange")
    kind = _api(data["api"])
    caller.may_change(bank)
    check_hma_bank_name(bank)
    await _create(BankCreate(name=bank), request, caller)
    config = {k: v for k, v in api_json.items() if k not in ("name", "enabled", "api")}
    await banks(request).put_exchange(bank, bank, kind, hma(request).labels, config)
    return {"message": "Created successfully"}


@router.get("/exchanges")
async def exchange_list(request: Request, _: HmaCaller = CALLER) -> list[str]:
    return [x.name for x in await banks(request).all_exchanges()]


@router.get("/exchange/{exchange_name}", **typed(HmaExchange))
async def exchange_show(exchange_name: str, request: Request, _: HmaCaller = CALLER
                        ) -> dict[str, t.Any]:
    record = await _exchange(request, exchange_name)
    return {**record.config, "name": record.name,
            "api": _API_OF.get(record.exchange_type, record.exchange_type), "enabled": True}


@router.get("/exchange/{exchange_name}/status", **typed(FetchStatus))
async def exchange_status(exchange_name: str, request: Request, _: HmaCaller = CALLER
                          ) -> dict[str, t.Any]:
    """pytx's ``FetchStatus`` (what HMA answers), in seconds, from the exchange's status."""
    record = await _exchange(request, exchange_name)
    status = record.status

    def seconds(key: str) -> int | None:
        value = status.get(key)
        return int(value) // 1000 if isinstance(value, int) else None

    state = status.get("state")
    return {"checkpoint_ts": (record.last_fetch_at // 1000) if record.last_fetch_at else None,
            "running_fetch_start_ts": seconds("running_since"),
            "last_fetch_complete_ts": seconds("last_success_at") if state == "ok"
            else seconds("last_error_at"),
            "last_fetch_succeeded": None if state in (None, "running") and
            "last_run" not in status else state == "ok",
            "up_to_date": state == "ok",
            "fetched_items": int(status.get("totals", {}).get("added", 0))}


@router.put("/exchange/{exchange_name}", operation_id="hma_exchange_update", status_code=400)
@router.delete("/exchange/{exchange_name}", operation_id="hma_exchange_delete",
                status_code=400)
async def exchange_change(exchange_name: str, request: Request, caller: HmaCaller = CALLER
                          ) -> JSONResponse:
    caller.must_write()
    record = await _exchange(request, exchange_name)
    caller.may_change(record.bank)
    raise BadRequest("change exchanges with `tidings bank exchange` (schedule, fetch); "
                     "delete the bank to remove its exchange", "exchange_unsupported_operation")
