"""The Transparency Database export against the database's own enumerations and field
rules (tests/moderation/data/dsa-transparency-database, from the database's source at
commit 69e80a0b): every value Tidings can emit is current, and each rule of
StatementStoreRequest refuses what the database refuses."""

from __future__ import annotations

import json
import typing as t
from importlib import resources
from pathlib import Path

import pytest

from tidings.moderation import labels as L
from tidings.moderation.reasons import (
    BAN_EVASION,
    IMPERSONATION,
    OTHER_POLICY,
    Automation,
    ContentKind,
    DetectionSource,
    GroundKind,
    Restriction,
    StatementOfReasons,
)
from tidings.moderation.sor_export import (
    AUTOMATED_DECISION,
    CATEGORY_OF_LABEL,
    CONTENT_TYPE,
    RESTRICTION_FIELDS,
    SOURCE_TYPE,
    load_schema,
    to_transparency_db,
    validate,
)

from .test_sor_export import terror_sor

DATA = Path(__file__).parent / "data" / "dsa-transparency-database"
ENUMS: dict[str, t.Any] = json.loads((DATA / "enumerations.json").read_text())
EEA = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
       "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
       "IS", "LI", "NO"}


def test_carried_enumerations_are_the_databases() -> None:
    carried = json.loads((resources.files("tidings.moderation") / "data" /
                          "dsa_enumerations.json").read_text("utf-8"))
    assert carried == ENUMS


def test_schema_enumerations_equal_the_databases() -> None:
    props = load_schema()["properties"]
    assert props["category"]["enum"] == list(ENUMS["STATEMENT_CATEGORIES"])
    assert props["category_addition"]["items"]["enum"] == list(ENUMS["STATEMENT_CATEGORIES"])
    assert props["category_specification"]["items"]["enum"] == list(ENUMS["KEYWORDS"])
    assert props["content_type"]["items"]["enum"] == list(ENUMS["CONTENT_TYPES"])
    assert props["source_type"]["enum"] == list(ENUMS["SOURCE_TYPES"])
    assert props["decision_visibility"]["items"]["enum"] == list(ENUMS["DECISION_VISIBILITIES"])
    assert props["decision_monetary"]["enum"] == list(ENUMS["DECISION_MONETARIES"])
    assert props["decision_provision"]["enum"] == list(ENUMS["DECISION_PROVISIONS"])
    assert props["decision_account"]["enum"] == list(ENUMS["DECISION_ACCOUNTS"])
    assert props["decision_ground"]["enum"] == list(ENUMS["DECISION_GROUNDS"])
    assert props["automated_decision"]["enum"] == list(ENUMS["AUTOMATED_DECISIONS"])
    assert props["account_type"]["enum"] == list(ENUMS["ACCOUNT_TYPES"])
    assert set(props["territorial_scope"]["items"]["enum"]) == EEA


def test_every_value_tidings_emits_is_current() -> None:
    for category, keywords in CATEGORY_OF_LABEL.values():
        assert category in ENUMS["STATEMENT_CATEGORIES"], category
        assert set(keywords) <= set(ENUMS["KEYWORDS"]), keywords
    assert set(CONTENT_TYPE.values()) <= set(ENUMS["CONTENT_TYPES"])
    assert set(SOURCE_TYPE.values()) <= set(ENUMS["SOURCE_TYPES"])
    assert set(AUTOMATED_DECISION.values()) <= set(ENUMS["AUTOMATED_DECISIONS"])
    for key, value, _ in RESTRICTION_FIELDS.values():
        table = {"decision_visibility": "DECISION_VISIBILITIES",
                 "decision_provision": "DECISION_PROVISIONS",
                 "decision_account": "DECISION_ACCOUNTS"}[key]
        assert value in ENUMS[table], value


def test_retired_category_is_gone() -> None:
    text = json.dumps(load_schema())
    assert "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE" not in text
    assert CATEGORY_OF_LABEL[L.SPAM][0] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert CATEGORY_OF_LABEL[BAN_EVASION][0] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    assert CATEGORY_OF_LABEL[OTHER_POLICY][0] == "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"


def _sor(label: str, kind: GroundKind, source: DetectionSource,
         kinds: tuple[ContentKind, ...], language: str | None) -> StatementOfReasons:
    base = terror_sor()
    return StatementOfReasons(**{  # type: ignore[arg-type]
        **{f: getattr(base, f) for f in base.__dataclass_fields__},
        "ground": type(base.ground)(kind, "Terms s. 4" if kind is GroundKind.INCOMPATIBLE
                                    else "Regulation (EU) 2021/784 Art. 2(7)",
                                    "explanation", label),
        "source": source, "source_identity": "flagger-org",
        "content_kinds": kinds, "content_language": language})


@pytest.mark.parametrize("label", sorted(CATEGORY_OF_LABEL))
@pytest.mark.parametrize("source", list(DetectionSource))
def test_every_label_and_source_exports_valid(label: str, source: DetectionSource) -> None:
    illegal = label in (L.TERRORIST_CONTENT, L.VIOLENT_EXTREMISM, L.OTHER_ILLEGAL)
    sor = _sor(label, GroundKind.ILLEGAL if illegal else GroundKind.INCOMPATIBLE, source,
               (ContentKind.TEXT, ContentKind.LINK, ContentKind.VIDEO), "ar")
    payload = to_transparency_db(sor)
    assert validate(payload) == [], payload
    assert payload["content_language"] == "AR"
    assert payload["content_type_other"]  # LINK -> CONTENT_TYPE_OTHER needs its text
    assert ("source_identity" in payload) == (source is not DetectionSource.VOLUNTARY)


@pytest.mark.parametrize(("mutate", "path"), [
    # content_date is required, Y-m-d, 2000-01-01 .. 2038-01-01
    (lambda p: p.pop("content_date"), "$.content_date"),
    (lambda p: p.update(content_date="1999-12-31"), "$.content_date"),
    (lambda p: p.update(content_date="2038-01-02"), "$.content_date"),
    # application_date required, 2020-01-01 .. 2038-01-01
    (lambda p: p.pop("application_date"), "$.application_date"),
    (lambda p: p.update(application_date="2019-12-31"), "$.application_date"),
    (lambda p: p.update(end_date_visibility_restriction="2025-02-30"),
     "$.end_date_visibility_restriction"),
    # one of the four decisions
    (lambda p: p.pop("decision_visibility"), "$"),
    (lambda p: p.update(decision_visibility=["DECISION_VISIBILITY_OTHER"]),
     "$.decision_visibility_other"),
    (lambda p: p.update(decision_monetary="DECISION_MONETARY_OTHER"),
     "$.decision_monetary_other"),
    (lambda p: p.update(decision_visibility_other="x" * 501), "$.decision_visibility_other"),
    (lambda p: p.update(decision_ground="DECISION_GROUND_OTHER"), "$.decision_ground"),
    (lambda p: p.pop("illegal_content_legal_ground"), "$.illegal_content_legal_ground"),
    (lambda p: p.update(illegal_content_legal_ground="x" * 501), "$.illegal_content_legal_ground"),
    (lambda p: p.update(illegal_content_explanation="x" * 2001),
     "$.illegal_content_explanation"),
    (lambda p: p.update(incompatible_content_illegal="Maybe"), "$.incompatible_content_illegal"),
    (lambda p: p.pop("content_type"), "$.content_type"),
    (lambda p: p.update(content_type=["CONTENT_TYPE_OTHER"]), "$.content_type_other"),
    (lambda p: p.update(content_type=["CONTENT_TYPE_LINK"]), "$.content_type[0]"),
    (lambda p: p.pop("category"), "$.category"),
    (lambda p: p.update(category="STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"), "$.category"),
    (lambda p: p.update(category="STATEMENT_CATEGORY_TERRORISM"), "$.category"),
    (lambda p: p.update(category_addition=["STATEMENT_CATEGORY_NOPE"]),
     "$.category_addition[0]"),
    (lambda p: p.update(category_specification=["KEYWORD_NOPE"]), "$.category_specification[0]"),
    (lambda p: p.update(category_specification_other="x" * 501),
     "$.category_specification_other"),
    (lambda p: p.update(territorial_scope=["GB"]), "$.territorial_scope[0]"),
    (lambda p: p.update(content_language="english"), "$.content_language"),
    (lambda p: p.pop("decision_facts"), "$.decision_facts"),
    (lambda p: p.update(decision_facts="x" * 5001), "$.decision_facts"),
    (lambda p: p.update(source_type="SOURCE_NOPE"), "$.source_type"),
    (lambda p: p.update(source_type="SOURCE_VOLUNTARY", source_identity="someone"), "$"),
    (lambda p: p.update(source_identity="x" * 501), "$.source_identity"),
    (lambda p: p.pop("automated_detection"), "$.automated_detection"),
    (lambda p: p.update(automated_decision="AUTOMATED_DECISION_MAYBE"), "$.automated_decision"),
    (lambda p: p.pop("puid"), "$.puid"),
    (lambda p: p.update(puid="a" * 501), "$.puid"),
    (lambda p: p.update(puid="sor/1"), "$.puid"),
])
def test_each_database_rule_refuses(mutate: t.Callable[[dict[str, t.Any]], t.Any],
                                    path: str) -> None:
    payload = to_transparency_db(terror_sor())
    assert validate(payload) == []
    mutate(payload)
    assert path in [i.path for i in validate(payload)], validate(payload)


def test_terror_statement_uses_current_values() -> None:
    payload = to_transparency_db(terror_sor())
    assert payload["category"] == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert payload["category_specification"] == ["KEYWORD_TERRORIST_CONTENT"]
    assert payload["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert payload["content_date"] <= payload["application_date"]
    assert Restriction.CONTENT_REMOVED in terror_sor().restrictions
    assert Automation.FULLY in AUTOMATED_DECISION
    assert IMPERSONATION in CATEGORY_OF_LABEL
