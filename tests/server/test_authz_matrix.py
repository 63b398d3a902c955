"""Authorisation: every route of the app x every identity, and object-level checks.

The matrix is generated from the app's route table (``app.routes`` plus the WebSocket
gateway on its fast path): a route without a line in ``authz_matrix.RULES`` fails the
test. Every request is real: accounts, devices, a group, an unlisted channel with posts,
reports and review cases are made through the API on one server for the whole module.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.apps import kernel_of
from tests.conftest import LiveServer, live, make_settings
from tests.server import authz_matrix as m
from tests.server.channel_util import photo
from tests.server.report_util import PASSWORD, report_body
from tidings.crypto.identity import DeviceIdentity
from tidings.server import web_session
from tidings.server.app import GATEWAY_PATH, create_app
from tidings.services.accounts import AccountService
from tidings.storage.orders import AuthorityRecord

pytestmark = pytest.mark.asyncio(loop_scope="module")
COMMITMENT = base64.b64encode(os.urandom(32)).decode()
NAMES = {m.USER: "alice", m.OTHER: "bob", m.MEMBER: "carol", m.CHAN_ADMIN: "dave",
         m.SUBSCRIBER: "erin", m.MODERATOR: "mod_mia", m.AUDITOR: "aud_ava",
         m.ADMIN: "adm_ada", m.AUTHORITY: "auth_abe"}
ROLES = {m.MODERATOR: "moderator", m.AUDITOR: "auditor", m.ADMIN: "admin",
         m.AUTHORITY: "authority"}
LOGIN_CSRF = "matrix-login-csrf"


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves, HEAD aside."""
    found = {(m.GATEWAY, GATEWAY_PATH)}  # TidingsApp dispatches it before the router
    for ctx in iter_route_contexts(app.routes):
        route = ctx.original_route
        if isinstance(route, Mount):
            found.add(("GET", route.path))
            continue
        methods = ctx.methods
        if methods is None:  # a WebSocket route
            found.add((m.GATEWAY, str(ctx.path)))
            continue
        found.update((method, str(ctx.path)) for method in methods if method != "HEAD")
    return found


@dataclass
class World:
    server: LiveServer
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    console: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Each identity's console session: (cookie value, CSRF token)."""
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    idents: dict[str, DeviceIdentity] = field(default_factory=dict)
    published: dict[str, set[str]] = field(default_factory=dict)
    counter: int = 0
    requests: int = 0

    @property
    def app(self) -> FastAPI:
        return self.server.app

    def h(self, identity: str) -> dict[str, str]:
        token = self.tokens.get(identity)
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def call(self, method: str, path: str, identity: str = m.ANON,
                   **kw: Any) -> httpx.Response:
        self.requests += 1
        headers = {**self.h(identity), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, identity: str, **kw: Any) -> Any:
        r = await self.call(method, path, identity, **kw)
        assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def next(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    async def login(self, name: str, device: str) -> dict[str, Any]:
        session: dict[str, Any] = await self.ok("POST", "/api/v1/accounts/login", m.ANON, json={
            "username": name, "password": PASSWORD, "device_name": device})
        return session

    async def enroll(self, identity: str) -> None:
        """Publish the device keys of an identity's main device (as a client does)."""
        session = self.sessions[identity]
        ident = DeviceIdentity.create(NAMES[identity], session["device_id"])
        otks = [k.to_json() for k in ident.generate_one_time_keys(5)]
        fallback = ident.fallback_key().to_json()
        await self.ok("POST", "/api/v1/keys/upload", identity, json={
            "device_keys": ident.device_keys().to_json(), "one_time_keys": otks,
            "fallback_key": fallback})
        self.idents[identity] = ident
        self.published[identity] = {k["key"] for k in [*otks, fallback]}

    async def new_group(self) -> str:
        group = await self.ok("POST", "/api/v1/groups", m.USER,
                              json={"title": "Family", "members": ["carol"]})
        # being added is an invitation (issue 20): the member accepts
        await self.ok("POST", f"/api/v1/invitations/{group['id']}/accept", m.MEMBER)
        return str(group["id"])

    async def new_channel(self) -> str:
        handle = self.next("scratch_")
        created = await self.ok("POST", "/api/v1/channels", m.USER, json={
            "handle": handle, "title": f"Scratch {self.counter}", "visibility": "unlisted"})
        await self.ok("PUT", f"/api/v1/channels/{handle}/admins/dave", m.USER,
                      json={"can_post": True})
        await self.ok("POST", f"/api/v1/channels/{handle}/subscription", m.SUBSCRIBER,
                      json={"invite": created["invite_token"]})
        return handle

    async def new_post(self) -> dict[str, Any]:
        """A post in the inner channel: its internal id (staff routes) and its number."""
        made = await self.ok("POST", "/api/v1/channels/inner/posts", m.USER,
                             json={"text": f"hello {self.next('p')}"})
        staff_view = await self.ok("GET", f"/api/v1/channels/inner/posts/{made['number']}",
                                   m.ADMIN)  # the internal id: staff only
        return {"post_id": int(staff_view["id"]), "number": int(made["number"])}

    async def report(self, identity: str, body: dict[str, Any]) -> dict[str, Any]:
        made: dict[str, Any] = await self.ok("POST", "/api/v1/reports", identity, json=body)
        return made


async def seed(world: World) -> None:
    accounts: AccountService = kernel_of(world).accounts
    for identity, name in NAMES.items():
        if identity in ROLES:
            await accounts.create_user(name, PASSWORD, ROLES[identity], check_reserved=False)
            session = await world.login(name, "phone")
        else:
            session = await world.ok("POST", "/api/v1/accounts/register", m.ANON, json={
                "username": name, "password": PASSWORD, "device_name": "phone"})
        world.sessions[identity] = session
        world.tokens[identity] = session["token"]
        # Console sessions for every identity, staff or not (the login form makes them
        # for staff only; the pages must still refuse anyone else's).
        user = await accounts.user(name)
        cookie, console = await kernel_of(world).console_sessions.start(user.id)
        world.console[identity] = (cookie, console.csrf)
    await accounts.create_user("frank", None)  # a bystander the matrix names, never logs in
    await accounts.create_user("gina", None)  # blocked (and unblocked) by everyone
    v = world.values
    v["user_tablet"] = (await world.login("alice", "tablet"))["device_id"]
    for identity, name in NAMES.items():
        v[f"spare_{identity}"] = (await world.login(name, "spare"))["token"]
    v["bystander"], v["member_name"], v["chan_admin_name"] = "frank", "carol", "dave"
    v["blockee"] = "gina"
    for identity in (m.USER, m.MEMBER, m.OTHER):
        await world.enroll(identity)
    v["gid"] = await world.new_group()
    inner = await world.ok("POST", "/api/v1/channels", m.USER, json={
        "handle": "inner", "title": "Inner circle", "visibility": "unlisted"})
    v["inner"], v["invite"] = "inner", inner["invite_token"]
    await world.ok("PUT", "/api/v1/channels/inner/admins/dave", m.USER, json={"can_post": True})
    await world.ok("POST", "/api/v1/channels/inner/subscription", m.SUBSCRIBER,
                   json={"invite": v["invite"]})
    v.update(await world.new_post())
    case_post = (await world.new_post())["number"]
    media = await world.call("POST", "/api/v1/media", m.USER, content=photo())
    v["media"] = media.json()["sha256"]
    attachment = await world.call("POST", "/api/v1/attachments", m.USER,
                                  content=os.urandom(300))
    v["attachment"] = attachment.json()["id"]
    v["report_id"] = (await world.report(m.USER, report_body("account", account="frank")))["id"]
    v["open_case"] = (await world.report(m.OTHER, report_body("account", account="frank")))[
        "case_id"]
    decided = await world.report(m.SUBSCRIBER, report_body("post", channel="inner",
                                                           number=case_post))
    v["decided_case"] = decided["case_id"]
    await world.ok("POST", f"/api/v1/mod/cases/{decided['case_id']}/decision", m.MODERATOR,
                   json={"action": "remove", "policy": "terrorist_content"})
    await world.ok("POST", "/api/v1/banks", m.ADMIN, json={"name": "MATRIX_BANK"})
    v["bank"], v["job_id"] = "MATRIX_BANK", 1
    v["no_bank"], v["hma_api"] = "MATRIX_NO_BANK", "sample"
    rules = await world.call("GET", "/api/v1/admin/rules", m.ADMIN)
    v["rules_text"] = rules.json()["text"]
    await seed_order(world)


async def seed_order(world: World) -> None:
    """The authority's record, an order it gave (withheld, so it may extend) against a
    post with a picture, that order's preservation item and its preserved blob, and a
    spare post for the matrix's own order."""
    v = world.values
    authorities = kernel_of(world).authorities
    async with authorities.db.write() as conn:
        user = await authorities.users.user_by_name(conn, NAMES[m.AUTHORITY])
        assert user is not None
        await authorities.store.add_authority(conn, AuthorityRecord(
            user.id, "Matrix Police", "DE", 0))
    pic = await world.ok("POST", "/api/v1/media", m.USER, content=photo(seed=97))
    ordered = await world.ok("POST", "/api/v1/channels/inner/posts", m.USER, json={
        "text": "an announcement the authority orders removed", "media": [pic["sha256"]]})
    order = await world.ok("POST", "/api/v1/orders", m.AUTHORITY, json={
        "target": f"/c/inner/{ordered['number']}", "legal_basis": "Art. 3 TCO", "reasons": "x",
        "reference": "MATRIX-1", "withhold_days": 42})
    v["order_id"] = order["id"]
    held = await world.ok("GET", f"/api/v1/orders/{order['id']}", m.AUTHORITY)
    v["preserved"] = held["preservation"][0]["id"]
    v["preserved_blob"] = pic["sha256"]
    v["spare_post"] = (await world.new_post())["post_id"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    settings = make_settings(tmp_path_factory.mktemp("authz"))
    async with live(settings) as server, httpx.AsyncClient(base_url=server.url) as client:
        w = World(server, client)
        await seed(w)
        yield w


# --- bodies and fresh objects ---------------------------------------------------------

Body = Callable[[World, str], dict[str, Any]]


def _csrf_form(world: World, identity: str, **fields: str) -> dict[str, Any]:
    csrf = world.console[identity][1] if identity in world.console else ""
    return {"data": {"csrf": csrf, **fields}}


BODIES: dict[str, Body] = {
    # register and login are public and never look at a caller: a body that fails
    # validation shows the route let the caller through without hashing a password
    "register": lambda w, i: {"json": {"username": "x", "password": PASSWORD}},
    "login": lambda w, i: {"json": {"username": "frank"}},
    "password": lambda w, i: {"json": {"password": PASSWORD}},
    "profile": lambda w, i: {"json": {"display_name": "Someone"}},
    "ack": lambda w, i: {"json": {"upto": 0}},
    "empty": lambda w, i: {"json": {}},
    "webhook": lambda w, i: {"json": {"url": "https://hooks.example.org/tidings",
                                      "events": ["order.received"]}},
    "key_query": lambda w, i: {"json": {"users": ["alice"]}},
    "key_claim": lambda w, i: {"json": {"devices": {"alice": []}}},
    "block": lambda w, i: {"json": {"user": "gina"}},
    "message": lambda w, i: {"json": {"client_id": w.next("c"), "to": "bob",
                                      "commitment": COMMITMENT, "envelopes": []}},
    "bytes": lambda w, i: {"content": os.urandom(64)},
    "group": lambda w, i: {"json": {"title": "Mine"}},
    "add_member": lambda w, i: {"json": {"users": ["frank"]}},
    "title": lambda w, i: {"json": {"title": "Family and friends"}},
    "timer": lambda w, i: {"json": {"timer_ms": None}},
    "group_message": lambda w, i: {"json": {"client_id": w.next("g"), "session_id": "S1",
                                            "ciphertext": "TUVHT0xN",
                                            "commitment": COMMITMENT}},
    "channel": lambda w, i: {"json": {"handle": w.next(f"ch_{i}_"), "title": w.next("T ")}},
    "channel_patch": lambda w, i: {"json": {"description": "inner circle"}},
    "admin_rights": lambda w, i: {"json": {"can_post": False}},
    "post": lambda w, i: {"json": {"text": w.next("post ")}},
    "post_patch": lambda w, i: {"json": {"text": "hello again"}},
    "forward": lambda w, i: {"json": {"to": "inner"}},
    "pin": lambda w, i: {"json": {"number": w.values["number"]}},
    "views": lambda w, i: {"json": {"numbers": [w.values["number"]]}},
    "photo": lambda w, i: {"content": photo(seed=w.counter + 2)},
    "report": lambda w, i: {"json": report_body("account", account="frank")},
    "appeal": lambda w, i: {"json": {"text": "It was news reporting."}},
    "lease": lambda w, i: {"json": {"lease_s": 60}},
    "decision": lambda w, i: {"json": {"action": "no_violation", "policy": "terrorist_content"}},
    "appeal_decision": lambda w, i: {"json": {"decision": "uphold"}},
    "trusted": lambda w, i: {"json": {"trusted": False}},
    "order": lambda w, i: {"json": {"target": f"post:{w.values['spare_post']}",
                                    "legal_basis": "Art. 3 TCO", "reasons": "propaganda",
                                    "reference": w.next("MATRIX-")}},
    "cannot_comply": lambda w, i: {"json": {"reason": "manifest_error", "details": "x"}},
    "months": lambda w, i: {"json": {"months": 1}},
    "authority": lambda w, i: {"json": {"username": w.next("authority_"),
                                        "authority_name": "Polizei", "member_state": "DE"}},
    "console_cannot_comply": lambda w, i: _csrf_form(w, i, reason="manifest_error",
                                                     details="x"),
    "rules": lambda w, i: {"content": w.values["rules_text"].encode()},
    "console_login": lambda w, i: {"data": {"username": "console_probe", "csrf": LOGIN_CSRF}},
    "csrf": _csrf_form,
    "console_decision": lambda w, i: _csrf_form(w, i, action="no_violation",
                                                policy="terrorist_content"),
    "console_appeal_decision": lambda w, i: _csrf_form(w, i, decision="uphold"),
}


async def _group(world: World, identity: str) -> dict[str, Any]:
    return {"gid": await world.new_group()}


async def _channel(world: World, identity: str) -> dict[str, Any]:
    return {"inner": await world.new_channel()}


async def _post(world: World, identity: str) -> dict[str, Any]:
    return await world.new_post()


FRESH: dict[str, Callable[[World, str], Awaitable[dict[str, Any]]]] = {
    "group": _group,
    "channel": _channel, "post": _post}


# --- one request per (rule, identity) ---------------------------------------------------


def denied(rule: m.Rule, status: int, location: str) -> bool:
    if status == 303 and 303 in rule.deny:
        return location.endswith("/console/login")
    return status in rule.deny


async def probe_gateway(world: World, token: str | None) -> tuple[int, str]:
    url = world.server.url.replace("http://", "ws://") + GATEWAY_PATH
    world.requests += 1
    async with websockets.connect(url) as conn:
        await conn.send(json.dumps({"type": "hello", "since": 0, "token": token or ""}))
        try:
            while True:
                frame = json.loads(await conn.recv())
                if frame["type"] == "live":
                    return 200, ""
        except websockets.ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else 1006), ""


async def probe(world: World, rule: m.Rule, identity: str,
                fresh: dict[str, Any]) -> tuple[int, str]:
    """One request; ``fresh`` holds the rule's fresh object until an allowed call used it
    (a denied call changes nothing, or the matrix fails anyway)."""
    values = dict(world.values)
    token = world.tokens.get(identity)
    if rule.fresh == "spare":
        token = world.values.get(f"spare_{identity}")
    elif rule.fresh is not None:
        if not fresh:
            fresh.update(await FRESH[rule.fresh](world, identity))
        values.update(fresh)
        if identity in rule.allow:
            fresh.clear()
    if rule.method == m.GATEWAY:
        return await probe_gateway(world, token)
    path = rule.path.format(**{k: values[v] for k, v in rule.params.items()})
    if rule.path == "/static":
        path = "/static/console.css"
    kw: dict[str, Any] = BODIES[rule.body](world, identity) if rule.body else {}
    headers: dict[str, str] = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if rule.path.startswith("/console"):
        headers.pop("Authorization", None)
        cookies = [f"{web_session.LOGIN_CSRF_COOKIE}={LOGIN_CSRF}"]
        if identity in world.console:
            cookie, csrf = world.console[identity]
            cookies.append(f"{web_session.SESSION_COOKIE}={cookie}")
            if "data" in kw and rule.body != "console_login":  # CSRF of this session
                kw["data"] = {**kw["data"], "csrf": csrf}
        headers["Cookie"] = "; ".join(cookies)
    world.requests += 1
    r = await world.client.request(rule.method, path, headers=headers,
                                   params=rule.query or None, **kw)
    return r.status_code, r.headers.get("location", "")


async def test_every_route_has_a_rule(tmp_path: Path) -> None:
    """Fails fast (no server, no seeding) when a route has no line in RULES."""
    routes = app_routes(create_app(make_settings(tmp_path)))
    missing = sorted(routes - set(m.BY_KEY))
    assert not missing, (
        "routes without an authorisation rule; add one line per route to RULES in "
        f"tests/server/authz_matrix.py saying who may call it: {missing}")
    stale = sorted(set(m.BY_KEY) - routes)
    assert not stale, f"rules for routes the app no longer has: {stale}"


# --- object-level checks: one person's things are not reachable by another ---------------


async def events_of(world: World, identity: str, kind: str) -> list[dict[str, Any]]:
    page = await world.ok("GET", "/api/v1/stream", identity, params={"since": 0})
    return [e["body"] for e in page["events"] if e["kind"] == kind]


async def test_envelopes_reach_only_their_device(world: World) -> None:
    carol = world.sessions[m.MEMBER]
    body = {"client_id": world.next("dm"), "to": "carol", "commitment": COMMITMENT,
            "envelopes": [{"device_id": d, "ciphertext": {"type": 0, "body": "U0VDUkVU"}}
                          for d in [carol["device_id"]]]}
    sent = await world.ok("POST", "/api/v1/messages", m.USER, json=body)
    assert [e["id"] for e in await events_of(world, m.MEMBER, "message")] == [sent["id"]]
    for identity in (m.OTHER, m.SUBSCRIBER, m.ADMIN, m.MODERATOR):
        assert await events_of(world, identity, "message") == []
    # acknowledging "everything" on another device deletes only that device's events
    await world.ok("POST", "/api/v1/stream/ack", m.OTHER, json={"upto": 2**62})
    assert len(await events_of(world, m.MEMBER, "message")) == 1
    # an envelope addressed to a device of someone else than ``to`` is refused
    forged = {**body, "client_id": world.next("dm"), "to": "bob"}
    r = await world.call("POST", "/api/v1/messages", m.USER, json=forged)
    assert r.status_code == 409 and r.json()["error"]["code"] == "mismatched_devices"
    assert len(await events_of(world, m.MEMBER, "message")) == 1


async def test_group_messages_reach_only_members(world: World) -> None:
    gid = await world.new_group()
    body = BODIES["group_message"](world, m.USER)["json"]
    sent = await world.ok("POST", f"/api/v1/groups/{gid}/messages", m.USER, json=body)
    mine = [e for e in await events_of(world, m.MEMBER, "group_message") if e["id"] == sent["id"]]
    assert len(mine) == 1 and mine[0]["conversation"] == f"group:{gid}"
    assert not [e for e in await events_of(world, m.OTHER, "group_message")
                if e["id"] == sent["id"]]
    for path in (f"/api/v1/groups/{gid}", f"/api/v1/groups/{gid}/messages"):
        method = "GET" if path.endswith(gid) else "POST"
        r = await world.call(method, path, m.OTHER, json=body if method == "POST" else None)
        assert r.status_code in (403, 404), r.text
    listed = await world.ok("GET", "/api/v1/groups", m.OTHER)
    assert gid not in [g["id"] for g in listed["groups"]]


async def test_devices_are_only_ones_own(world: World) -> None:
    spare = await world.login("alice", "laptop")
    theirs = await world.ok("GET", "/api/v1/accounts/devices", m.OTHER)
    assert spare["device_id"] not in [d["id"] for d in theirs]
    r = await world.call("DELETE", f"/api/v1/accounts/devices/{spare['device_id']}", m.OTHER)
    assert r.status_code == 404
    r = await world.call("GET", "/api/v1/accounts/me",
                         headers={"Authorization": f"Bearer {spare['token']}"})
    assert r.status_code == 200 and r.json()["username"] == "alice"


async def test_keys_of_another_device_cannot_be_replaced(world: World) -> None:
    carol = world.sessions[m.MEMBER]
    forged = DeviceIdentity.create("carol", carol["device_id"])
    r = await world.call("POST", "/api/v1/keys/upload", m.OTHER,
                         json={"device_keys": forged.device_keys().to_json()})
    assert r.status_code in (400, 403), r.text
    claimed = await world.ok("POST", "/api/v1/keys/claim", m.OTHER,
                             json={"devices": {"carol": [carol["device_id"]]}})
    key = claimed["one_time_keys"]["carol"][carol["device_id"]]
    # what bob claimed is carol's own signed key, not one he could have put there
    assert key["key"] in world.published[m.MEMBER]


async def test_reports_and_notices_are_private(world: World) -> None:
    rid = world.values["report_id"]
    assert (await world.call("GET", f"/api/v1/reports/{rid}", m.USER)).status_code == 200
    for identity in (m.OTHER, m.SUBSCRIBER):
        r = await world.call("GET", f"/api/v1/reports/{rid}", identity)
        assert r.status_code == 404 and r.json()["error"]["code"] == "report_not_found"
    alice = await world.ok("GET", "/api/v1/notices", m.USER)
    assert any(n.get("case_id") == world.values["decided_case"] for n in alice), alice
    for identity in (m.OTHER, m.MEMBER, m.CHAN_ADMIN):  # the reporter (erin) is told too
        theirs = await world.ok("GET", "/api/v1/notices", identity)
        assert not any(n.get("case_id") == world.values["decided_case"] for n in theirs)
    r = await world.call("POST", f"/api/v1/cases/{world.values['decided_case']}/appeal",
                         m.OTHER, json={"text": "not mine"})
    assert r.status_code == 404


async def test_attachments_need_a_login_and_their_exact_id(world: World) -> None:
    sha = world.values["attachment"]
    assert (await world.call("GET", f"/api/v1/attachments/{sha}")).status_code == 401
    for guess in (sha[:-1] + ("0" if sha[-1] != "0" else "1"), "../secrets.json", "0" * 64):
        r = await world.call("GET", f"/api/v1/attachments/{guess}", m.OTHER)
        assert r.status_code in (400, 404), (guess, r.status_code)
    keys = {(mm, p) for mm, p in app_routes(world.app) if p.startswith("/api/v1/attachments")}
    assert keys == {("POST", "/api/v1/attachments"),
                    ("GET", "/api/v1/attachments/{sha256}")}  # no listing of anyone's


# --- the matrix ---------------------------------------------------------------------------


async def test_authorisation_matrix(world: World) -> None:
    routes = app_routes(world.app)
    missing = sorted(routes - set(m.BY_KEY))
    assert not missing, f"add a rule in tests/server/authz_matrix.py for: {missing}"
    failures: list[str] = []
    before = world.requests
    checked = 0
    for rule in sorted(m.RULES, key=lambda r: r.order):
        fresh: dict[str, Any] = {}
        for identity in m.IDENTITIES:
            status, location = await probe(world, rule, identity, fresh)
            checked += 1
            refused = denied(rule, status, location)
            allowed = identity in rule.allow
            if allowed and (refused or status >= 500):
                failures.append(f"{rule.method} {rule.path} as {identity}: expected allow, "
                                f"got {status} {location}")
            if rule.method == m.GATEWAY:
                if not allowed and status != 4001:
                    failures.append(f"WS as {identity}: expected close 4001, got {status}")
            elif not allowed and not refused:
                failures.append(f"{rule.method} {rule.path} as {identity}: expected deny "
                                f"{sorted(rule.deny)}, got {status} {location}")
            elif not allowed and rule.reveal is not None and identity != m.ANON and status != (
                    403 if identity in rule.reveal else 404):
                failures.append(f"{rule.method} {rule.path} as {identity}: expected "
                                f"{403 if identity in rule.reveal else 404}, got {status}")
            elif identity == m.ANON and not allowed and 401 in rule.deny and status not in (
                    401, 303, 404):
                failures.append(f"{rule.method} {rule.path} anonymous: got {status}, not 401")
    print(f"\nauthz matrix: {len(m.RULES)} routes x {len(m.IDENTITIES)} identities = "
          f"{checked} checks, {world.requests - before} requests")
    assert not failures, "\n".join(failures)
