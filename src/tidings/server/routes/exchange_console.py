"""Console page for partner hash exchanges: each exchange's schedule and state, last
success and error, what it added, removed and rejected (and why), progress of a run.

Read-only and server-rendered (no JavaScript under the CSP); it refreshes itself every
30 seconds so a long fetch's progress moves. Changes go through the API and CLI
(``tidings bank exchange ...``), which admins use.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tidings.server.routes.banks import exchange_json
from tidings.server.routes.console import login_redirect, render
from tidings.server.routes.review_console import STAFF, _page
from tidings.server.state import kernel_of
from tidings.services.banks import BankService

router = APIRouter(prefix="/console", include_in_schema=False)
SECTIONS: Final[list[dict[str, Any]]] = [
    {"title": "Hash exchanges", "href": "/console/exchanges", "roles": STAFF,
     "about": "partner hash lists (TCAP, NCMEC, ThreatExchange): last fetch, errors, "
              "rejections"},
]
REFRESH_S: Final = 30


@router.get("/exchanges", response_class=HTMLResponse)
async def exchanges_page(request: Request) -> Response:
    page = await _page(request)
    if page is None:
        return login_redirect()
    _, context = page
    banks: BankService = kernel_of(request).banks
    rows = [exchange_json(x) for x in await banks.all_exchanges()]
    return render(request, "console/exchanges.html", exchanges=rows, refresh=REFRESH_S,
                  **context)
