"""Pure request builders for operator work over the API (no I/O): rules, jobs, webhooks,
trusted flaggers, held and removed posts, and the public channel-ban list.

Post numbers are taken as the caller gives them, so the admin routes' addressing can
change without these builders changing shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from tidings.client.requests import API, Request
from tidings.protocol.api.channels import Post
from tidings.protocol.api.safety import Removal, Rules, TrustedFlagger, TrustedFlaggerSet
from tidings.protocol.api.transparency import TerroristChannelBans


def rules() -> Request:
    return Request("GET", f"{API}/admin/rules", result=Rules)


def put_rules(text: str) -> Request:
    """The body is the TOML text itself, not JSON (the route validates it first)."""
    return Request("PUT", f"{API}/admin/rules", content=text.encode("utf-8"),
                   content_type="application/toml", result=Rules)


def job(job_id: int) -> Request:
    return Request("GET", f"{API}/jobs/{job_id}")


def webhooks() -> Request:
    return Request("GET", f"{API}/admin/webhooks")


def create_webhook(url: str, events: Sequence[str], description: str = "") -> Request:
    return Request("POST", f"{API}/admin/webhooks",
                   {"url": url, "events": list(events), "description": description})


def delete_webhook(endpoint_id: int) -> Request:
    return Request("DELETE", f"{API}/admin/webhooks/{endpoint_id}")


def webhook_deliveries(endpoint_id: int, limit: int = 50) -> Request:
    return Request("GET", f"{API}/admin/webhooks/{endpoint_id}/deliveries",
                   params={"limit": limit})


def trusted_flaggers() -> Request:
    return Request("GET", f"{API}/admin/trusted-flaggers", result=list[TrustedFlagger])


def jobs(state: str | None = None, kind: str | None = None, limit: int = 50) -> Request:
    params: dict[str, str | int] = {"limit": limit}
    params.update({k: v for k, v in (("state", state), ("kind", kind)) if v})
    return Request("GET", f"{API}/jobs", params=params)


def trusted_flagger(username: str, trusted: bool) -> Request:
    return Request("PUT", f"{API}/admin/users/{username}/trusted-flagger",
                   {"trusted": trusted}, result=TrustedFlaggerSet)


def release_held(post: int) -> Request:
    return Request("POST", f"{API}/admin/held/{post}/release", result=Post)


def remove_post(post: int, labels: Sequence[str] = (), *, held: bool = False) -> Request:
    """Remove a visible post, or with ``held`` a post waiting in review."""
    where = "held" if held else "posts"
    return Request("POST", f"{API}/admin/{where}/{post}/remove",
                   {"labels": list(labels)} if labels else None, result=Removal)


def channel_bans(since: str | None = None, until: str | None = None) -> Request:
    params = {k: v for k, v in (("from", since), ("to", until)) if v}
    return Request("GET", "/transparency/terrorist-channel-bans.json", params=params,
                   auth=False, result=TerroristChannelBans)
