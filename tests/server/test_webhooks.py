"""Outbound webhooks: a real HTTP receiver gets signed deliveries when a removal order
arrives and when it goes overdue, a retry after it answered 500, and can tell a replay."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import AppFactory
from tests.server.order_util import authority, eventually, member, order_body, submit
from tests.server.report_util import staff
from tidings.services.clock import ManualClock
from tidings.services.webhooks import ENDPOINTS_MAX, verify

MINUTE = 60_000


class Receiver:
    """Records every request; answers 500 to the first ``fail_first`` of them."""

    def __init__(self, fail_first: int) -> None:
        self.requests: list[tuple[dict[str, str], bytes, int]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.requests) < receiver.fail_first else 204
                receiver.requests.append((dict(self.headers.items()), body,
                                          status))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/tidings"

    def events(self) -> list[str]:
        return [json.loads(body)["event"] for _, body, status in self.requests if status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail_first=1)
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()


async def test_signed_deliveries_with_a_retry_and_replay_detection(
        api: AppFactory, receiver: Receiver) -> None:
    clock = ManualClock()
    async with api(clock=clock, webhook_scan_s=0.2) as client:
        admin = await member(client, "root_admin", "admin")
        mod = await staff(client, "mod_anna", "moderator")
        bka = await authority(client, admin, "bka")
        body = {"url": receiver.url, "events": ["order.received", "order.overdue"],
                "description": "on-call pager"}
        assert (await client.post("/api/v1/admin/webhooks", headers=mod,
                                  json=body)).status_code == 403
        r = await client.post("/api/v1/admin/webhooks", headers=admin, json=body)
        assert r.status_code == 201, r.text
        endpoint = r.json()
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")
        listed = (await client.get("/api/v1/admin/webhooks", headers=admin)).json()
        assert "secret" not in json.dumps(listed["endpoints"])
        assert "order.overdue" in listed["events"]

        order = await submit(client, bka, order_body("account:mod_anna", "BKA-77"))
        assert order["status"] == "open"
        await eventually(lambda: _count(receiver), lambda n: n >= 1, timeout=30)
        assert receiver.requests[0][2] == 500
        # Step the clock past the job queue's first backoff, again on every poll: the
        # runner records the failed attempt (and its retry time) only after the
        # receiver has answered, so a single step can land before the retry is set.
        async def step_and_count() -> int:
            clock.advance(2_000)
            return await _count(receiver)

        await eventually(step_and_count, lambda n: n >= 2, timeout=30)
        headers, raw, status = receiver.requests[1]
        assert status == 204 and headers["Tidings-Event"] == "order.received"
        payload = json.loads(raw)
        assert payload["data"]["reference"] == "BKA-77"
        assert payload["data"]["deadline_ms"] == payload["data"]["received_ms"] + 60 * MINUTE
        now_s = clock() / 1000
        assert verify(secret, headers["Tidings-Signature"], raw, now_s=now_s)
        assert not verify(secret, headers["Tidings-Signature"], raw + b" ", now_s=now_s)
        assert not verify("whsec_other", headers["Tidings-Signature"], raw, now_s=now_s)
        # the same delivery replayed ten minutes later is outside the window
        assert not verify(secret, headers["Tidings-Signature"], raw, now_s=now_s + 600)

        clock.advance(61 * MINUTE)
        await eventually(lambda: _events(receiver), lambda e: "order.overdue" in e, timeout=30)
        assert receiver.events().count("order.received") == 1  # each event once

        log = (await client.get(f"/api/v1/admin/webhooks/{endpoint['id']}/deliveries",
                                headers=admin)).json()["deliveries"]
        by_event = {d["event"]: d for d in log}
        assert by_event["order.received"]["state"] == "delivered"
        assert by_event["order.received"]["attempts"] == 2
        assert by_event["order.overdue"]["last_status"] == 204
        metrics = (await client.get("/metrics")).text
        assert 'tidings_webhook_deliveries_total{event="order.received",result="failed"} 1.0' \
            in metrics


async def test_bad_endpoints_are_refused(api: AppFactory) -> None:
    """The URL and event rules are published (pattern, enum) and checked by the request
    model: 422, as for any schema-invalid body."""
    async with api() as client:
        admin = await member(client, "root_admin", "admin")
        for body in ({"url": "ftp://example.org/x", "events": ["order.received"]},
                     {"url": "https://u:p@example.org/x", "events": ["order.received"]},
                     {"url": "https://[::1/x", "events": ["order.received"]},
                     {"url": "https://example.org/x", "events": ["order.eaten"]},
                     {"url": "https://example.org/x", "events": []}):
            r = await client.post("/api/v1/admin/webhooks", headers=admin, json=body)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", \
                r.text
        assert (await client.delete("/api/v1/admin/webhooks/99", headers=admin)).status_code \
            == 404
        # the cap is the server's state, not the request's: 409, like any "full"
        for i in range(ENDPOINTS_MAX):
            r = await client.post("/api/v1/admin/webhooks", headers=admin, json={
                "url": f"https://hooks.example.org/{i}", "events": ["order.received"]})
            assert r.status_code == 201, r.text
        r = await client.post("/api/v1/admin/webhooks", headers=admin, json={
            "url": "https://hooks.example.org/one-more", "events": ["order.received"]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_webhooks"


async def _count(receiver: Receiver) -> int:
    return len(receiver.requests)


async def _events(receiver: Receiver) -> list[str]:
    return receiver.events()
