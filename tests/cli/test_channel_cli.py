"""`tidings channel ...` and `tidings media gc` as a user runs them (in-process)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.apps import kernel_of
from tests.cli.inproc import invoke
from tests.conftest import LiveServer
from tests.server.channel_util import photo
from tidings.services.accounts import Principal

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def tidings(*args: str, stdin: str = "", profile: Path | None = None,
                  server: LiveServer | None = None) -> tuple[int, str, str]:
    """The command in-process (tests/cli/inproc.py): what a subprocess would add, the
    console script and a fresh interpreter, tests/cli/test_account_cli.py and
    tests/cli/test_messages_cli.py cover."""
    env = {"NO_COLOR": "1", "COLUMNS": "200", "TIDINGS_PASSPHRASE": "test key store passphrase"}
    if profile is not None:
        env["TIDINGS_PROFILE"] = str(profile)
    if server is not None:
        env["TIDINGS_SERVER"] = server.url
    result = await asyncio.to_thread(invoke, list(args), stdin, env)
    return result.exit_code, result.stdout, result.stderr


async def test_create_post_subscribe_history_search(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        owner, reader = tmp_path / "owner", tmp_path / "reader"
        for name, prof in (("owner", owner), ("reader", reader)):
            code, _, err = await tidings("account", "register", name, "--password-stdin",
                                         stdin="a long enough passphrase\n", profile=prof,
                                         server=server)
            assert code == 0, err
        code, out, err = await tidings("channel", "create", "cli_news", "--title", "CLI News",
                                       "--json", profile=owner, server=server)
        assert code == 0, err
        assert json.loads(out)["handle"] == "cli_news"
        image = tmp_path / "picture.jpg"
        image.write_bytes(photo(120, 90, fmt="PNG"))  # named .jpg, sniffed as PNG
        code, out, err = await tidings("channel", "post", "cli_news", "Hello from the shell",
                                       "--image", str(image), "--json", profile=owner,
                                       server=server)
        assert code == 0, err
        posted = json.loads(out)
        assert posted["media"][0]["kind"] == "photo"
        code, out, err = await tidings("channel", "subscribe", "cli_news", profile=reader,
                                       server=server)
        assert code == 0 and "subscribed to @cli_news" in out, err
        code, out, _ = await tidings("channel", "history", "cli_news", "--json",
                                     profile=reader, server=server)
        page = json.loads(out)
        assert [p["text"] for p in page["posts"]] == ["Hello from the shell"]
        code, out, _ = await tidings("channel", "history", "cli_news", profile=reader,
                                     server=server)
        assert "Hello from the shell" in out and "[1 media]" in out
        code, out, _ = await tidings("channel", "search", "cli", "--json",
                                     profile=tmp_path / "nobody", server=server)
        assert [c["handle"] for c in json.loads(out)] == ["cli_news"]
        code, out, _ = await tidings("channel", "search", "shell", "--posts", "--json",
                                     profile=reader, server=server)
        assert [p["number"] for p in json.loads(out)] == [posted["number"]]
        code, _, err = await tidings("channel", "post", "cli_news", "not mine",
                                     profile=reader, server=server)
        assert code == 1 and "channel_forbidden" in err
        code, _, err = await tidings("channel", "create", "admin", "--title", "x",
                                     profile=owner, server=server)
        assert code == 1 and "reserved_handle" in err


async def test_media_gc_command(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        prof = tmp_path / "owner"
        await tidings("account", "register", "owner", "--password-stdin",
                      stdin="a long enough passphrase\n", profile=prof, server=server)
        image = tmp_path / "orphan.png"
        image.write_bytes(photo(seed=11))
        svc = kernel_of(server).media
        await svc.upload(await _principal(server), _chunks(image.read_bytes()))
        data_dir = kernel_of(server).settings.data_dir
        code, out, err = await tidings("media", "gc", "--data", str(data_dir), "--grace", "0",
                                       "--json")
        assert code == 0, err
        assert json.loads(out)["blobs_removed"] == 2  # the photo and its thumbnail


async def _principal(server: LiveServer) -> Principal:
    return Principal(1, "owner", "user", "D")


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data
