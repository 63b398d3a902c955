"""Configuration sources and their precedence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.apps import kernel_of
from tidings.config import ConfigError, load_settings
from tidings.server.secrets import load_or_create, rotate_franking


def test_defaults_file_env_precedence(tmp_path: Path) -> None:
    (tmp_path / "tidings.toml").write_text('port = 9000\nhost = "0.0.0.0"\n')
    s = load_settings(tmp_path, {"TIDINGS_PORT": "9100"})
    assert (s.host, s.port) == ("0.0.0.0", 9100)
    assert s.resolved_database_url.endswith("/tidings.db")
    assert s.resolved_public_url == "http://0.0.0.0:9100"


def test_unknown_setting_and_bad_value(tmp_path: Path) -> None:
    (tmp_path / "tidings.toml").write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(tmp_path, {})
    (tmp_path / "tidings.toml").write_text("")
    with pytest.raises(ConfigError, match="integer"):
        load_settings(tmp_path, {"TIDINGS_PORT": "eighty"})


def test_secrets_made_once_and_hidden(tmp_path: Path) -> None:
    first = load_or_create(tmp_path)
    again = load_or_create(tmp_path)
    assert first == again
    assert first.token_pepper.hex() not in repr(first)
    new_id = rotate_franking(tmp_path)
    rotated = load_or_create(tmp_path)
    assert rotated.franking_current == new_id
    assert rotated.franking_keys["k1"] == first.franking_keys["k1"]
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600


def test_password_cost_defaults_floor_and_upgrade_at_login(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {}).password_cost == (65536, 3)  # RFC 9106 low-memory
    with pytest.raises(ConfigError, match="OWASP"):
        load_settings(tmp_path, {"TIDINGS_PASSWORD_MEMORY_KIB": "4096"})
    with pytest.raises(ConfigError, match="OWASP"):
        load_settings(tmp_path, {"TIDINGS_PASSWORD_TIME_COST": "1"})


async def test_a_raised_password_cost_rehashes_at_login(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from tests.conftest import make_settings, running_app
    from tidings.storage.schema import users

    async def stored_hash(app: Any) -> str:
        async with kernel_of(app).db.read() as conn:
            return str((await conn.execute(sa.select(users.c.password_hash))).scalar_one())

    body = {"username": "costly", "password": "a long enough passphrase",
            "device_name": "phone"}
    async with running_app(make_settings(tmp_path)) as app, _client(app) as client:
        assert (await client.post("/api/v1/accounts/register", json=body)).status_code == 201
        assert "m=19456,t=2" in await stored_hash(app)
    raised = make_settings(tmp_path, password_memory_kib=65536, password_time_cost=3)
    async with running_app(raised) as app, _client(app) as client:
        wrong = {**body, "password": "not the passphrase at all"}
        assert (await client.post("/api/v1/accounts/login", json=wrong)).status_code == 401
        assert "m=19456,t=2" in await stored_hash(app)  # only a correct login upgrades
        assert (await client.post("/api/v1/accounts/login", json=body)).status_code == 200
        assert "m=65536,t=3" in await stored_hash(app)


def _client(app: Any) -> Any:
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_console_and_socket_settings_are_checked(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"TIDINGS_CONSOLE_IDLE_TIMEOUT_S": "600",
                                        "TIDINGS_WS_CONNECTIONS_PER_TOKEN": "2"})
    assert (settings.console_idle_timeout_s, settings.console_session_max_s) == (600, 43200)
    assert settings.ws_connections_per_token == 2
    with pytest.raises(ConfigError, match="must not exceed"):
        load_settings(tmp_path, {}, console_idle_timeout_s=7200, console_session_max_s=3600)
    for name in ("console_idle_timeout_s", "console_session_max_s",
                 "ws_connections_per_token"):
        with pytest.raises(ConfigError, match=f"{name} must be positive"):
            load_settings(tmp_path, {}, **{name: 0})
