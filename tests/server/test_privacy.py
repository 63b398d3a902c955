"""What the server keeps of a private conversation contains no plaintext at all.

Checked while messages are still queued (the worst moment) and after delivery, in the
SQLite file and its WAL, a PostgreSQL dump, every other file in the data directory,
the captured logs, and the clients' own profiles (their message archive is encrypted).
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.client.helpers import close_all, people
from tests.conftest import POSTGRES_DB, POSTGRES_URL, LiveServer, fresh_database
from tidings.client.messaging import Messenger

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
SECRETS = ["The eagle lands at midnight behind the old mill", "Zürich-Ölbaum ✓ passcode 7341-9982"]
WINDOW = 8


def windows(text: str) -> set[bytes]:
    data = text.encode()
    return {data[i:i + WINDOW] for i in range(len(data) - WINDOW + 1)}


def leaks(blob: bytes) -> list[bytes]:
    return sorted(w for text in SECRETS for w in windows(text) if w in blob)


def files_under(*roots: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for root in roots for p in root.rglob("*") if p.is_file()}


async def converse(server: LiveServer, tmp: Path) -> dict[str, list[Messenger]]:
    group = await people(server.url, tmp / "clients", ["mia", "noe"], passphrase="pw 1234567")
    await group["mia"][0].send_text("noe", SECRETS[0])
    await group["noe"][1].send_text("mia", SECRETS[1])
    return group


async def _pg_dump() -> bytes:
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    proc = await asyncio.create_subprocess_exec(
        "pg_dump", "--data-only", "-h", "127.0.0.1", "-U", "postgres", POSTGRES_DB,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    assert b"COPY public.stream_events" in out
    return out


async def test_no_plaintext_in_sqlite_files_logs_or_profiles(
        live_server: Live, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with live_server() as server:
        group = await converse(server, tmp_path)
        try:
            data = tmp_path / "data"
            queued = files_under(data)
            assert any(p.name.endswith("-wal") for p in queued)
            for path, blob in queued.items():
                assert leaks(blob) == [], path
            for devices in group.values():
                for m in devices:
                    await m.receive()
            archive = group["noe"][0].crypto.inbox
            assert {SECRETS[0]} <= {r["text"] for r in archive}
            assert leaks(json.dumps(archive, ensure_ascii=False).encode())  # the probe works
            keystores = [p for p in files_under(tmp_path / "clients") if p.name == "keys.tidks"]
            assert len(keystores) == 4
            for path, blob in files_under(data, tmp_path / "clients").items():
                assert leaks(blob) == [], path
        finally:
            await close_all(group)
    assert leaks(caplog.text.encode()) == []


@pytest.mark.postgres
async def test_no_plaintext_in_a_postgresql_dump(live_server: Live, tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await fresh_database("postgres", tmp_path)
    async with live_server(database_url=POSTGRES_URL) as server:
        group = await converse(server, tmp_path)
        try:
            queued = await _pg_dump()
            assert b"mia" in queued and b"noe" in queued  # the dump is of the server's data
            assert leaks(queued) == []  # while queued
            for devices in group.values():
                for m in devices:
                    await m.receive()
            assert leaks(await _pg_dump()) == []
        finally:
            await close_all(group)
    assert leaks(caplog.text.encode()) == []


async def test_groups_and_attachments_leave_no_plaintext(
        live_server: Live, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from tidings.client.attachments import fetch, send_group_file
    from tidings.client.groups import Groups

    caplog.set_level(logging.DEBUG)
    async with live_server() as server:
        group = await people(server.url, tmp_path / "clients", ["ola", "pia", "quy"],
                             passphrase="pw 1234567")
        try:
            ola = group["ola"][0]
            gid = (await Groups(ola).create("Picnic", ["pia", "quy"]))["id"]
            for name in ("pia", "quy"):  # being added is an invitation (issue 20)
                await Groups(group[name][0]).accept(gid)
            await Groups(ola).send_text(gid, SECRETS[0])
            doc = tmp_path / "plan.txt"
            doc.write_text(SECRETS[1] * 20)
            await send_group_file(ola, gid, doc)
            doc.unlink()
            data = tmp_path / "data"
            attachments = [p for p in files_under(data / "attachments")
                           if "tmp" not in p.relative_to(data / "attachments").parts]
            assert attachments  # the blob is there, as ciphertext
            for path, blob in files_under(data).items():  # while queued
                assert leaks(blob) == [], path
            for devices in group.values():
                for m in devices:
                    inbox = await m.receive()
                    if m is not ola:
                        assert SECRETS[0] in [r.text for r in inbox.messages]
                        (f,) = [r for r in inbox.messages if r.content.kind == "file"]
                        saved = await fetch(m, f, tmp_path / "saved")
                        assert SECRETS[1] in saved.read_text()
                        saved.unlink()
            for path, blob in files_under(data, tmp_path / "clients").items():
                assert leaks(blob) == [], path
        finally:
            await close_all(group)
    assert leaks(caplog.text.encode()) == []
