"""The SDK parses answers into the types the server declares (tidings.protocol.api),
against a real server; an answer that strays from its type fails as ``bad_response``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.server.channel_util import photo
from tidings.client import channel_requests as cr
from tidings.client import groups as gr
from tidings.client.requests import Request
from tidings.client.results import parse
from tidings.client.sdk import TidingsClient
from tidings.protocol.api.channels import Channel, Post, PostPage, Updates, Upload
from tidings.protocol.api.messaging import Group
from tidings.protocol.errors import TidingsError

PASSWORD = "a long enough passphrase"


async def test_sdk_answers_are_the_declared_types(
        live_server: Callable[..., AbstractAsyncContextManager[LiveServer]],
        tmp_path: Path) -> None:
    async with live_server() as server, \
            TidingsClient(server.url, profile_dir=tmp_path / "alice") as alice:
        await alice.register("alice", PASSWORD)
        created = await alice.typed(cr.create_channel("alice_news", "Alice News"))
        assert isinstance(created, Channel) and created.role == "owner"
        upload = await alice.typed(cr.upload_media(photo(seed=7)))
        assert isinstance(upload, Upload) and upload.moderation.state
        posted = await alice.typed(cr.publish("alice_news", "hello", [upload.sha256]))
        assert isinstance(posted, Post) and posted.number == 1
        assert posted.media and posted.media[0].sha256 == upload.sha256
        page = await alice.typed(cr.history("alice_news"))
        assert isinstance(page, PostPage) and [p.text for p in page.posts] == ["hello"]
        assert page.channel.handle == "alice_news" and page.next_before is None
        log = await alice.typed(cr.updates("alice_news", 0))
        assert isinstance(log, Updates) and log.updates[0].post.number == 1
        group = await alice.typed(gr.create_group("friends", []))
        assert isinstance(group, Group) and group.admins == ["alice"]
        # the named methods keep answering plain JSON, checked against the same type
        assert (await alice.history("alice_news"))["posts"][0]["text"] == "hello"
        with pytest.raises(ValueError):
            await alice.typed(cr.delete_post("alice_news", 1))


def test_an_answer_that_strays_is_refused() -> None:
    with pytest.raises(TidingsError) as caught:
        parse(Post, {"channel": "news", "state": "visible", "surprise": 1})
    assert caught.value.code == "bad_response" and "surprise" in caught.value.message
    with pytest.raises(TidingsError):
        parse(list[Channel], [{"handle": "news"}])
    assert parse(Post, {"channel": "news", "state": "unavailable", "number": 3}).number == 3
    assert Request("GET", "/x").result is None
