"""Usernames, channel handles, reserved names and free-text fields."""

from __future__ import annotations

import pytest

from tidings.protocol.handles import (
    CHANNEL_DESCRIPTION_MAX,
    CHANNEL_TITLE_MAX,
    DISPLAY_NAME_MAX,
    HandleError,
    TextFieldError,
    check_not_reserved,
    clean_channel_description,
    clean_channel_title,
    clean_display_name,
    clean_text,
    is_reserved,
    normalize_handle,
    normalize_username,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("news_daily", "news_daily"), ("News_Daily", "news_daily"), ("@abcde", "abcde"),
     ("a" * 32, "a" * 32), ("a1234", "a1234")],
)
def test_valid_handles(raw: str, expected: str) -> None:
    assert normalize_handle(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["abcd", "a" * 33, "1abcd", "_abcd", "news-daily", "news daily", "n\u0435ws_daily",
     "\u212aelvin", "news\ndaily", "", "ab.cde"],
)
def test_invalid_handles(raw: str) -> None:
    with pytest.raises(HandleError) as info:
        normalize_handle(raw)
    assert info.value.code == "invalid_handle"
    assert "starting with a letter" in str(info.value)


@pytest.mark.parametrize(("raw", "expected"), [("Bob", "bob"), ("123", "123"), ("_x_", "_x_")])
def test_valid_usernames(raw: str, expected: str) -> None:
    assert normalize_username(raw) == expected


@pytest.mark.parametrize("raw", ["ab", "a" * 33, "b\u00f6b", "bob!", "bo b", "bob\x00"])
def test_invalid_usernames(raw: str) -> None:
    with pytest.raises(HandleError) as info:
        normalize_username(raw)
    assert info.value.code == "invalid_username"
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "name",
    ["admin", "ADMIN", "adm1n", "\u0430dmin", "ad_min", "support", "supp0rt",
     "tidings", "tidings_team", "official_tidings", "transparency", "c", "whatsapp"],
)
def test_reserved_names_and_lookalikes(name: str) -> None:
    assert is_reserved(name)
    with pytest.raises(HandleError) as info:
        check_not_reserved(name, "username")
    assert info.value.code == "reserved_username"


def test_reserved_code_for_handles() -> None:
    with pytest.raises(HandleError) as info:
        check_not_reserved("m0derator")
    assert info.value.code == "reserved_handle"


@pytest.mark.parametrize("name", ["news_daily", "alice", "badminton", "cooking_club"])
def test_ordinary_names_are_not_reserved(name: str) -> None:
    assert not is_reserved(name)
    check_not_reserved(name)


def test_clean_text_strips_and_keeps_newlines_and_tabs() -> None:
    assert clean_text("  hello\n\tworld \r\n", 100, "description") == "hello\n\tworld"
    assert clean_text("a\r\nb", 100, "description") == "a\nb"


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\rb", "a\x7fb", "a\x85b", "a\ud800b"])
def test_clean_text_rejects_controls_and_lone_surrogates(bad: str) -> None:
    with pytest.raises(TextFieldError) as info:
        clean_text(bad, 100, "title")
    assert info.value.code == "invalid_text"
    assert info.value.field == "title"


def test_clean_text_counts_characters_not_bytes() -> None:
    assert clean_text("\U0001f600" * 10, 10, "title") == "\U0001f600" * 10
    with pytest.raises(TextFieldError, match="at most 10"):
        clean_text("x" * 11, 10, "title")


def test_field_helpers_enforce_limits() -> None:
    assert clean_channel_title(" My channel ") == "My channel"
    assert clean_channel_description("") == ""
    with pytest.raises(TextFieldError):
        clean_channel_title("   ")
    with pytest.raises(TextFieldError):
        clean_channel_title("t" * (CHANNEL_TITLE_MAX + 1))
    with pytest.raises(TextFieldError):
        clean_channel_description("d" * (CHANNEL_DESCRIPTION_MAX + 1))
    with pytest.raises(TextFieldError):
        clean_display_name("n" * (DISPLAY_NAME_MAX + 1))
    assert clean_display_name("Ada") == "Ada"


def test_platform_names_are_reserved_names() -> None:
    """A title may not take a platform name; every one is reserved as a handle too."""
    from tidings.protocol.handles import PLATFORM_NAMES, RESERVED_NAMES

    assert PLATFORM_NAMES <= RESERVED_NAMES
