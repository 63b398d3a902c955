"""Request limits, health, readiness, metrics, OpenAPI and refusal to start."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import AppFactory, make_settings
from tidings.protocol import limits
from tidings.server.app import create_app
from tidings.storage import migrate
from tidings.storage.database import Database


async def test_body_too_large(api: AppFactory) -> None:
    async with api() as client:
        body = json.dumps({"username": "x" * (limits.MAX_BODY_BYTES + 10)})
        r = await client.post("/api/v1/accounts/register", content=body,
                              headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"


async def test_deep_json(api: AppFactory) -> None:
    async with api() as client:
        body = "[" * (limits.MAX_JSON_DEPTH + 1) + "]" * (limits.MAX_JSON_DEPTH + 1)
        r = await client.post("/api/v1/accounts/register", content=body,
                              headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "json_too_deep"


async def test_invalid_utf8(api: AppFactory) -> None:
    async with api() as client:
        r = await client.post("/api/v1/accounts/register", content=b'{"username": "\xff"}',
                              headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_utf8"


async def test_headers_too_large(api: AppFactory) -> None:
    async with api() as client:
        r = await client.get("/healthz", headers={"x-big": "y" * limits.MAX_HEADER_BYTES})
        assert r.status_code == 431


async def test_health_ready_metrics_openapi(api: AppFactory) -> None:
    async with api() as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json() == {"status": "ready"}
        await client.get("/api/v1/accounts/me")
        metrics = (await client.get("/metrics")).text
        assert 'tidings_http_requests_total{method="GET",route="/api/v1/accounts/me"' in metrics
        assert "tidings_ws_connections" in metrics
        spec = (await client.get("/openapi.json")).json()
        assert spec["openapi"].startswith("3.")
        assert "/api/v1/accounts/register" in spec["paths"]
        # operation ids are what generated clients call their methods: plain and unique
        ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
        assert len(ids) == len(set(ids)) and len(ids) > 100
        generated = [op["operationId"] for path, item in spec["paths"].items()
                     for method, op in item.items()
                     if op["operationId"].endswith(re.sub(r"\W", "_", path) + "_" + method)]
        assert generated == [], "ids FastAPI generated from the path"
        assert {"register", "send_message", "publish", "hma_lookup"} <= set(ids)
        r = await client.get("/healthz")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_refuses_to_start_unmigrated(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    with pytest.raises(migrate.SchemaMismatch, match="tidings db upgrade"):
        async with app.router.lifespan_context(app):
            pass


async def test_refuses_to_start_on_newer_schema(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    db = Database(settings.resolved_database_url)
    await migrate.upgrade(db)
    async with db.write() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    await db.close()
    app = create_app(settings)
    with pytest.raises(migrate.SchemaMismatch, match="newer than this version"):
        async with app.router.lifespan_context(app):
            pass


async def test_secrets_file_is_private(api: AppFactory, tmp_path: Path) -> None:
    async with api():
        path = tmp_path / "data" / "secrets.json"
        assert path.stat().st_mode & 0o777 == 0o600
        data = json.loads(path.read_text())
        assert set(data) == {"token_pepper", "cookie_secret", "franking", "credentials"}
