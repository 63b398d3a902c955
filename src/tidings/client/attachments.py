"""Encrypted attachments for the SDK: encrypt, upload, send the key; fetch, verify, save.

The file is encrypted on this device (crypto/attachments.py: AES-256-GCM, a fresh key
per file); the server gets only the ciphertext. The key, both SHA-256 hashes, the size
and the media type go inside the end-to-end encrypted ``file`` message, so only its
recipients can fetch and open the file, and a blob the server (or anyone) altered is
refused: the ciphertext hash, the GCM tag and the plaintext hash must all match.
"""

from __future__ import annotations

import mimetypes
import time
import uuid
from pathlib import Path
from typing import Any

from tidings.client.e2ee import Received
from tidings.client.groups import Groups
from tidings.client.messaging import Messenger
from tidings.client.requests import API, Request
from tidings.crypto import AttachmentError, AttachmentKey, decrypt_attachment, encrypt_attachment
from tidings.protocol import limits
from tidings.protocol.errors import NotFound
from tidings.protocol.keys import CryptoError, b64decode
from tidings.protocol.payload import MessageContent

DOWNLOADS_DIR = "downloads"
FALLBACK_MEDIA_TYPE = "application/octet-stream"


def upload_attachment(ciphertext: bytes, expires_in_ms: int | None = None) -> Request:
    params = {"expires_in_ms": expires_in_ms} if expires_in_ms else {}
    return Request("POST", f"{API}/attachments", content=ciphertext, params=params)


def download_attachment(sha256: str) -> Request:
    return Request("GET", f"{API}/attachments/{sha256}", bytes_response=True)


async def file_content(m: Messenger, path: Path, conversation: str) -> MessageContent:
    """Encrypt and upload ``path``; the message content that lets recipients open it.

    Under a disappearing-message timer the blob is uploaded with the same expiry.
    """
    data = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or FALLBACK_MEDIA_TYPE
    ciphertext, key = encrypt_attachment(data, media_type)
    stored = await m.client.call(upload_attachment(ciphertext, m.crypto.timer_for(conversation)))
    if stored["id"] != key.sha256_ciphertext:
        raise AttachmentError("the server stored different bytes than were uploaded")
    return MessageContent("file", {"name": path.name, "attachment": key.to_json()},
                          uuid.uuid4().hex, time.time_ns() // 1_000_000)


async def send_file(m: Messenger, user: str, path: Path) -> dict[str, Any]:
    return await m.send_content(user, await file_content(m, path, user.strip().lower()))


async def send_group_file(m: Messenger, gid: str, path: Path) -> dict[str, Any]:
    return await Groups(m).send_content(gid, await file_content(m, path, f"group:{gid}"))


async def disclosures(m: Messenger, messages: list[dict[str, Any]]) -> dict[str, bytes]:
    """The decrypted attachments of the file messages among ``messages`` (received items
    as the device keeps them), by message id, for a report that shows them to the
    moderators. Files over ``REPORT_DISCLOSED_MAX`` or no longer on the server are
    left out (the report still names them); a tampered blob raises ``AttachmentError``."""
    out: dict[str, bytes] = {}
    for item in messages:
        try:
            content = MessageContent.from_bytes(b64decode(str(item["payload"])))
        except (KeyError, ValueError, CryptoError):
            continue
        if content.kind != "file":
            continue
        key = AttachmentKey.from_json(content.body.get("attachment"))
        if key.size > limits.REPORT_DISCLOSED_MAX:
            continue
        try:
            blob = await m.client.call(download_attachment(key.sha256_ciphertext))
        except NotFound:
            continue
        out[str(item["id"])] = decrypt_attachment(bytes(blob), key)
    return out


async def fetch(m: Messenger, received: Received, into: Path | None = None) -> Path:
    """Download, verify and decrypt a ``file`` message's attachment; save it.

    Raises ``AttachmentError`` for a tampered or truncated blob (nothing is saved).
    """
    key = AttachmentKey.from_json(received.content.body.get("attachment"))
    blob = await m.client.call(download_attachment(key.sha256_ciphertext))
    plaintext = decrypt_attachment(bytes(blob), key)
    folder = into or ((m.client.profile_dir or Path(".")) / DOWNLOADS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    name = Path(str(received.content.body.get("name") or "")).name or key.sha256_plaintext
    target = folder / name
    if target.exists():
        target = folder / f"{received.id}-{name}"
    target.write_bytes(plaintext)
    return target
