"""Every limit Tidings enforces, in one place.

A limit that is not a named constant here is a bug: operators read this file to know
what the server accepts, and tests import the same names to probe the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- HTTP -------------------------------------------------------------------------
MAX_BODY_BYTES = 1 * 1024 * 1024
"""Largest JSON request body. Media uploads have their own limits below."""
MAX_HEADER_BYTES = 16 * 1024
"""Sum of all request header names and values; more gets 431."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays/objects accepted in a JSON body."""
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
"""Largest streamed upload (media and encrypted attachments)."""

# --- Accounts ---------------------------------------------------------------------
USERNAME_MIN = 3
USERNAME_MAX = 32
PASSWORD_MIN = 10
"""NIST SP 800-63B asks for at least 8; we ask for 10 and check a common-password list."""
PASSWORD_MAX = 1024
DEVICE_NAME_MAX = 64
DEVICES_PER_ACCOUNT_MAX = 50
TOKEN_BYTES = 32
"""256 random bits per access token."""

# --- WebSocket gateway ------------------------------------------------------------
WS_SEND_QUEUE_MAX = 256
"""Frames queued for one connection before it counts as a slow consumer and is closed."""
WS_REPLAY_BATCH = 200
"""Stored events read per round trip while a device catches up."""
WS_MAX_FRAME_BYTES = 256 * 1024
"""Largest frame a client may send; larger closes the connection (1009)."""
WS_PING_INTERVAL_S = 20.0
WS_PING_TIMEOUT_S = 20.0
WS_HELLO_TIMEOUT_S = 10.0
"""A connection that does not say hello in time is closed (4001)."""

# WebSocket close codes (RFC 6455 section 7.4.2 reserves 4000-4999 for applications).
WS_CLOSE_UNAUTHORIZED = 4001
WS_CLOSE_BAD_FRAME = 4002
WS_CLOSE_SLOW_CONSUMER = 4008
WS_CLOSE_REVOKED = 4003
WS_CLOSE_SERVER_SHUTDOWN = 1001
WS_CLOSE_TOO_BIG = 1009

# --- Rate limits ------------------------------------------------------------------
# A rule allows ``limit`` requests per ``period_s`` seconds for one key, as a burst of up
# to ``limit`` that refills evenly (GCRA; see server/ratelimit.py). The scope says what
# the key is: the client address, the username tried, the device or the account.


RATE_SCOPES = ("address", "username", "device", "account")


@dataclass(frozen=True, slots=True)
class RateRule:
    """A named rate: ``limit`` requests per ``period_s`` seconds for one ``scope`` key."""

    name: str
    limit: int
    period_s: int
    scope: str

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_s < 1:
            raise ValueError("a rate rule needs a positive limit and period")
        if self.scope not in RATE_SCOPES:
            raise ValueError(f"unknown rate scope {self.scope!r}")


RATE_REGISTER = RateRule("register", 10, 3600, "address")
"""New accounts from one address: ten an hour absorbs a family or an office behind NAT."""
RATE_LOGIN_ADDRESS = RateRule("login", 30, 300, "address")
"""Logins from one address, whatever the username (spraying many names)."""
RATE_LOGIN_USERNAME = RateRule("login_username", 10, 300, "username")
"""Logins tried for one username from anywhere; failures also feed the backoff below."""
RATE_SEND = RateRule("send", 600, 60, "device")
"""Private messages sent by one device (each fan-out to many devices counts once)."""
RATE_POST = RateRule("post", 60, 60, "account")
"""Channel posts by one account across all its channels."""
RATE_REPORT = RateRule("report", 30, 3600, "account")
"""Reports filed by one account."""
RATE_KEY_CLAIM_DEVICE = RateRule("key_claim_device", 120, 60, "device")
"""One-time key claims by one device: draining someone's keys is a denial of service."""
RATE_KEY_CLAIM_ACCOUNT = RateRule("key_claim_account", 600, 60, "account")
"""One-time key claims by all devices of one account."""

RATE_RULES: dict[str, RateRule] = {r.name: r for r in (
    RATE_REGISTER, RATE_LOGIN_ADDRESS, RATE_LOGIN_USERNAME, RATE_SEND, RATE_POST,
    RATE_REPORT, RATE_KEY_CLAIM_DEVICE, RATE_KEY_CLAIM_ACCOUNT)}

LOGIN_FREE_FAILURES = 5
"""Wrong passwords for one username before the backoff starts."""
LOGIN_BACKOFF_BASE_S = 2
"""First lockout after the free failures; it doubles with each further failure."""
LOGIN_BACKOFF_MAX_S = 15 * 60
"""Longest lockout: a guesser gets about a hundred tries a day, the owner waits minutes."""
LOGIN_FAILURE_MEMORY_S = 24 * 3600
"""Failures are forgotten this long after the last one (a success forgets them at once)."""

# --- Background jobs --------------------------------------------------------------
JOB_CONCURRENCY = 4
"""Jobs one server process runs at the same time."""
JOB_LEASE_S = 60
"""A claimed job belongs to its runner this long; heartbeats renew it."""
JOB_HEARTBEAT_S = 15
"""How often a runner renews the leases of its running jobs (well inside the lease)."""
JOB_POLL_S = 1.0
"""How often an idle runner looks for work (enqueuing in-process wakes it at once)."""
JOB_MAX_ATTEMPTS = 5
"""Runs of one job (failures and expired leases) before it is marked failed."""
JOB_RETRY_BASE_S = 5
"""Delay before retrying a failed job; doubles with each attempt."""
JOB_RETRY_MAX_S = 3600
JOB_RETENTION_S = 30 * 24 * 3600
"""Finished (done or failed) jobs are deleted this long after they finished."""
JOB_PURGE_INTERVAL_S = 3600
"""How often each runner deletes finished jobs past their retention."""
JOB_KIND_MAX = 64
JOB_DEDUPE_KEY_MAX = 200
JOB_PAYLOAD_MAX_BYTES = 64 * 1024
"""Jobs carry references (ids, hashes), not content."""
