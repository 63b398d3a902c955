"""The pages a newcomer meets first: the landing page, the API documentation, the icon.

Everything they load is served by this server: Swagger UI comes from the
``fastapi-offline`` package (mounted under ``/static`` beside our own files, app.py), not
from a CDN, so the pages work on a network that reaches nothing else. No inline script
(the CSP forbids it): each page's one script is a static file that reads its settings
from ``data-`` attributes. (ReDoc's bundle is not served: it loads its vendor's logo
from a CDN, whatever its options.)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from tidings.protocol import limits
from tidings.server.channel_deps import channels
from tidings.server.routes.web import render
from tidings.server.state import kernel_of
from tidings.services.channels import ChannelService

router = APIRouter(tags=["web"], include_in_schema=False)

STATIC = Path(str(resources.files("tidings.server") / "static"))


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request,
                  q: str = Query("", max_length=limits.SEARCH_QUERY_MAX),
                  svc: ChannelService = Depends(channels)) -> HTMLResponse:
    """What this server is and where to go: channels, transparency, console, API."""
    query = q.strip()
    if query:
        found = await svc.search(query, limits.LANDING_CHANNELS)
    else:
        found = await svc.most_followed(limits.LANDING_CHANNELS)
    settings = kernel_of(request).settings
    return render(request, "home.html", {
        "title": settings.provider_name, "provider": settings.provider_name,
        "server_url": settings.resolved_public_url, "channels": found, "query": query,
        "og_title": settings.provider_name,
        "og_description": "Private chats, end-to-end encrypted; public channels; "
                          "trust and safety built in."})


@router.get("/api/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over ``/openapi.json``, every asset from this server."""
    return render(request, "api_docs.html", {"title": "API documentation",
                                             "openapi_url": request.app.openapi_url})


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    return FileResponse(STATIC / "favicon.ico", media_type="image/x-icon",
                        headers={"cache-control": "public, max-age=86400"})
