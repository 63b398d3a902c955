"""Registration rules, login, devices and revocation through the HTTP API."""

from __future__ import annotations

import pytest

from tests.conftest import AppFactory, bearer, login, register


@pytest.mark.parametrize(("username", "code"), [
    ("ab", "invalid_username"),
    ("x" * 33, "invalid_username"),
    ("has space", "invalid_username"),
    ("émile", "invalid_username"),
    ("admin", "reserved_username"),
    ("adm1n", "reserved_username"),
    ("аdmin", "invalid_username"),  # Cyrillic а: not a-z at all
    ("support", "reserved_username"),
    ("tidings_team", "reserved_username"),
])
async def test_username_rules(api: AppFactory, username: str, code: str) -> None:
    async with api() as client:
        r = await client.post("/api/v1/accounts/register", json={
            "username": username, "password": "a long enough passphrase"})
        assert r.status_code in (400, 409), r.text
        assert r.json()["error"]["code"] == code


@pytest.mark.parametrize("password", ["short", "password123", "1234567890", "qwertyuiop",
                                      "aliceinwonderland"])
async def test_weak_passwords_are_refused(api: AppFactory, password: str) -> None:
    async with api() as client:
        r = await client.post("/api/v1/accounts/register",
                              json={"username": "alice", "password": password})
        assert r.status_code == 400
        assert r.json()["error"]["code"] == "weak_password"


async def test_usernames_are_case_insensitive_and_unique(api: AppFactory) -> None:
    async with api() as client:
        session = await register(client, "Alice")
        assert session["username"] == "alice"
        r = await client.post("/api/v1/accounts/register", json={
            "username": "ALICE", "password": "another long passphrase"})
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "username_taken"


async def test_login_creates_devices_and_logout_revokes(api: AppFactory) -> None:
    async with api() as client:
        first = await register(client, "bob")
        second = await login(client, "BOB")
        assert second["device_id"] != first["device_id"]
        r = await client.get("/api/v1/accounts/devices", headers=bearer(second))
        assert r.status_code == 200
        devices = r.json()
        assert {d["id"] for d in devices} == {first["device_id"], second["device_id"]}
        assert [d["current"] for d in devices if d["id"] == second["device_id"]] == [True]
        assert (await client.post("/api/v1/accounts/logout",
                                  headers=bearer(second))).status_code == 204
        r = await client.get("/api/v1/accounts/me", headers=bearer(second))
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "invalid_token"
        assert (await client.get("/api/v1/accounts/me", headers=bearer(first))).status_code == 200


async def test_wrong_password_and_unknown_user_look_the_same(api: AppFactory) -> None:
    async with api() as client:
        await register(client, "carol")
        for name, pw in (("carol", "not the right one"), ("nobody", "whatever it is")):
            r = await client.post("/api/v1/accounts/login",
                                  json={"username": name, "password": pw})
            assert r.status_code == 401
            assert r.json() == {"error": {"code": "bad_credentials",
                                          "message": "wrong username or password"}}


async def test_one_user_cannot_see_or_revoke_anothers_devices(api: AppFactory) -> None:
    async with api() as client:
        alice = await register(client, "alice")
        mallory = await register(client, "mallory")
        r = await client.get("/api/v1/accounts/devices", headers=bearer(mallory))
        assert [d["id"] for d in r.json()] == [mallory["device_id"]]
        r = await client.delete(f"/api/v1/accounts/devices/{alice['device_id']}",
                                headers=bearer(mallory))
        assert r.status_code == 404
        assert (await client.get("/api/v1/accounts/me", headers=bearer(alice))).status_code == 200


async def test_revoke_own_other_device(api: AppFactory) -> None:
    async with api() as client:
        phone = await register(client, "dora")
        laptop = await login(client, "dora")
        r = await client.delete(f"/api/v1/accounts/devices/{laptop['device_id']}",
                                headers=bearer(phone))
        assert r.status_code == 204
        assert (await client.get("/api/v1/accounts/me",
                                 headers=bearer(laptop))).status_code == 401


async def test_missing_and_malformed_tokens(api: AppFactory) -> None:
    async with api() as client:
        r = await client.get("/api/v1/accounts/me")
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_token"
        assert r.headers["www-authenticate"] == "Bearer"
        r = await client.get("/api/v1/accounts/me", headers={"Authorization": "Bearer nope"})
        assert r.json()["error"]["code"] == "invalid_token"


async def test_delete_account_needs_password_and_keeps_name_taken(api: AppFactory) -> None:
    async with api() as client:
        eve = await register(client, "eve")
        r = await client.post("/api/v1/accounts/delete", json={"password": "wrong password!"},
                              headers=bearer(eve))
        assert r.status_code == 403
        r = await client.post("/api/v1/accounts/delete",
                              json={"password": "a long enough passphrase"}, headers=bearer(eve))
        assert r.status_code == 204
        assert (await client.get("/api/v1/accounts/me", headers=bearer(eve))).status_code == 401
        r = await client.post("/api/v1/accounts/login",
                              json={"username": "eve", "password": "a long enough passphrase"})
        assert r.status_code == 401
        r = await client.post("/api/v1/accounts/register",
                              json={"username": "eve", "password": "a long enough passphrase"})
        assert r.status_code == 409


async def test_validation_errors_use_the_error_shape(api: AppFactory) -> None:
    async with api() as client:
        r = await client.post("/api/v1/accounts/register", json={"username": 5})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "invalid_request"
        r = await client.get("/api/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
