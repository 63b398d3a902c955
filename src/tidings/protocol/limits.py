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
MAX_REQUEST_HEAD_BYTES = 64 * 1024
"""Request line plus headers as received; more is cut off with 431 before the app runs
(server/serving.py). Requests within it but over MAX_HEADER_BYTES get the app's 431."""
REQUEST_HEADER_TIMEOUT_S = 10
"""A request's line and headers must arrive within this (slowloris); else 408, closed."""
REQUEST_BODY_IDLE_TIMEOUT_S = 30
"""Longest wait for the next chunk of a request body; else 408 (a slow body holds a
connection and, for JSON, a buffer)."""
HTTP_KEEP_ALIVE_S = 5
"""An idle keep-alive connection is closed after this."""
CLIENT_KEEP_ALIVE_S = 2.0
"""The SDK drops an idle pooled connection after this, well before a server closes it
(``HTTP_KEEP_ALIVE_S``, uvicorn's default too): reusing one the server is closing at
that moment fails the request with a read error."""
ID_MAX = 2**63 - 1
"""Largest id a client may name (a signed 64-bit integer, what SQLite and PostgreSQL
store); larger ones are refused with 422 before any query."""

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

WS_CONNECTIONS_PER_TOKEN = 5
"""Concurrent sockets one access token may hold on one server process (a person's
device needs one; a few cover reconnect overlaps and tabs). Beyond it: 4029."""

# WebSocket close codes (RFC 6455 section 7.4.2 reserves 4000-4999 for applications).
WS_CLOSE_UNAUTHORIZED = 4001
WS_CLOSE_BAD_FRAME = 4002
WS_CLOSE_SLOW_CONSUMER = 4008
WS_CLOSE_REVOKED = 4003
WS_CLOSE_SERVER_SHUTDOWN = 1001
WS_CLOSE_TOO_BIG = 1009
WS_CLOSE_TOO_MANY = 4029
"""This token already holds ``ws_connections_per_token`` sockets on this process."""

# --- Web console sessions (services/console_sessions.py) ----------------------------
CONSOLE_IDLE_TIMEOUT_S = 30 * 60
"""A console session unused for 30 minutes ends (OWASP session management: 15-30 min
idle for sensitive applications)."""
CONSOLE_SESSION_MAX_S = 12 * 3600
"""A console session ends 12 hours after login: one working day."""

# Measures that end a session close its sockets on every process (server/sessions.py):
# at once over the bus, and from the session log when the bus lost the message.
SESSION_END_POLL_S = 0.5
"""How often each process reads the session log: the bound on "closed within 1 s"."""
SESSION_END_LOOKBACK_MS = 5_000
"""Rows this recent are read again: a transaction that took an id before a later one
but committed after it is still seen (ids are not assigned in commit order)."""
SESSION_END_KEEP_MS = 3_600_000
"""Rows older than an hour are pruned: every process has long acted on them."""
SESSION_END_READ_MAX = 1000

# --- Key directory ----------------------------------------------------------------
KEYS_UPLOAD_OTK_MAX = 100
"""One-time keys accepted in one upload (clients upload 50 at a time)."""
KEYS_STORED_OTK_MAX = 200
"""Unclaimed one-time keys a device may hold on the server; more is refused (409)."""
KEYS_QUERY_USERS_MAX = 100
"""Users whose devices one key query may ask for."""
KEYS_CLAIM_DEVICES_MAX = 200
"""Devices one claim may take a key for (across all users named in it)."""
KEYS_OTK_LOW_WATER = 20
"""Clients top up one-time keys when an ``otk_count`` event says fewer remain."""
KEYS_OTK_TARGET = 50
"""How many unclaimed one-time keys a client keeps on the server."""

# --- Private messages -------------------------------------------------------------
MESSAGE_ENVELOPES_MAX = 2 * DEVICES_PER_ACCOUNT_MAX
"""Envelopes in one send: every device of the recipient plus the sender's others."""
MESSAGE_CIPHERTEXT_MAX_CHARS = 128 * 1024
"""Largest Olm body (base64) in one envelope; a 64 KiB payload sealed fits."""
MESSAGE_CLIENT_ID_MAX = 128
"""Length of the client's idempotency key for a send."""
MESSAGE_REF_MAX = 64
"""Length of the ``ref`` a WebSocket ``send`` frame is answered with."""
MESSAGE_DEDUP_RETENTION_MS = 7 * 24 * 3600 * 1000
"""How long (sender device, client_id) -> (id, ts) is kept so a retry is not stored twice."""
MESSAGE_DEDUP_PRUNE_EVERY = 1000
"""Sends between two prunes of expired idempotency rows."""
WS_SEND_INFLIGHT_MAX = 128
"""``send`` frames one connection may have awaiting commit; more wait before being read."""

# --- Group commit -----------------------------------------------------------------
COMMIT_BATCH_MAX = 512
"""Operations committed in one transaction (one fsync) by the group committer."""
COMMIT_QUEUE_MAX = 8192
"""Operations waiting for the group committer before submitters wait for room."""

# --- Client -----------------------------------------------------------------------
CLIENT_INBOX_KEEP = 2000
"""Received messages (with franking data for reports) a client keeps in its key store."""
CLIENT_REPORT_HOLD_MS = 24 * 3600 * 1000
"""How long after a disappearing message leaves the view its device still keeps what a
report of it needs (payload and franking data, in the encrypted key store), then purges
it: abuse sent under a short timer stays reportable for a day (docs/security.md)."""
CLIENT_REPORT_HOLD_KEEP = 2000
"""At most this many such held messages (oldest dropped first)."""

# --- Public channels --------------------------------------------------------------
# Handle and title/description lengths live in protocol/handles.py (HANDLE_MIN...).
POST_TEXT_MAX = 4096
"""Characters (code points) of a channel post's text, as on Telegram."""
POST_MEDIA_MAX = 10
"""Media items (photo, video, file) attached to one post."""
CHANNEL_ADMINS_MAX = 50
"""Admins per channel besides the owner."""
CHANNELS_OWNED_MAX = 100
#: A channel's posts are compared with banned channels' fingerprints this long after it
#: is created (issue 24: returning channels repost their first posts at once).
RETURNING_FIRST_POSTS_MS = 7 * 86_400_000
"""Channels one account may own."""
CHANNEL_SUBSCRIPTIONS_MAX = 1000
"""Channels one account may follow: bounds the bus topics a connection joins."""
CHANNEL_PAGE_MAX = 100
"""Posts or updates returned by one history / catch-up request."""
CHANNEL_PAGE_DEFAULT = 20
VIEWS_BATCH_MAX = 100
"""Post ids in one "I have seen these" request."""
SEARCH_QUERY_MAX = 200
"""Characters of a search query."""
SEARCH_TERMS_MAX = 16
"""Words of a search query that are used; the rest are ignored."""
SEARCH_RESULTS_MAX = 50
INVITE_TOKEN_BYTES = 16
"""128 random bits per unlisted channel's invite link token."""
WEB_POSTS_PER_PAGE = 30
"""Posts on one server-rendered channel page."""
LANDING_CHANNELS = 12
"""Channels the landing page (``/``) lists, most followed first."""

# --- Media (byte limits per kind live in services/imaging.py) -----------------------
UPLOAD_CHUNK_BYTES = 64 * 1024
"""Read size while streaming an upload to disk or a download from it."""
BLOB_GC_GRACE_S = 24 * 3600
"""A blob nobody references is deleted only after this age: an upload waits for its
post for at most this long, and a GC never races a post being written."""
MEDIA_CACHE_MAX_AGE_S = 60
"""How long a browser or CDN may reuse a public media response before it must ask again
(``public, max-age=60, must-revalidate``). A blob's bytes never change, but whether it may
be served does: a removal must reach every cache within this (docs/operating.md, "A CDN
in front of /media")."""
MEDIA_PREVIEW_TTL_S = 300
"""Life of the signed URL through which an uploader previews media that no public object
uses yet; a URL that claims to live longer is refused as forged."""
MEDIA_PDQ_FRAMES_MAX = 64
"""Frames of one animation hashed with PDQ at upload (evenly spaced when it has more):
bounds the hashing cost of a 300-frame GIF to about that of 64 photos."""
MEDIA_HASH_PROCESSES = 2
"""Worker processes that compute uploads' PDQ query hashes beside the thread that
re-encodes them (``services/hash_workers.py``): a photo's two halves (its dihedral
hashes, the derived variants) run at once; more uploads queue."""
MEDIA_PHOTO_SIGNALS_BUDGET_MS = 30
"""Budget (docs/decisions.md, "Media pipeline"): decode + PDQ + exact hashes of a
1-megapixel photo. Measured by benchmarks/media_pipeline.py, not asserted in a test."""
MEDIA_IMAGE_POST_P99_BUDGET_MS = 50
"""Budget: upload + publish of a 1-megapixel image post, p99 on a quiet machine
(benchmarks/media_pipeline.py)."""
MEDIA_VIDEO_DECIDE_BUDGET_S = 5
"""Budget: a 60-second 720p H.264 video decided (hashed and matched) at upload."""

# --- Hash banks (issue #6) ----------------------------------------------------------
BANK_DESCRIPTION_MAX = 1024
BANK_UPLOAD_MAX_BYTES = 32 * 1024 * 1024
"""Largest body of a bank file upload or one import request (the CLI sends chunks)."""
BANK_IMPORT_CHUNK_LINES = 20_000
"""Lines the CLI sends per import request, so a long import shows progress."""
BANK_IMPORT_BATCH_ROWS = 2_000
"""Entries written per transaction during an import (bounded lock time)."""
BANK_ENTRIES_PAGE_MAX = 500
BANK_ENTRIES_PAGE_DEFAULT = 100
BANK_QUERY_MAX = 256
"""Longest ``q`` substring filter when listing entries."""
BANK_CHANGES_BATCH = 10_000
"""Change-log rows applied to the in-memory matcher per read."""
BANK_REFRESH_INTERVAL_S = 2.0
"""How often each server process polls the bank change log (matches apply within this)."""
BANK_SNAPSHOT_EVERY_CHANGES = 5_000
"""Rewrite the on-disk matcher snapshot after this many applied changes."""
BANK_EXCHANGE_NAME_MAX = 64
BANK_EXCHANGES_MAX_BATCHES = 10_000
"""Exchange deltas applied per fetch request; the checkpoint lets the next call resume."""
BANK_NAME_MAX = 64
"""Longest bank name (the engine's pattern ``[A-Z][A-Z0-9_]{2,63}``)."""
BANK_SIGNAL_TYPE_MAX = 32
"""Longest signal type or exchange type name."""
BANK_CREDENTIALS_REF_MAX = 128
"""Longest name of the environment variable holding an exchange's credentials."""
QUARANTINE_ITEMS = 20
"""A partner bank entry matching more than this many distinct items in the window is
quarantined (setting ``quarantine_items``; 0 turns the quarantine off)."""
QUARANTINE_UPLOADERS = 2
"""...from at least this many distinct uploaders (``quarantine_uploaders``): one account
reposting banked content over and over is not a sign of a bad entry."""
QUARANTINE_WINDOW_S = 3600
"""The quarantine's window (``quarantine_window_s``)."""
FALSE_MATCH_LIMIT = 3
""""No violation" decisions on cases opened by an entry's matches before the entry is
quarantined pending review (``false_match_limit``; 0: never)."""
EXCHANGE_INTERVAL_MIN_S = 300
"""Shortest schedule for an exchange fetch (partners' APIs are rate limited)."""
EXCHANGE_INTERVAL_MAX_S = 7 * 24 * 3600
EXCHANGE_BACKOFF_BASE_S = 60
"""First retry after a failed scheduled fetch; doubles with each failure in a row."""
EXCHANGE_BACKOFF_MAX_S = 6 * 3600
"""Longest wait between retries (capped further by the exchange's own interval)."""
EXCHANGE_SCHEDULE_POLL_S = 30.0
"""How often each server process looks for exchanges due to fetch."""
EXCHANGE_ERROR_MAX = 500
"""Characters of an exchange's error kept in its status."""
EXCHANGE_REASONS_KEPT = 50
"""Distinct rejection reasons kept per exchange; the rest count as "other reasons"."""

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
RATE_TRANSPARENCY = RateRule("transparency", 60, 60, "address")
"""Public transparency page and JSON from one address (each may aggregate a period)."""

RATE_RULES: dict[str, RateRule] = {r.name: r for r in (
    RATE_REGISTER, RATE_LOGIN_ADDRESS, RATE_LOGIN_USERNAME, RATE_SEND, RATE_POST,
    RATE_REPORT, RATE_KEY_CLAIM_DEVICE, RATE_KEY_CLAIM_ACCOUNT, RATE_TRANSPARENCY)}

LOGIN_FREE_FAILURES = 5
"""Wrong passwords for one username from one address before that pair's backoff starts."""
LOGIN_FREE_FAILURES_ANY_ADDRESS = 20
"""Wrong passwords for one username from all addresses together before the username is
locked for every address where its owner has not logged in lately (guessing from many
addresses); known addresses are exempt, so the owner is never locked out by strangers."""
LOGIN_KNOWN_ADDRESS_S = 30 * 24 * 3600
"""How long an address where a username logged in stays known (exempt from the
username-wide lock and the per-username rate)."""
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
TRUSTED_FLAGGERS_LIST_MAX = 1000
"""Trusted flaggers ``GET /api/v1/admin/trusted-flaggers`` lists at most (DSA Art. 22
status is awarded to a few organisations, not to crowds)."""
JOBS_PAGE_MAX = 100
"""Jobs one listing (``GET /api/v1/jobs``) returns at most, newest first."""
JOB_KIND_MAX = 64
JOB_DEDUPE_KEY_MAX = 200
JOB_PAYLOAD_MAX_BYTES = 64 * 1024
"""Jobs carry references (ids, hashes), not content."""

# --- Process ----------------------------------------------------------------------
GC_FREEZE_INTERVAL_S = 10.0
"""How often long-lived objects (open connections) move out of the collector's sight;
see server/gc_policy.py. Measured: with 10,000 connections an unfrozen full
collection pauses the server for 1.1-1.5 s."""
GC_FULL_INTERVAL_S = 3600.0
"""How often everything is unfrozen and collected once, reclaiming cyclic garbage of
connections that closed meanwhile (one full pause per interval)."""

# --- Reports and review (issue #8) ------------------------------------------------
REPORT_CONTEXT_MAX = 5
"""Preceding messages a verifiable private report may carry as context."""
REPORT_EXPLANATION_MAX = 4000
REPORT_LOCATION_MAX = 1000
REPORT_PAYLOAD_MAX = 64 * 1024
"""A reported message's payload (canonical JSON), base64-decoded."""
REPORT_DISCLOSED_MAX = 512 * 1024
REPORT_DISCLOSED_KEEP_MS = 183 * 24 * 3600 * 1000
"""A disclosed attachment is deleted this long (six months: the appeal window of DSA
Art. 20) after it was last disclosed, once no case that names it is still undecided."""
REPORT_DISCLOSED_SWEEP_S = 3600.0
"""How often each server process looks for disclosed attachments past their keep."""
"""An attachment a reporter discloses with a report (its decrypted bytes): within the
1 MiB JSON body once base64-encoded. Larger files are reported by name, type and size."""
REVIEW_LEASE_DEFAULT_MS = 15 * 60_000
"""How long a claim holds a case unless the moderator asks for another length."""
REVIEW_QUEUE_PAGE_MAX = 200
APPEAL_TEXT_MAX = 4000

# --- private groups (issue 4) ------------------------------------------------------
#: Members of one private group; adding beyond it is 422 ``group_full``.
GROUP_MEMBERS_MAX = 1000
#: Users named in one create/add request.
GROUP_CHANGE_USERS_MAX = 100
#: Admins of one group.
GROUP_ADMINS_MAX = 50
GROUP_TITLE_MAX = 128
#: Groups one user may belong to.
GROUPS_PER_USER_MAX = 500
#: A Megolm ciphertext stored once per group message (base64 characters).
GROUP_CIPHERTEXT_MAX_CHARS = 256 * 1024
GROUP_SESSION_ID_MAX = 64
#: Group message ciphertexts no device still references are deleted every this many sends.
GROUP_PRUNE_EVERY = 500
#: Ciphertexts recently stored, kept in memory to expand live stream events without a read.
GROUP_EXPAND_CACHE = 4096
#: Disappearing-message timer bounds (per conversation). The floor keeps a message on
#: screen long enough to be read and reported (issue 20: a 5 s timer made abuse
#: unreportable); the server refuses shorter timers it sees, clients refuse to set them.
DISAPPEAR_MIN_MS = 60 * 1000
DISAPPEAR_MAX_MS = 28 * 24 * 3600 * 1000
#: One encrypted attachment: the crypto layer's plaintext limit plus the AES-GCM tag.
ATTACHMENT_UPLOAD_MAX_BYTES = 100 * 1024 * 1024 + 16
#: Encrypted attachment bytes one user may have stored at once.
ATTACHMENT_QUOTA_BYTES = 1024 * 1024 * 1024
#: Attachments are deleted this long after upload (recipients download well before).
ATTACHMENT_RETENTION_MS = 30 * 24 * 3600 * 1000
#: How often each server process deletes expired disappearing messages and attachments.
DISAPPEAR_SWEEP_S = 30.0

# --- transparency reports and statements-of-reasons export (issue 9) ----------------
#: Longest period one report or export may span (a reporting year plus slack, times 5).
TRANSPARENCY_PERIOD_MAX_DAYS = 5 * 366
#: Days the public daily count of terrorist-channel bans shows by default, and at most.
TERROR_BANS_DEFAULT_DAYS = 30
TERROR_BANS_MAX_DAYS = 366

# --- removal orders and preservation (issue 9; TCO Regulation (EU) 2021/784) ---------
ORDER_REFERENCE_MAX = 200
ORDER_TARGET_MAX = 2000
ORDER_TEXT_MAX = 8000
"""Legal basis, reasons and cannot-comply details: characters each."""
AUTHORITY_NAME_MAX = 200
ORDERS_PAGE_MAX = 200
#: Posts of a channel (and their media) copied into the preservation store when the
#: channel is disabled; older posts beyond it are listed by id only.
PRESERVE_CHANNEL_POSTS_MAX = 1000
PRESERVE_BLOBS_MAX = 200
"""Media files copied per preserved item."""

# --- private messaging that cannot be turned against its users (issue 20) -----------
KEY_CLAIM_PER_CLAIMER_WINDOW_MS = 24 * 3600 * 1000
KEY_CLAIM_PER_CLAIMER_MAX = 1
"""Fresh one-time keys one account may take of one device per window (a day); beyond
it the claimer gets the device's fallback key. A session lasts, so one a day is plenty."""
KEY_CLAIM_PER_DEVICE_WINDOW_MS = 3600 * 1000
KEY_CLAIM_PER_DEVICE_MAX = 30
"""Fresh one-time keys all claimers together may take of one device per hour: bounds a
drain by many fresh accounts to 30 keys an hour, well under ``KEYS_OTK_TARGET`` plus
what a device tops up; later claimers get the fallback key, which keeps it reachable."""
KEY_CLAIMS_PRUNE_EVERY = 500
"""Claims between two deletions of claim-log rows older than the longest window."""
BLOCKS_PER_USER_MAX = 10_000
"""Accounts one person may block."""
REQUESTS_PAGE_MAX = 500
"""Message requests (and blocked accounts) listed at once."""
GROUP_INVITES_PER_INVITER_MAX = 100
"""Invitations one account may have outstanding (pending, declined or hidden) until they
expire: 500 adds can no longer fill anyone's group limit, and a spammer runs dry."""
GROUP_INVITES_PER_INVITEE_MAX = 50
"""Pending invitations one person sees; more are kept silently hidden (the inviter
cannot tell) until some are accepted, declined or expire."""
GROUP_INVITE_TTL_MS = 7 * 24 * 3600 * 1000
"""An invitation not accepted within a week expires (for the inviter: it stops being
listed as invited, whether it was declined or just ignored)."""
