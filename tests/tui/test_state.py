"""The chat client's pure state: conversations, ordering, unread counts, the banner,
message requests and invitations."""

from __future__ import annotations

from tidings.protocol.safe_text import safe_line
from tidings.tui.session import peer_of
from tidings.tui.state import Book, DeviceChange, Kind, Line, channel_key, group_key


def line(i: str, sender: str, ts: int, mine: bool = False) -> Line:
    return Line(i, sender, ts, f"text {i}", mine=mine, reportable=not mine)


def test_unread_counts_only_others_lines_outside_the_open_chat() -> None:
    book = Book("alice")
    assert book.add("bob", Kind.PERSON, line("1", "bob", 10))
    assert not book.add("bob", Kind.PERSON, line("1", "bob", 10))  # once per id
    book.add("bob", Kind.PERSON, line("2", "alice", 11, mine=True))
    assert book.conversations["bob"].unread == 1
    book.open("bob")
    assert book.conversations["bob"].unread == 0
    book.add("bob", Kind.PERSON, line("3", "bob", 12))
    assert book.conversations["bob"].unread == 0 and book.unread == 0
    book.add("carol", Kind.PERSON, line("4", "carol", 13), unread=False)
    assert book.conversations["carol"].unread == 0


def test_lines_stay_in_time_order_and_chats_sort_by_activity() -> None:
    book = Book("alice")
    book.add("bob", Kind.PERSON, line("2", "bob", 20))
    book.add("bob", Kind.PERSON, line("1", "bob", 10))
    assert [x.id for x in book.conversations["bob"].lines] == ["1", "2"]
    book.add(group_key("G1"), Kind.GROUP, line("3", "carol", 30))
    book.ensure(channel_key("@news_desk"), Kind.CHANNEL, "Daily news desk")
    book.ensure(channel_key("art_club"), Kind.CHANNEL, "Art club")
    assert [c.key for c in book.ordered()] == [
        "group:G1", "bob", "channel:art_club", "channel:news_desk"]
    assert book.conversations["group:G1"].ref == "G1"
    assert book.conversations["channel:news_desk"].ref == "news_desk"


def test_conversation_of_a_message() -> None:
    assert peer_of("bob", "alice", "bob") == "alice"  # alice wrote to bob
    assert peer_of("alice", "alice", "bob") == "bob"  # a copy from alice's other device
    assert peer_of("bob", "alice", "group:G1") == "group:G1"


def test_device_change_banner_text() -> None:
    book = Book("alice")
    change = DeviceChange("bob", ("DNEW",), (), verified=True)
    book.flag(change)
    assert book.conversations["bob"].change == change
    assert change.text().startswith("bob's devices changed since you verified them "
                                    "(1 new device)")
    gone = DeviceChange("bob", (), ("D1", "D2"), verified=False)
    assert "since you last chatted (2 devices removed)" in gone.text()


def test_requests_stay_apart_until_accepted_and_a_block_drops_them() -> None:
    book = Book("alice")
    assert book.add_request("bob", line("1", "bob", 10))
    assert not book.add_request("bob", line("1", "bob", 10))  # once per id
    book.add_request("mallory", line("2", "mallory", 11))
    book.invitations["G1"] = "mallory"
    assert book.pending == 3 and book.conversations == {} and book.unread == 0
    conv = book.accept_request("bob")
    assert [x.id for x in conv.lines] == ["1"] and conv.unread == 0
    book.block("mallory")
    assert book.pending == 0 and book.blocked == {"mallory"}
    assert safe_line("a\x1b]8;;x\x07b\u202ec") == "a␛]8;;x␇b<U+202E>c"
