"""JSON logs: one request's id is in its access line, its application lines and the
lines of the jobs it enqueued; a hostile X-Request-Id never reaches a log line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tests.conftest import AppFactory
from tests.server.channel_util import channel, post
from tests.server.order_util import authority, eventually, member, order_body
from tidings.server import logs


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The ``tidings`` logger's output in the JSON format, as ``tidings serve`` with
    ``log_format = "json"`` writes it (logs.configure), captured in memory."""
    logger = logging.getLogger("tidings")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    out = io.StringIO()
    logs.configure("json", "info")
    handler = logger.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    yield out
    logger.handlers, logger.propagate = saved[0], saved[1]
    logger.setLevel(saved[2])


def parsed(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


async def test_one_request_id_through_access_application_and_job_lines(
        api: AppFactory, json_lines: io.StringIO) -> None:
    async with api() as client:
        alice = await member(client, "alice")
        admin = await member(client, "root_admin", "admin")
        bka = await authority(client, admin, "bka")
        await channel(client, alice, "news_desk")
        p = await post(client, alice, "news_desk", "see you at the march")
        r = await client.post("/api/v1/orders", headers={**bka, "X-Request-Id": "req-order-1"},
                              json=order_body(f"/c/news_desk/{p['number']}", "BKA-LOG"))
        assert r.status_code == 201, r.text
        assert r.headers["x-request-id"] == "req-order-1"
        lines = await eventually(
            lambda: _lines(json_lines),
            lambda ls: any("order_notice job" in str(x["message"]) for x in ls), timeout=10)
    mine = [x for x in lines if x["request_id"] == "req-order-1"]
    access = [x for x in mine if x["logger"] == "tidings.access"]
    assert access and access[0]["method"] == "POST" and access[0]["status"] == 201
    assert access[0]["path"] == "/api/v1/orders"
    assert any(x["logger"] == "tidings.services.orders" and "executed" in str(x["message"])
               for x in mine)
    assert any(x["logger"] == "tidings.services.jobs" and "order_notice" in str(x["message"])
               for x in mine)
    assert all(set(x) >= {"ts", "level", "logger", "message", "request_id"} for x in lines)
    # another request got another id
    assert any(x["request_id"] not in ("req-order-1", None, "-") for x in lines
               if x["logger"] == "tidings.access")


async def test_a_hostile_request_id_is_replaced(api: AppFactory,
                                                json_lines: io.StringIO) -> None:
    async with api() as client:
        r = await client.get("/healthz", headers={"X-Request-Id": "x" * 65})
        assert len(r.headers["x-request-id"]) == 16
        r = await client.get("/healthz", headers={"X-Request-Id": "a b\nINJECTED"})
        assert "INJECTED" not in r.headers["x-request-id"]
    assert all("xxxxxxxx" not in str(x["request_id"]) for x in parsed(json_lines))


def test_unknown_log_format_is_refused(tmp_path: pytest.TempPathFactory) -> None:
    from tidings.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="log_format"):
        load_settings(None, {"TIDINGS_DATA": str(tmp_path), "TIDINGS_LOG_FORMAT": "xml"})


async def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return parsed(out)
