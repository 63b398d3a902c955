import stat
from pathlib import Path

import pytest

from tidings.client.keystore import KEYSTORE_MAGIC, KeyStore
from tidings.crypto import KeyStoreCorruptError, WrongPassphraseError


def test_round_trip_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "keys.tks"
    store = KeyStore(path, "correct horse")
    assert store.load() == {}
    secrets = {"olm": {"identity": "pickle"}, "n": 1}
    store.save(secrets)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyStore(path, "correct horse").load() == secrets
    assert b"pickle" not in path.read_bytes()
    store.save({"v": 2})
    assert store.load() == {"v": 2}
    assert [p.name for p in path.parent.iterdir()] == ["keys.tks"]


def test_wrong_passphrase(tmp_path: Path) -> None:
    path = tmp_path / "keys.tks"
    KeyStore(path, "right").save({"a": "b"})
    with pytest.raises(WrongPassphraseError) as info:
        KeyStore(path, "wrong").load()
    assert info.value.code == "wrong_passphrase"


@pytest.mark.parametrize("where", ["magic", "body", "truncate", "empty", "nonce"])
def test_corrupted_file(tmp_path: Path, where: str) -> None:
    path = tmp_path / "keys.tks"
    KeyStore(path, "pw").save({"a": "b"})
    data = bytearray(path.read_bytes())
    if where == "magic":
        data[0] ^= 1
    elif where == "body":
        data[-5] ^= 1
    elif where == "nonce":
        data[len(KEYSTORE_MAGIC) + 16 + 32] ^= 1
    elif where == "truncate":
        data = data[:40]
    else:
        data = bytearray()
    path.write_bytes(bytes(data))
    with pytest.raises(KeyStoreCorruptError) as info:
        KeyStore(path, "pw").load()
    assert info.value.code == "keystore_corrupt"


def test_one_store_derives_its_key_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saves after a load (or a first save) reuse that salt and key with a fresh nonce,
    so a client saving after every message runs argon2id once, not each time."""
    from tidings.client import keystore

    path = tmp_path / "keys.tks"
    KeyStore(path, "pw").save({"n": 0})
    calls = []
    real = keystore._derive
    monkeypatch.setattr(keystore, "_derive", lambda p, s: calls.append(s) or real(p, s))
    store = KeyStore(path, "pw")
    store.load()
    headers = set()
    nonces = set()
    for n in range(1, 4):
        store.save({"n": n})
        data = path.read_bytes()
        headers.add(data[: len(KEYSTORE_MAGIC) + 16 + 32])
        nonces.add(data[len(KEYSTORE_MAGIC) + 16 + 32: len(KEYSTORE_MAGIC) + 16 + 32 + 12])
    assert len(calls) == 1 and len(headers) == 1 and len(nonces) == 3
    assert KeyStore(path, "pw").load() == {"n": 3}
    with pytest.raises(WrongPassphraseError):
        KeyStore(path, "not pw").load()
    fresh = KeyStore(path, "pw")
    fresh.save({"n": 4})  # a new object picks a new salt
    assert path.read_bytes()[len(KEYSTORE_MAGIC): len(KEYSTORE_MAGIC) + 16] not in {
        h[len(KEYSTORE_MAGIC):] [:16] for h in headers}
