import pytest

from tidings.crypto import DeviceIdentity, KeyFormatError, PickleError

PK = b"p" * 32


def test_pickle_round_trip_keeps_keys_and_fallback() -> None:
    ident = DeviceIdentity.create("@a:x", "A")
    fallback = ident.fallback_key()
    ident.mark_published()
    restored = DeviceIdentity.from_pickle(ident.pickle(PK), PK)
    assert (restored.user, restored.device_id) == ("@a:x", "A")
    assert restored.ed25519 == ident.ed25519
    assert restored.curve25519 == ident.curve25519
    assert restored.fallback_key() == fallback
    assert restored.device_keys().verify()


@pytest.mark.parametrize("key", [b"q" * 32, b"short"])
def test_wrong_pickle_key(key: bytes) -> None:
    with pytest.raises(PickleError):
        DeviceIdentity.from_pickle(DeviceIdentity.create("@a:x", "A").pickle(PK), key)


def test_garbage_pickle() -> None:
    for bad in ["", "{}", "[]", '{"v": 1}']:
        with pytest.raises(PickleError):
            DeviceIdentity.from_pickle(bad, PK)


def test_one_time_keys_published_once() -> None:
    ident = DeviceIdentity.create("@a:x", "A")
    assert len(ident.generate_one_time_keys(5)) == 5
    assert len(ident.generate_one_time_keys(2)) == 7  # unpublished ones are re-offered
    ident.mark_published()
    assert len(ident.generate_one_time_keys(1)) == 1
    with pytest.raises(KeyFormatError):
        ident.generate_one_time_keys(0)


def test_device_keys_binding() -> None:
    ident = DeviceIdentity.create("@a:x", "A")
    assert ident.device_keys("@a:x", "A") == ident.device_keys()
    with pytest.raises(KeyFormatError):
        ident.device_keys("@b:x", "A")
