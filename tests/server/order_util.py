"""Helpers for removal-order tests: authority accounts, orders, waiting for jobs."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

from tests.apps import kernel_of
from tidings.services.accounts import AccountService, new_device_id, new_token
from tidings.storage.accounts import AccountStore

T = TypeVar("T")
DAY = 86_400_000


async def member(client: httpx.AsyncClient, name: str, role: str = "user") -> dict[str, str]:
    """An account with a device token and no password: no argon2 hashing, which costs
    about a second a call on the shared test machine (these tests are not about login)."""
    accounts: AccountService = kernel_of(client).accounts
    token = new_token()
    async with accounts.db.write() as conn:
        user = await AccountStore().create_user(conn, name, None, role, accounts.clock())
        await AccountStore().create_device(conn, user.id, new_device_id(), "test",
                                           accounts.hash_token(token), accounts.clock())
    return {"Authorization": f"Bearer {token}"}


async def authority(client: httpx.AsyncClient, admin: dict[str, str], name: str,
                    authority_name: str = "Bundeskriminalamt", member_state: str = "DE"
                    ) -> dict[str, str]:
    r = await client.post("/api/v1/admin/authorities", headers=admin, json={
        "username": name, "authority_name": authority_name, "member_state": member_state})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def order_body(target: str, reference: str = "BKA-2026-0001", **extra: Any) -> dict[str, Any]:
    return {"target": target, "reference": reference,
            "legal_basis": "Regulation (EU) 2021/784, Art. 3; Directive (EU) 2017/541, Art. 5",
            "reasons": "The post glorifies a terrorist attack and calls for more.", **extra}


async def submit(client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any],
                 status: int = 201) -> dict[str, Any]:
    r = await client.post("/api/v1/orders", headers=headers, json=body)
    assert r.status_code == status, r.text
    result: dict[str, Any] = r.json()
    return result


async def eventually(probe: Callable[[], Awaitable[T]], ok: Callable[[T], bool],
                     timeout: float = 5.0, what: str = "") -> T:
    """Poll ``probe`` until ``ok`` holds for its value, which is returned (jobs run on the
    runner's one-second poll); past ``timeout`` seconds, fail with the last value seen."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if ok(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what or _source(ok)}; "
                                 f"last value: {_shown(value)}")
        await asyncio.sleep(0.1)


def _source(function: Callable[..., object]) -> str:
    """The condition's source line, to say in a failure what was waited for."""
    try:
        return inspect.getsource(function).strip()
    except (OSError, TypeError):
        return repr(function)


def _shown(value: object) -> str:
    if isinstance(value, httpx.Response):
        return f"HTTP {value.status_code} {value.text[:300]}"
    return repr(value)[:500]
