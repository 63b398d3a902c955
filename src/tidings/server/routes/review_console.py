"""Console pages for the review queue, cases, decisions and appeals (server-rendered).

No JavaScript and no inline styles (the CSP forbids both): media in a case is blurred
and greyscale until the moderator ticks its "reveal" checkbox (a CSS sibling
selector), unless their stored preference says to show media. Auditors see every page
but get no forms; every POST carries the session's CSRF token.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tidings.moderation.review import Decision
from tidings.protocol.errors import Forbidden, TidingsError
from tidings.server import web_session as ws
from tidings.server.routes.console import login_redirect, render, templates
from tidings.server.state import edge_of, kernel_of
from tidings.services.accounts import Principal
from tidings.services.reports import TARGET_KINDS, ReportService
from tidings.services.review import POLICIES, ReviewService

router = APIRouter(prefix="/console", include_in_schema=False)
STAFF: Final = ("moderator", "auditor", "admin")
DECIDERS: Final = frozenset({"moderator", "admin"})
SECTIONS: Final[list[dict[str, Any]]] = [
    {"title": "Review queue", "href": "/console/queue", "roles": STAFF,
     "about": "reports and automated holds, most urgent first"},
    {"title": "Appeals", "href": "/console/appeals", "roles": STAFF,
     "about": "complaints against decisions (DSA Art. 20), with TCO deadlines"},
]
SOURCES: Final = ("legal_order", "trusted_flagger", "verified_private_report",
                  "automated_hold", "user_report")


def when(ms: int | None) -> str:
    """Milliseconds since the epoch as a UTC date and time for people."""
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["when"] = when


def _review(request: Request) -> ReviewService:
    found: ReviewService = kernel_of(request).review
    return found


async def _page(request: Request) -> tuple[Principal, dict[str, Any]] | None:
    found = await ws.console_principal(request)
    if found is None or found[0].role not in ws.CONSOLE_ROLES:
        return None
    who, csrf = found
    sections = [s for s in edge_of(request).console_sections if who.role in s["roles"]]
    return who, {"who": who, "csrf": csrf, "sections": sections,
                 "can_decide": who.role in DECIDERS}


async def _form_user(request: Request, csrf: str) -> Principal:
    found = await ws.console_principal(request)
    who = ws.require_staff(found[0] if found else None)
    assert found is not None
    ws.require_csrf(request, found[1], csrf)
    return who


@router.get("/queue", response_class=HTMLResponse)
async def queue_page(request: Request, kind: str = "", source: str = "") -> Response:
    page = await _page(request)
    if page is None:
        return login_redirect()
    cases = await _review(request).queue(kind=kind or None, source=source or None)
    return render(request, "console/queue.html", cases=cases, kind=kind, source=source,
                  kinds=TARGET_KINDS, sources=SOURCES, **page[1])


@router.get("/appeals", response_class=HTMLResponse)
async def appeals_page(request: Request) -> Response:
    page = await _page(request)
    if page is None:
        return login_redirect()
    review = _review(request)
    cases = [*await review.queue(state="appealed"), *await review.queue(state="appeal_claimed")]
    decided = await review.queue(state="appeal_decided")
    return render(request, "console/appeals.html", cases=cases, decided=decided, **page[1])


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: str) -> Response:
    return await _case_view(request, case_id)


async def _case_view(request: Request, case_id: str, error: str = "", status: int = 200
                     ) -> Response:
    """The case page; after a refused form, with the server's own message for it.

    Errors are never carried in the URL (``?error=...`` was reflected text anyone could
    put on a moderator's screen with a link): a refused POST renders this page itself,
    with its 4xx status, and a successful one redirects to the clean URL."""
    page = await _page(request)
    if page is None:
        return login_redirect()
    who, context = page
    review = _review(request)
    try:
        case = await review.case(case_id)
    except TidingsError as exc:
        return render(request, "console/missing.html", status=exc.status, message=exc.message,
                      **context)
    return render(request, "console/case.html", status=status, case=case, error=error,
                  reveal=await review.reveal_media(who), policies=sorted(POLICIES),
                  actions=[str(d) for d in Decision], **context)


def _back(case_id: str) -> RedirectResponse:
    return RedirectResponse(f"/console/cases/{case_id}", status_code=303)


async def _refused(request: Request, case_id: str, exc: TidingsError) -> Response:
    return await _case_view(request, case_id, exc.message, exc.status)


@router.post("/cases/{case_id}/claim")
async def claim(request: Request, case_id: str, csrf: str = Form(default="", max_length=128),
                release: str = Form(default="")) -> Response:
    """Take (or give back) the case's lease so nobody else decides it meanwhile."""
    who = await _form_user(request, csrf)
    try:
        if who.role not in DECIDERS:
            raise Forbidden("auditors cannot claim cases", "forbidden_role")
        review = _review(request)
        await (review.release(who, case_id) if release else review.claim(who, case_id))
    except TidingsError as exc:
        return await _refused(request, case_id, exc)
    return _back(case_id)


@router.post("/cases/{case_id}/decision")
async def decide(request: Request, case_id: str, csrf: str = Form(default="", max_length=128),
                 action: str = Form(max_length=32), policy: str = Form(max_length=64),
                 facts: str = Form(default="", max_length=4000)) -> Response:
    who = await _form_user(request, csrf)
    try:
        if who.role not in DECIDERS:
            raise Forbidden("auditors cannot decide cases", "forbidden_role")
        await _review(request).decide(who, case_id, action, policy, facts)
    except TidingsError as exc:
        return await _refused(request, case_id, exc)
    return _back(case_id)


@router.post("/cases/{case_id}/appeal-decision")
async def decide_appeal(request: Request, case_id: str,
                        csrf: str = Form(default="", max_length=128),
                        decision: str = Form(max_length=16),
                        answer: str = Form(default="", max_length=4000)) -> Response:
    who = await _form_user(request, csrf)
    try:
        if who.role not in DECIDERS:
            raise Forbidden("auditors cannot decide appeals", "forbidden_role")
        await _review(request).decide_appeal(who, case_id, decision, answer)
    except TidingsError as exc:
        return await _refused(request, case_id, exc)
    return _back(case_id)


@router.post("/preferences")
async def preferences(request: Request, csrf: str = Form(default="", max_length=128),
                      reveal_media: str = Form(default=""),
                      back: str = Form(default="/console/queue", max_length=200)) -> Response:
    who = await _form_user(request, csrf)
    await _review(request).set_reveal_media(who, reveal_media == "on")
    target = back if back.startswith("/console/") else "/console/queue"
    return RedirectResponse(target, status_code=303)


# -- attachments reporters disclosed (issue 21) -------------------------------------------
#: Disclosed files shown as pictures; any other type is offered as a download only.
SHOWN_IMAGES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SHOWN_TEXT_MAX: Final = 16 * 1024
"""A disclosed text file up to this size is shown in the page (blurred); longer ones
are a download."""


def disclosed_view(request: Request, case_id: str, file: dict[str, Any]
                   ) -> dict[str, Any] | None:
    """How the case page shows a file message's attachment the reporter disclosed, or
    None when they did not. Never the attachment's key: only the bytes they sent."""
    reports: ReportService = kernel_of(request).reports
    sha256 = str(file.get("sha256") or "")
    if not reports.has_disclosed(sha256):
        return None
    media_type = str(file.get("media_type") or "")
    out: dict[str, Any] = {"url": f"/console/cases/{case_id}/disclosed/{sha256}",
                           "image": media_type in SHOWN_IMAGES, "text": None}
    size = file.get("size")
    if media_type.startswith("text/plain") and isinstance(size, int) and size <= SHOWN_TEXT_MAX:
        assert reports.disclosed is not None  # has_disclosed said so
        out["text"] = reports.disclosed.read(sha256).decode("utf-8", "replace")
    return out


templates.env.globals["disclosed"] = disclosed_view


@router.get("/cases/{case_id}/disclosed/{sha256}")
async def disclosed_file(request: Request, case_id: str, sha256: str) -> Response:
    """The bytes of a disclosed attachment, to staff, if this case's reports name it."""
    page = await _page(request)
    if page is None:
        return login_redirect()
    try:
        case = await _review(request).case(case_id)
    except TidingsError:
        return Response("no such case", status_code=404, media_type="text/plain")
    files = {m["file"]["sha256"]: m["file"] for r in case["reports"]
             for m in r["messages"] if m.get("file")}
    reports: ReportService = kernel_of(request).reports
    data = await reports.disclosed_file(sha256) if sha256 in files else None
    if data is None:
        return Response("no disclosed file of this case", status_code=404,
                        media_type="text/plain")
    shown = files[sha256]["media_type"] in SHOWN_IMAGES
    return Response(data, media_type=files[sha256]["media_type"] if shown
                    else "application/octet-stream",
                    headers={"Cache-Control": "private, no-store",
                             "X-Content-Type-Options": "nosniff",
                             "Content-Disposition": "inline" if shown else "attachment"})
