"""Content-addressed blob store on local disk: media of public channels and avatars.

A blob's name is the SHA-256 of its bytes, so a name is also its integrity check,
identical uploads are stored once and a URL's bytes never change (downloads are
cached as immutable). Files live at ``<root>/ab/cd/<sha256>``: two levels of 256
directories keep any one directory small for millions of blobs.

Writes are atomic and durable: bytes go to a temp file in ``<root>/tmp``, are
fsynced, renamed into place (rename is atomic within one file system) and the
directory is fsynced, so a crash leaves either the whole blob or none of it, never a
torn file under a valid name. Ids from outside are checked against ``[0-9a-f]{64}``
before they touch a path: ``../`` and friends cannot escape the root.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_SHA256_RE = re.compile(r"[0-9a-f]{64}")


class BlobIdError(ValueError):
    code = "invalid_media_id"


class BlobTooLargeError(ValueError):
    code = "payload_too_large"


def check_id(sha256: str) -> str:
    """Return the id if it is a lower-case hex SHA-256, else raise BlobIdError."""
    if not isinstance(sha256, str) or _SHA256_RE.fullmatch(sha256) is None:
        raise BlobIdError("a media id is 64 lower-case hex digits (SHA-256)")
    return sha256


@dataclass(frozen=True, slots=True)
class BlobInfo:
    sha256: str
    size: int
    mtime: float


class BlobWriter:
    """Stream bytes into a temp file, hashing as they come, with a hard size limit."""

    def __init__(self, store: BlobStore, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.size = 0
        self._hash = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        fd, name = tempfile.mkstemp(dir=store.tmp_dir, prefix="up-")
        self.temp_path = Path(name)
        self._file: BinaryIO = os.fdopen(fd, "wb")
        self.head = b""
        """The first bytes written: enough to sniff the type without re-reading."""

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise BlobTooLargeError(f"upload exceeds {self.limit} bytes")
        if len(self.head) < 4096:
            self.head += chunk[: 4096 - len(self.head)]
        self._hash.update(chunk)
        self._md5.update(chunk)
        self._file.write(chunk)

    def digests(self) -> tuple[str, str]:
        """(MD5, SHA-256) of the bytes written so far: the upload's exact hashes, as
        partner hash lists bank them, taken while streaming (no second read)."""
        return self._md5.hexdigest(), self._hash.hexdigest()

    def read_all(self) -> bytes:
        """The bytes written so far (for photos, which are decoded and re-encoded)."""
        self._file.flush()
        return self.temp_path.read_bytes()

    def sync(self) -> None:
        """Make the bytes durable in the temp file, not yet under their name (so an
        upload's fsync can overlap its hashing and gate; ``commit`` installs)."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def commit(self) -> str:
        """Make the blob durable under its hash; returns the hash."""
        self.sync()
        sha = self._hash.hexdigest()
        self.store._install(self.temp_path, sha)
        return sha

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.temp_path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        check_id(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def writer(self, limit: int) -> BlobWriter:
        return BlobWriter(self, limit)

    def put(self, data: bytes) -> str:
        """Store bytes (already in memory, e.g. a re-encoded photo); returns the hash."""
        writer = self.writer(len(data))
        try:
            writer.write(data)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    def stage(self, data: bytes) -> BlobWriter:
        """Bytes written to a temp file and fsynced there (``BlobWriter.sync``): the
        caller commits (installs under the hash) or aborts (discards) them later."""
        writer = self.writer(len(data))
        try:
            writer.write(data)
            writer.sync()
        except BaseException:
            writer.abort()
            raise
        return writer

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def _install(self, temp: Path, sha256: str) -> None:
        final = self.path(sha256)
        if final.is_file():  # same bytes already stored: keep the old file
            temp.unlink(missing_ok=True)
            os.utime(final)  # fresh mtime: the GC grace period restarts for a re-upload
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        _fsync_dir(final.parent)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        for first in sorted(self.root.iterdir()):
            if first.name == "tmp" or not first.is_dir():
                continue
            for second in first.iterdir():
                for file in second.iterdir():
                    if _SHA256_RE.fullmatch(file.name):
                        st = file.stat()
                        yield BlobInfo(file.name, st.st_size, st.st_mtime)

    def clean_temp(self, older_than_s: float) -> int:
        """Remove temp files of uploads that died mid-way."""
        cutoff = time.time() - older_than_s
        removed = 0
        for file in self.tmp_dir.iterdir():
            if file.stat().st_mtime < cutoff:
                file.unlink(missing_ok=True)
                removed += 1
        return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
