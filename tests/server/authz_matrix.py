"""The authorisation matrix: who may call each route of the app, one line per route.

``tests/server/test_authz_matrix.py`` lists every route of the FastAPI app (HTTP and
WebSocket) at test time and fails for any route missing here, so a new route cannot
ship without saying who may call it. To add a route, add one ``Rule`` line:

    Rule("POST", "/api/v1/things/{thing_id}", USERS, params={"thing_id": "thing"}),

``allow`` is the set of identities that must get through (any status but the rule's
denials); every other identity must be denied. Identities are real accounts in a world
the test seeds through the API (see ``World`` in the test):

- ``anon``: no credentials at all.
- ``user``: alice. Owns the group, the unlisted channel ``inner`` and its posts, a
  report, a decided case about her post, two devices.
- ``other``: bob, another user: in no group, no channel, owns nothing.
- ``member``: carol, a member (not admin) of alice's group.
- ``chan_admin``: dave, an admin of ``inner`` who may post (not edit others, not manage).
- ``subscriber``: erin, subscribed to ``inner`` through its invite link.
- ``moderator``, ``auditor``, ``admin``, ``authority``: accounts with those roles.

``params`` maps a path parameter to a key of ``World.values`` (``"gid"`` -> the group's
id). ``body`` names a body builder in the test (``BODIES``); ``fresh`` names a factory
that makes a new object (or picks a spare session) before each identity's request, for
routes whose allowed call destroys what later requests need (delete a channel, leave a
group, log out); ``order`` puts calls that end accounts after everything else.
``deny`` is which statuses count as "denied": 401/403 by default; 404 joins them where
the object must not be revealed to those who may not see it (then an allowed call must
not answer 404 either). Console pages deny by redirecting to the login page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ANON, USER, OTHER, MEMBER = "anon", "user", "other", "member"
CHAN_ADMIN, SUBSCRIBER = "chan_admin", "subscriber"
MODERATOR, AUDITOR, ADMIN, AUTHORITY = "moderator", "auditor", "admin", "authority"

IDENTITIES = (ANON, USER, OTHER, MEMBER, CHAN_ADMIN, SUBSCRIBER, MODERATOR, AUDITOR, ADMIN,
              AUTHORITY)
EVERYONE = frozenset(IDENTITIES)
AUTHED = EVERYONE - {ANON}
NOBODY: frozenset[str] = frozenset()
STAFF = frozenset({MODERATOR, AUDITOR, ADMIN})
DECIDERS = frozenset({MODERATOR, ADMIN})
ADMINS = frozenset({ADMIN})
SEE_INNER = frozenset({USER, CHAN_ADMIN, SUBSCRIBER}) | STAFF
"""Who sees the unlisted channel without its invite: owner, admins, subscribers, staff."""
GROUP = frozenset({USER, MEMBER})
OWNER = frozenset({USER})
POSTERS = frozenset({USER, CHAN_ADMIN})

AUTH = frozenset({401, 403})
HIDDEN = frozenset({401, 403, 404})
CONSOLE = frozenset({303, 401, 403})
"""Console pages: 303 to the login page (no staff session), or 401/403 on a form."""

GATEWAY = "WS"
"""Method name used for the WebSocket gateway (served on the app's fast path)."""


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    allow: frozenset[str]
    deny: frozenset[int] = AUTH
    params: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    fresh: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    order: int = 0
    """Rules run by ``order``: a call that ends a session or an account runs last."""
    reveal: frozenset[str] | None = None
    """Who may know the object exists: a denied identity in it must get 403, anyone
    else (signed in) 404. None: any status of ``deny``."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)


CH = "/api/v1/channels/{handle}"
INNER = {"handle": "inner"}
POST = {"handle": "inner", "number": "number"}
GID = {"gid": "gid"}
ADMIN_OF = {"handle": "inner", "username": "bystander"}
DEAN = {"handle": "inner", "username": "chan_admin_name"}


def ch(method: str, suffix: str, allow: frozenset[str], params: dict[str, str] | None = None,
       **kw: str) -> Rule:
    """A rule on the unlisted channel: hidden (404) from those who may not see it."""
    return Rule(method, CH + suffix, allow, HIDDEN, params or INNER, reveal=SEE_INNER, **kw)


def grp(method: str, suffix: str, allow: frozenset[str], **kw: str) -> Rule:
    """A rule on alice's group: 403 for whoever is not a member (or not its admin)."""
    params = {"gid": "gid", "user": "member_name"} if "{user}" in suffix else GID
    return Rule(method, "/api/v1/groups/{gid}" + suffix, allow, HIDDEN, params,
                reveal=AUTHED, **kw)


CASE = {"case_id": "open_case"}
ORDER = {"order_id": "order_id"}
ITEM = {"item_id": "preserved"}
AUTHORITIES = frozenset({AUTHORITY})
READ_ORDERS = STAFF | AUTHORITIES
"""Staff read every order; the authority its own (the seeded order is its own)."""
PRESERVED = ADMINS | AUTHORITIES
"""Preserved content: admins, and the authority whose order preserved it."""
AUDITORS = frozenset({AUDITOR, ADMIN})

RULES: list[Rule] = [
    # --- public: docs, health, media, public pages ---------------------------------
    Rule("GET", "/openapi.json", EVERYONE),
    Rule("GET", "/", EVERYONE),
    Rule("GET", "/favicon.ico", EVERYONE),
    Rule("GET", "/api/docs", EVERYONE),
    Rule("GET", "/healthz", EVERYONE),
    Rule("GET", "/readyz", EVERYONE),
    Rule("GET", "/metrics", EVERYONE),  # counters only; docs/security.md: keep it internal
    Rule("GET", "/static", EVERYONE),
    Rule("GET", "/media/{sha256}", EVERYONE, params={"sha256": "media"}),
    Rule("GET", "/api/v1/media/{sha256}/preview", OWNER, HIDDEN,  # the uploader only
         params={"sha256": "media"}),
    Rule("GET", "/c/{handle}", NOBODY, HIDDEN, INNER, reveal=NOBODY),  # unlisted: needs
    Rule("GET", "/c/{handle}/{number}", NOBODY, HIDDEN, POST, reveal=NOBODY),  # ?invite=
    Rule("GET", "/api/v1/search/channels", EVERYONE, query={"q": "inner"}),
    Rule("GET", "/api/v1/search/posts", EVERYONE, query={"q": "hello"}),
    # --- accounts ----------------------------------------------------------------------
    Rule("POST", "/api/v1/accounts/register", EVERYONE, body="register"),
    Rule("POST", "/api/v1/accounts/login", EVERYONE, body="login"),
    Rule("GET", "/api/v1/accounts/me", AUTHED),
    Rule("POST", "/api/v1/accounts/logout", AUTHED, fresh="spare", order=1),
    Rule("GET", "/api/v1/accounts/devices", AUTHED),
    Rule("DELETE", "/api/v1/accounts/devices/{device_id}", OWNER, HIDDEN,
         {"device_id": "user_tablet"}, reveal=OWNER),
    Rule("POST", "/api/v1/accounts/delete", AUTHED, body="password", order=2),
    Rule("GET", "/api/v1/accounts/profile", AUTHED),
    Rule("PUT", "/api/v1/accounts/profile", AUTHED, body="profile"),
    # --- private messaging --------------------------------------------------------------
    Rule(GATEWAY, "/api/v1/ws", AUTHED),
    Rule("GET", "/api/v1/stream", AUTHED),
    Rule("POST", "/api/v1/stream/ack", AUTHED, body="ack"),
    Rule("POST", "/api/v1/keys/upload", AUTHED, body="empty"),
    Rule("GET", "/api/v1/keys/count", AUTHED),
    Rule("POST", "/api/v1/keys/query", AUTHED, body="key_query"),
    Rule("POST", "/api/v1/keys/claim", AUTHED, body="key_claim"),
    Rule("POST", "/api/v1/messages", AUTHED, body="message"),
    Rule("POST", "/api/v1/attachments", AUTHED, body="bytes"),
    Rule("GET", "/api/v1/attachments/{sha256}", AUTHED, params={"sha256": "attachment"}),
    # --- groups ---------------------------------------------------------------------------
    Rule("POST", "/api/v1/groups", AUTHED, body="group"),
    Rule("GET", "/api/v1/groups", AUTHED),
    grp("GET", "", GROUP),
    grp("POST", "/members", OWNER, body="add_member"),
    grp("DELETE", "/members/{user}", GROUP, fresh="group"),
    grp("POST", "/leave", GROUP, fresh="group"),
    grp("PUT", "/title", OWNER, body="title"),
    grp("PUT", "/timer", GROUP, body="timer"),  # as Signal
    grp("POST", "/messages", GROUP, body="group_message"),
    # --- consent (issue 20): blocks, message requests, invitations --------------------------
    Rule("POST", "/api/v1/blocks", AUTHED, body="block"),
    Rule("GET", "/api/v1/blocks", AUTHED),
    Rule("DELETE", "/api/v1/blocks/{user}", AUTHED, params={"user": "blockee"}),
    Rule("GET", "/api/v1/requests", AUTHED),
    Rule("POST", "/api/v1/requests/{user}/accept", AUTHED, params={"user": "bystander"}),
    Rule("DELETE", "/api/v1/requests/{user}", NOBODY, HIDDEN, {"user": "bystander"},
         reveal=NOBODY),  # nobody has a request from the bystander: 404 for all
    Rule("GET", "/api/v1/invitations", AUTHED),
    Rule("POST", "/api/v1/invitations/{gid}/accept", NOBODY, HIDDEN, GID, reveal=NOBODY),
    Rule("POST", "/api/v1/invitations/{gid}/decline", NOBODY, HIDDEN, GID, reveal=NOBODY),
    # --- channels -------------------------------------------------------------------------
    Rule("POST", "/api/v1/channels", AUTHED, body="channel"),
    ch("GET", "", SEE_INNER),
    ch("PATCH", "", OWNER, body="channel_patch"),
    ch("DELETE", "", OWNER, fresh="channel"),
    ch("POST", "/invite", OWNER, fresh="channel"),
    ch("GET", "/admins", POSTERS),
    ch("PUT", "/admins/{username}", OWNER, ADMIN_OF, body="admin_rights"),
    ch("DELETE", "/admins/{username}", POSTERS, DEAN, fresh="channel"),
    ch("POST", "/subscription", SEE_INNER),
    ch("DELETE", "/subscription", SEE_INNER, fresh="channel"),
    Rule("GET", "/api/v1/subscriptions", AUTHED),
    ch("POST", "/posts", POSTERS, body="post"),
    ch("GET", "/posts", SEE_INNER),
    ch("GET", "/posts/{number}", SEE_INNER, POST),
    ch("PATCH", "/posts/{number}", OWNER, POST, body="post_patch"),
    ch("DELETE", "/posts/{number}", OWNER, POST, fresh="post"),
    ch("POST", "/posts/{number}/forward", POSTERS, POST, body="forward"),
    ch("PUT", "/pin", OWNER, body="pin"),
    ch("DELETE", "/pin", OWNER),
    ch("POST", "/views", SEE_INNER, body="views"),
    ch("GET", "/updates", SEE_INNER),
    Rule("POST", "/api/v1/media", AUTHED, body="photo"),
    # --- reports, notices, appeals ----------------------------------------------------
    Rule("POST", "/api/v1/reports", AUTHED, body="report"),
    Rule("GET", "/api/v1/reports/{report_id}", OWNER, HIDDEN, {"report_id": "report_id"},
         reveal=OWNER),
    Rule("GET", "/api/v1/notices", AUTHED),
    Rule("POST", "/api/v1/cases/{case_id}/appeal", OWNER, HIDDEN,
         {"case_id": "decided_case"}, body="appeal", reveal=OWNER),
    # --- staff: review API ------------------------------------------------------------
    Rule("GET", "/api/v1/mod/queue", STAFF),
    Rule("GET", "/api/v1/mod/cases/{case_id}", STAFF, params=CASE),
    Rule("POST", "/api/v1/mod/cases/{case_id}/claim", DECIDERS, params=CASE, body="lease"),
    Rule("POST", "/api/v1/mod/cases/{case_id}/release", DECIDERS, params=CASE),
    Rule("POST", "/api/v1/mod/cases/{case_id}/decision", DECIDERS, params=CASE,
         body="decision"),
    Rule("POST", "/api/v1/mod/cases/{case_id}/appeal-decision", DECIDERS, params=CASE,
         body="appeal_decision"),
    Rule("GET", "/api/v1/admin/trusted-flaggers", STAFF),
    Rule("PUT", "/api/v1/admin/users/{name}/trusted-flagger", ADMINS,
         params={"name": "bystander"}, body="trusted"),
    # --- staff: rules, actions, banks, jobs ----------------------------------------------
    Rule("GET", "/api/v1/admin/rules", STAFF),
    Rule("PUT", "/api/v1/admin/rules", ADMINS, body="rules"),
    Rule("POST", "/api/v1/admin/webhooks", ADMINS, body="webhook"),
    Rule("GET", "/api/v1/admin/webhooks", frozenset({AUDITOR, ADMIN})),
    Rule("GET", "/api/v1/admin/webhooks/{endpoint_id}/deliveries", frozenset({AUDITOR, ADMIN}),
         params={"endpoint_id": "job_id"}),
    Rule("DELETE", "/api/v1/admin/webhooks/{endpoint_id}", ADMINS,
         params={"endpoint_id": "job_id"}),
    Rule("GET", "/api/v1/admin/audit/verify", ADMINS | {AUDITOR}),
    Rule("POST", "/api/v1/admin/held/{post_id}/release", DECIDERS,
         params={"post_id": "post_id"}),
    Rule("POST", "/api/v1/admin/posts/{post_id}/remove", DECIDERS,
         params={"post_id": "post_id"}, fresh="post"),
    Rule("POST", "/api/v1/admin/held/{post_id}/remove", DECIDERS,
         params={"post_id": "post_id"}, fresh="post"),
    Rule("GET", "/api/v1/jobs", STAFF),
    Rule("GET", "/api/v1/jobs/{job_id}", STAFF, params={"job_id": "job_id"}),
    # the HMA-compatible API (server/routes/hma*.py): staff tokens here; clients with a
    # key or an allowed address are tested in tests/server/test_hma_api.py
    Rule("GET", "/hma/h/hash", STAFF),
    Rule("POST", "/hma/h/hash", STAFF),
    Rule("GET", "/hma/m/raw_lookup", STAFF),
    Rule("GET", "/hma/m/lookup", STAFF),
    Rule("POST", "/hma/m/lookup", STAFF),
    Rule("GET", "/hma/m/index/status", STAFF),
    Rule("GET", "/hma/c/banks", STAFF),
    Rule("POST", "/hma/c/banks", ADMINS, body="empty"),
    Rule("GET", "/hma/c/bank/{bank_name}", STAFF, params={"bank_name": "bank"}),
    Rule("PUT", "/hma/c/bank/{bank_name}", ADMINS, params={"bank_name": "bank"}, body="empty"),
    Rule("DELETE", "/hma/c/bank/{bank_name}", ADMINS, params={"bank_name": "no_bank"}),
    Rule("POST", "/hma/c/bank/{bank_name}/content", ADMINS, params={"bank_name": "bank"}),
    Rule("POST", "/hma/c/bank/{bank_name}/signal", ADMINS, params={"bank_name": "bank"},
         body="empty"),
    Rule("POST", "/hma/m/compare", STAFF, body="empty"),
    Rule("GET", "/hma/c/bank/{bank_name}/content/{content_id}", STAFF,
         params={"bank_name": "bank", "content_id": "job_id"}),
    Rule("PUT", "/hma/c/bank/{bank_name}/content/{content_id}", ADMINS,
         params={"bank_name": "bank", "content_id": "job_id"}, body="empty"),
    Rule("DELETE", "/hma/c/bank/{bank_name}/content/{content_id}", ADMINS,
         params={"bank_name": "bank", "content_id": "job_id"}),
    Rule("GET", "/hma/c/signal_type", STAFF),
    Rule("GET", "/hma/c/signal_type/index", STAFF),
    Rule("PUT", "/hma/c/signal_type/{signal_type_name}", ADMINS,
         params={"signal_type_name": "hma_api"}, body="empty"),
    Rule("GET", "/hma/c/content_type", STAFF),
    Rule("GET", "/hma/c/exchanges/apis", STAFF),
    Rule("GET", "/hma/c/exchanges/api/{api_name}", STAFF, params={"api_name": "hma_api"}),
    Rule("POST", "/hma/c/exchanges/api/{api_name}", ADMINS, params={"api_name": "hma_api"},
         body="empty"),
    Rule("GET", "/hma/c/exchanges/api/{api_name}/schema", STAFF,
         params={"api_name": "hma_api"}),
    Rule("GET", "/hma/c/exchanges", STAFF),
    Rule("POST", "/hma/c/exchanges", ADMINS, body="empty"),
    Rule("GET", "/hma/c/exchange/{exchange_name}", STAFF, params={"exchange_name": "no_bank"}),
    Rule("GET", "/hma/c/exchange/{exchange_name}/status", STAFF,
         params={"exchange_name": "no_bank"}),
    Rule("PUT", "/hma/c/exchange/{exchange_name}", ADMINS,
         params={"exchange_name": "no_bank"}, body="empty"),
    Rule("DELETE", "/hma/c/exchange/{exchange_name}", ADMINS,
         params={"exchange_name": "no_bank"}),
    Rule("GET", "/api/v1/banks", STAFF),
    Rule("POST", "/api/v1/banks", ADMINS, body="empty"),
    Rule("PATCH", "/api/v1/banks/{name}", ADMINS, params={"name": "bank"}, body="empty"),
    Rule("GET", "/api/v1/banks/{name}/entries", STAFF, params={"name": "bank"}),
    Rule("POST", "/api/v1/banks/{name}/entries", ADMINS, params={"name": "bank"},
         body="empty"),
    Rule("PATCH", "/api/v1/banks/{name}/entries/{entry_id}", ADMINS,
         params={"name": "bank", "entry_id": "job_id"}, body="empty"),
    Rule("POST", "/api/v1/banks/{name}/import", ADMINS, params={"name": "bank"},
         body="empty"),
    Rule("GET", "/api/v1/banks/{name}/export", STAFF, params={"name": "bank"}),
    Rule("GET", "/api/v1/banks/{name}/exchanges", STAFF, params={"name": "bank"}),
    Rule("PUT", "/api/v1/banks/{name}/exchanges/{exchange}", ADMINS,
         params={"name": "bank", "exchange": "bank"}, body="empty"),
    Rule("POST", "/api/v1/banks/{name}/fetch", ADMINS, params={"name": "bank"}),
    Rule("GET", "/api/v1/banks/{name}/export/summary", STAFF, params={"name": "bank"}),
    Rule("GET", "/api/v1/banks/{name}/exchanges/{exchange}", STAFF,
         params={"name": "bank", "exchange": "bank"}),
    Rule("PUT", "/api/v1/banks/{name}/exchanges/{exchange}/schedule", ADMINS,
         params={"name": "bank", "exchange": "bank"}, body="empty"),
    # --- the web console (cookie sessions) -------------------------------------------
    Rule("GET", "/console/login", EVERYONE),
    Rule("POST", "/console/login", EVERYONE, body="console_login"),
    Rule("POST", "/console/logout", EVERYONE, body="csrf", order=3),
    Rule("GET", "/console", STAFF, CONSOLE),
    Rule("GET", "/console/queue", STAFF, CONSOLE),
    Rule("GET", "/console/appeals", STAFF, CONSOLE),
    Rule("GET", "/console/cases/{case_id}", STAFF, CONSOLE, CASE),
    Rule("GET", "/console/cases/{case_id}/disclosed/{sha256}", STAFF, CONSOLE,
         {**CASE, "sha256": "media"}),  # staff: the file if the case names it, else 404
    Rule("POST", "/console/cases/{case_id}/claim", DECIDERS, CONSOLE, CASE, body="csrf"),
    Rule("POST", "/console/cases/{case_id}/decision", DECIDERS, CONSOLE, CASE,
         body="console_decision"),
    Rule("POST", "/console/cases/{case_id}/appeal-decision", DECIDERS, CONSOLE, CASE,
         body="console_appeal_decision"),
    Rule("POST", "/console/preferences", STAFF, CONSOLE, body="csrf"),
    Rule("GET", "/console/orders", STAFF, CONSOLE),
    Rule("GET", "/console/exchanges", STAFF, CONSOLE),
    Rule("GET", "/console/orders/{order_id}", STAFF, CONSOLE, ORDER),
    Rule("POST", "/console/orders/{order_id}/cannot-comply", DECIDERS, CONSOLE, ORDER,
         body="console_cannot_comply"),
    Rule("POST", "/console/orders/{order_id}/execute", DECIDERS, CONSOLE, ORDER, body="csrf"),
    # --- removal orders and preservation (TCO Art. 3, 6) --------------------------------
    Rule("POST", "/api/v1/admin/authorities", ADMINS, body="authority"),
    Rule("POST", "/api/v1/orders", AUTHORITIES, body="order"),
    Rule("GET", "/api/v1/orders", READ_ORDERS),
    Rule("GET", "/api/v1/orders/{order_id}", READ_ORDERS, params=ORDER),
    Rule("GET", "/api/v1/orders/{order_id}/confirmation", READ_ORDERS, params=ORDER),
    Rule("POST", "/api/v1/orders/{order_id}/withholding/extend", AUTHORITIES, params=ORDER),
    Rule("POST", "/api/v1/orders/{order_id}/cannot-comply", DECIDERS, params=ORDER,
         body="cannot_comply"),
    Rule("POST", "/api/v1/orders/{order_id}/execute", DECIDERS, params=ORDER),
    Rule("POST", "/api/v1/orders/{order_id}/confirm", ADMINS, params=ORDER),
    Rule("GET", "/api/v1/preservation", PRESERVED),
    Rule("GET", "/api/v1/preservation/{item_id}", PRESERVED, params=ITEM),
    Rule("GET", "/api/v1/preservation/{item_id}/blobs/{sha256}", PRESERVED,
         params={"item_id": "preserved", "sha256": "preserved_blob"}),
    Rule("POST", "/api/v1/preservation/{item_id}/extend", PRESERVED, params=ITEM,
         body="months"),
    # --- transparency (DSA Art. 15, 17, 24; TCO Art. 7) ------------------------------
    Rule("GET", "/api/v1/transparency/report", AUDITORS,
         query={"from": "2026-01-01", "to": "2026-12-31"}),
    Rule("GET", "/api/v1/transparency/sor-export", AUDITORS, query={"since": "2026-01-01"}),
    Rule("GET", "/transparency", EVERYONE),
    Rule("GET", "/transparency/terrorist-channel-bans.json", EVERYONE),
]

BY_KEY: dict[tuple[str, str], Rule] = {r.key: r for r in RULES}
assert len(BY_KEY) == len(RULES), "one rule per (method, path)"
