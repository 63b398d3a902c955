"""Shared pieces of the HMA API tests: the real photos, a media server on 127.0.0.1,
and the literal request sequence of Coop's HMA client.

Followed sources (recorded here so a test failure can be traced to them):

- facebook/ThreatExchange commit ``baefb4ed67b6cdc1d4c82dbaef858d50866ac424``
  (2026-07-17): ``hasher-matcher-actioner/src/OpenMediaMatch/blueprints/`` and the
  OpenAPI document its ``scripts/dump_openapi.py`` writes (``tests/data/hma/``);
- roostorg/coop commit ``1c1f54da95c738ed6293997c73ab83541ba9a373`` (2026-08-21):
  ``server/services/hmaService/index.ts`` (``HmaService``).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

THREATEXCHANGE_COMMIT = "baefb4ed67b6cdc1d4c82dbaef858d50866ac424"
COOP_COMMIT = "1c1f54da95c738ed6293997c73ab83541ba9a373"
DATA = Path(__file__).resolve().parents[1] / "data" / "hma"
PHOTO = (DATA / "bridge-256.jpg").read_bytes()
"""ThreatExchange ``pdq/data/bridge-mods/square-256x256.jpg`` (a real photo)."""
PHOTO_SHRUNK = (DATA / "bridge-shrunk.jpg").read_bytes()
"""ThreatExchange ``pdq/data/bridge-mods/shrink-a-lot.jpg``: the same photo, 160x100."""
PHOTO_PDQ = "d8f8f0cec4f4a84f0637022a078f67f0b36e2ee5b6621e1d33e6239c4e9c9b22"

SECRET = "coop-proxy-secret-0123456789"
CLIENT_HEADER = "X-Tidings-HMA-Key"
COOP_CLIENT = f"coop={hashlib.sha256(SECRET.encode()).hexdigest()}@COOP_"
"""``hma_clients`` entry: Coop may change only banks named COOP_... (its own names)."""
COOP = {CLIENT_HEADER: SECRET}
"""What the reverse proxy adds to Coop's requests."""


def flip_bits(hex_hash: str, bits: int) -> str:
    """A hash ``bits`` bits away (the top bit of each byte first, then the next)."""
    value = int(hex_hash, 16)
    for i in range(bits):
        value ^= 1 << (255 - 8 * (i % 32) - i // 32)
    return f"{value:064x}"


def coop_bank_name(org_id: str, name: str) -> str:
    """Coop's ``getHmaName`` (index.ts): COOP_<ORG>_<NAME, upper, non-alnum to _>."""
    import re

    normalized = re.sub(r"[^A-Z0-9_]", "_", name.upper())
    normalized = re.sub(r"_+", "_", normalized).strip("_")
    return f"COOP_{org_id.upper()}_{normalized}"


Route = tuple[int, dict[str, str], bytes]


def start_media_server(routes: dict[str, Route], fallback: Route = (404, {}, b"not found")
                       ) -> tuple[ThreadingHTTPServer, str]:
    """An HTTP server on 127.0.0.1, serving in a daemon thread, answering ``routes``
    (path -> status, headers, body) and ``fallback`` for any other path; returns it and
    its base URL (the caller shuts it down, or lets it live with the process)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = routes.get(self.path, fallback)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def media_server(routes: dict[str, Route]) -> Iterator[str]:
    """:func:`start_media_server` for the ``with`` block; yields its base URL."""
    server, url = start_media_server(routes)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
