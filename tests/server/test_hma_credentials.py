"""Partner credentials over the HMA API (``/hma/c/exchanges/api/<api>``, HMA's route and
``credential_json`` shape): sealed at rest, never answered, never logged, used by the
exchange fetch (pytx's TAT client against the local stand-in), preferred to the
environment, which stays the fallback; a key rotation keeps them readable."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import AppFactory
from tests.server.test_banks_api import staff
from tests.services.exchange_standin import StandIn, tat_record
from tidings.cli.main import app as cli
from tidings.server import secrets

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
USER, PASSWORD = "tcap-user", "tcap-pass-7Qx9-never-in-clear"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn(tat_users={USER: PASSWORD}).start()
    server.tat_records = [tat_record(1, "PDQ", PDQ, "jpg"),
                          tat_record(2, "MD5", "a" * 32, "mp4")]
    yield server
    server.stop()


def _files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


async def test_credentials_are_sealed_unreadable_and_used(
        api: AppFactory, tmp_path: Path, standin: StandIn, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIDINGS_TAT_CREDENTIALS", raising=False)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # every statement, logged
    urls = (f"tat={standin.url}",)
    async with api(exchange_base_urls=urls) as client:
        admin = await staff(client, "boss", "admin")
        mod = await staff(client, "modder", "moderator")
        base = "/hma/c/exchanges/api/tat"
        assert (await client.get(base, headers=admin)).json() == {
            "supports_authentification": True, "has_set_authentification": False}
        schema = (await client.get(base + "/schema", headers=admin)).json()
        assert [f["name"] for f in schema["credentials_schema"]["fields"]] == [
            "username", "password"]
        body = {"credential_json": {"username": USER, "password": PASSWORD}}
        # moderators read, only admins set
        assert (await client.post(base, headers=mod, json=body)).status_code == 403
        bad = await client.post(base, headers=admin, json={"credential_json": {
            "user": USER, "password": PASSWORD}})
        assert bad.status_code == 400 and "'user'" in bad.json()["message"]
        assert PASSWORD not in bad.text
        made = await client.post(base, headers=admin, json=body)
        assert made.status_code == 200, made.text
        assert made.json() == {"supports_authentification": True,
                               "has_set_authentification": True}
        # nothing answers them back: not the API route, its schema, nor the exchange
        exchange = await client.post("/hma/c/exchanges", headers=admin, json={
            "bank": "TCAP_LIST", "api": "tat", "api_json": {}})
        assert exchange.status_code == 201, exchange.text
        reads = [await client.get(path, headers=admin) for path in (
            base, base + "/schema", "/hma/c/exchange/TCAP_LIST", "/hma/c/exchanges",
            "/hma/c/exchange/TCAP_LIST/status", "/api/v1/banks/TCAP_LIST/exchanges")]
        for read in reads:
            assert read.status_code == 200, read.text
            assert PASSWORD not in read.text and USER not in read.text, read.text

        # the fetch signs in to the stand-in with the stored credentials
        fetched = await client.post("/api/v1/banks/TCAP_LIST/fetch", headers=admin,
                                    json={"exchange": "TCAP_LIST"})
        assert fetched.status_code == 200, fetched.text
        assert "POST /token-auth/tcap/" in standin.requests
        found = await client.get("/hma/m/lookup", headers=admin, params={
            "signal_type": "pdq", "signal": PDQ})
        assert list(found.json()) == ["TCAP_LIST"]

        # stored credentials win over the environment, which stays the fallback
        monkeypatch.setenv("TIDINGS_TAT_CREDENTIALS", f"{USER}:wrong")
        standin.tat_users[USER] = "rotated-by-partner"
        failed = await client.post("/api/v1/banks/TCAP_LIST/fetch", headers=admin,
                                   json={"exchange": "TCAP_LIST"})
        assert failed.status_code >= 400
        monkeypatch.setenv("TIDINGS_TAT_CREDENTIALS", f"{USER}:rotated-by-partner")
        assert (await client.post("/api/v1/banks/TCAP_LIST/fetch", headers=admin, json={
            "exchange": "TCAP_LIST"})).status_code >= 400  # still the stored (old) ones
        cleared = await client.post(base, headers=admin, json={"credential_json": {}})
        assert cleared.json()["has_set_authentification"] is True  # the environment's
        again = await client.post("/api/v1/banks/TCAP_LIST/fetch", headers=admin,
                                  json={"exchange": "TCAP_LIST"})
        assert again.status_code == 200, again.text
        monkeypatch.delenv("TIDINGS_TAT_CREDENTIALS")
        assert (await client.get(base, headers=admin)).json()[
            "has_set_authentification"] is False
        standin.tat_users[USER] = PASSWORD
        await client.post(base, headers=admin, json=body)

    # at rest: not in the database files (SQLite and its WAL), not in any log line
    data = tmp_path / "data"
    assert _files_holding(data, PASSWORD.encode()) == []
    assert _files_holding(data, f"{USER}:".encode()) == []
    assert caplog.records and not [r for r in caplog.records if PASSWORD in r.getMessage()]
    assert PASSWORD not in caplog.text

    # a rotated key: stored credentials still open, then are sealed under the new key
    # and the old key is dropped (``tidings admin credentials-rekey --rotate``)
    before = secrets.load_or_create(data).credentials_keys
    out = await asyncio.to_thread(CliRunner().invoke, cli, [
        "admin", "credentials-rekey", "--rotate", "--data", str(data), "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["resealed"] == 1 and result["dropped_keys"] == sorted(before)
    after = secrets.load_or_create(data)
    assert set(after.credentials_keys) == {result["key"]} and result["key"] not in before
    standin.requests.clear()
    async with api(exchange_base_urls=urls) as client:
        admin = await staff(client, "boss2", "admin")
        fetched = await client.post("/api/v1/banks/TCAP_LIST/fetch", headers=admin,
                                    json={"exchange": "TCAP_LIST"})
        assert fetched.status_code == 200, fetched.text
        assert "POST /token-auth/tcap/" in standin.requests


async def test_a_secrets_file_without_a_credentials_key_gets_one(tmp_path: Path) -> None:
    data = tmp_path / "old"
    made = secrets.load_or_create(data)
    path = data / secrets.SECRETS_FILE
    old = json.loads(path.read_text())
    del old["credentials"]  # as written before this key existed
    path.write_text(json.dumps(old))
    loaded = secrets.load_or_create(data)
    assert loaded.token_pepper == made.token_pepper
    assert loaded.franking_keys == made.franking_keys
    assert loaded.credentials_current in loaded.credentials_keys
    assert secrets.load_or_create(data).credentials_keys == loaded.credentials_keys
    assert "credentials" in json.loads(path.read_text())
