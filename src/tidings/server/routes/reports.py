"""Reports (DSA Art. 16), the system inbox, appeals, trusted flaggers and the review API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ConfigDict, Field, model_validator

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


REPORT_URL = (r"^(?:https?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?)?"
              r"/c/@?[A-Za-z0-9_]{1,64}(?:/[0-9]{1,18})?/?$")
"""A public URL of a channel or post, the path alone or with the server's scheme and host:
``/c/HANDLE`` or ``/c/HANDLE/N`` (what ``url_target`` reads)."""


def _name() -> Any:
    return Field(max_length=64)


class PostByNumber(StrictBody):
    kind: Literal["post"]
    channel: str = _name()
    number: int = Field(ge=1, le=2**62, description="the post's number in the channel")


class PostById(StrictBody):
    kind: Literal["post"]
    channel: str = _name()
    post_id: int = Field(ge=1, le=2**62, description="the internal id (staff tools)")


class ByUrl(StrictBody):
    kind: Literal["post", "channel"]
    url: str = Field(max_length=limits.REPORT_LOCATION_MAX, pattern=REPORT_URL,
                     description="/c/HANDLE/N or /c/HANDLE, or the full URL on this server "
                     "(another host: 400 ``bad_target``); the URL says what it names")


class ChannelTarget(StrictBody):
    kind: Literal["channel"]
    channel: str = _name()


class AccountTarget(StrictBody):
    kind: Literal["account"]
    account: str = _name()


class MessageTarget(StrictBody):
    kind: Literal["message"]
    """The report carries the message (``message``) and maybe earlier ones (``context``)."""


Target = Annotated[
    PostByNumber | PostById | ByUrl | ChannelTarget | AccountTarget | MessageTarget,
    Field(description="Exactly one of: a post by channel and number (or internal id), a post "
                      "or channel by URL, a channel, an account, or a message.")]


class FrankedMessageIn(StrictBody):
    """A received message as its recipient's client keeps it (``services/reports.py:
    FrankedMessage``); base64 fields as received."""

    id: str = Field(max_length=64)
    sender: str = Field(max_length=limits.USERNAME_MAX * 4)
    sender_device: str = Field(max_length=64)
    conversation: str = Field(max_length=128)
    ts: int = Field(ge=0, lt=2**53)
    payload: str
    franking_key: str = Field(max_length=64)
    commitment: str = Field(max_length=64)
    tag: str = Field(max_length=128)
    key_id: str = Field(max_length=64)
    disclosed: str | None = Field(default=None, description="A file message's attachment, "
                                  "decrypted by the reporter's client (base64).")


def _published(schema: dict[str, Any]) -> None:
    """Published: the statement must be made (else 400 ``good_faith_required``); a
    message report carries the message."""
    schema["properties"]["good_faith"] = {"const": True, "type": "boolean"}
    schema["required"] = [*schema.get("required", []), "good_faith"]
    schema["if"] = {"properties": {"target": {"properties": {"kind": {"const": "message"}},
                                              "required": ["kind"]}}}
    schema["then"] = {"required": ["message"], "properties": {"message": {"type": "object"}}}


class ReportIn(StrictBody):
    """A notice under DSA Art. 16(2): (a) category and explanation, (b) exact location,
    (c) name and email of the notifier (optional), (d) the good-faith statement."""

    model_config = ConfigDict(json_schema_extra=_published)

    target: Target
    category: str = Field(max_length=64,
                          json_schema_extra={"enum": list(vocabulary.REPORT_CATEGORIES)})
    explanation: str = Field(max_length=limits.REPORT_EXPLANATION_MAX,
                             json_schema_extra={"pattern": published.NOT_BLANK})
    location: str = Field(default="", max_length=limits.REPORT_LOCATION_MAX)
    notifier_name: str | None = Field(default=None, max_length=128)
    notifier_email: str | None = Field(default=None, max_length=254)
    good_faith: bool = False
    message: FrankedMessageIn | None = None
    context: list[FrankedMessageIn] = Field(default_factory=list,
                                            max_length=limits.REPORT_CONTEXT_MAX)

    @model_validator(mode="after")
    def _message_report_has_its_message(self) -> ReportIn:
        if self.target.kind == "message" and self.message is None:
            raise ValueError("a message report carries the message")
        return self


@router.post("/reports", status_code=201, dependencies=[Depends(rate_limit("report"))],
             **typed(ReportReceipt))
async def submit_report(body: ReportIn, request: Request, who: Principal = Depends(principal),
                        svc: ReportService = Depends(reports)) -> dict[str, Any]:
    """Rules no JSON Schema states: a URL names this server (400 ``bad_target``); a
    reported message and its context are franked messages as received: the franking
    verifies (400 ``franking_altered``, ``franking_forged``, ``franking_unknown_key``,
    ``franking_malformed``), the payload is content a person wrote (400
    ``not_content``), the conversation is yours (400 ``not_a_participant``), context
    messages are earlier ones of the same conversation (400 ``context_mismatch``), and
    ``disclosed`` is the attachment the file message names (400). State: an unknown
    channel, post or account 404."""
    target = body.target
    kind: str = target.kind
    location = body.location
    channel: str | None = getattr(target, "channel", None)
    number: int | None = getattr(target, "number", None)
    if isinstance(target, ByUrl):  # the URL is the exact location (DSA Art. 16(2)(b))
        kind, channel, number = url_target(target.url,
                                           kernel_of(request).settings.resolved_public_url)
        location = location or target.url
    r = ReportInput(
        kind=kind, category=body.category, explanation=body.explanation,
        good_faith=body.good_faith, location=location, notifier_name=body.notifier_name,
        notifier_email=body.notifier_email, channel=channel, number=number,
        post_id=getattr(target, "post_id", None), account=getattr(target, "account", None),
        message=(FrankedMessage.from_json(body.message.model_dump())
                 if body.message is not None else None),
        context=[FrankedMessage.from_json(c.model_dump()) for c in body.context])
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
