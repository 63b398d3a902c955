"""The pure removal-order rules: target syntax, the one-hour clock, withholding, Annex II."""

from __future__ import annotations

import pytest

from tidings.moderation import orders as mo

PUBLIC = "https://tidings.example"
HOUR = 3_600_000


@pytest.mark.parametrize(("text", "kind", "key", "post_id", "number"), [
    ("post:42", mo.TargetKind.POST, "42", 42, None),
    ("channel:News_Desk", mo.TargetKind.CHANNEL, "news_desk", None, None),
    ("channel:17", mo.TargetKind.CHANNEL, "17", None, None),
    ("account:@Alice", mo.TargetKind.ACCOUNT, "alice", None, None),
    ("https://tidings.example/c/news_desk/9", mo.TargetKind.POST, "news_desk", None, 9),
    ("https://TIDINGS.example/c/News_Desk", mo.TargetKind.CHANNEL, "news_desk", None, None),
    ("/c/news_desk/9?invite=x", mo.TargetKind.POST, "news_desk", None, 9),
])
def test_targets_parse(text: str, kind: mo.TargetKind, key: str, post_id: int | None,
                       number: int | None) -> None:
    """``post:ID`` names the internal id (staff tools); a URL names the channel's N-th post."""
    spec = mo.parse_target(text, PUBLIC)
    assert (spec.kind, spec.key, spec.post_id, spec.number) == (kind, key, post_id, number)


@pytest.mark.parametrize(("text", "code"), [
    ("", "invalid_target"), ("post:abc", "invalid_target"), ("group:1", "invalid_target"),
    ("https://other.example/c/x/1", "foreign_url"), ("ftp://tidings.example/c/x", "invalid_target"),
    ("https://tidings.example/c/x/1/2", "invalid_target"), ("channel:../etc", "invalid_target"),
])
def test_bad_targets_say_why(text: str, code: str) -> None:
    with pytest.raises(mo.OrderError) as err:
        mo.parse_target(text, PUBLIC)
    assert err.value.code == code


def test_the_hour_counts_down_and_goes_overdue_only_while_open() -> None:
    assert mo.remaining_ms("open", 0, HOUR - 1) == 1
    assert not mo.overdue("open", 0, HOUR)
    assert mo.overdue("open", 0, HOUR + 1)
    assert not mo.overdue("completed", 0, 5 * HOUR)
    assert mo.remaining_ms("cannot_comply", 0, 5 * HOUR) is None


def test_withholding_six_weeks_extended_once_by_six() -> None:
    day = mo.MS_PER_DAY
    assert mo.withhold_until(0, None) is None and mo.withhold_until(0, 0) is None
    until = mo.withhold_until(0, 42)
    assert until == 42 * day
    with pytest.raises(mo.OrderError):
        mo.withhold_until(0, 43)
    assert mo.extend_withholding(until, 0, None, day) == 84 * day
    for args, code in (((until, 1, None, day), "withholding_extended"),
                       ((until, 0, 5, day), "withholding_ended"),
                       ((until, 0, None, until), "withholding_ended"),
                       ((None, 0, None, day), "not_withheld")):
        with pytest.raises(mo.OrderError) as err:
            mo.extend_withholding(*args)
        assert err.value.code == code


def test_member_states_and_reasons() -> None:
    assert mo.member_state(" de ") == "DE" and mo.member_state("EL") == "GR"
    with pytest.raises(mo.OrderError):
        mo.member_state("GB")
    assert mo.cannot_comply_reason("force_majeure") is mo.CannotComply.FORCE_MAJEURE
    with pytest.raises(mo.OrderError):
        mo.cannot_comply_reason("busy")


def test_annex_ii_confirmation() -> None:
    order = {"id": "ro_x", "reference": "R-1", "authority_name": "BKA", "member_state": "DE",
             "received_ms": 1_767_225_600_000, "completed_ms": 1_767_225_600_000 + 90 * 60_000,
             "target_kind": "post", "target_ref": "9", "target_url": None}
    conf = mo.confirmation(order, "Tidings", "legal@tidings.example")
    assert conf["received_at"] == "2026-01-01T00:00:00Z"
    assert conf["removed_at"] == "2026-01-01T01:30:00Z"
    assert conf["removed"] is True and conf["within_one_hour"] is False
    assert conf["action"] == "content_removed" and conf["contact_point"] == "legal@tidings.example"


def test_ids_beyond_64_bits_name_nothing() -> None:
    assert mo.parse_target(f"post:{2**63 - 1}", PUBLIC).post_id == 2**63 - 1
    for text in (f"post:{2**63}", f"/c/news/{10**19}"):
        with pytest.raises(mo.OrderError):
            mo.parse_target(text, PUBLIC)
