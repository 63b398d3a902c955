"""Labels as people write them: short forms, and refusals that name the valid value."""

from __future__ import annotations

import pytest

from tidings.moderation.errors import InvalidLabelError
from tidings.moderation.labels import (
    ALL_LABELS,
    GLORIFICATION,
    SHORT_FORMS,
    TERRORIST_CONTENT,
    normalize_labels,
    suggest,
)


def test_short_forms_are_unambiguous() -> None:
    assert len(SHORT_FORMS) == len(ALL_LABELS)
    assert SHORT_FORMS["terrorist_content"] == TERRORIST_CONTENT


def test_short_and_full_forms_mean_the_same() -> None:
    assert normalize_labels(["terrorist_content"]) == {TERRORIST_CONTENT}
    assert normalize_labels(["terrorist_content", "behaviour:glorification"]) == {
        TERRORIST_CONTENT, GLORIFICATION}
    assert normalize_labels([TERRORIST_CONTENT, "terrorist_content"]) == {TERRORIST_CONTENT}


@pytest.mark.parametrize(("written", "meant"), [
    ("terorist_content", TERRORIST_CONTENT), ("category:terrorism_content", TERRORIST_CONTENT),
    ("TERRORIST_CONTENT", TERRORIST_CONTENT), ("glorifcation", GLORIFICATION)])
def test_a_typo_is_refused_with_the_valid_value(written: str, meant: str) -> None:
    with pytest.raises(InvalidLabelError) as caught:
        normalize_labels([written])
    assert f"did you mean {meant!r}?" in str(caught.value)
    assert "category:spam" in str(caught.value)  # and the list of valid labels


def test_nothing_close_lists_the_labels() -> None:
    assert suggest("cats") is None
    with pytest.raises(InvalidLabelError, match="labels are behaviour:financing"):
        normalize_labels(["cats"])


def test_the_other_rules_still_hold() -> None:
    with pytest.raises(InvalidLabelError, match="exactly one category"):
        normalize_labels(["glorification"])
    with pytest.raises(InvalidLabelError, match="behaviour labels apply"):
        normalize_labels(["spam", "glorification"])
