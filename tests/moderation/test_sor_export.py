"""Transparency Database export: field names, enumerations, schema validation."""

import json

import pytest

from tidings.moderation.actions import MS_PER_DAY
from tidings.moderation.reasons import (
    ContentKind,
    from_decision,
    from_outcome,
)
from tidings.moderation.review import Claim, Decide, Decision, Source, apply, open_case
from tidings.moderation.rules import (
    ActorHistory,
    Facts,
    LabelledMatch,
    Subject,
    Surface,
    default_ruleset,
    evaluate,
)
from tidings.moderation.sor_export import (
    SorExportError,
    export_jsonl,
    load_schema,
    to_transparency_db,
    validate,
)

NOW = 1_717_200_000_000  # 2024-06-01
TERROR = frozenset({"category:terrorist_content"})


def terror_sor(actor=None, kinds=(ContentKind.IMAGE,)):
    facts = Facts(Surface.POST, Subject("a1", "c1", "p1"), "sha",
                  (LabelledMatch(7, "GIFCT_TCAP", "pdq", "00", 0, TERROR),),
                  actor or ActorHistory())
    return from_outcome(evaluate(default_ruleset(), facts), "tidings-sor-1", list(kinds),
                        NOW - MS_PER_DAY, NOW)


def test_terror_removal_payload():
    p = to_transparency_db(terror_sor())
    assert p["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert p["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert "2021/784" in p["illegal_content_legal_ground"]
    assert p["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert p["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert p["content_type"] == ["CONTENT_TYPE_IMAGE"]
    assert p["content_date"] == "2024-05-31" and p["application_date"] == "2024-06-01"
    assert p["source_type"] == "SOURCE_VOLUNTARY" and "source_identity" not in p
    assert p["automated_detection"] == "Yes"
    assert p["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert p["puid"] == "tidings-sor-1" and len(p["territorial_scope"]) == 30
    assert validate(p) == []


def test_third_strike_adds_provision_field():
    p = to_transparency_db(terror_sor(ActorHistory(active_strikes=2)))
    assert p["decision_provision"] == "DECISION_PROVISION_PARTIAL_TERMINATION"
    assert validate(p) == []


def test_moderator_account_suspension_on_trusted_flagger_notice():
    case = apply(open_case("k", Source.TRUSTED_FLAGGER, NOW), Claim("m", NOW, 1000))
    case = apply(case, Decide("m", Decision.SUSPEND_ACCOUNT, NOW + 1))
    sor = from_decision(case, "sor-2", "category:spam", [ContentKind.TEXT, ContentKind.LINK],
                        NOW, "Repeated spam.", source_identity="Flagger")
    p = to_transparency_db(sor, terms_url="https://example.org/terms")
    assert p["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert p["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert p["source_type"] == "SOURCE_TRUSTED_FLAGGER" and p["source_identity"] == "Flagger"
    assert p["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert p["content_type"] == ["CONTENT_TYPE_TEXT", "CONTENT_TYPE_OTHER"]
    assert p["content_type_other"] == "link"
    assert validate(p) == []


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda p: p.pop("puid"), "$.puid"),
    (lambda p: p.update(puid="has space"), "$.puid"),
    (lambda p: p.update(category="STATEMENT_CATEGORY_NOPE"), "$.category"),
    (lambda p: p.update(content_date="2024-13-01"), "$.content_date"),
    (lambda p: p.update(decision_facts="x" * 5001), "$.decision_facts"),
    (lambda p: p.update(automated_detection=True), "$.automated_detection"),
    (lambda p: p.update(surprise=1), "$.surprise"),
    (lambda p: p.pop("illegal_content_explanation"), "$.illegal_content_explanation"),
    (lambda p: p.update(territorial_scope=[]), "$.territorial_scope"),
    (lambda p: p.update(territorial_scope=["US"]), "$.territorial_scope[0]"),
    (lambda p: p.pop("decision_visibility"), "$"),
])
def test_validator_catches(mutate, path):
    p = to_transparency_db(terror_sor())
    mutate(p)
    assert path in [i.path for i in validate(p)]


def test_schema_is_draft_2020_12_and_lists_api_enumerations():
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    props = schema["properties"]
    assert "SOURCE_TYPE_OTHER_NOTIFICATION" in props["source_type"]["enum"]
    assert "DECISION_VISIBILITY_CONTENT_DISABLED" in props["decision_visibility"]["items"]["enum"]
    assert "STATEMENT_CATEGORY_SCAMS_AND_FRAUD" in props["category"]["enum"]


def test_export_jsonl_lines_and_refusal():
    text = export_jsonl([terror_sor(), terror_sor()])
    lines = text.splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["puid"] == "tidings-sor-1"
    bad = terror_sor()
    object.__setattr__(bad, "statement_id", "not ok!")
    with pytest.raises(SorExportError) as info:
        export_jsonl([bad])
    assert info.value.code == "invalid_sor_export"
