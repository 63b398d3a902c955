"""UTS #39 skeletons and the handle key, against the shipped Unicode table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tidings.protocol.confusables import handle_key, is_confusable, skeleton, table_version


def test_table_is_shipped_with_its_version() -> None:
    assert "Version: 15.0.0" in table_version()


def test_cyrillic_a_is_confusable_with_latin_a() -> None:
    assert skeleton("\u0430") == "a"
    assert is_confusable("a", "\u0430")


def test_paypal_with_cyrillic_letters() -> None:
    assert is_confusable("paypal", "p\u0430yp\u0430l")


def test_rn_and_m_share_a_skeleton() -> None:
    # confusables.txt maps m -> rn, so both skeletons are "rn".
    assert skeleton("m") == "rn"
    assert is_confusable("modern", "rnodern")


def test_greek_omicron() -> None:
    assert is_confusable("support", "supp\u03bfrt")


def test_fullwidth_letters() -> None:
    # The UTS #39 table maps only some fullwidth letters (a, c, e, ...; not b, d, f):
    # the rest are left to NFKC, which handle_key applies and skeleton does not.
    assert is_confusable("ace", "\uff41\uff43\uff45")
    assert not is_confusable("bdf", "\uff42\uff44\uff46")
    assert handle_key("bdf") == handle_key("\uff42\uff44\uff46")


def test_digits_follow_the_table() -> None:
    assert skeleton("0") == "O"  # DIGIT ZERO -> LATIN CAPITAL LETTER O
    assert skeleton("1") == "l"  # DIGIT ONE -> LATIN SMALL LETTER L
    assert skeleton("I") == "l"


def test_unrelated_strings_are_not_confusable() -> None:
    assert not is_confusable("paypal", "paypai")
    assert not is_confusable("alice", "bob")
    assert not is_confusable("news", "newt")


def test_skeleton_is_stable_for_non_closed_table_entries() -> None:
    # U+01C4 maps to "DZ" + caron; the caron maps on to a breve in a second round.
    once = skeleton("\u01c4")
    assert skeleton(once) == once


@given(st.text())
def test_skeleton_is_idempotent(text: str) -> None:
    assert skeleton(skeleton(text)) == skeleton(text)


@given(st.text())
def test_handle_key_is_idempotent(text: str) -> None:
    assert handle_key(handle_key(text)) == handle_key(text)


def test_handle_key_folds_case_separators_and_zero_width() -> None:
    assert handle_key("news_daily") == handle_key("newsdaily") == handle_key("News.Daily")
    assert handle_key("news\u200ddaily") == handle_key("newsdaily")
    assert handle_key("news\u200bdaily") == handle_key("newsdaily")
    assert handle_key("\uff2e\uff45\uff57\uff53") == handle_key("news")  # fullwidth capitals


def test_handle_key_folds_handle_lookalikes() -> None:
    assert handle_key("adm1n") == handle_key("admin") == handle_key("\u0430dmin")
    assert handle_key("ADMIN") == handle_key("admin")
    assert handle_key("g00gle") == handle_key("google")
    assert handle_key("5ecurity") == handle_key("security")
    assert handle_key("\U0001d41a\U0001d41d\U0001d426\U0001d422\U0001d427") == handle_key("admin")


def test_handle_key_keeps_distinct_names_apart() -> None:
    assert handle_key("news_daily") != handle_key("news_weekly")
    assert handle_key("alice") != handle_key("alicia")


def test_every_table_entry_reaches_a_fixed_point_within_the_bound() -> None:
    from tidings.protocol import confusables

    for cp in confusables._table():
        text = chr(cp)
        rounds, current = 0, confusables._skeleton_once(text)
        while confusables._skeleton_once(current) != current:
            current = confusables._skeleton_once(current)
            rounds += 1
        assert rounds < confusables.MAX_SKELETON_ROUNDS, hex(cp)
        assert skeleton(text) == current


def test_capital_lookalikes_meet_latin_capitals_before_case_folding() -> None:
    """Cyrillic Т (U+0422) looks like T; folded first it became т, whose prototype is
    the small capital ᴛ, and "Тidings" escaped the reserved names."""
    assert handle_key("\u0422idings") == handle_key("Tidings")
    assert handle_key("\u0422IDINGS \u041cODERATOR") == handle_key("tidings moderator")
