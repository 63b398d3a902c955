"""Which `tidings` command covers each API operation, and the few left to the API.

tests/cli/test_cli_coverage.py compares this table with the app's OpenAPI document and
with the commands the CLI has: an operation with neither a command nor a reason, a
command that does not exist, or a stale entry fails it. docs/cli-commands.md prints
the same reasons. An operation is named ``"METHOD /path"`` as in the OpenAPI document
and compared by its shape (``shape``: a path parameter's name does not matter); the
key ``"* /prefix/*"`` in ``LEFT_TO_API`` covers every method and path under ``/prefix/``
that ``COMMANDS`` does not map.

Some commands serve an operation's purpose from the server's data directory rather
than over HTTP (``transparency``, ``audit verify``); docs/cli-commands.md marks them.
"""

from __future__ import annotations

import re
from typing import Final

COMMANDS: Final[dict[str, str]] = {
    # accounts and devices
    "POST /api/v1/accounts/register": "account register",
    "POST /api/v1/accounts/login": "account login",
    "GET /api/v1/accounts/me": "account whoami",
    "POST /api/v1/accounts/logout": "account logout",
    "GET /api/v1/accounts/devices": "account devices",
    "DELETE /api/v1/accounts/devices/{device_id}": "account revoke",
    "POST /api/v1/accounts/delete": "account delete",
    "GET /api/v1/accounts/profile": "account profile",
    "PUT /api/v1/accounts/profile": "account profile",
    # end-to-end encrypted messages: the commands that do the key work behind the scenes
    "GET /api/v1/stream": "receive",
    "POST /api/v1/stream/ack": "receive",
    "POST /api/v1/keys/upload": "account register",
    "GET /api/v1/keys/count": "receive",
    "POST /api/v1/keys/query": "devices",
    "POST /api/v1/keys/claim": "send",
    "POST /api/v1/messages": "send",
    "POST /api/v1/attachments": "send",
    "GET /api/v1/attachments/{sha256}": "receive",
    # groups and invitations
    "GET /api/v1/groups": "group list",
    "POST /api/v1/groups": "group create",
    "GET /api/v1/groups/{gid}": "group show",
    "POST /api/v1/groups/{gid}/members": "group add",
    "DELETE /api/v1/groups/{gid}/members/{user}": "group remove",
    "POST /api/v1/groups/{gid}/leave": "group leave",
    "PUT /api/v1/groups/{gid}/title": "group title",
    "PUT /api/v1/groups/{gid}/timer": "timer",
    "POST /api/v1/groups/{gid}/messages": "group send",
    "GET /api/v1/invitations": "group invitations",
    "POST /api/v1/invitations/{gid}/accept": "group accept",
    "POST /api/v1/invitations/{gid}/decline": "group decline",
    # blocks and message requests
    "GET /api/v1/blocks": "blocked",
    "POST /api/v1/blocks": "block",
    "DELETE /api/v1/blocks/{user}": "unblock",
    "GET /api/v1/requests": "requests",
    "POST /api/v1/requests/{user}/accept": "requests accept",
    "DELETE /api/v1/requests/{user}": "requests delete",
    # channels
    "POST /api/v1/channels": "channel create",
    "GET /api/v1/channels/{handle}": "channel show",
    "PATCH /api/v1/channels/{handle}": "channel edit",
    "DELETE /api/v1/channels/{handle}": "channel delete",
    "POST /api/v1/channels/{handle}/invite": "channel invite",
    "GET /api/v1/channels/{handle}/admins": "channel admins",
    "PUT /api/v1/channels/{handle}/admins/{username}": "channel admin-set",
    "DELETE /api/v1/channels/{handle}/admins/{username}": "channel admin-remove",
    "POST /api/v1/channels/{handle}/subscription": "channel subscribe",
    "DELETE /api/v1/channels/{handle}/subscription": "channel unsubscribe",
    "GET /api/v1/subscriptions": "channel subscriptions",
    "GET /api/v1/search/channels": "channel search",
    "GET /api/v1/search/posts": "channel search",
    # posts
    "POST /api/v1/channels/{handle}/posts": "channel post",
    "GET /api/v1/channels/{handle}/posts": "channel history",
    "GET /api/v1/channels/{handle}/posts/{post_id}": "post show",
    "PATCH /api/v1/channels/{handle}/posts/{post_id}": "post edit",
    "DELETE /api/v1/channels/{handle}/posts/{post_id}": "post delete",
    "POST /api/v1/channels/{handle}/posts/{post_id}/forward": "post forward",
    "PUT /api/v1/channels/{handle}/pin": "post pin",
    "DELETE /api/v1/channels/{handle}/pin": "post unpin",
    # media
    "POST /api/v1/media": "channel post",
    "GET /api/v1/media/{sha256}/preview": "media preview",
    "GET /media/{sha256}": "media get",
    # hash banks and exchanges
    "GET /api/v1/banks": "bank list",
    "POST /api/v1/banks": "bank create",
    "PATCH /api/v1/banks/{name}": "bank edit",
    "GET /api/v1/banks/{name}/entries": "bank entries",
    "POST /api/v1/banks/{name}/entries": "bank add",
    "PATCH /api/v1/banks/{name}/entries/{entry_id}": "bank disable",
    "POST /api/v1/banks/{name}/import": "bank import",
    "GET /api/v1/banks/{name}/export": "bank export",
    "GET /api/v1/banks/{name}/export/summary": "bank export",
    "GET /hma/m/lookup": "bank match",
    "POST /hma/m/lookup": "bank match",
    "GET /api/v1/banks/{name}/exchanges": "bank exchange list",
    "PUT /api/v1/banks/{name}/exchanges/{exchange}": "bank exchange set",
    "GET /api/v1/banks/{name}/exchanges/{exchange}": "bank exchange status",
    "POST /api/v1/banks/{name}/fetch": "bank exchange fetch",
    "PUT /api/v1/banks/{name}/exchanges/{exchange}/schedule": "bank exchange schedule",
    # operators: jobs, webhooks, rules, audit, held and removed posts
    "GET /api/v1/jobs": "job list",
    "GET /api/v1/jobs/{job_id}": "job show",
    "GET /api/v1/admin/webhooks": "webhook list",
    "POST /api/v1/admin/webhooks": "webhook add",
    "DELETE /api/v1/admin/webhooks/{endpoint_id}": "webhook remove",
    "GET /api/v1/admin/webhooks/{endpoint_id}/deliveries": "webhook deliveries",
    "GET /api/v1/admin/rules": "rules get",
    "PUT /api/v1/admin/rules": "rules set",
    "GET /api/v1/admin/audit/verify": "audit verify",
    "POST /api/v1/admin/held/{post_id}/release": "mod release-held",
    "POST /api/v1/admin/held/{post_id}/remove": "mod remove-post",
    "POST /api/v1/admin/posts/{post_id}/remove": "mod remove-post",
    # reports, notices, appeals and the review queue
    "POST /api/v1/reports": "report post",
    "GET /api/v1/reports/{report_id}": "report status",
    "GET /api/v1/notices": "notices",
    "POST /api/v1/cases/{case_id}/appeal": "appeal",
    "GET /api/v1/admin/trusted-flaggers": "mod flagger list",
    "PUT /api/v1/admin/users/{name}/trusted-flagger": "mod flagger add",
    "GET /api/v1/mod/queue": "mod queue",
    "GET /api/v1/mod/cases/{case_id}": "mod show",
    "POST /api/v1/mod/cases/{case_id}/claim": "mod claim",
    "POST /api/v1/mod/cases/{case_id}/release": "mod release",
    "POST /api/v1/mod/cases/{case_id}/decision": "mod decide",
    "POST /api/v1/mod/cases/{case_id}/appeal-decision": "mod decide",
    # transparency
    "GET /api/v1/transparency/sor-export": "transparency sor-export",
    "GET /api/v1/transparency/report": "transparency report",
    "GET /transparency/terrorist-channel-bans.json": "transparency channel-bans",
    # removal orders and preservation
    "POST /api/v1/orders": "order submit",
    "GET /api/v1/orders": "order list",
    "GET /api/v1/orders/{order_id}": "order show",
    "GET /api/v1/orders/{order_id}/confirmation": "order confirmation",
    "POST /api/v1/orders/{order_id}/withholding/extend": "order extend-withholding",
    "POST /api/v1/orders/{order_id}/cannot-comply": "order cannot-comply",
    "POST /api/v1/orders/{order_id}/execute": "order execute",
    "POST /api/v1/orders/{order_id}/confirm": "order confirm",
    "GET /api/v1/preservation": "order preserved-list",
    "GET /api/v1/preservation/{item_id}": "order preserved",
    "GET /api/v1/preservation/{item_id}/blobs/{sha256}": "order preserved-blob",
    "POST /api/v1/preservation/{item_id}/extend": "order extend-preservation",
    "POST /api/v1/admin/authorities": "admin create-authority",
}
"""API operation -> the command that performs it (several operations may share one)."""

LEFT_TO_API: Final[dict[str, str]] = {
    "* /hma/*": "The HMA-compatible API, kept so existing Hasher-Matcher-Actioner "
                  "clients and tooling work unchanged; `tidings bank` and `tidings hash` "
                  "do the same work through /api/v1 (`bank match` uses its lookup).",
    "GET /healthz": "A liveness probe for load balancers and orchestrators, not a person.",
    "GET /readyz": "A readiness probe for load balancers and orchestrators, not a person.",
    "POST /api/v1/channels/{handle}/views": "Counts what a reader's screen displayed; a "
                                            "command that shows no posts would only "
                                            "inflate the counts.",
    "GET /api/v1/channels/{handle}/updates": "A sync feed for clients that keep a local "
                                             "copy of a channel; the CLI keeps none and "
                                             "reads the current state with `channel "
                                             "history`.",
}
"""API operation -> why no command performs it. A handful at most."""


_PARAM = re.compile(r"\{[^}/]*\}")


def shape(operation: str) -> str:
    """``"GET /a/{handle}/posts/{number}"`` -> ``"GET /a/{}/posts/{}"``: renaming a path
    parameter (a post's id became its number) changes no operation."""
    return _PARAM.sub("{}", operation)


_COMMAND_BY_SHAPE: Final = {shape(op): command for op, command in COMMANDS.items()}
_REASON_BY_SHAPE: Final = {shape(op): reason for op, reason in LEFT_TO_API.items()}


def command_for(operation: str) -> str | None:
    """The command that performs ``operation`` ("METHOD /path"), if one does."""
    return _COMMAND_BY_SHAPE.get(shape(operation))


def left_to_api(operation: str) -> str | None:
    """The reason ``operation`` ("METHOD /path") is left to the API, if it is."""
    if shape(operation) in _REASON_BY_SHAPE:
        return _REASON_BY_SHAPE[shape(operation)]
    if command_for(operation) is not None:  # performed, whatever the prefix's reason
        return None
    path = operation.split(" ", 1)[1]
    for key, reason in LEFT_TO_API.items():
        if key.startswith("* ") and key.endswith("/*") and path.startswith(key[2:-1]):
            return reason
    return None
