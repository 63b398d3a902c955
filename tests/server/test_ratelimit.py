"""Rate limits (GCRA) and the login backoff: the core, both limiters, and the routes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.apps import kernel_of
from tests.conftest import REDIS_URL, AppFactory, register
from tidings.bus.local import LocalBus
from tidings.bus.redis import RedisBus
from tidings.config import load_settings
from tidings.protocol import limits
from tidings.protocol.errors import RateLimited
from tidings.protocol.limits import RateRule
from tidings.server.app import make_bus, make_limiter
from tidings.server.metrics import Metrics
from tidings.server.ratelimit import (
    DisabledRateLimiter,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    gcra,
    lockout_s,
    retry_after_s,
)
from tidings.services.clock import ManualClock

RULE = RateRule("test", 3, 60, "address")


def test_gcra_allows_a_burst_then_spaces_requests() -> None:
    now, tat = 0, None
    for _ in range(3):
        tat, wait = gcra(tat, now, RULE)
        assert wait == 0
    refused_tat, wait = gcra(tat, now, RULE)
    assert wait == 20_000 and refused_tat == tat  # refusals do not push the TAT
    _, wait = gcra(tat, now + 20_000, RULE)
    assert wait == 0


def test_lockout_grows_exponentially_and_is_capped() -> None:
    free = limits.LOGIN_FREE_FAILURES
    assert [lockout_s(n) for n in range(1, free + 1)] == [0] * free
    grown = [lockout_s(free + i) for i in range(1, 5)]
    assert grown == [limits.LOGIN_BACKOFF_BASE_S * 2 ** i for i in range(4)]
    assert lockout_s(free + 1000) == limits.LOGIN_BACKOFF_MAX_S
    assert retry_after_s(1) == 1 and retry_after_s(1001) == 2 and retry_after_s(0) == 1


def test_every_named_rule_is_defined() -> None:
    names = {"register", "login", "login_username", "send", "post", "report",
             "key_claim_device", "key_claim_account"}
    assert names <= set(limits.RATE_RULES)
    with pytest.raises(ValueError, match="scope"):
        RateRule("x", 1, 1, "planet")


async def limiter_contract(limiter: RateLimiter, clock: ManualClock) -> None:
    for _ in range(3):
        await limiter.check("1.2.3.4", RULE)
    await limiter.check("5.6.7.8", RULE)  # another key has its own budget
    with pytest.raises(RateLimited) as refused:
        await limiter.check("1.2.3.4", RULE)
    assert refused.value.retry_after == 20
    clock.advance(20_000)
    await limiter.check("1.2.3.4", RULE)
    with pytest.raises(RateLimited):
        await limiter.check("1.2.3.4", RULE)


A1, A2, A3 = "10.0.0.1", "10.0.0.2", "10.0.0.3"


async def backoff_contract(limiter: RateLimiter, clock: ManualClock) -> None:
    for _ in range(limits.LOGIN_FREE_FAILURES):
        assert await limiter.login_allowed("alice", A1) is False
        assert await limiter.login_failed("alice", A1) == 0
    assert await limiter.login_failed("alice", A1) == limits.LOGIN_BACKOFF_BASE_S
    with pytest.raises(RateLimited) as locked:
        await limiter.login_allowed("alice", A1)
    assert locked.value.code == "login_locked"
    assert locked.value.retry_after == limits.LOGIN_BACKOFF_BASE_S
    await limiter.login_allowed("bob", A1)
    await limiter.login_allowed("alice", A2)  # the lock is this address's, not alice's
    clock.advance(limits.LOGIN_BACKOFF_BASE_S * 1000)
    await limiter.login_allowed("alice", A1)
    assert await limiter.login_failed("alice", A1) == 2 * limits.LOGIN_BACKOFF_BASE_S
    await limiter.login_succeeded("alice", A1)
    assert await limiter.login_allowed("alice", A1) is True  # known from now on
    assert await limiter.login_failed("alice", A1) == 0
    clock.advance(limits.LOGIN_FAILURE_MEMORY_S * 1000 + 1)
    for _ in range(limits.LOGIN_FREE_FAILURES - 1):
        assert await limiter.login_failed("alice", A1) == 0  # old failures were forgotten


async def many_addresses_contract(limiter: RateLimiter, clock: ManualClock) -> None:
    """Guessing from many addresses locks the username, except where its owner logs in."""
    await limiter.login_succeeded("carol", A1)  # the owner's usual address
    free = limits.LOGIN_FREE_FAILURES_ANY_ADDRESS
    for i in range(free):
        address = f"192.0.2.{i}"
        await limiter.login_allowed("carol", address)
        assert await limiter.login_failed("carol", address) == 0
    assert await limiter.login_failed("carol", "198.51.100.1") == limits.LOGIN_BACKOFF_BASE_S
    with pytest.raises(RateLimited) as locked:
        await limiter.login_allowed("carol", A2)  # a stranger's new address
    assert locked.value.code == "login_locked"
    assert await limiter.login_allowed("carol", A1) is True  # the owner is not locked out
    for _ in range(30):  # however long the guessing goes on, the lock stays capped
        clock.advance(limits.LOGIN_BACKOFF_MAX_S * 1000)
        await limiter.login_allowed("carol", A3)
        assert await limiter.login_failed("carol", A3) <= limits.LOGIN_BACKOFF_MAX_S
    await limiter.login_allowed("carol", A1)


async def test_memory_limiter() -> None:
    clock = ManualClock()
    await limiter_contract(MemoryRateLimiter(clock), clock)
    await backoff_contract(MemoryRateLimiter(clock), clock)
    await many_addresses_contract(MemoryRateLimiter(clock), clock)


@pytest.mark.redis
async def test_redis_limiter(redis_prefix: str) -> None:
    clock = ManualClock()
    limiter = RedisRateLimiter(REDIS_URL, clock, prefix=redis_prefix)
    try:
        await limiter_contract(limiter, clock)
        await backoff_contract(limiter, clock)
        await many_addresses_contract(limiter, clock)
    finally:
        await limiter.close()


async def test_redis_limiter_fails_open_when_unreachable(unused_tcp_port: int) -> None:
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{unused_tcp_port}/0", ManualClock())
    try:
        for _ in range(RULE.limit + 2):
            await limiter.check("k", RULE)
        await limiter.login_allowed("alice", A1)
        assert await limiter.login_failed("alice", A1) == 0
    finally:
        await limiter.close()


async def _bad_register(client: httpx.AsyncClient) -> httpx.Response:
    # An invalid name fails fast (no password hashing) but still counts.
    return await client.post("/api/v1/accounts/register",
                             json={"username": "ab", "password": "a long enough passphrase"})


async def test_register_burst_gets_429_with_retry_after(api: AppFactory) -> None:
    async with api(rate_limits=True) as client:
        for _ in range(limits.RATE_REGISTER.limit):
            assert (await _bad_register(client)).status_code == 400
        r = await _bad_register(client)
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        expected = limits.RATE_REGISTER.period_s // limits.RATE_REGISTER.limit
        assert int(r.headers["Retry-After"]) == expected


async def test_login_burst_from_one_address(api: AppFactory) -> None:
    async with api(clock=ManualClock(), rate_limits=True) as client:
        # Malformed attempts count too (and skip the slow password check here).
        for i in range(limits.RATE_LOGIN_ADDRESS.limit):
            r = await client.post("/api/v1/accounts/login", json={"username": f"nobody{i}"})
            assert r.status_code == 422
        r = await client.post("/api/v1/accounts/login",
                              json={"username": "nobody", "password": "wrong guess!"})
        assert r.status_code == 429 and "Retry-After" in r.headers


async def test_login_backoff_grows_and_success_resets(api: AppFactory) -> None:
    clock = ManualClock()
    async with api(clock=clock, rate_limits=True) as client:
        await register(client, "alice")

        async def attempt(password: str) -> httpx.Response:
            return await client.post("/api/v1/accounts/login",
                                     json={"username": "Alice", "password": password})

        for _ in range(limits.LOGIN_FREE_FAILURES):
            assert (await attempt("wrong password")).status_code == 401
        waits = []
        for _ in range(2):
            assert (await attempt("wrong password")).status_code == 401
            r = await attempt("a long enough passphrase")  # even the right one waits
            assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
            waits.append(int(r.headers["Retry-After"]))
            clock.advance(waits[-1] * 1000)
        assert waits == [limits.LOGIN_BACKOFF_BASE_S, 2 * limits.LOGIN_BACKOFF_BASE_S]
        assert (await attempt("a long enough passphrase")).status_code == 200
        assert (await attempt("wrong password")).status_code == 401
        assert (await attempt("a long enough passphrase")).status_code == 200


@pytest.mark.redis
async def test_redis_limits_are_shared_between_app_instances(api: AppFactory,
                                                             redis_prefix: str) -> None:
    settings = {"rate_limits": True, "redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    async with api(**settings) as one, api(**settings) as two:
        assert isinstance(kernel_of(one).bus, RedisBus)
        for i in range(limits.RATE_REGISTER.limit):
            assert (await _bad_register(one if i % 2 else two)).status_code == 400
        assert (await _bad_register(one)).status_code == 429
        assert (await _bad_register(two)).status_code == 429


def test_settings_choose_limiter_and_bus(tmp_path: Path) -> None:
    env = {"TIDINGS_RATE_LIMITS": "false", "TIDINGS_JOB_CONCURRENCY": "0",
           "TIDINGS_REDIS_PREFIX": "prod-a:"}
    settings = load_settings(tmp_path, env)
    assert (settings.rate_limits, settings.job_concurrency, settings.redis_prefix) == (
        False, 0, "prod-a:")
    clock = ManualClock()
    assert isinstance(make_limiter(settings, clock), DisabledRateLimiter)
    assert isinstance(make_bus(settings, Metrics()), LocalBus)
    default = load_settings(tmp_path, {})
    assert isinstance(make_limiter(default, clock), MemoryRateLimiter)
    shared = replace(default, redis_url="redis://127.0.0.1:1/0")
    assert isinstance(make_limiter(shared, clock), RedisRateLimiter)
    bus = make_bus(shared, Metrics())
    assert isinstance(bus, RedisBus) and bus.prefix == "tidings:bus:"
