"""Issue 20 item 7: the CLI prints other people's text as plain, visibly defused text.

Every string of the Big List of Naughty Strings, plus OSC 8 hyperlinks, OSC 52 clipboard
writes, CSI and 8-bit C1 sequences, bidi overrides and Rich markup, goes through a real
server in real end-to-end encrypted messages, channel posts, statements of reasons
(notices) and group titles. The CLI's human output of `receive`, `channel history`,
`notices` and `group list` must hold no escape, C1 or bidi control character, must show
each string in its defused form (``␛``, ``<U+202E>``) and must show markup literally.
Strings are batched into few messages, posts and notices to keep the test fast.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from tests.cli.hostile_text import (
    BLNS,
    BLNS_GIT_BLOB,
    DANGEROUS,
    MARKUP,
    OSC8,
    SHOWN,
    TERMINAL,
    accepted_as_public_text,
    batches,
    blns,
    everything,
    shown_form,
)
from tests.cli.test_messages_cli import Live
from tests.cli.test_orders_cli import token_profile
from tests.conftest import LiveServer
from tidings.cli.main import app
from tidings.client import report_requests as rr
from tidings.client.groups import Groups
from tidings.client.messaging import Messenger, enroll
from tidings.client.sdk import TidingsClient
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest

PASSPHRASE = "hostile strings key store"
MESSAGE_BATCH = 3000
NOTICE_BATCH = limits.REPORT_EXPLANATION_MAX - 200


async def tidings(server: LiveServer, profile: Path, *args: str) -> Result:
    env = {"TIDINGS_SERVER": server.url, "TIDINGS_PROFILE": str(profile), "COLUMNS": "200",
           "NO_COLOR": "1", "TIDINGS_PASSPHRASE": PASSPHRASE}
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


async def person(server: LiveServer, tmp: Path, name: str, passphrase: str | None = None
                 ) -> Messenger:
    await token_profile(server, tmp / name, name, "user")
    return await enroll(TidingsClient.from_profile(tmp / name), passphrase)


def check(out: str, strings: list[str], shown: tuple[str, ...] | list[str]) -> None:
    """No dangerous character; every string in its defused form; the samples' stand-ins."""
    bad = DANGEROUS.search(out)
    assert bad is None, f"U+{ord(bad.group()):04X} reached the terminal near {out[max(0, bad.start() - 40):bad.end() + 40]!r}"  # noqa: E501
    missing = [s for s in strings if not all(piece in out for piece in shown_form(s))]
    assert missing == [], f"{len(missing)} strings not shown, e.g. {missing[:3]!r}"
    for expected in shown:
        assert expected in out


async def test_naughty_strings_reach_the_cli_defused(live_server: Live, tmp_path: Path
                                                      ) -> None:
    async with live_server() as server:
        ann = await person(server, tmp_path, "ann")
        ben = await person(server, tmp_path, "ben", PASSPHRASE)
        await token_profile(server, tmp_path / "mod", "mod", "moderator")
        mod = TidingsClient.from_profile(tmp_path / "mod")
        try:
            strings = everything()
            public = [s for s in strings if accepted_as_public_text(s)]
            assert len(strings) > 500 and len(public) > 480

            # end-to-end encrypted messages -> `tidings receive`
            await ben.send_text("ann", "hello")  # ben wrote first: no message request
            for text in batches(strings, MESSAGE_BATCH):
                await ann.send_text("ben", text)
            ben.save()
            out = (await tidings(server, tmp_path / "ben", "receive")).stdout
            assert out.count("ann: ") == len(batches(strings, MESSAGE_BATCH))
            check(out, strings, SHOWN)

            # channel posts -> `tidings channel history` (the server refuses C0/C1 there)
            await ann.client.create_channel("hostile_desk", "Hostile desk")
            with pytest.raises(BadRequest) as refused:
                await ann.client.publish("hostile_desk", OSC8)
            assert refused.value.code == "invalid_text"
            posts = [await ann.client.publish("hostile_desk", text)
                     for text in batches(public, limits.POST_TEXT_MAX)]
            out = (await tidings(server, tmp_path / "ben", "channel", "history", "hostile_desk",
                                 "--limit", "100")).stdout
            check(out, public, [s for s in SHOWN if not s.startswith(("␛", "<U+009B>"))])

            # statements of reasons -> `tidings notices` (the moderator's facts quote them)
            facts = batches(strings, NOTICE_BATCH)
            extra = [await ann.client.publish("hostile_desk", f"post {i}")
                     for i in range(len(facts) - len(posts))]
            for post, text in zip([*posts, *extra], facts, strict=False):
                report = await ben.client.call(rr.post_report(
                    "hostile_desk", int(post["number"]), "spam", "hostile strings test"))
                await mod.call(rr.decide(str(report["case_id"]), "remove", "spam", text))
            out = (await tidings(server, tmp_path / "ann", "notices")).stdout
            assert out.count("What we relied on: ") == len(facts)
            check(out, strings, SHOWN)
            out = (await tidings(server, tmp_path / "ann", "notices", "--json")).stdout
            assert DANGEROUS.search(out) is None  # JSON escapes: the same strings for programs
            quoted = "\n".join(n["statement"]["text"] for n in json.loads(out))
            assert all(s in quoted for s in strings)

            # group titles -> `tidings group list`
            titled = [s for s in strings if DANGEROUS.search(s) or "[" in s]
            titles = [*TERMINAL, *batches([s.strip() for s in titled if s.strip()],
                                          limits.GROUP_TITLE_MAX, " ")]
            titles = [t for t in titles if len(t.strip()) <= limits.GROUP_TITLE_MAX]
            for title in titles:
                await Groups(ann).create(title, ["ben"])
            out = (await tidings(server, tmp_path / "ann", "group", "list")).stdout
            assert len(out.strip().split("\n")) == len(titles)  # one line each: no fakes
            check(out, titles, [s for s in SHOWN if s != SHOWN[-1]])
            assert MARKUP.split(" [/bold]")[0] in out
        finally:
            for client in (ann.client, ben.client, mod):
                await client.close()


def test_the_list_is_the_published_one() -> None:
    """Provenance: the shipped file is the list as published (tests/data/blns/README.md)."""
    data = BLNS.read_bytes()
    assert hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() == BLNS_GIT_BLOB  # noqa: S324
    strings = blns()
    assert len(strings) == 516
    assert "<script>alert(0)</script>" in strings
    assert any("\u202e" in s for s in strings) and any("\x1b" in s for s in strings)
