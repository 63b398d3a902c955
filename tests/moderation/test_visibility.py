"""The visibility table (moderation/visibility.py): complete, monotone, the tombstone
carries nothing else, and docs/channels.md says exactly what the code does."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tidings.moderation.visibility import (
    CHANNEL_AUDIENCES,
    CHANNEL_TABLE,
    POST_TABLE,
    Audience,
    ChannelShown,
    ChannelState,
    PostState,
    Shown,
    audience,
    channel_state,
    channel_view,
    listed_states,
    log_entry,
    post_state,
    post_view,
    shape_post,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "channels.md"
ORDER = (Audience.PUBLIC, Audience.ADMIN, Audience.AUTHOR, Audience.STAFF)
FULL = {"id": 7, "channel": "news", "text": "secret words", "media": [{"sha256": "ab" * 32}],
        "forwarded_from": {"channel": "src", "title": "Source", "post_id": 3},
        "state": "visible", "views": 4, "created_at": 1, "edited_at": 2, "pinned": True}
NOTICE = {"statement_id": "sor-1", "text": "Removed: terrorist content."}
RANK = {Shown.HIDDEN: 0, Shown.TOMBSTONE: 1, Shown.FULL: 2}


def test_tables_are_complete() -> None:
    assert set(POST_TABLE) == {(s, a) for s in PostState for a in Audience}
    assert set(CHANNEL_TABLE) == {(s, a) for s in ChannelState for a in CHANNEL_AUDIENCES}


@pytest.mark.parametrize("state", list(PostState))
def test_each_audience_sees_at_least_what_the_one_before_sees(state: PostState) -> None:
    views = [post_view(state, a) for a in ORDER]
    for lower, higher in itertools.pairwise(views):
        assert RANK[lower.shown] <= RANK[higher.shown]
        assert lower.listed <= higher.listed and lower.notice <= higher.notice


@pytest.mark.parametrize("state", [PostState.REMOVED, PostState.DELETED])
@pytest.mark.parametrize("who", list(Audience))
def test_removed_and_deleted_are_tombstones_for_everyone(state: PostState,
                                                         who: Audience) -> None:
    shaped = shape_post(FULL, state, who, NOTICE)
    assert shaped is not None
    assert set(shaped) <= {"id", "number", "channel", "state", "notice"}
    assert "secret" not in repr(shaped) and "ab" * 32 not in repr(shaped)
    assert shaped["state"] == str(state)
    assert ("notice" in shaped) == (state is PostState.REMOVED
                                    and who in (Audience.AUTHOR, Audience.STAFF))


def test_held_is_hidden_from_the_public_and_keeps_its_place_in_the_log() -> None:
    assert shape_post(FULL, PostState.HELD, Audience.PUBLIC) is None
    assert log_entry(FULL, PostState.HELD, Audience.PUBLIC) == {
        "channel": "news", "state": "unavailable"}
    public_fields = {k: v for k, v in FULL.items() if k != "id"}  # the id: staff only
    assert shape_post(FULL, PostState.HELD, Audience.AUTHOR) == {**public_fields,
                                                                 "state": "held"}
    assert shape_post(FULL, PostState.HELD, Audience.STAFF) == {**FULL, "state": "held"}
    assert listed_states(Audience.PUBLIC) == ("visible",)
    assert listed_states(Audience.ADMIN) == ("visible", "held")


def test_stored_values_map_to_states_and_audiences() -> None:
    assert post_state("visible", deleted=True) is PostState.DELETED
    assert post_state("something new", deleted=False) is PostState.REMOVED  # strictest
    assert channel_state("unknown") is ChannelState.REMOVED
    assert audience(staff=False, author=True, admin=True) is Audience.AUTHOR
    assert audience(staff=True, author=False, admin=False) is Audience.STAFF
    assert channel_view(ChannelState.HELD, Audience.AUTHOR) is ChannelShown.OPEN


def _first_table_after(text: str, marker: str) -> list[list[str]]:
    tail = text[text.index(marker):]
    lines = tail.splitlines()
    table = []
    started = False
    for line in lines:
        if line.startswith("|"):
            started = True
            table.append([c.strip() for c in line.strip("|").split("|")])
        elif started:
            break
    return table[2:]


def test_docs_table_matches_the_code() -> None:
    text = DOCS.read_text()
    words = {Shown.FULL: "full", Shown.TOMBSTONE: "tombstone", Shown.HIDDEN: "hidden"}
    posts = _first_table_after(text, "| post state |")
    assert [r[0].split(" ")[0] for r in posts] == [s.value for s in PostState]
    columns = (Audience.PUBLIC, Audience.ADMIN, Audience.AUTHOR, Audience.STAFF)
    for row, state in zip(posts, PostState, strict=True):
        for cell, who in zip(row[1:], columns, strict=True):
            view = post_view(state, who)
            assert cell.startswith(words[view.shown]), (state, who, cell)
            assert ("notice" in cell) == view.notice, (state, who, cell)
            if view.shown is Shown.FULL and state is not PostState.VISIBLE:
                assert "listed" in cell
    channels = _first_table_after(text, "| channel state |")
    assert [r[0] for r in channels] == [s.value for s in ChannelState]
    codes = {ChannelShown.OPEN: "open", ChannelShown.GONE: "410", ChannelShown.HIDDEN: "404"}
    for row, cstate in zip(channels, ChannelState, strict=True):
        for cell, who in zip(row[1:], CHANNEL_AUDIENCES, strict=True):
            assert cell.startswith(codes[channel_view(cstate, who)]), (cstate, who, cell)
