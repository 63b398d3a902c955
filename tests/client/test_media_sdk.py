"""The SDK's media calls against a real server: an upload is private until published,
the uploader previews it through a signed URL, and a removed post's media is gone."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.server.channel_util import photo
from tidings.client.sdk import TidingsClient
from tidings.protocol.errors import TidingsError

PASSWORD = "a long enough passphrase"


async def test_sdk_upload_preview_publish_download(
        live_server: Callable[..., AbstractAsyncContextManager[LiveServer]],
        tmp_path: Path) -> None:
    async with live_server() as server, \
            TidingsClient(server.url, profile_dir=tmp_path / "alice") as alice, \
            TidingsClient(server.url, profile_dir=tmp_path / "bob") as bob:
        await alice.register("alice", PASSWORD)
        await bob.register("bob", PASSWORD)
        await alice.create_channel("alice_news", "Alice News")
        media = await alice.upload_media(photo(seed=31))
        with pytest.raises(TidingsError) as private:
            await bob.download_media(media["url"])
        assert private.value.status == 404
        cleaned = await bob.download_media(media["preview_url"])  # the URL grants, not who
        assert len(cleaned) == media["size"]
        fresh = await alice.media_preview(media["sha256"])
        assert await alice.download_media(fresh["preview_url"]) == cleaned
        with pytest.raises(TidingsError) as other:
            await bob.media_preview(media["sha256"])
        assert other.value.status == 404
        with pytest.raises(ValueError):
            await bob.download_media("https://elsewhere.example/media/x")
        await alice.publish("alice_news", "a picture", [media["sha256"]])
        assert await bob.download_media(media["url"]) == cleaned
