"""The content-addressed blob store: names, sharding, atomic writes, hostile ids."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from tidings.storage.blobs import BlobIdError, BlobStore, BlobTooLargeError, check_id


def test_put_is_content_addressed_sharded_and_deduplicated(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha = store.put(b"hello")
    assert sha == hashlib.sha256(b"hello").hexdigest()
    assert store.path(sha) == tmp_path / sha[:2] / sha[2:4] / sha
    assert store.read(sha) == b"hello"
    assert store.put(b"hello") == sha
    assert [b.sha256 for b in store.iter_blobs()] == [sha]
    assert list((tmp_path / "tmp").iterdir()) == []  # no temp files left behind


def test_streamed_writer_limits_and_aborts(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    writer = store.writer(limit=10)
    writer.write(b"12345")
    with pytest.raises(BlobTooLargeError):
        writer.write(b"678901")
    writer.abort()
    assert list((tmp_path / "tmp").iterdir()) == []
    assert list(store.iter_blobs()) == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "0" * 63, "0" * 65,
                                 "/" + "0" * 63, "0" * 62 + "\n0", ""])
def test_hostile_ids_never_become_paths(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BlobIdError):
        check_id(bad)
    with pytest.raises(BlobIdError):
        BlobStore(tmp_path).path(bad)


def test_clean_temp_removes_only_stale_uploads(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    stale, fresh = store.tmp_dir / "up-old", store.tmp_dir / "up-new"
    stale.write_bytes(b"x")
    fresh.write_bytes(b"y")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert store.clean_temp(60) == 1
    assert not stale.exists() and fresh.exists()
