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

# --- Public channels --------------------------------------------------------------
# Handle and title/description lengths live in protocol/handles.py (HANDLE_MIN...).
POST_TEXT_MAX = 4096
"""Characters (code points) of a channel post's text, as on Telegram."""
POST_MEDIA_MAX = 10
"""Media items (photo, video, file) attached to one post."""
CHANNEL_ADMINS_MAX = 50
"""Admins per channel besides the owner."""
CHANNELS_OWNED_MAX = 100
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

# --- Media (byte limits per kind live in services/imaging.py) -----------------------
UPLOAD_CHUNK_BYTES = 64 * 1024
"""Read size while streaming an upload to disk or a download from it."""
BLOB_GC_GRACE_S = 24 * 3600
"""A blob nobody references is deleted only after this age: an upload waits for its
post for at most this long, and a GC never races a post being written."""
MEDIA_CACHE_MAX_AGE_S = 365 * 24 * 3600
"""Blobs are content-addressed, so a URL's bytes never change: cache for a year."""

# --- Process ----------------------------------------------------------------------
GC_FREEZE_INTERVAL_S = 10.0
"""How often long-lived objects (open connections) move out of the collector's sight;
see server/gc_policy.py. Measured: with 10,000 connections an unfrozen full
collection pauses the server for 1.1-1.5 s."""
GC_FULL_INTERVAL_S = 3600.0
"""How often everything is unfrozen and collected once, reclaiming cyclic garbage of
connections that closed meanwhile (one full pause per interval)."""
