"""Staff API for rules and actions (issue #7): the active rule set, audit-chain
verification, and a minimal decision on held or reported posts until the review
queue's console takes over. Routes stay thin; the services do the work."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field

from tidings.moderation.rules import normalize_label
from tidings.protocol.api.channels import Post
from tidings.protocol.api.safety import AuditCheck, Removal, Rules
from tidings.protocol.errors import BadRequest
from tidings.server import published
from tidings.server.bodies import StrictBody
from tidings.server.deps import require_role
from tidings.server.openapi import typed
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.actions import DEFAULT_TAKEDOWN_LABEL, ActionService
from tidings.services.rule_config import MAX_RULES_TEXT_BYTES, RuleConfig
from tidings.services.takedowns import TakedownService

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

READ = Depends(require_role("admin", "moderator", "auditor"))
WRITE = Depends(require_role("admin"))
DECIDE = Depends(require_role("admin", "moderator"))
AUDIT = Depends(require_role("admin", "auditor"))
POST_ID = Path(ge=1, lt=2**63)
MAX_LABELS: Final = 8


def rules(request: Request) -> RuleConfig:
    svc: RuleConfig = kernel_of(request).rule_config
    return svc


def actions(request: Request) -> ActionService:
    svc: ActionService = kernel_of(request).actions
    return svc


def takedowns(request: Request) -> TakedownService:
    svc: TakedownService = kernel_of(request).takedowns
    return svc


def _rules_json(cfg: RuleConfig) -> dict[str, Any]:
    active = cfg.active
    return {"version": active.ruleset.version, "content_hash": active.ruleset.content_hash,
            "source": active.source, "rules": [r.name for r in active.ruleset.rules],
            "text": active.text}


@router.get("/rules", **typed(Rules))
async def get_rules(_: Principal = READ, cfg: RuleConfig = Depends(rules)) -> dict[str, Any]:
    """The active rule set: version, content hash, where it came from, its TOML."""
    return _rules_json(cfg)


RULES_BODY = {"requestBody": {"required": True, "description": (
    f"The rules file: UTF-8 TOML (docs/rules.md), at most {MAX_RULES_TEXT_BYTES} bytes. "
    "Its contents (rule names, conditions, actions, labels, banks) are checked by the "
    "rules loader, not by a schema: a 400 invalid_rules names the rule and key."),
    "content": {media: {"schema": {"type": "string", "minLength": 1}}
                for media in ("application/toml", "text/plain")}}}


@router.put("/rules", openapi_extra=RULES_BODY, **typed(Rules))
async def put_rules(request: Request, who: Principal = WRITE,
                    cfg: RuleConfig = Depends(rules)) -> dict[str, Any]:
    """Replace the rules (body: the TOML text). Validated first: a 400 names the rule
    and key of the first problem, and nothing changes."""
    body = await request.body()
    if len(body) > MAX_RULES_TEXT_BYTES:
        raise BadRequest(f"rules over {MAX_RULES_TEXT_BYTES} bytes", "invalid_rules")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("rules must be UTF-8 TOML", "invalid_rules") from exc
    await cfg.put(text, f"admin:{who.username}")
    return _rules_json(cfg)


@router.get("/audit/verify", **typed(AuditCheck))
async def verify_audit(_: Principal = AUDIT,
                       svc: ActionService = Depends(actions)) -> dict[str, Any]:
    """Walk the hash chain of the audit log; the first inconsistent record, if any."""
    result = await svc.verify_audit()
    return {"ok": result.ok, "first_bad_index": result.first_bad_index,
            "problem": result.problem.value if result.problem else None}


class RemoveIn(StrictBody):
    labels: list[str] = Field(default_factory=lambda: [DEFAULT_TAKEDOWN_LABEL],
                              max_length=MAX_LABELS,
                              json_schema_extra={"items": {"enum": list(published.LABELS)}})


def _labels(body: RemoveIn | None) -> tuple[str, ...]:
    raw = body.labels if body else [DEFAULT_TAKEDOWN_LABEL]
    out = []
    for label in raw:
        full = normalize_label(label)
        if full is None:
            raise BadRequest(f"unknown label {label!r}", "invalid_label")
        out.append(full)
    return tuple(out)


@router.post("/held/{post_id}/release", **typed(Post))
async def release_held(post_id: int = POST_ID, who: Principal = DECIDE,
                       svc: TakedownService = Depends(takedowns)) -> dict[str, Any]:
    """Publish a held post (no violation found)."""
    return await svc.release(post_id, f"moderator:{who.username}")


@router.post("/held/{post_id}/remove", operation_id="remove_held_post", **typed(Removal))
@router.post("/posts/{post_id}/remove", operation_id="remove_post", **typed(Removal))
async def remove_post(body: RemoveIn | None = None, post_id: int = POST_ID,
                      who: Principal = DECIDE,
                      svc: TakedownService = Depends(takedowns)) -> dict[str, Any]:
    """Remove a post (held or visible): hidden everywhere, its signals auto-banked."""
    return await svc.remove_post(post_id, f"moderator:{who.username}", labels=_labels(body),
                                 statement=True)
