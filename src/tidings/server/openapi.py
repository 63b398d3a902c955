"""The published OpenAPI document, with the error answers every operation can give.

FastAPI documents only the success status and a 422 in its own validation shape. Tidings
answers every error in one shape (``protocol/errors.py``), from the middleware (400,
413, 431), the validation handler (422) and the services (401, 403, 404, 409, 410,
429), so clients and the fuzzer (tests/server/test_fuzz_api.py) must find those here.
Which errors an operation documents follows from what it is: every one can be
malformed, one with a body can be too large, one with a path names objects that may
not exist or be gone, one that authenticates can meet every authorisation answer.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable."},
                "message": {"type": "string", "description": "For people."},
                "details": {"type": "object"},
            },
        },
    },
}

_DESCRIPTIONS = {
    "400": "Malformed request: bad JSON, invalid UTF-8, nesting too deep, invalid text",
    "401": "Missing, unknown or revoked access token, or wrong credentials",
    "403": "Authenticated, but not allowed to do this to this object",
    "404": "No such object (or not one you may see)",
    "409": "Conflicts with the current state (taken name, full, already done)",
    "408": "The request body stalled (no data for the body timeout)",
    "410": "The object existed and is gone",
    "413": "Request body larger than the limit (protocol/limits.py)",
    "422": "Well-formed but invalid, or refused by moderation",
    "429": "Rate limited; see Retry-After",
    "431": "Request headers larger than the limit",
}
_ALWAYS = ("400", "422", "431")
_WITH_BODY = ("408", "413")
_WITH_PATH = ("404", "410")
_AUTHENTICATED = ("401", "403", "404", "409", "410", "429")
_ANONYMOUS_WRITE = ("401", "409", "429")
"""Register and login: wrong password, taken name, rate limits and login backoff."""
_REF = {"$ref": "#/components/schemas/Error"}


def _error_statuses(method: str, operation: dict[str, Any]) -> set[str]:
    statuses = set(_ALWAYS)
    if "requestBody" in operation:
        statuses.update(_WITH_BODY)
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        statuses.update(_WITH_PATH)
    if operation.get("security"):
        statuses.update(_AUTHENTICATED)
    elif method in ("post", "put", "patch", "delete"):
        statuses.update(_ANONYMOUS_WRITE)
    return statuses


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the error answers to every operation of ``spec`` (in place) and return it."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            for status in sorted(_error_statuses(method, operation)):
                responses[status] = {
                    "description": _DESCRIPTIONS[status],
                    "content": {"application/json": {"schema": _REF}},
                }
    # FastAPI's own validation shape is never sent (app.py answers in the one shape).
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return spec


def integer_bounds(node: Any) -> None:
    """Bounds of integer schemas as integers (in place). FastAPI's OpenAPI model holds
    ``minimum``/``maximum`` as floats, so ``le=6`` reads ``6.0``, which a strict client
    or schemathesis takes for a float bound. Every bound in the code is exact as a float
    (small, or a power of two such as 2**63: ``lt=2**63``, never ``le=2**63 - 1``, which
    a float rounds up to 2**63), so the conversion loses nothing."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                value = node.get(key)
                if isinstance(value, float) and value.is_integer():
                    node[key] = int(value)
        for value in node.values():
            integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            integer_bounds(value)


OPTIONAL_AUTH: dict[str, Any] = {"x-optional-auth": True}
"""``openapi_extra`` of an operation that takes a token when there is one
(``maybe_principal``: public channel reads)."""


def optional_auth(spec: dict[str, Any]) -> None:
    """Operations marked :data:`OPTIONAL_AUTH` say so in the document: ``security:
    [{}, {HTTPBearer: []}]`` (anonymous, or a bearer token that must then be valid)."""
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.pop("x-optional-auth", False):
                operation["security"] = [{}, *operation.get("security", [])]


NO_NUL = r"^[^\x00]*$"
"""No string the server takes may hold NUL (``middleware.RequestLimits`` and
``bad_url`` refuse it anywhere in a JSON body, a path or a query; PostgreSQL text
cannot hold it)."""
_FREE_STRING_KEYS = ("pattern", "enum", "const", "format", "contentMediaType")


def _refuse_nul(node: Any, schemas: dict[str, Any], seen: set[str]) -> None:
    if isinstance(node, list):
        for value in node:
            _refuse_nul(value, schemas, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen and name in schemas:
            seen.add(name)
            _refuse_nul(schemas[name], schemas, seen)
        return
    if node.get("type") == "string" and not any(k in node for k in _FREE_STRING_KEYS):
        node["pattern"] = NO_NUL
    if node.get("type") == "object" and node.get("additionalProperties", True) is not False:
        node.setdefault("propertyNames", {"pattern": NO_NUL})
    for key, value in node.items():
        if key != "propertyNames":
            _refuse_nul(value, schemas, seen)


def refuse_nul(spec: dict[str, Any]) -> None:
    """Every string an operation takes (parameters and request bodies, object keys too)
    says so in the document: ``pattern`` :data:`NO_NUL`, unless it has a pattern, a
    format or a fixed set of values already (in place)."""
    schemas = spec.get("components", {}).get("schemas", {})
    seen: set[str] = set()
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                _refuse_nul(operation.get("parameters", []), schemas, seen)
                _refuse_nul(operation.get("requestBody", {}), schemas, seen)


JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
JSON_VALUE: dict[str, Any] = {
    "title": "JsonValue", "description": "Any JSON value (no text in it holds NUL)",
    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, {"type": "null"},
              {"type": "array", "items": JSON_VALUE_REF},
              {"type": "object", "additionalProperties": JSON_VALUE_REF}]}
"""What a body read by hand takes where it ignores a field (``additionalProperties`` of
the HMA routes' bodies): any JSON, which :func:`refuse_nul` then keeps free of NUL."""


def allowed_methods(app: FastAPI, path: str) -> str | None:
    """Every method the document lists at this path (with HEAD beside GET), for
    ``Allow`` on a 405: Starlette names only the methods of the first route whose path
    matched. None for a path the document does not hold (web pages)."""
    methods: set[str] = set()
    for template, item in app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)), path):
            methods.update(method.upper() for method in item)
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods)) or None


def operation_id(route: APIRoute) -> str:
    """The operation's id in the OpenAPI document, and so the method name in generated
    clients: the route function's name (``register``, ``publish``), ``hma_`` before the
    HMA-compatible routes; where two functions share a name the route says its own
    ``operation_id``. tests/server/test_openapi.py checks that the ids are unique."""
    return ("hma_" if route.path.startswith("/hma/") else "") + route.name


def install(app: FastAPI) -> None:
    """Serve the documented spec at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version,
                description=app.description, routes=app.routes)
            spec.setdefault("components", {}).setdefault("schemas", {})[
                "JsonValue"] = copy.deepcopy(JSON_VALUE)
            optional_auth(spec)
            integer_bounds(spec)
            refuse_nul(spec)
            app.openapi_schema = document_errors(spec)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def typed(model: Any) -> dict[str, Any]:
    """Route arguments that declare ``model`` (``tidings.protocol.api``) as the answer:
    ``@router.get(path, **typed(Channel))``. Fields an answer does not hold stay out of
    it (``exclude_unset``), so the JSON is what the service built, now checked."""
    return {"response_model": model, "response_model_exclude_unset": True}


def raw_upload(media_types: tuple[str, ...], description: str) -> dict[str, Any]:
    """``openapi_extra`` of an operation that reads its raw body as one upload: required
    and not empty (the services refuse an empty one, 400 ``empty_upload``)."""
    schema = {"type": "string", "format": "binary", "minLength": 1}
    return {"requestBody": {"required": True, "description": description, "content": {
        media_type: {"schema": schema} for media_type in media_types}}}


def binary(media_type: str, description: str) -> dict[str, Any]:
    """Route arguments for an answer of raw bytes (a download): documented as such,
    not as JSON."""
    return {"response_class": Response, "responses": {200: {
        "description": description,
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}}
