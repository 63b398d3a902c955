"""The legal scope of an order (issue 17, item 7), as a pure decision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidings.moderation import orders as mo
from tidings.moderation.reasons import GROUNDS, from_record, order_ground, to_record
from tidings.moderation.sor_export import to_transparency_db, validate

DATA = Path(__file__).parent / "data"
TCO = "Regulation (EU) 2021/784, Art. 3"
NATIONAL = "Strafgesetzbuch § 130 (Volksverhetzung)"
TERROR = "category:terrorist_content"
ILLEGAL = "category:other_illegal"
SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"


def test_the_categories_are_the_transparency_databases() -> None:
    published = json.loads((DATA / "dsa_statement_categories.json").read_text())
    assert set(published["STATEMENT_CATEGORIES"]) == mo.DSA_CATEGORIES
    not_illegal = {"STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
                   "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"}
    assert set(mo.ORDERABLE_CATEGORIES) == set(mo.DSA_CATEGORIES) - not_illegal
    assert mo.TCO_CATEGORY in mo.DSA_CATEGORIES


def test_a_tco_order_is_for_terrorist_content_everywhere() -> None:
    scope = mo.order_scope(None, TCO, None, None, None, "DE")
    assert (scope.basis, scope.label, scope.category) == (mo.LegalBasis.TCO, TERROR,
                                                          mo.TCO_CATEGORY)
    assert scope.territorial_scope == tuple(sorted(mo.MEMBER_STATES))
    assert mo.order_scope("tco_art3", "Reg. (EU) 2021 / 784 Art 3", TERROR, mo.TCO_CATEGORY,
                          [], "FR").basis is mo.LegalBasis.TCO
    assert mo.order_scope(None, "Art. 3 TCO", None, None, None, "FR").basis is mo.LegalBasis.TCO
    assert mo.order_scope(None, "§ 130 StGB; Art. 9 DSA", None, SPEECH, None, "DE"
                          ).basis is mo.LegalBasis.DSA_ART9
    with pytest.raises(mo.OrderError):  # a word that merely contains the letters is no citation
        mo.order_scope(None, "STCOX law", None, None, None, "DE")


@pytest.mark.parametrize(("basis", "citation", "label", "category", "territory", "code"), [
    (None, "none", None, None, None, "unknown_legal_basis"),
    (None, "", TERROR, None, None, "unknown_legal_basis"),
    ("gdpr_art17", TCO, None, None, None, "unknown_legal_basis"),
    ("tco_art3", "none", None, None, None, "invalid_legal_basis"),
    ("tco_art3", TCO, "category:spam", None, None, "outside_tco_scope"),
    (None, TCO, ILLEGAL, None, None, "outside_tco_scope"),
    ("tco_art3", TCO, TERROR, SPEECH, None, "invalid_category"),
    ("tco_art3", TCO, TERROR, None, ["DE"], "invalid_territorial_scope"),
    ("dsa_art9", "none", None, SPEECH, None, "invalid_legal_basis"),
    ("dsa_art9", "N/A.", None, SPEECH, None, "invalid_legal_basis"),
    ("dsa_art9", TCO, None, SPEECH, None, "invalid_legal_basis"),
    ("dsa_art9", NATIONAL, TERROR, SPEECH, None, "outside_dsa_scope"),
    ("dsa_art9", NATIONAL, "category:spam", SPEECH, None, "outside_dsa_scope"),
    ("dsa_art9", NATIONAL, None, None, None, "invalid_category"),
    ("dsa_art9", NATIONAL, None, "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", None,
     "invalid_category"),
    ("dsa_art9", NATIONAL, None, "STATEMENT_CATEGORY_TERRORISM", None, "invalid_category"),
    ("dsa_art9", NATIONAL, None, SPEECH, ["US"], "invalid_member_state"),
])
def test_orders_outside_their_scope_are_refused(
        basis: str | None, citation: str, label: str | None, category: str | None,
        territory: list[str] | None, code: str) -> None:
    with pytest.raises(mo.OrderError) as caught:
        mo.order_scope(basis, citation, label, category, territory, "DE")
    assert caught.value.code == code
    assert str(caught.value)  # says why, in words


def test_a_dsa_order_names_its_category_and_a_narrow_territory() -> None:
    scope = mo.order_scope("dsa_art9", NATIONAL, None, SPEECH, None, "DE")
    assert (scope.label, scope.category, scope.territorial_scope) == (ILLEGAL, SPEECH, ("DE",))
    wider = mo.order_scope(None, f"{NATIONAL}; Regulation (EU) 2022/2065, Art. 9", ILLEGAL,
                           SPEECH, ["at", "DE", "EL"], "DE")
    assert wider.basis is mo.LegalBasis.DSA_ART9
    assert wider.territorial_scope == ("AT", "DE", "GR")


def test_the_hourly_rate_asks_for_confirmation_and_never_refuses() -> None:
    assert not mo.rate_exceeded(29, 30)
    assert mo.rate_exceeded(30, 30)
    assert not mo.rate_exceeded(10_000, 0)  # 0: no limit


def test_an_orders_ground_survives_the_stored_record_and_the_export() -> None:
    from tidings.moderation import review as rv
    from tidings.moderation.reasons import ContentKind, from_order

    case = rv.Case("c1", rv.State.DECIDED, 1_767_225_600_000,
                   frozenset({rv.Source.LEGAL_ORDER}), decision=rv.Decision.REMOVE,
                   decided_at_ms=1_767_225_600_000)
    ground = order_ground(ILLEGAL, f"Regulation (EU) 2022/2065, Art. 9; {NATIONAL}",
                          "Polizei (DE) ordered action against this content.")
    sor = from_order(case, "sor-c1", ground, [ContentKind.TEXT], 1_767_000_000_000,
                     "An order from Polizei.", "Polizei", ("DE",), SPEECH)
    assert sor is not None and sor.ground != GROUNDS[ILLEGAL]
    again = from_record(json.loads(json.dumps(to_record(sor))))
    assert again == sor
    payload = to_transparency_db(again)
    assert validate(payload) == []
    assert payload["category"] == SPEECH
    assert payload["illegal_content_legal_ground"].endswith(NATIONAL)
    assert payload["territorial_scope"] == ["DE"]
    assert payload["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"


@pytest.mark.parametrize("category", sorted(mo.ORDERABLE_CATEGORIES))
def test_every_orderable_category_exports_as_the_database_accepts(category: str) -> None:
    """An order may name any current category (e.g. cyber violence, which the export's
    schema once lacked): its statement must still validate, or the export would stop."""
    from tidings.moderation import review as rv
    from tidings.moderation.reasons import ContentKind, from_order

    published = json.loads((DATA / "dsa_statement_categories.json").read_text())
    case = rv.Case("c1", rv.State.DECIDED, 1_767_225_600_000,
                   frozenset({rv.Source.LEGAL_ORDER}), decision=rv.Decision.REMOVE,
                   decided_at_ms=1_767_225_600_000)
    sor = from_order(case, "sor-c1", order_ground(ILLEGAL, NATIONAL, "ordered"),
                     [ContentKind.TEXT], 1_767_000_000_000, "An order.", "Polizei", ("DE",),
                     category)
    assert sor is not None
    payload = to_transparency_db(sor)
    assert validate(payload) == []
    assert payload["category"] in published["STATEMENT_CATEGORIES"]


def test_the_export_emits_no_retired_category() -> None:
    from tidings.moderation.sor_export import CATEGORY_OF_LABEL

    published = json.loads((DATA / "dsa_statement_categories.json").read_text())
    assert {c for c, _ in CATEGORY_OF_LABEL.values()} <= set(published["STATEMENT_CATEGORIES"])
