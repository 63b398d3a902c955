"""The published OpenAPI document says what the server does (issue 23, item 3).

Each test compares the document with an answer of the real app: optional auth on public
channel reads, ``Allow`` on 405, the bank export's media types, integer bounds, strict
request bodies, and how many operations have a typed result.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import AppFactory
from tests.server.channel_util import channel, post, user
from tidings.protocol import limits

UNTYPED_RESULTS_MAX = 0.10
"""The share of operations whose success answer may be untyped JSON (issue 23)."""


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def untyped(spec: dict[str, Any], schema: dict[str, Any], seen: frozenset[str] = frozenset()
            ) -> bool:
    """A schema says nothing of its content: empty, a free object (no properties, or
    ``additionalProperties: true``), or made of such a part."""
    ref = schema.get("$ref")
    if ref in seen:
        return False
    if ref:
        seen = seen | {ref}
    schema = _resolve(spec, schema)
    if not schema:
        return True
    extra = schema.get("additionalProperties")
    if extra is True or extra == {}:
        return True
    if schema.get("type") == "object" and not schema.get("properties") and not extra:
        return True
    parts = [*schema.get("anyOf", []), *schema.get("oneOf", []), *schema.get("allOf", []),
             *schema.get("properties", {}).values()]
    if schema.get("type") == "array":
        parts.extend(schema.get("prefixItems", []))  # a tuple: its parts
        if "items" in schema or "prefixItems" not in schema:
            parts.append(schema.get("items", {}))
    if isinstance(extra, dict):
        parts.append(extra)
    return any(untyped(spec, part, seen) for part in parts)


def untyped_operations(spec: dict[str, Any]) -> list[str]:
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None and untyped(spec, schema):
                    found.append(f"{method.upper()} {path}")
                    break
    return found


def test_untyped_detects_free_objects() -> None:
    spec: dict[str, Any] = {"components": {"schemas": {
        "Free": {"type": "object", "additionalProperties": True},
        "Typed": {"type": "object", "properties": {"a": {"type": "integer"}}},
        "Wraps": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/Free"}}},
    }}}
    assert untyped(spec, {"$ref": "#/components/schemas/Free"})
    assert untyped(spec, {"$ref": "#/components/schemas/Wraps"})
    assert untyped(spec, {"type": "array", "items": {"type": "object"}})
    assert untyped(spec, {})
    assert not untyped(spec, {"$ref": "#/components/schemas/Typed"})
    assert not untyped(spec, {"type": "object", "additionalProperties": {"type": "string"}})
    assert not untyped(spec, {"type": "array", "prefixItems": [{"type": "boolean"}]})


async def test_few_untyped_results(api: AppFactory) -> None:
    async with api() as client:
        spec = (await client.get("/openapi.json")).json()
    operations = sum(len(item) for item in spec["paths"].values())
    found = untyped_operations(spec)
    assert len(found) < UNTYPED_RESULTS_MAX * operations, "\n".join(found)


async def test_public_reads_declare_optional_auth(api: AppFactory) -> None:
    async with api() as client:
        spec = (await client.get("/openapi.json")).json()
        owner = await user(client, "alice")
        await channel(client, owner, "newsroom")
        await post(client, owner, "newsroom", "hello")
        for path in ("/api/v1/channels/{handle}", "/api/v1/channels/{handle}/posts",
                     "/api/v1/channels/{handle}/posts/{number}",
                     "/api/v1/channels/{handle}/updates"):
            assert spec["paths"][path]["get"]["security"] == [{}, {"HTTPBearer": []}], path
            anonymous = await client.get(path.format(handle="newsroom", number=1))
            assert anonymous.status_code == 200, (path, anonymous.text)
        assert spec["paths"]["/api/v1/channels/{handle}"]["patch"]["security"] == [
            {"HTTPBearer": []}]


async def test_405_lists_every_allowed_method(api: AppFactory) -> None:
    async with api() as client:
        r = await client.put("/api/v1/channels/newsroom")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
        r = await client.delete("/api/v1/channels")
        assert set(r.headers["allow"].split(", ")) == {"POST"}


async def test_integer_bounds_are_integers(api: AppFactory) -> None:
    async with api() as client:
        spec = (await client.get("/openapi.json")).json()
    floats: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                floats.extend(f"{where}.{key}" for key in ("minimum", "maximum",
                              "exclusiveMinimum", "exclusiveMaximum")
                              if isinstance(node.get(key), float))
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(spec, "")
    assert floats == []
    assert spec["components"]["schemas"]["AckIn"]["properties"]["upto"][
        "exclusiveMaximum"] == 2**63


async def test_bank_export_documents_text_types(api: AppFactory) -> None:
    async with api() as client:
        spec = (await client.get("/openapi.json")).json()
    content = spec["paths"]["/api/v1/banks/{name}/export"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"text/plain", "text/csv"}


async def test_request_bodies_are_strict(api: AppFactory) -> None:
    async with api() as client:
        owner = await user(client, "alice")
        await channel(client, owner, "newsroom")
        await post(client, owner, "newsroom", "hello")
        for number in ("1", True, 1.5):
            r = await client.put("/api/v1/channels/newsroom/pin", headers=owner,
                                 json={"number": number})
            assert r.status_code == 422, (number, r.text)
        for number in (1, 1.0):  # JSON (and JSON Schema) has one number: 1.0 is 1
            r = await client.put("/api/v1/channels/newsroom/pin", headers=owner,
                                 json={"number": number})
            assert r.status_code == 204, (number, r.text)
        r = await client.post("/api/v1/channels/newsroom/posts", headers=owner, json={"text": 5})
        assert r.status_code == 422
        r = await client.post("/api/v1/channels/newsroom/posts", headers=owner,
                              json={"text": "hi", "txt": "typo"})
        assert r.status_code == 422, r.text  # a field the schema does not name


async def test_published_group_limits_are_the_enforced_ones(api: AppFactory) -> None:
    async with api() as client:
        spec = (await client.get("/openapi.json")).json()
        timer = spec["components"]["schemas"]["TimerIn"]["properties"]["timer_ms"]["anyOf"][0]
        users = spec["components"]["schemas"]["UsersIn"]["properties"]["users"]
        assert (timer["minimum"], timer["maximum"]) == (limits.DISAPPEAR_MIN_MS,
                                                        limits.DISAPPEAR_MAX_MS)
        assert (users["minItems"], users["maxItems"]) == (1, limits.GROUP_CHANGE_USERS_MAX)
        owner = await user(client, "alice")
        gid = (await client.post("/api/v1/groups", headers=owner,
                                 json={"title": "friends"})).json()["id"]
        for value, status in ((timer["minimum"], 200), (timer["maximum"], 200),
                              (timer["minimum"] - 1, 400), (timer["maximum"] + 1, 400)):
            r = await client.put(f"/api/v1/groups/{gid}/timer", headers=owner,
                                 json={"timer_ms": value})
            assert r.status_code == status, (value, r.text)
        r = await client.post(f"/api/v1/groups/{gid}/members", headers=owner,
                              json={"users": []})
        assert r.status_code == 400
        r = await client.post(f"/api/v1/groups/{gid}/members", headers=owner,
                              json={"users": [f"u{i}" for i in range(users["maxItems"] + 1)]})
        assert r.status_code == 400


async def test_integer_bounds_fit_a_signed_64_bit_id(api: AppFactory) -> None:
    """A published bound is one the server keeps: ``le=2**63 - 1`` would read 2**63 (a
    float rounds it up), and the server refuses 2**63."""
    async with api() as client:
        spec = (await client.get("/openapi.json")).json()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                assert node.get("maximum", 0) <= 2**63 - 1, node
                assert node.get("exclusiveMaximum", 0) <= 2**63, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
