"""The names policy (protocol/names.py): official-looking decorations and invisible
tricks are found, ordinary names are not."""

from __future__ import annotations

import pytest

from tidings.protocol.handles import HandleError
from tidings.protocol.names import check_decorations, decoration, invisible, name_key


@pytest.mark.parametrize("title", [
    "News \u2713", "News \u2714", "\u2611 Daily", "Daily \u2705", "Crypto \U0001f535",
    "Daily (Official)", "DailyOfficial", "\u041efficial Daily",  # Cyrillic О
    "0fficial daily", "Verified News", "v3rified news", "Admin Tips", "BobSupport",
    "Support Desk", "T\u0456dings Team", "Staff Picks",
])
def test_official_looking_titles_are_found(title: str) -> None:
    assert decoration(title) is not None
    with pytest.raises(HandleError) as info:
        check_decorations(title, "title")
    assert info.value.code == "official_decoration"


@pytest.mark.parametrize("title", [
    "News", "Daily Post", "Badminton Club", "Caf\u00e9 de Paris", "\u65b0\u95fb",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467 Family",          # a ZWJ emoji sequence
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",              # Persian needs ZWNJ
    "Modern Life",
])
def test_ordinary_titles_pass(title: str) -> None:
    assert decoration(title) is None and invisible(title) is None
    check_decorations(title, "title")


@pytest.mark.parametrize("title", [
    "News\u202egpj.exe", "\u2066Daily\u2069", "Daily\u200fPost",   # bidi controls
    "News\u3164", "\u2800", "Daily\u00a0Post", "Daily\u200bPost",   # blank-looking
    "\u200dDaily", "News \u2060",
])
def test_invisible_tricks_in_titles_are_refused(title: str) -> None:
    assert invisible(title) is not None
    with pytest.raises(HandleError) as info:
        check_decorations(title, "title")
    assert info.value.code == "invisible_character"


def test_keys_meet_across_scripts_and_ascii_tricks() -> None:
    assert name_key("a1ice") == name_key("alice") == name_key("\u0430lice")
    assert name_key("rnallory") == name_key("mallory")
    assert name_key("Daily Post") == name_key("daily_post") == name_key("dailyp0st")
    assert name_key("alice") != name_key("alicia")
