"""Rate limits and login backoff, in one process or shared by all of them through Redis.

The algorithm is GCRA (the generic cell rate algorithm, as in ATM networks and
``redis-cell``): one number per key, the theoretical arrival time (TAT) of the next
request. A rule of ``limit`` per ``period`` spaces requests ``period / limit`` apart and
tolerates a burst of ``limit``. We chose it over a fixed window (INCR + PEXPIRE) because
a fixed window lets a client send twice the limit across a window boundary and answers
"retry after the window ends" even when one slot frees in a second; GCRA refills evenly,
gives an exact Retry-After, and still needs a single key and one atomic step (a short
Lua script on Redis, so concurrent processes can never both take the last slot).

Login backoff is separate from the rates, and keyed two ways. Wrong passwords are
counted per (username, address): after ``LOGIN_FREE_FAILURES`` of them that pair is
locked for an exponentially growing window (capped), so one guesser slows to a crawl
without touching the owner elsewhere. They are also counted per username across all
addresses: after ``LOGIN_FREE_FAILURES_ANY_ADDRESS`` the username is locked (same
backoff) for every address where it has not logged in lately, which stops a guesser
with many addresses. Addresses where the username logged in successfully within
``LOGIN_KNOWN_ADDRESS_S`` stay exempt from that lock and from the per-username rate, so
strangers cannot lock the owner out: at worst the owner, on a new network during an
attack, waits ``LOGIN_BACKOFF_MAX_S``, and devices already logged in keep working. A
success forgets the pair's failures at once.

Times come from the app's clock (milliseconds), so tests can move time; processes that
share Redis need synchronised clocks (NTP), which servers have anyway.

If Redis is unreachable the Redis limiter lets requests through and logs: a rate limit
that fails closed would turn a Redis outage into a login outage.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from tidings.protocol import limits
from tidings.protocol.errors import RateLimited
from tidings.protocol.limits import RateRule
from tidings.services.clock import Clock

log = logging.getLogger(__name__)

MEMORY_PRUNE_EVERY = 10_000
"""The in-memory limiter drops expired keys after this many checks, bounding its size."""
KEY_MAX = 200
"""Longest key part kept (usernames tried can be long; the address and ids are short)."""
REDIS_PREFIX = "tidings:rl:"
REDIS_TIMEOUT_S = 1.0
"""A slow Redis must not hold a request for long; past this the check lets it through."""


def retry_after_s(wait_ms: int) -> int:
    """Whole seconds for the Retry-After header, never 0 (RFC 9110 section 10.2.3)."""
    return max(1, -(-wait_ms // 1000))


def interval_ms(rule: RateRule) -> int:
    return max(1, rule.period_s * 1000 // rule.limit)


def gcra(tat_ms: int | None, now_ms: int, rule: RateRule) -> tuple[int, int]:
    """One GCRA step: returns ``(new_tat, wait_ms)``; ``wait_ms > 0`` means refused.

    A refused request does not move the TAT, so hammering does not extend the wait.
    """
    step = interval_ms(rule)
    tat = max(tat_ms if tat_ms is not None else now_ms, now_ms)
    new_tat = tat + step
    allow_at = new_tat - step * rule.limit
    if allow_at > now_ms:
        return tat, allow_at - now_ms
    return new_tat, 0


def lockout_s(failures: int, free: int = limits.LOGIN_FREE_FAILURES) -> int:
    """Seconds a key is locked after ``failures`` wrong passwords, ``free`` of them free."""
    over = failures - free
    if over <= 0:
        return 0
    return int(min(limits.LOGIN_BACKOFF_BASE_S * 2 ** min(over - 1, 32),
                   limits.LOGIN_BACKOFF_MAX_S))


def _key(rule: RateRule, key: str) -> str:
    return f"{rule.name}:{key[:KEY_MAX]}"


def _pair(username: str, address: str) -> str:
    return f"{username[:KEY_MAX]}|{address[:KEY_MAX]}"


_BACKOFFS = (("pair", limits.LOGIN_FREE_FAILURES),
             ("user", limits.LOGIN_FREE_FAILURES_ANY_ADDRESS))
"""The two failure counters: per (username, address), and per username."""


def _refuse(rule: RateRule, wait_ms: int) -> RateLimited:
    return RateLimited(f"too many requests ({rule.name}); slow down", retry_after_s(wait_ms),
                       "rate_limited")


def _locked(wait_ms: int) -> RateLimited:
    return RateLimited("too many wrong passwords for this username; wait before trying again",
                       retry_after_s(wait_ms), "login_locked")


class RateLimiter(ABC):
    """What routes need: rate checks by rule, and the login backoff by username."""

    @abstractmethod
    async def check(self, key: str, rule: RateRule) -> None:
        """Count one request for ``key`` under ``rule``; raise ``RateLimited`` if over."""

    @abstractmethod
    async def login_allowed(self, username: str, address: str) -> bool:
        """Raise ``RateLimited`` while this username is locked for this address; True if
        the address is known for the username (exempt from the per-username limits)."""

    @abstractmethod
    async def login_failed(self, username: str, address: str) -> int:
        """Record a wrong password; returns the lockout it starts here, in seconds."""

    @abstractmethod
    async def login_succeeded(self, username: str, address: str) -> None:
        """Forget the pair's failures and remember the address as known."""

    async def close(self) -> None:
        return None


class DisabledRateLimiter(RateLimiter):
    """No limits at all: for load tests and test suites that register hundreds of users."""

    async def check(self, key: str, rule: RateRule) -> None:
        return None

    async def login_allowed(self, username: str, address: str) -> bool:
        return True

    async def login_failed(self, username: str, address: str) -> int:
        return 0

    async def login_succeeded(self, username: str, address: str) -> None:
        return None


@dataclass(slots=True)
class _Failures:
    count: int
    locked_until: int
    forget_at: int


class MemoryRateLimiter(RateLimiter):
    """Limits for one server process (the default without Redis)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._tat: dict[str, int] = {}
        self._failures: dict[str, _Failures] = {}
        self._known: dict[str, int] = {}
        self._checks = 0

    async def check(self, key: str, rule: RateRule) -> None:
        now = self.clock()
        self._maybe_prune(now)
        k = _key(rule, key)
        new_tat, wait = gcra(self._tat.get(k), now, rule)
        if wait > 0:
            raise _refuse(rule, wait)
        self._tat[k] = new_tat

    def _maybe_prune(self, now: int) -> None:
        self._checks += 1
        if self._checks % MEMORY_PRUNE_EVERY:
            return
        self._tat = {k: t for k, t in self._tat.items() if t > now}
        self._failures = {k: f for k, f in self._failures.items() if f.forget_at > now}
        self._known = {k: t for k, t in self._known.items() if t > now}

    def _current(self, key: str, now: int) -> _Failures | None:
        entry = self._failures.get(key)
        if entry is not None and entry.forget_at <= now:
            del self._failures[key]
            return None
        return entry

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return f"pair:{_pair(username, address)}", f"user:{username[:KEY_MAX]}"

    async def login_allowed(self, username: str, address: str) -> bool:
        now = self.clock()
        known = self._known.get(_pair(username, address), 0) > now
        pair, user = self._keys(username, address)
        for key in (pair,) if known else (pair, user):
            entry = self._current(key, now)
            if entry is not None and entry.locked_until > now:
                raise _locked(entry.locked_until - now)
        return known

    async def login_failed(self, username: str, address: str) -> int:
        now = self.clock()
        longest = 0
        for key, (_, free) in zip(self._keys(username, address), _BACKOFFS, strict=True):
            entry = self._current(key, now) or _Failures(0, 0, 0)
            entry.count += 1
            lock = lockout_s(entry.count, free)
            entry.locked_until = max(entry.locked_until, now + lock * 1000)
            entry.forget_at = now + limits.LOGIN_FAILURE_MEMORY_S * 1000
            self._failures[key] = entry
            longest = max(longest, lock)
        return longest

    async def login_succeeded(self, username: str, address: str) -> None:
        self._failures.pop(self._keys(username, address)[0], None)
        self._known[_pair(username, address)] = (self.clock()
                                                 + limits.LOGIN_KNOWN_ADDRESS_S * 1000)


# KEYS[1] = TAT key; ARGV = now_ms, interval_ms, limit. Returns the wait in ms (0: allowed).
_GCRA_LUA = """
local now = tonumber(ARGV[1])
local step = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + step
local allow_at = new_tat - step * tonumber(ARGV[3])
if allow_at > now then return allow_at - now end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return 0
"""

# KEYS[1] = failures hash; ARGV = now_ms, free, base_s, max_s, memory_ms. Returns lock s.
_FAILED_LUA = """
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
local over = n - tonumber(ARGV[2])
local lock = 0
if over > 0 then
  lock = math.min(tonumber(ARGV[3]) * 2 ^ math.min(over - 1, 32), tonumber(ARGV[4]))
end
lock = math.floor(lock)
local untl = tonumber(ARGV[1]) + lock * 1000
local old = tonumber(redis.call('HGET', KEYS[1], 'until') or 0)
if old > untl then untl = old end
redis.call('HSET', KEYS[1], 'until', untl)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return lock
"""


class RedisRateLimiter(RateLimiter):
    """Limits shared by every server process that uses the same Redis and prefix."""

    def __init__(self, url: str, clock: Clock, *, prefix: str = REDIS_PREFIX) -> None:
        self.clock = clock
        self.prefix = prefix
        self.redis: Redis = Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_S,
                                           socket_connect_timeout=REDIS_TIMEOUT_S)
        self._gcra = self.redis.register_script(_GCRA_LUA)
        self._failed = self.redis.register_script(_FAILED_LUA)
        self._warned = False

    def _unavailable(self, exc: Exception) -> None:
        if not self._warned:
            log.warning("rate limits are not enforced: Redis is unreachable (%s)", exc)
            self._warned = True

    async def check(self, key: str, rule: RateRule) -> None:
        try:
            wait = int(await self._gcra(keys=[self.prefix + _key(rule, key)],
                                        args=[self.clock(), interval_ms(rule), rule.limit]))
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return
        self._warned = False
        if wait > 0:
            raise _refuse(rule, wait)

    def _failures_keys(self, username: str, address: str) -> tuple[str, str]:
        return (f"{self.prefix}login_failures:pair:{_pair(username, address)}",
                f"{self.prefix}login_failures:user:{username[:KEY_MAX]}")

    def _known_key(self, username: str, address: str) -> str:
        return f"{self.prefix}login_known:{_pair(username, address)}"

    async def login_allowed(self, username: str, address: str) -> bool:
        pair, user = self._failures_keys(username, address)
        try:
            known = bool(await self.redis.exists(self._known_key(username, address)))
            keys = (pair,) if known else (pair, user)
            until = [await self.redis.hget(key, "until") for key in keys]
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
            return True
        now = self.clock()
        for raw in until:
            if raw is not None and int(raw) > now:
                raise _locked(int(raw) - now)
        return known

    async def login_failed(self, username: str, address: str) -> int:
        longest = 0
        try:
            for key, (_, free) in zip(self._failures_keys(username, address), _BACKOFFS,
                                      strict=True):
                longest = max(longest, int(await self._failed(
                    keys=[key],
                    args=[self.clock(), free, limits.LOGIN_BACKOFF_BASE_S,
                          limits.LOGIN_BACKOFF_MAX_S, limits.LOGIN_FAILURE_MEMORY_S * 1000])))
        except (RedisError, OSError) as exc:
            self._unavailable(exc)
        return longest

    async def login_succeeded(self, username: str, address: str) -> None:
        try:
            await self.redis.delete(self._failures_keys(username, address)[0])
            await self.redis.set(self._known_key(username, address), b"1",
                                 px=limits.LOGIN_KNOWN_ADDRESS_S * 1000)
        except (RedisError, OSError) as exc:
            self._unavailable(exc)

    async def close(self) -> None:
        await self.redis.aclose()
