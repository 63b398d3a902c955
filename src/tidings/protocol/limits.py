"""Every limit Tidings enforces, in one place.

A limit that is not a named constant here is a bug: operators read this file to know
what the server accepts, and tests import the same names to probe the edges.
"""

from __future__ import annotations

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
