"""Statements of reasons in the DSA Transparency Database format (issue #9).

DSA Art. 24(5): providers of online platforms submit their Art. 17 statements,
without personal data, to the Commission's Transparency Database. This module
maps a ``StatementOfReasons`` to that database's API v1 statement payload
(``POST /api/v1/statement``; bulk ``/api/v1/statements`` takes up to 100) and
writes JSON lines for the I/O shell to submit.

Enumerations are the database's own (``data/dsa_enumerations.json``, extracted from
the Commission's transparency-database repository, ``app/Models/Statement.php`` at
commit 69e80a0b, 2026-06-24), and the field rules follow its
``StatementStoreRequest.php`` at that commit: ``data/dsa_sor_schema.json`` (JSON Schema
2020-12) encodes them (required fields, enumerations, lengths, date ranges, the
``*_other`` fields, ``source_identity`` left out for own-initiative decisions), and
``validate`` checks a payload with a small validator for the keywords that schema uses
(``jsonschema`` is not a dependency). A test checks the schema's enumerations against the
shared copy of the database's, so a retired value cannot linger here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, Final

from tidings.moderation import labels as L
from tidings.moderation.errors import ModerationError
from tidings.moderation.reasons import (
    BAN_EVASION,
    HARASSMENT,
    IMPERSONATION,
    OTHER_POLICY,
    Automation,
    ContentKind,
    DetectionSource,
    GroundKind,
    Restriction,
    StatementOfReasons,
)

API_VERSION: Final = "v1"
SCHEMA_RESOURCE: Final = "data/dsa_sor_schema.json"
MAX_STATEMENTS_PER_CALL: Final = 100
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: (field, value, end-date field) per restriction.
RESTRICTION_FIELDS: Final = {
    Restriction.CONTENT_REMOVED: ("decision_visibility", "DECISION_VISIBILITY_CONTENT_REMOVED",
                                  "end_date_visibility_restriction"),
    Restriction.CONTENT_DISABLED: ("decision_visibility", "DECISION_VISIBILITY_CONTENT_DISABLED",
                                   "end_date_visibility_restriction"),
    Restriction.SERVICE_PARTIALLY_TERMINATED: ("decision_provision",
                                               "DECISION_PROVISION_PARTIAL_TERMINATION",
                                               "end_date_service_restriction"),
    Restriction.ACCOUNT_SUSPENDED: ("decision_account", "DECISION_ACCOUNT_SUSPENDED",
                                    "end_date_account_restriction"),
    Restriction.ACCOUNT_TERMINATED: ("decision_account", "DECISION_ACCOUNT_TERMINATED",
                                     "end_date_account_restriction"),
}
#: Our label -> (category, category_specification keywords), from the database's current
#: taxonomy (``data/dsa_enumerations.json``). ``STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE``
#: was retired on 2025-02-26; violations of the terms that are not illegal content go to
#: ``STATEMENT_CATEGORY_OTHER_VIOLATION_TC``.
CATEGORY_OF_LABEL: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    L.TERRORIST_CONTENT: ("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
                          ("KEYWORD_TERRORIST_CONTENT",)),
    L.VIOLENT_EXTREMISM: ("STATEMENT_CATEGORY_VIOLENCE", ("KEYWORD_INCITEMENT_VIOLENCE_HATRED",)),
    L.OTHER_ILLEGAL: ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ()),
    L.SPAM: ("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ()),
    IMPERSONATION: ("STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
                    ("KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING",)),
    HARASSMENT: ("STATEMENT_CATEGORY_CYBER_VIOLENCE", ("KEYWORD_CYBER_HARASSMENT",)),
    BAN_EVASION: ("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ()),
    OTHER_POLICY: ("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ()),
}
CONTENT_TYPE: Final = {
    ContentKind.TEXT: "CONTENT_TYPE_TEXT",
    ContentKind.IMAGE: "CONTENT_TYPE_IMAGE",
    ContentKind.VIDEO: "CONTENT_TYPE_VIDEO",
    ContentKind.AUDIO: "CONTENT_TYPE_AUDIO",
    ContentKind.LINK: "CONTENT_TYPE_OTHER",
    ContentKind.OTHER: "CONTENT_TYPE_OTHER",
}
SOURCE_TYPE: Final = {
    DetectionSource.VOLUNTARY: "SOURCE_VOLUNTARY",
    DetectionSource.NOTICE: "SOURCE_ARTICLE_16",
    DetectionSource.TRUSTED_FLAGGER: "SOURCE_TRUSTED_FLAGGER",
    DetectionSource.ORDER: "SOURCE_TYPE_OTHER_NOTIFICATION",
}
AUTOMATED_DECISION: Final = {
    Automation.FULLY: "AUTOMATED_DECISION_FULLY",
    Automation.PARTIALLY: "AUTOMATED_DECISION_PARTIALLY",
    Automation.NOT_AUTOMATED: "AUTOMATED_DECISION_NOT_AUTOMATED",
}


class SorExportError(ModerationError, ValueError):
    code = "invalid_sor_export"

    def __init__(self, issues: list[SchemaIssue]) -> None:
        super().__init__("; ".join(f"{i.path}: {i.message}" for i in issues))
        self.issues = issues


def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def to_transparency_db(sor: StatementOfReasons, terms_url: str | None = None) -> dict[str, Any]:
    """The API v1 statement payload for ``sor``."""
    out: dict[str, Any] = {}
    for restriction in sor.restrictions:
        key, value, end_key = RESTRICTION_FIELDS[restriction]
        if key == "decision_visibility":
            out.setdefault(key, [])
            if value not in out[key]:
                out[key].append(value)
        else:
            out[key] = value
        if sor.ends_ms is not None:
            out[end_key] = _date(sor.ends_ms)
    out["account_type"] = "ACCOUNT_TYPE_BUSINESS" if sor.business_account else \
        "ACCOUNT_TYPE_PRIVATE"
    ground = sor.ground
    if ground.kind is GroundKind.ILLEGAL:
        out["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
        out["illegal_content_legal_ground"] = ground.reference[:500]
        out["illegal_content_explanation"] = ground.explanation[:2000]
    else:
        out["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
        out["incompatible_content_ground"] = ground.reference[:500]
        out["incompatible_content_explanation"] = ground.explanation[:2000]
        out["incompatible_content_illegal"] = "No"
    if terms_url:
        out["decision_ground_reference_url"] = terms_url
    category, keywords = CATEGORY_OF_LABEL[ground.label]
    if sor.category is not None and sor.category != category:  # an order's own category
        category, keywords = sor.category, ()
    out["category"] = category
    if keywords:
        out["category_specification"] = list(keywords)
    types = list(dict.fromkeys(CONTENT_TYPE[k] for k in sor.content_kinds))
    out["content_type"] = types
    if "CONTENT_TYPE_OTHER" in types:
        others = sorted({k.value for k in sor.content_kinds if CONTENT_TYPE[k] ==
                         "CONTENT_TYPE_OTHER"})
        out["content_type_other"] = ", ".join(others)
    if sor.content_language:
        out["content_language"] = sor.content_language.upper()
    out["content_date"] = _date(sor.content_created_ms)
    out["application_date"] = _date(sor.starts_ms)
    out["territorial_scope"] = sorted(sor.territorial_scope)
    out["decision_facts"] = sor.facts[:5000]
    out["source_type"] = SOURCE_TYPE[sor.source]
    if sor.source_identity and sor.source is not DetectionSource.VOLUNTARY:
        out["source_identity"] = sor.source_identity[:500]
    out["automated_detection"] = "Yes" if sor.automated_detection else "No"
    out["automated_decision"] = AUTOMATED_DECISION[sor.automated_decision]
    out["puid"] = sor.statement_id
    return out


# --- validation ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    path: str
    message: str


@cache
def load_schema() -> Mapping[str, Any]:
    text = (resources.files("tidings.moderation") / SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


_TYPES: Final = {"string": str, "array": list, "object": dict, "integer": int, "boolean": bool}


def _check(value: Any, schema: Mapping[str, Any], path: str) -> list[SchemaIssue]:
    """The keyword subset the SoR schema uses: type, enum, const, maxLength,
    minItems, pattern, format=date (with formatMinimum/formatMaximum, as in ajv's
    vocabulary: the database's date ranges), items, contains, properties, required,
    additionalProperties=false, not, anyOf, allOf, if/then."""
    issues: list[SchemaIssue] = []
    t = schema.get("type")
    if t is not None and not isinstance(value, _TYPES[t]):
        return [SchemaIssue(path, f"must be of type {t}")]
    if "enum" in schema and value not in schema["enum"]:
        issues.append(SchemaIssue(path, f"{value!r} is not one of the allowed values"))
    if "const" in schema and value != schema["const"]:
        issues.append(SchemaIssue(path, f"must be {schema['const']!r}"))
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            issues.append(SchemaIssue(path, f"longer than {schema['maxLength']} characters"))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            issues.append(SchemaIssue(path, f"does not match {schema['pattern']}"))
        if schema.get("format") == "date":
            if not _is_date(value):
                issues.append(SchemaIssue(path, "not a YYYY-MM-DD date"))
            elif not schema.get("formatMinimum", value) <= value <= \
                    schema.get("formatMaximum", value):
                issues.append(SchemaIssue(path, f"outside {schema.get('formatMinimum')} .. "
                                                f"{schema.get('formatMaximum')}"))
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            issues.append(SchemaIssue(path, f"needs at least {schema['minItems']} item(s)"))
        for i, item in enumerate(value):
            issues += _check(item, schema.get("items", {}), f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                issues.append(SchemaIssue(f"{path}.{key}", "is required"))
        for key, item in value.items():
            if key in props:
                issues += _check(item, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                issues.append(SchemaIssue(f"{path}.{key}", "is not a known field"))
    if "contains" in schema and isinstance(value, list) and \
            not any(not _check(item, schema["contains"], path) for item in value):
        issues.append(SchemaIssue(path, "contains no allowed item"))
    if "not" in schema and not _check(value, schema["not"], path):
        issues.append(SchemaIssue(path, "has a field that must be left out here"))
    if "anyOf" in schema and not any(not _check(value, s, path) for s in schema["anyOf"]):
        issues.append(SchemaIssue(path, "matches none of the allowed alternatives (anyOf)"))
    for sub in schema.get("allOf", []):
        if "if" in sub:
            if not _check(value, sub["if"], path):
                issues += _check(value, sub.get("then", {}), path)
        else:
            issues += _check(value, sub, path)
    return issues


def _is_date(text: str) -> bool:
    if not _DATE.fullmatch(text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def validate(payload: Mapping[str, Any], schema: Mapping[str, Any] | None = None,
             ) -> list[SchemaIssue]:
    """Issues with ``payload`` (empty list: valid)."""
    return _check(dict(payload), schema or load_schema(), "$")


def export_jsonl(statements: Iterable[StatementOfReasons], terms_url: str | None = None) -> str:
    """One validated API payload per line; raises ``SorExportError`` on the first bad one."""
    lines = []
    for sor in statements:
        payload = to_transparency_db(sor, terms_url)
        issues = validate(payload)
        if issues:
            raise SorExportError(issues)
        lines.append(json.dumps(payload, sort_keys=True, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)
