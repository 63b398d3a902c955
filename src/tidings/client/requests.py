"""Pure request builders: what to send for each API call, with no I/O.

The transport turns a :class:`Request` into bytes on a socket; tests and other
transports can use these directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

API = "/api/v1"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    auth: bool = True
    content: bytes | None = None
    """A raw body (file uploads, imports) sent instead of ``json``."""
    content_type: str = "application/octet-stream"
    text_response: bool = False
    """Return the response body as text (exports) instead of parsed JSON."""
    bytes_response: bool = False
    """Return the raw response bytes (encrypted attachments)."""
    result: Any = None
    """The type the answer is (``tidings.protocol.api``): the transport checks it and
    ``TidingsClient.typed`` returns it; None for answers without a declared type."""


def register(username: str, password: str, device_name: str) -> Request:
    return Request("POST", f"{API}/accounts/register",
                   {"username": username, "password": password, "device_name": device_name},
                   auth=False)


def login(username: str, password: str, device_name: str) -> Request:
    return Request("POST", f"{API}/accounts/login",
                   {"username": username, "password": password, "device_name": device_name},
                   auth=False)


def me() -> Request:
    return Request("GET", f"{API}/accounts/me")


def logout() -> Request:
    return Request("POST", f"{API}/accounts/logout")


def devices() -> Request:
    return Request("GET", f"{API}/accounts/devices")


def revoke_device(device_id: str) -> Request:
    return Request("DELETE", f"{API}/accounts/devices/{device_id}")


def delete_account(password: str) -> Request:
    return Request("POST", f"{API}/accounts/delete", {"password": password})


def read_stream(since: int, limit: int = 200) -> Request:
    return Request("GET", f"{API}/stream", params={"since": since, "limit": limit})


def ack_stream(upto: int) -> Request:
    return Request("POST", f"{API}/stream/ack", {"upto": upto})


def upload_keys(device_keys: dict[str, Any] | None, one_time_keys: list[dict[str, Any]],
                fallback_key: dict[str, Any] | None) -> Request:
    body: dict[str, Any] = {"one_time_keys": one_time_keys}
    if device_keys is not None:
        body["device_keys"] = device_keys
    if fallback_key is not None:
        body["fallback_key"] = fallback_key
    return Request("POST", f"{API}/keys/upload", body)


def query_keys(users: list[str]) -> Request:
    return Request("POST", f"{API}/keys/query", {"users": users})


def claim_keys(devices: dict[str, list[str]]) -> Request:
    return Request("POST", f"{API}/keys/claim", {"devices": devices})


def send_message(body: dict[str, Any]) -> Request:
    return Request("POST", f"{API}/messages", body)
