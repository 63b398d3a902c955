"""No secret reaches the logs; secret files are 0600; the console's headers and cookies.

The session test runs a real uvicorn with its access log on and every logger at DEBUG
(SQLAlchemy at INFO, which logs every statement: its DEBUG level dumps result rows by
design and is a debugging tool, docs/security.md), then searches everything logged
for each secret the session used: passwords, access tokens, the console cookie, the
franking key and the plaintext of an end-to-end encrypted message, its payload as
reported, the server's own secrets and an unlisted channel's invite token.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.apps import kernel_of
from tests.client.helpers import close_all, people
from tests.conftest import AppFactory, free_port, make_settings, running_app
from tests.server.report_util import PASSWORD
from tidings.client.report_requests import message_report
from tidings.server import log_redaction
from tidings.server.secrets import SECRETS_FILE

CLIENT_LOGGERS = ("httpx ", "httpcore", "websockets.client ")
PLAINTEXT = "the eagle lands at midnight: 7f3a9c"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {self.format(record)}")


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    handler.setFormatter(logging.Formatter("%(message)s %(args)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    saved = {}
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "tidings", "httpx",
                 "sqlalchemy.engine", "websockets", "asyncio"):
        # An earlier server in the same process may have run uvicorn's own logging
        # config, which stops its access log propagating to the root: undo that here.
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate, logger.disabled)
        logger.setLevel(logging.INFO if name.startswith("sqlalchemy") else logging.DEBUG)
        logger.propagate, logger.disabled = True, False
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)
        for name, (level, propagate, disabled) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.propagate, logger.disabled = propagate, disabled


async def test_a_realistic_session_logs_no_secret(tmp_path: Path, captured: Capture) -> None:
    settings = make_settings(tmp_path, rate_limits=True)
    async with running_app(settings) as app:
        config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None,
                                log_level="debug", access_log=True, lifespan="off",
                                ws="websockets-sansio")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        url = f"http://127.0.0.1:{config.port}"
        secrets: dict[str, str] = {"password": PASSWORD}
        try:
            group = await people(url, tmp_path, ["alice", "bob"], per_person=1)
            alice, bob = group["alice"][0], group["bob"][0]
            assert alice.client.profile is not None and bob.client.profile is not None
            secrets["alice token"] = alice.client.profile.token
            secrets["bob token"] = bob.client.profile.token
            await alice.send_text("bob", PLAINTEXT)
            inbox = await bob.receive(timeout=5)
            (msg,) = inbox.messages
            assert msg.content.body["text"] == PLAINTEXT
            stored = bob.crypto.inbox[-1]
            secrets["franking key"] = stored["franking_key"]
            secrets["payload"] = stored["payload"]
            await bob.client.call(message_report(
                bob.crypto.inbox, msg.id, "illegal", "a threat", context=0))
            for profile in tmp_path.glob("*-d0/*"):  # the SDK's token and keys
                assert _mode(profile) == 0o600, profile
            async with httpx.AsyncClient(base_url=url) as http:
                await kernel_of(app).accounts.create_user("mod_mia", PASSWORD, "moderator",
                                                     check_reserved=False)
                await http.get("/console/login")
                r = await http.post("/console/login", data={
                    "username": "mod_mia", "password": PASSWORD,
                    "csrf": http.cookies["tidings_login_csrf"]})
                assert r.status_code == 303
                secrets["console cookie"] = http.cookies["tidings_console"]
                made = await http.post("/api/v1/channels", headers={
                    "Authorization": f"Bearer {secrets['alice token']}"}, json={
                    "handle": "inner", "title": "Inner", "visibility": "unlisted"})
                secrets["invite"] = made.json()["invite_token"]
                seen = await http.get("/api/v1/channels/inner/posts",
                                      params={"invite": secrets["invite"]})
                assert seen.status_code == 200
                assert (await http.get(f"/c/inner?invite={secrets['invite']}")).status_code == 200
                wrong = await http.post("/api/v1/accounts/login", json={
                    "username": "alice", "password": "Wrong-guess-" + PASSWORD})
                assert wrong.status_code == 401
                secrets["wrong password"] = "Wrong-guess-" + PASSWORD
            await close_all(group)
        finally:
            server.should_exit = True
            await task
    server_secrets = kernel_of(app).secrets
    secrets["token pepper"] = base64.b64encode(server_secrets.token_pepper).decode()
    secrets["cookie secret"] = base64.b64encode(server_secrets.cookie_secret).decode()
    for key_id, key in server_secrets.franking_keys.items():
        secrets[f"franking secret {key_id}"] = base64.b64encode(key).decode()
    text = "\n".join(captured.lines)
    assert any("POST /api/v1/accounts/login" in line for line in captured.lines), \
        "the access log was not captured"
    assert any(log_redaction.REDACTED in line for line in captured.lines)
    # The test's own HTTP and WebSocket client libraries (httpx, httpcore, websockets'
    # client side) log the requests they make, headers included, at DEBUG: those are
    # the client's logs, not the server's, and are left out of the search.
    server_lines = [line for line in captured.lines if not line.startswith(CLIENT_LOGGERS)]
    leaks = [f"{what}: {line[:160]}" for what, value in secrets.items()
             for line in server_lines if value in line]
    assert not leaks, "\n".join(leaks)
    assert PLAINTEXT not in text  # not even on the client side


def test_redaction_of_query_strings() -> None:
    line = '127.0.0.1:5 - "GET /c/inner?invite=abc123&before=4&Token=x HTTP/1.1" 200'
    assert log_redaction.redact(line) == (
        '127.0.0.1:5 - "GET /c/inner?invite=[redacted]&before=4&Token=[redacted] HTTP/1.1" 200')
    assert log_redaction.redact("hello tdg_abc-DEF_1 and Bearer xyz.") == (
        "hello [redacted] and [redacted]")
    assert log_redaction.redact("console tcs_q-Z_9 ended") == "console [redacted] ended"
    record = logging.LogRecord("uvicorn.error", logging.DEBUG, __file__, 1, "< %s: %s",
                               ("Cookie", "tidings_console=abc"), None)
    assert log_redaction.RedactSecrets().filter(record)
    assert record.getMessage() == "< Cookie: [redacted]"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_secret_files_are_private(api: AppFactory, tmp_path: Path) -> None:
    async with api():
        pass
    secrets_file = tmp_path / "data" / SECRETS_FILE
    assert _mode(secrets_file) == 0o600
    secrets_file.chmod(0o644)  # an operator's copy with loose permissions is tightened
    async with api():
        pass
    assert _mode(secrets_file) == 0o600


# --- the web console: security headers and cookie flags -----------------------------------


def _cookie(response: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header, lower-cased names ("" for flags)."""
    for header in response.headers.get_list("set-cookie"):
        first, *attrs = [part.strip() for part in header.split(";")]
        if first.startswith(name + "="):
            out = {"value": first.split("=", 1)[1]}
            for attr in attrs:
                key, _, value = attr.partition("=")
                out[key.lower()] = value
            return out
    raise AssertionError(f"no {name} cookie in {response.headers}")


async def _console_login(client: httpx.AsyncClient) -> tuple[httpx.Response, httpx.Response]:
    await kernel_of(client).accounts.create_user(
        "mod_mia", PASSWORD, "moderator", check_reserved=False)
    form = await client.get("/console/login")
    csrf = _cookie(form, "tidings_login_csrf")["value"]
    client.cookies.clear()  # sent by hand: a client keeps Secure cookies off plain HTTP
    session = await client.post("/console/login", data={
        "username": "mod_mia", "password": PASSWORD, "csrf": csrf},
        headers={"Cookie": f"tidings_login_csrf={csrf}"})
    assert session.status_code == 303
    return form, session


async def test_console_pages_carry_security_headers(api: AppFactory) -> None:
    async with api() as client:
        form, session = await _console_login(client)
        home = await client.get("/console")
        for page in (form, session, home):
            csp = page.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            assert "unsafe-inline" not in csp
            assert page.headers["x-content-type-options"] == "nosniff"
            assert page.headers["referrer-policy"] == "no-referrer"
            assert page.headers["x-frame-options"] == "DENY"
            assert page.headers["cache-control"] == "no-store"
            assert "strict-transport-security" not in page.headers  # plain HTTP
        api_page = await client.get("/healthz")
        assert "frame-ancestors 'none'" in api_page.headers["content-security-policy"]


async def test_console_cookies_are_httponly_strict_and_scoped(api: AppFactory) -> None:
    async with api() as client:
        form, session = await _console_login(client)
        for cookie in (_cookie(form, "tidings_login_csrf"), _cookie(session, "tidings_console")):
            assert "httponly" in cookie and cookie["samesite"].lower() == "strict"
            assert cookie["path"] == "/console"
            assert "secure" not in cookie  # plain HTTP on a developer's machine


@pytest.mark.parametrize("how", ["https", "setting"])
async def test_console_cookies_are_secure_over_https(api: AppFactory, how: str) -> None:
    async with api(secure_cookies=how == "setting") as client:
        if how == "https":  # what uvicorn --proxy-headers makes of X-Forwarded-Proto: https
            client.base_url = httpx.URL("https://test")
        form, session = await _console_login(client)
        assert "secure" in _cookie(form, "tidings_login_csrf")
        assert "secure" in _cookie(session, "tidings_console")
        if how == "https":
            assert form.headers["strict-transport-security"] == "max-age=31536000"
