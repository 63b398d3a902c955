"""Encrypted attachments end to end: ciphertext only on the server, tampering refused."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from tests.apps import kernel_of
from tests.client.helpers import close_all, join, people
from tests.conftest import LiveServer
from tidings.client.attachments import fetch, send_file, send_group_file, upload_attachment
from tidings.client.groups import Groups
from tidings.crypto import AttachmentError
from tidings.protocol import limits
from tidings.protocol.errors import PayloadTooLarge

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]


async def test_file_roundtrip_and_tampered_blob_refused(live_server: Live, tmp_path: Path
                                                        ) -> None:
    async with live_server() as server:
        everyone = await people(server.url, tmp_path, ["ann", "ben"], per_person=1)
        try:
            ann, ben = everyone["ann"][0], everyone["ben"][0]
            src = tmp_path / "report.pdf"
            secret = b"%PDF-1.4 very secret contents " * 100
            src.write_bytes(secret)
            await send_file(ann, "ben", src)
            (msg,) = [r for r in (await ben.receive()).messages if r.content.kind == "file"]
            saved = await fetch(ben, msg, tmp_path / "got")
            assert saved.read_bytes() == secret and saved.name == "report.pdf"
            sha = msg.content.body["attachment"]["sha256_ciphertext"]  # type: ignore[index]
            blobs = kernel_of(server).attachments.blobs
            stored = blobs.path(sha).read_bytes()
            assert secret[:20] not in stored  # the server holds ciphertext only
            # tamper with the stored blob: the recipient refuses it
            blobs.path(sha).write_bytes(stored[:-1] + bytes([stored[-1] ^ 1]))
            with pytest.raises(AttachmentError):
                await fetch(ben, msg, tmp_path / "tampered")
            assert not (tmp_path / "tampered" / "report.pdf").exists()

            # groups too
            gid = (await Groups(ann).create("files", ["ben"]))["id"]
            await join(gid, ben)
            await send_group_file(ann, gid, src)
            (gmsg,) = [r for r in (await ben.receive()).messages if r.content.kind == "file"]
            assert gmsg.conversation == f"group:{gid}"
            assert (await fetch(ben, gmsg, tmp_path / "g")).read_bytes() == secret
        finally:
            await close_all(everyone)


async def test_quota_and_size_limits(live_server: Live, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "ATTACHMENT_QUOTA_BYTES", 4096)
    async with live_server() as server:
        everyone = await people(server.url, tmp_path, ["cat"], per_person=1)
        try:
            cat = everyone["cat"][0]
            await cat.client.call(upload_attachment(b"y" * 3000))
            with pytest.raises(PayloadTooLarge) as info:
                await cat.client.call(upload_attachment(b"z" * 3000))
            assert info.value.code == "attachment_quota_exceeded"
        finally:
            await close_all(everyone)
