"""The real `tidings` command in subprocesses against a live server: register, send, receive."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from tests.conftest import LiveServer

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
SRC = Path(__file__).resolve().parents[2] / "src"
TIDINGS = str(Path(sys.executable).with_name("tidings")) if Path(sys.executable).with_name(
    "tidings").exists() else (shutil.which("tidings") or "tidings")
PASSWORD = "a long enough passphrase\n"


async def tidings(server: LiveServer, profile: Path, *args: str, stdin: str = "",
                  passphrase: str = "key store pass 1") -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "TIDINGS_SERVER": server.url,
           "TIDINGS_PROFILE": str(profile), "TIDINGS_PASSPHRASE": passphrase,
           "COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        TIDINGS, *args, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def test_send_receive_devices_via_cli(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        a, b1, b2 = tmp_path / "alice", tmp_path / "bob1", tmp_path / "bob2"
        for profile, cmd, user in ((a, "register", "alice"), (b1, "register", "bob"),
                                   (b2, "login", "bob")):
            code, out, err = await tidings(server, profile, "account", cmd, user,
                                           "--password-stdin", "--json", stdin=PASSWORD)
            assert code == 0, err
            assert (profile / "keys.tidks").exists()
        code, out, err = await tidings(server, a, "devices", "bob", "--json")
        assert code == 0, err
        listed = json.loads(out)
        assert len(listed) == 2 and all(d["signature_valid"] for d in listed)
        assert all(len(d["fingerprint"].split(" ")) == 11 for d in listed)
        code, out, err = await tidings(server, a, "send", "bob", "hi bob, ünïcode ✓", "--json")
        assert code == 0, err
        sent = json.loads(out)
        for profile in (b1, b2):
            code, out, err = await tidings(server, profile, "receive", "--json")
            assert code == 0, err
            (msg,) = lines(out)
            assert {k: msg[k] for k in ("id", "from", "text", "ts")} == {
                "id": sent["id"], "from": "alice", "text": "hi bob, ünïcode ✓", "ts": sent["ts"]}
            assert msg["device"]
            code, out, err = await tidings(server, profile, "receive", "--json")
            assert (code, out) == (0, "")  # acknowledged: not delivered again
        # a reply reaches alice; human output without --json
        code, _, err = await tidings(server, b2, "send", "alice", "hello alice")
        assert code == 0, err
        started = time.monotonic()
        code, out, err = await tidings(server, a, "receive", "--timeout", "120")
        assert code == 0, err
        assert "bob" in out and "hello alice" in out
        # the message was waiting: --timeout is the most it waits, not how long it waits
        assert time.monotonic() - started < 60
        # bob's other device got a copy of what bob2 sent
        code, out, _ = await tidings(server, b1, "receive", "--json")
        assert [m["text"] for m in lines(out)] == ["hello alice"]


async def test_wrong_passphrase_is_a_clear_error(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        profile = tmp_path / "carol"
        code, _, err = await tidings(server, profile, "account", "register", "carol",
                                     "--password-stdin", stdin=PASSWORD)
        assert code == 0, err
        code, _, err = await tidings(server, profile, "receive", passphrase="not it")
        assert code == 1
        assert "wrong_passphrase" in err and "Traceback" not in err
