"""Pure request builders for keys counts, blocks, message requests and group invitations."""

from __future__ import annotations

from urllib.parse import quote

from tidings.client.requests import API, Request


def key_count() -> Request:
    return Request("GET", f"{API}/keys/count")


def block(user: str) -> Request:
    return Request("POST", f"{API}/blocks", {"user": user})


def unblock(user: str) -> Request:
    return Request("DELETE", f"{API}/blocks/{quote(user, safe='')}")


def blocked() -> Request:
    return Request("GET", f"{API}/blocks")


def message_requests() -> Request:
    return Request("GET", f"{API}/requests")


def accept_request(user: str) -> Request:
    return Request("POST", f"{API}/requests/{quote(user, safe='')}/accept")


def delete_request(user: str) -> Request:
    return Request("DELETE", f"{API}/requests/{quote(user, safe='')}")


def invitations() -> Request:
    return Request("GET", f"{API}/invitations")


def accept_invitation(gid: str) -> Request:
    return Request("POST", f"{API}/invitations/{quote(gid, safe='')}/accept")


def decline_invitation(gid: str) -> Request:
    return Request("POST", f"{API}/invitations/{quote(gid, safe='')}/decline")
