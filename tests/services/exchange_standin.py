"""A local stand-in for partners' hash-list APIs (TAT/TCAP, NCMEC), for tests.

It speaks the wire format pytx's own clients (``TATHashListAPI``, ``NCMECHashAPI``)
expect, on 127.0.0.1 only, so an exchange test drives pytx's real client code, HTTP
and parsing included, with no network. Payloads are constructed in the partners'
documented shapes (see tests/services/data/README.md for provenance).
"""

from __future__ import annotations

import json
import threading
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TAT_PAGE = 3


@dataclass
class StandIn:
    """State the tests set: TAT records, NCMEC XML, failures to inject, requests seen."""

    tat_records: list[dict[str, t.Any]] = field(default_factory=list)
    tat_users: dict[str, str] = field(default_factory=lambda: {"tcap-user": "tcap-pass"})
    ncmec_xml: str = ""
    te_updates: list[dict[str, t.Any]] = field(default_factory=list)
    """ThreatExchange /threat_updates items (Graph API JSON)."""
    fail_tat_pages: set[int] = field(default_factory=set)
    """Pages (1-based) answered with 403 while listed (no retry in pytx's client)."""
    hold_tat_page: int | None = None
    """A page (1-based) answered only once ``release`` is set: a fetch caught mid-way."""
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[str] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> StandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: t.Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # TAT token
                standin.requests.append(f"POST {self.path}")
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                user, password = form.get("username", [""])[0], form.get("password", [""])[0]
                if self.path != "/token-auth/tcap/" or standin.tat_users.get(user) != password:
                    self._send(401, b'{"error": "bad credentials"}', "application/json")
                    return
                self._send(200, json.dumps({"token": f"tok-{user}", "user": {}}).encode(),
                           "application/json")

            def do_GET(self) -> None:
                standin.requests.append(f"GET {self.path}")
                parsed = urlparse(self.path)
                query = parse_qs(parsed.query, keep_blank_values=True)
                if parsed.path == "/api/hash-list/v2/all":
                    self._tat(query)
                elif parsed.path == "/v2/entries":
                    self._send(200, standin.ncmec_xml.encode(), "application/xml")
                elif parsed.path.endswith("/threat_updates/"):
                    if not query.get("access_token", [""])[0].startswith("1234|"):
                        self._send(400, b'{"error": {"message": "bad token"}}',
                                   "application/json")
                        return
                    since = int(query.get("start_time", ["0"])[0] or 0)
                    data = [u for u in standin.te_updates if int(u["last_updated"]) >= since]
                    self._send(200, json.dumps({"data": data, "paging": {}}).encode(),
                               "application/json")
                else:
                    self._send(404, b"{}", "application/json")

            def _tat(self, query: dict[str, list[str]]) -> None:
                if not self.headers.get("Authorization", "").startswith("Bearer tok-"):
                    self._send(401, b'{"error": "no token"}', "application/json")
                    return
                after = query.get("after", [""])[0]
                key = (float(after.split(",")[0]), int(after.split(",")[1])) if after else None
                rows = sorted(standin.tat_records, key=lambda r: (r["updated_on"], r["id"]))
                if key is not None:
                    rows = [r for r in rows if (r["updated_on"], r["id"]) > key]
                page = int(query.get("page", ["1"])[0])
                if page == standin.hold_tat_page:
                    standin.release.wait(timeout=30)
                if page in standin.fail_tat_pages:
                    self._send(403, b'{"error": "forbidden"}', "application/json")
                    return
                chunk = rows[(page - 1) * TAT_PAGE:page * TAT_PAGE]
                more = len(rows) > page * TAT_PAGE
                last = chunk[-1] if chunk else None
                body = {"count": len(rows), "next": f"page={page + 1}" if more else None,
                        "previous": None,
                        "checkpoint": f"{last['updated_on']},{last['id']}" if last else after,
                        "results": chunk}
                self._send(200, json.dumps(body).encode(), "application/json")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def te_update(id: int, kind: str, indicator: str, status: str = "MALICIOUS",
              tags: tuple[str, ...] = (), delete: bool = False) -> dict[str, t.Any]:
    """One /threat_updates item as the Graph API answers it (fields pytx asks for)."""
    item: dict[str, t.Any] = {"id": str(id), "indicator": indicator, "type": kind,
                              "last_updated": 1_700_000_000 + id, "should_delete": delete}
    if not delete:
        item["descriptors"] = {"data": [{"id": str(9000 + id), "owner": {"id": "77"},
                                         "status": status, "tags": list(tags)}]}
    return item


def tat_record(id: int, algorithm: str, digest: str, file_type: str,
               deleted: bool = False, updated_on: float | None = None) -> dict[str, t.Any]:
    """One record of TCAP's hash list v2 (the fields ``TATHashListEntry`` takes)."""
    return {"hash_digest": digest, "algorithm": algorithm, "ideology": "islamist",
            "file_type": file_type, "deleted": deleted,
            "updated_on": updated_on if updated_on is not None else 1_704_901_040.0 + id,
            "created_on": "2025-03-03T23:05:22.587000", "id": id}
