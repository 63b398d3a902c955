"""What a real client does before it sends: the rules no JSON Schema can state.

Some operations refuse a schema-valid request by a rule that is arithmetic across
fields, a signature or the bytes of an upload (each operation's OpenAPI description
says which). A real client obeys such a rule; so, here, does every POSITIVE case of the
fuzz on those operations (``test_fuzz_api._run`` calls :func:`obey_user_rules`), with
the least change: the fields a rule does not concern stay as generated, negative cases
are sent as generated. One function per operation, each with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from schemathesis.generation import GenerationMode
from schemathesis.generation.case import Case

from tests.server.fuzz_server import USER, FuzzServer
from tidings.config import load_settings
from tidings.crypto.identity import DeviceIdentity
from tidings.kernel import franking_keyring
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, TidingsError
from tidings.protocol.franking import FrankingKeyring, commitment
from tidings.protocol.keys import OneTimeKey, b64encode
from tidings.protocol.payload import MessageContent
from tidings.server import secrets
from tidings.services import imaging
from tidings.services.accounts import check_password, check_username

PHOTO = Path(__file__).resolve().parents[1] / "data" / "hma" / "bridge-shrunk.jpg"
"""A small real JPEG (7 KB) of the repository's test data."""
FRIEND = "fuzzfriend"
STRONG_PASSWORD = "ø·ß ☂ é✓ ÿ€ ñ¿ ∆"
"""No run of ASCII letters or digits: it contains no username and is on no list."""

_seen: dict[str, int] = {}
_state: dict[str, Any] = {}
"""Per server: the fuzz user's real upload and device identity, made on first use."""


def _every_other(case: Case) -> bool:
    label = case.operation.label
    _seen[label] = _seen.get(label, 0) + 1
    return _seen[label] % 2 == 1


def _auth(server: FuzzServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.user_token}"}


def _photo_id(server: FuzzServer) -> str:
    key = f"{server.url} photo"
    if key not in _state:
        r = httpx.post(server.url + "/api/v1/media", headers=_auth(server),
                       content=PHOTO.read_bytes(), timeout=30)
        r.raise_for_status()
        _state[key] = r.json()["sha256"]
    return str(_state[key])


def _identity(server: FuzzServer) -> DeviceIdentity:
    """The fuzz user's device (the one of its token), with its device keys published."""
    key = f"{server.url} identity"
    if key not in _state:
        me = httpx.get(server.url + "/api/v1/accounts/me", headers=_auth(server), timeout=30)
        me.raise_for_status()
        identity = DeviceIdentity.create(USER, me.json()["device_id"])
        r = httpx.post(server.url + "/api/v1/keys/upload", headers=_auth(server), timeout=30,
                       json={"device_keys": identity.device_keys().to_json()})
        r.raise_for_status()
        _state[key] = identity
    identity = _state[key]
    assert isinstance(identity, DeviceIdentity)
    return identity


def _own_avatar(server: FuzzServer, case: Case) -> None:
    """State, not shape: an avatar names an upload of yours (else 404 ``unknown_media``).
    Every other case names the fuzz user's real photo, so the code past the 404 runs."""
    if _every_other(case) and isinstance(case.body, dict) and case.body.get("avatar"):
        case.body["avatar"] = _photo_id(server)


def _real_bytes(server: FuzzServer, case: Case) -> None:
    """The format is sniffed from the bytes: bytes that begin like an image must be one.
    Every other upload, and every generated one that begins like an image, is a real
    photo; the rest stay generated (stored as files)."""
    data = case.body if isinstance(case.body, bytes) else b""
    if _every_other(case) or (data and imaging.sniff(data).kind == "photo"):
        case.body = PHOTO.read_bytes()
        # schemathesis re-checks an edited body against its schema to relabel the case,
        # but judges any bytes invalid (``Case._validate_component``): the photo is
        # taken as the generated body, which it is in kind (a positive binary body).
        case._record_starting_state()


def _strong_password(server: FuzzServer, case: Case) -> None:
    """A password on the common list or containing the username is weak (400
    ``weak_password``), and a username with a claiming word looks official (400): a
    person picks another."""
    body = case.body
    if not isinstance(body, dict) or not isinstance(body.get("username"), str):
        return
    try:
        name = check_username(body["username"], frozenset())
    except BadRequest:
        name = body["username"] = f"fz{len(_seen)}x{_seen.get(case.operation.label, 0)}"
    except TidingsError:  # a reserved name: 409, the server's to answer
        return
    try:
        check_password(body.get("password"), name)  # type: ignore[arg-type]
    except BadRequest:
        body["password"] = STRONG_PASSWORD


def _day(text: object) -> date | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d").date()
    except ValueError:
        return None


def _sound_period(server: FuzzServer, case: Case) -> None:
    """A period starts no later than today and than its end, and spans at most
    ``TRANSPARENCY_PERIOD_MAX_DAYS`` days as asked and ``TERROR_BANS_MAX_DAYS`` up to
    today: what breaks that moves (the start first), the rest stays as generated."""
    query = case.query if case.query is not None else {}
    today = datetime.now(UTC).date()
    first = _day(query["from"]) if "from" in query else today - timedelta(29)
    last = _day(query["to"]) if "to" in query else today
    if first is None or last is None:
        return
    start, end = min(first, last, today), last
    if (end - start).days >= limits.TRANSPARENCY_PERIOD_MAX_DAYS:
        end = start + timedelta(limits.TRANSPARENCY_PERIOD_MAX_DAYS - 1)
    if (min(end, today) - start).days >= limits.TERROR_BANS_MAX_DAYS:
        start = min(end, today) - timedelta(limits.TERROR_BANS_MAX_DAYS - 1)
    if start != first:
        query["from"] = start.isoformat()
    if end != last:
        query["to"] = end.isoformat()
    case.query = query


def _signed_keys(server: FuzzServer, case: Case) -> None:
    """Key records are signed by the device's Ed25519 key, and one upload names each key
    id once: the device record is the fuzz device's own; one-time and fallback keys
    keep their generated ids and keys and are signed with that device's key."""
    body = case.body
    if not isinstance(body, dict):
        return
    identity = _identity(server)
    if body.get("device_keys") is not None:
        body["device_keys"] = identity.device_keys().to_json()

    def signed(otk: dict[str, Any], fallback: bool) -> dict[str, Any]:
        key = OneTimeKey(otk["key_id"], otk["key"], fallback, "")
        return {**otk, "signature": identity.sign(key.signed_bytes(USER, identity.device_id))}

    if isinstance(body.get("one_time_keys"), list):
        unique = {k["key_id"]: k for k in reversed(body["one_time_keys"])}
        body["one_time_keys"] = [signed(k, False) for k in reversed(unique.values())]
    if body.get("fallback_key") is not None:
        body["fallback_key"] = signed(body["fallback_key"], True)


def _sound_send(server: FuzzServer, case: Case) -> None:
    """One envelope per device (else 400 ``duplicate_device``): later duplicates go; and
    the body fits in ``MAX_BODY_BYTES`` (else 413; the schema bounds each envelope, not
    their sum): envelopes go from the end until it does. State, not shape: ``to`` names
    an account (else 404); every other case writes to the fuzz user's friend, so the
    device check behind the 404 runs too."""
    body = case.body
    if isinstance(body, dict) and _every_other(case):
        body["to"] = FRIEND
    if isinstance(body, dict) and isinstance(body.get("envelopes"), list):
        unique = {e["device_id"]: e for e in reversed(body["envelopes"])}
        body["envelopes"] = list(reversed(unique.values()))
        while len(body["envelopes"]) > 1 and len(json.dumps(body)) > limits.MAX_BODY_BYTES:
            body["envelopes"].pop()


def _franked(server: FuzzServer, ts: int) -> dict[str, Any]:
    """A text message from ``fuzzfriend`` to the fuzz user, franked and tagged as the
    server tags it on delivery (its franking keys are in the fixture's data directory;
    ``tests/server/report_util.franked`` does the same in-process)."""
    key = f"{server.url} keyring"
    if key not in _state:
        _state[key] = franking_keyring(secrets.load_or_create(server.data))
    ring: FrankingKeyring = _state[key]
    payload = MessageContent("text", {"text": f"fuzz {ts}"}, f"c{ts}", ts).to_bytes()
    franking_key = bytes(range(32))
    c = commitment(franking_key, payload)
    key_id, tag = ring.tag(c, FRIEND, "DFRIEND", USER, ts)
    return {"id": f"M{ts}", "sender": FRIEND, "sender_device": "DFRIEND", "conversation": USER,
            "ts": ts, "payload": b64encode(payload), "franking_key": b64encode(franking_key),
            "commitment": b64encode(c), "tag": b64encode(tag), "key_id": key_id}


def _genuine_report(server: FuzzServer, case: Case) -> None:
    """A URL names this server (its scheme and host, if it has them); a reported message
    and its context are messages the reporter received, franked by the server: the
    generated ones are replaced by as many real ones (the category, explanation,
    location and notifier stay as generated)."""
    body = case.body
    if not isinstance(body, dict):
        return
    target = body.get("target")
    if isinstance(target, dict) and isinstance(target.get("url"), str):
        path = target["url"][target["url"].find("/c/"):]
        if "://" in target["url"]:
            public = load_settings(server.data, port=server.port).resolved_public_url
            target["url"] = public + path
    if isinstance(target, dict) and target.get("kind") == "message":
        now = int(datetime.now(UTC).timestamp() * 1000)
        body["message"] = _franked(server, now)
        if isinstance(body.get("context"), list):
            body["context"] = [_franked(server, now - 1 - i) for i in range(len(body["context"]))]


RULES: dict[str, Callable[[FuzzServer, Case], None]] = {
    "PUT /api/v1/accounts/profile": _own_avatar,
    "POST /api/v1/channels": _own_avatar,
    "PATCH /api/v1/channels/{handle}": _own_avatar,
    "POST /api/v1/media": _real_bytes,
    "POST /api/v1/accounts/register": _strong_password,
    "GET /transparency/terrorist-channel-bans.json": _sound_period,
    "POST /api/v1/keys/upload": _signed_keys,
    "POST /api/v1/messages": _sound_send,
    "POST /api/v1/reports": _genuine_report,
}


def obey_user_rules(server: FuzzServer, case: Case) -> None:
    """Make a positive case of an operation in :data:`RULES` obey its unstated rule."""
    rule = RULES.get(case.operation.label)
    if rule is not None and case.meta is not None \
            and case.meta.generation.mode is GenerationMode.POSITIVE:
        rule(server, case)
