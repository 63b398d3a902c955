"""Reports (DSA Art. 16), the system inbox, appeals, trusted flaggers and the review API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ConfigDict, Field

from tidings.moderation import review as rv
from tidings.moderation import vocabulary
from tidings.protocol import limits
from tidings.protocol.api.safety import (
    ReportReceipt,
    ReportStatus,
    TrustedFlagger,
    TrustedFlaggerSet,
)
from tidings.protocol.errors import Unauthorized
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.deps import accounts, bearer, principal, rate_limit, require_role
from tidings.server.openapi import typed
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.notices import NoticeService
from tidings.services.reports import FrankedMessage, ReportInput, ReportService, url_target
from tidings.services.review import ReviewService

ReportId = Annotated[int, Path(ge=1, lt=limits.ID_MAX + 1)]

router = APIRouter(prefix="/api/v1", tags=["reports"])
moderator = require_role("moderator", "admin")
staff_reader = require_role("moderator", "admin", "auditor")
admin = require_role("admin")


def reports(request: Request) -> ReportService:
    found: ReportService = kernel_of(request).reports
    return found


def review(request: Request) -> ReviewService:
    found: ReviewService = kernel_of(request).review
    return found


def notices(request: Request) -> NoticeService:
    found: NoticeService = kernel_of(request).notices
    return found


async def even_suspended(request: Request,
                         creds: HTTPAuthorizationCredentials | None = Depends(bearer)
                         ) -> Principal:
    """Like ``principal``, but a suspended account passes: it can read its notices and
    appeal its suspension (DSA Art. 20(1))."""
    if creds is None or creds.scheme.lower() != "bearer":
        raise Unauthorized("this needs an access token (Authorization: Bearer ...)",
                           "missing_token")
    return await accounts(request).authenticate(creds.credentials, allow_suspended=True)


class Target(StrictBody):
    kind: str = Field(max_length=16, description="post, channel, account or message",
                      json_schema_extra={"enum": list(vocabulary.TARGET_KINDS)})
    channel: str | None = Field(default=None, max_length=64)
    number: int | None = Field(default=None, ge=1, le=2**62,
                               description="the post's number in the channel")
    url: str | None = Field(default=None, max_length=limits.REPORT_LOCATION_MAX,
                            description="instead of channel and number: /c/HANDLE/N or "
                            "/c/HANDLE, or the full URL on this server")
    post_id: int | None = Field(default=None, ge=1, le=2**62,
                                description="the internal id (staff tools)")
    account: str | None = Field(default=None, max_length=64)


def _good_faith_required(schema: dict[str, Any]) -> None:
    """Published: the statement must be made (else 400 ``good_faith_required``)."""
    schema["properties"]["good_faith"] = {"const": True, "type": "boolean"}
    schema["required"] = [*schema.get("required", []), "good_faith"]


class ReportIn(StrictBody):
    """A notice under DSA Art. 16(2): (a) category and explanation, (b) exact location,
    (c) name and email of the notifier (optional), (d) the good-faith statement."""

    model_config = ConfigDict(json_schema_extra=_good_faith_required)

    target: Target
    category: str = Field(max_length=64,
                          json_schema_extra={"enum": list(vocabulary.REPORT_CATEGORIES)})
    explanation: str = Field(max_length=limits.REPORT_EXPLANATION_MAX,
                             json_schema_extra={"pattern": published.NOT_BLANK})
    location: str = Field(default="", max_length=limits.REPORT_LOCATION_MAX)
    notifier_name: str | None = Field(default=None, max_length=128)
    notifier_email: str | None = Field(default=None, max_length=254)
    good_faith: bool = False
    message: dict[str, Any] | None = None
    context: list[dict[str, Any]] = Field(default_factory=list,
                                          max_length=limits.REPORT_CONTEXT_MAX)


@router.post("/reports", status_code=201, dependencies=[Depends(rate_limit("report"))],
             **typed(ReportReceipt))
async def submit_report(body: ReportIn, request: Request, who: Principal = Depends(principal),
                        svc: ReportService = Depends(reports)) -> dict[str, Any]:
    kind, channel, number = body.target.kind, body.target.channel, body.target.number
    location = body.location
    if body.target.url is not None:  # the URL is the exact location (DSA Art. 16(2)(b))
        kind, channel, number = url_target(body.target.url,
                                           kernel_of(request).settings.resolved_public_url)
        location = location or body.target.url
    r = ReportInput(
        kind=kind, category=body.category, explanation=body.explanation,
        good_faith=body.good_faith, location=location, notifier_name=body.notifier_name,
        notifier_email=body.notifier_email, channel=channel, number=number,
        post_id=body.target.post_id, account=body.target.account,
        message=FrankedMessage.from_json(body.message) if body.message is not None else None,
        context=[FrankedMessage.from_json(c) for c in body.context])
    return await svc.submit(who, r)


@router.get("/reports/{report_id}", **typed(ReportStatus))
async def report_status(report_id: ReportId, who: Principal = Depends(principal),
                        svc: ReportService = Depends(reports)) -> dict[str, Any]:
    return await svc.status(who, report_id)


@router.get("/notices")
async def list_notices(limit: int = 50, who: Principal = Depends(even_suspended),
                       svc: NoticeService = Depends(notices)) -> list[dict[str, Any]]:
    return await svc.list(who.user_id, limit)


class AppealIn(StrictBody):
    text: str = Field(max_length=limits.APPEAL_TEXT_MAX,
                      json_schema_extra={"pattern": published.NOT_BLANK})


@router.post("/cases/{case_id}/appeal", status_code=201)
async def appeal(case_id: str, body: AppealIn, who: Principal = Depends(even_suspended),
                 svc: ReviewService = Depends(review)) -> dict[str, Any]:
    return await svc.appeal(who, case_id, body.text)


class TrustedIn(StrictBody):
    trusted: bool = True


@router.get("/admin/trusted-flaggers", **typed(list[TrustedFlagger]))
async def trusted_flaggers(_: Principal = Depends(staff_reader),
                           svc: ReportService = Depends(reports)) -> list[dict[str, Any]]:
    """The accounts with trusted-flagger status (DSA Art. 22) and since when."""
    return await svc.trusted_flaggers()


@router.put("/admin/users/{name}/trusted-flagger", **typed(TrustedFlaggerSet))
async def trusted_flagger(name: str, body: TrustedIn,
                          _: Principal = Depends(admin),
                          svc: ReportService = Depends(reports)) -> dict[str, Any]:
    return await svc.set_trusted_flagger(name, body.trusted)


@router.get("/mod/queue")
async def queue(kind: str | None = None, source: str | None = None, state: str | None = None,
                limit: int = 100, _: Principal = Depends(staff_reader),
                svc: ReviewService = Depends(review)) -> list[dict[str, Any]]:
    return await svc.queue(kind=kind, source=source, state=state, limit=limit)


@router.get("/mod/cases/{case_id}")
async def case(case_id: str, _: Principal = Depends(staff_reader),
               svc: ReviewService = Depends(review)) -> dict[str, Any]:
    return await svc.case(case_id)


class ClaimIn(StrictBody):
    lease_s: int = Field(default=limits.REVIEW_LEASE_DEFAULT_MS // 1000, ge=1)


@router.post("/mod/cases/{case_id}/claim", operation_id="claim_case")
async def claim(case_id: str, body: ClaimIn, who: Principal = Depends(moderator),
                svc: ReviewService = Depends(review)) -> dict[str, Any]:
    return await svc.claim(who, case_id, body.lease_s * 1000)


@router.post("/mod/cases/{case_id}/release")
async def release(case_id: str, who: Principal = Depends(moderator),
                  svc: ReviewService = Depends(review)) -> dict[str, Any]:
    return await svc.release(who, case_id)


class DecisionIn(StrictBody):
    action: str = Field(max_length=32, json_schema_extra={"enum": [str(d) for d in rv.Decision]})
    policy: str = Field(max_length=64, json_schema_extra={"enum": list(published.POLICIES)})
    facts: str = Field(default="", max_length=limits.REPORT_EXPLANATION_MAX)


@router.post("/mod/cases/{case_id}/decision")
async def decide(case_id: str, body: DecisionIn,
                 who: Principal = Depends(moderator),
                 svc: ReviewService = Depends(review)) -> dict[str, Any]:
    return await svc.decide(who, case_id, body.action, body.policy, body.facts)


class AppealDecisionIn(StrictBody):
    decision: str = Field(max_length=16,
                          json_schema_extra={"enum": [str(d) for d in rv.AppealDecision]})
    answer: str = Field(default="", max_length=limits.APPEAL_TEXT_MAX)


@router.post("/mod/cases/{case_id}/appeal-decision")
async def decide_appeal(case_id: str, body: AppealDecisionIn,
                        who: Principal = Depends(moderator),
                        svc: ReviewService = Depends(review)) -> dict[str, Any]:
    return await svc.decide_appeal(who, case_id, body.decision, body.answer)
