"""Hostile HTTP: sizes, nesting, encodings, NUL, content types and slow clients.

Each test sends one hostile input to a real server (server/serving.py's configuration)
and asserts a clear 4xx in the one error shape and that nothing was stored: the whole
database's row counts and the blob stores' files are the same before and after.
Catalogue: docs/hostile-inputs.md.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from tests.server.hostile_util import (
    BODY_TIMEOUT_S,
    HEADER_TIMEOUT_S,
    KEEP_ALIVE_S,
    PASSWORD,
    HostileServer,
    assert_error,
    hostile_fixture,  # noqa: F401 - the module's server fixture
    parse_raw,
    raw_exchange,
)
from tidings.protocol import limits

REGISTER = "/api/v1/accounts/register"


def _register_body(name: str, **extra: str) -> dict[str, str]:
    return {"username": name, "password": PASSWORD, "device_name": "phone", **extra}


async def _refused_register(hostile: HostileServer, name: str, status: int, code: str,
                            **request: object) -> None:
    """POST a hostile register; 4xx in the error shape, no row or file written (so the
    name was not taken half-way either)."""
    before = hostile.snapshot()
    async with hostile.client() as client:
        r = await client.post(REGISTER, **request)  # type: ignore[arg-type]
        assert_error(r, status, code)
    assert hostile.snapshot() == before


async def test_oversized_body_with_content_length(hostile: HostileServer) -> None:
    body = json.dumps(_register_body("big_declared", device_name="x" * limits.MAX_BODY_BYTES))
    await _refused_register(hostile, "big_declared", 413, "payload_too_large",
                            content=body, headers={"content-type": "application/json"})


async def test_oversized_body_chunked_without_content_length(hostile: HostileServer) -> None:
    def chunks() -> list[bytes]:
        head = json.dumps(_register_body("big_chunked"))[:-1].encode() + b', "pad": "'
        return [head] + [b"y" * 65536] * (limits.MAX_BODY_BYTES // 65536 + 2) + [b'"}']

    async def stream():  # type: ignore[no-untyped-def]
        for chunk in chunks():
            yield chunk

    await _refused_register(hostile, "big_chunked", 413, "payload_too_large",
                            content=stream(), headers={"content-type": "application/json"})


async def test_oversized_chunked_body_raw(hostile: HostileServer) -> None:
    """The same, as raw chunked transfer-encoding on the wire (no client library).

    The client finishes its body after the 413, then goes silent: the connection is
    closed at the keep-alive timeout. (It was held for ever when the answer came
    before the body's end: the body's bytes cancelled uvicorn's idle timer.)
    """
    before = hostile.snapshot()
    piece = b"z" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    head = (b"POST /api/v1/accounts/register HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    count = limits.MAX_BODY_BYTES // len(piece) + 2
    answer, elapsed = await raw_exchange(hostile.port, [head, *[chunk] * count, b"0\r\n\r\n"],
                                         read_timeout_s=KEEP_ALIVE_S + 8)
    status, body = parse_raw(answer)
    assert status == 413 and body["error"]["code"] == "payload_too_large"
    assert elapsed < KEEP_ALIVE_S + 6
    assert hostile.snapshot() == before


async def test_headers_over_the_app_limit(hostile: HostileServer) -> None:
    before = hostile.snapshot()
    async with hostile.client() as client:
        r = await client.post(REGISTER, json=_register_body("big_headers"),
                              headers={"x-filler": "h" * limits.MAX_HEADER_BYTES})
        assert_error(r, 431, "headers_too_large")
    assert hostile.snapshot() == before


async def test_endless_headers_cut_off_at_the_protocol(hostile: HostileServer) -> None:
    """A megabyte of headers is answered 431 and closed once 64 KiB have arrived."""
    lines = [b"POST /api/v1/accounts/register HTTP/1.1\r\nHost: t\r\n"]
    lines += [b"X-Filler: " + b"h" * 1000 + b"\r\n"] * 1000
    before = hostile.snapshot()
    answer, _ = await raw_exchange(hostile.port, lines)
    status, body = parse_raw(answer)
    assert status == 431 and body["error"]["code"] == "headers_too_large"
    assert hostile.snapshot() == before


async def test_deep_json(hostile: HostileServer) -> None:
    deep = "[" * (limits.MAX_JSON_DEPTH + 1) + "]" * (limits.MAX_JSON_DEPTH + 1)
    body = json.dumps(_register_body("deep_json"))[:-1] + f', "x": {deep}}}'
    await _refused_register(hostile, "deep_json", 400, "json_too_deep", content=body,
                            headers={"content-type": "application/json"})


async def test_invalid_utf8_in_json(hostile: HostileServer) -> None:
    body = b'{"username": "bad_utf\xc3\x28", "password": "a long enough passphrase"}'
    await _refused_register(hostile, "bad_utf", 400, "invalid_utf8", content=body,
                            headers={"content-type": "application/json"})


@pytest.mark.parametrize("field", ["username", "password", "device_name"])
async def test_lone_surrogate_in_json(hostile: HostileServer, field: str) -> None:
    body = _register_body(f"lone_{field}")
    body[field] = body[field] + "\ud800"
    raw = json.dumps(body)  # ensure_ascii: the surrogate travels as the escape \ud800
    assert "\\ud800" in raw
    await _refused_register(hostile, f"lone_{field}", 400, "invalid_unicode", content=raw,
                            headers={"content-type": "application/json"})


async def test_lone_surrogate_in_nested_list(hostile: HostileServer) -> None:
    """Found by this suite: a surrogate inside a list reached the database (500)."""
    me = hostile.user("someone")
    async with hostile.client() as client:
        before = hostile.snapshot()
        r = await client.post("/api/v1/keys/query", content=b'{"users": ["\\udc00x"]}',
                              headers={**me, "content-type": "application/json"})
        assert_error(r, 400, "invalid_unicode")
        assert hostile.snapshot() == before


@pytest.mark.parametrize("field", ["username", "password", "device_name"])
async def test_nul_in_account_fields(hostile: HostileServer, field: str) -> None:
    body = _register_body(f"nul_{field}")
    body[field] = body[field][:3] + "\0" + body[field][3:]
    await _refused_register(hostile, f"nul_{field}", 400, "invalid_unicode",
                            content=json.dumps(body),
                            headers={"content-type": "application/json"})


async def test_nul_in_channel_post_group_and_profile_text(hostile: HostileServer) -> None:
    """NUL in a handle, a title, a post, a group title, a display name: all refused."""
    me = hostile.user("someone")
    async with hostile.client() as client:
        r = await client.post("/api/v1/channels", headers=me,
                              json={"handle": "nul_chan", "title": "Fine"})
        assert r.status_code == 201
        before = hostile.snapshot()
        hostile_requests = [
            ("POST", "/api/v1/channels", {"handle": "nul\0chan", "title": "T"}),
            ("POST", "/api/v1/channels", {"handle": "nul_chan2", "title": "T\0"}),
            ("PATCH", "/api/v1/channels/nul_chan", {"description": "a\0b"}),
            ("POST", "/api/v1/channels/nul_chan/posts", {"text": "post\0text"}),
            ("POST", "/api/v1/groups", {"title": "group\0title"}),
            ("PUT", "/api/v1/accounts/profile", {"display_name": "Nul\0Name"}),
        ]
        for method, path, body in hostile_requests:
            r = await client.request(method, path, headers=me, json=body)
            assert_error(r, 400, "invalid_unicode")
        assert hostile.snapshot() == before
        assert (await client.get("/api/v1/accounts/profile", headers=me)
                ).json()["display_name"] in (None, "")
        assert (await client.get("/api/v1/channels/nul_chan", headers=me)
                ).json()["description"] == ""


@pytest.mark.parametrize("url", [
    "/api/v1/search/channels?q=%FF%FE",         # invalid UTF-8 in the query
    "/api/v1/search/posts?q=%ED%A0%80",         # an encoded lone surrogate
    "/api/v1/search/channels?q=a%00b",          # NUL in the query
    "/api/v1/channels/%FF%FEchan",              # invalid UTF-8 in the path
    "/api/v1/channels/chan%00nel",              # NUL in the path
])
async def test_bad_bytes_in_url(hostile: HostileServer, url: str) -> None:
    me = hostile.user("someone")
    async with hostile.client() as client:
        r = await client.get(url, headers=me)
        assert_error(r, 400, "invalid_url")


async def test_raw_non_ascii_request_line(hostile: HostileServer) -> None:
    """Bytes that are not HTTP at all still get 400 in the error shape, then close."""
    answer, _ = await raw_exchange(hostile.port,
                                   b"GET /api/v1/channels/\xff\xfe HTTP/1.1\r\nHost: t\r\n\r\n")
    status, body = parse_raw(answer)
    assert status == 400 and body["error"]["code"] == "bad_http"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "text/plain", "multipart/form-data; boundary=x"])
async def test_json_endpoint_sent_other_content_types(hostile: HostileServer,
                                                      content_type: str) -> None:
    me = hostile.user("someone")
    async with hostile.client() as client:
        before = hostile.snapshot()
        body = ("handle=form_chan&title=Form" if "urlencoded" in content_type
                else json.dumps({"handle": "form_chan", "title": "Form"}))
        r = await client.post("/api/v1/channels", headers={**me, "content-type": content_type},
                              content=body)
        assert_error(r, 422, "invalid_request")
        assert hostile.snapshot() == before
        assert (await client.get("/api/v1/channels/form_chan", headers=me)).status_code == 404


async def test_slowloris_headers_cut_off(hostile: HostileServer) -> None:
    """Headers at one byte per 0.3 s: 408 and closed at the header deadline, not never."""
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"s" * 100 + b"\r\n\r\n"
    answer, elapsed = await raw_exchange(hostile.port, [bytes([b]) for b in request],
                                         pause_s=0.3, read_timeout_s=HEADER_TIMEOUT_S + 5)
    status, body = parse_raw(answer)
    assert status == 408 and body["error"]["code"] == "request_timeout"
    assert HEADER_TIMEOUT_S - 0.1 <= elapsed < HEADER_TIMEOUT_S + 2


async def test_silent_connection_cut_off(hostile: HostileServer) -> None:
    """A connection that never sends a byte is closed at the same deadline."""
    answer, elapsed = await raw_exchange(hostile.port, [b""], pause_s=0,
                                         read_timeout_s=HEADER_TIMEOUT_S + 5)
    assert parse_raw(answer)[0] == 408
    assert elapsed < HEADER_TIMEOUT_S + 2


async def test_slow_json_body_cut_off(hostile: HostileServer) -> None:
    """Headers on time, then the body stalls: 408 after the body timeout, nothing stored."""
    body = json.dumps(_register_body("slow_body")).encode()
    head = (b"POST /api/v1/accounts/register HTTP/1.1\r\nHost: t\r\n"
            b"Content-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n")
    before = hostile.snapshot()
    answer, elapsed = await raw_exchange(hostile.port, [head, body[:10]],
                                         pause_s=0.05, read_timeout_s=BODY_TIMEOUT_S + 5)
    status, error = parse_raw(answer)
    assert status == 408 and error["error"]["code"] == "request_timeout"
    assert elapsed < BODY_TIMEOUT_S + 2
    assert hostile.snapshot() == before


async def test_keep_alive_client_is_not_cut_off(hostile: HostileServer) -> None:
    """The guards leave honest clients alone: on one kept-alive connection, a request
    after a pause longer than the header deadline (but shorter than the idle keep-alive
    timeout) is answered normally, with nothing unasked-for in between."""
    reader, writer = await asyncio.open_connection("127.0.0.1", hostile.port)
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    try:
        for _ in range(2):
            writer.write(request)
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(re.search(rb"content-length: (\d+)", head.lower()).group(1))  # type: ignore[union-attr]
            assert json.loads(await reader.readexactly(length)) == {"status": "ok"}
            await asyncio.sleep(HEADER_TIMEOUT_S + 0.5)
        assert not reader.at_eof()
    finally:
        writer.close()


BIG = 2**70
"""Past the 64-bit integers SQLite and PostgreSQL store."""


@pytest.mark.parametrize(("method", "path", "body"), [
    ("PATCH", f"/api/v1/channels/big_ints/posts/{BIG}", {"text": "x"}),  # found by fuzzing
    ("GET", f"/api/v1/reports/{BIG}", None),
    ("PUT", "/api/v1/channels/big_ints/pin", {"number": BIG}),
    ("POST", "/api/v1/channels/big_ints/views", {"numbers": [BIG]}),
    ("GET", f"/api/v1/channels/big_ints/posts?before={BIG}", None),
    ("GET", f"/api/v1/channels/big_ints/updates?since={BIG}", None),
    ("GET", f"/c/big_ints/{BIG}", None),
])
async def test_integers_past_64_bits(hostile: HostileServer, method: str, path: str,
                                     body: object) -> None:
    """Was 500 (OverflowError in the driver) for every one of these: now 422 where the
    route bounds the id, else 400 ``value_out_of_range``; nothing stored either way."""
    me = hostile.user("someone")
    async with hostile.client() as client:
        if (await client.get("/api/v1/channels/big_ints", headers=me)).status_code == 404:
            made = await client.post("/api/v1/channels", headers=me,
                                     json={"handle": "big_ints", "title": "Big ints"})
            assert made.status_code == 201
        before = hostile.snapshot()
        r = await client.request(method, path, headers=me, json=body)
        assert r.status_code in (400, 422), r.text[:200]
        assert_error(r, r.status_code, "value_out_of_range" if r.status_code == 400
                     else "invalid_request")
        assert hostile.snapshot() == before
