import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.crypto.identity import DeviceIdentity
from tidings.protocol.keys import (
    DeviceKeys,
    KeyFormatError,
    OneTimeKey,
    b64decode,
    b64encode,
    canonical_json,
    verify_ed25519,
)


@pytest.fixture(scope="module")
def identity() -> DeviceIdentity:
    return DeviceIdentity.create("@alice:example.org", "ALICEPHONE")


def test_canonical_json_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


@given(st.binary(max_size=200))
def test_b64_round_trip_padded_and_unpadded(data: bytes) -> None:
    text = b64encode(data)
    assert "=" not in text
    assert b64decode(text) == data
    assert b64decode(text + "=" * (-len(text) % 4)) == data


@pytest.mark.parametrize("garbage", ["!!!", "A", "AB=C", "AAA==", "A===", "AA-_"])
def test_b64decode_rejects_garbage(garbage: str) -> None:
    with pytest.raises(ValueError, match="base64"):
        b64decode(garbage)


def test_device_keys_verify_and_round_trip(identity: DeviceIdentity) -> None:
    keys = identity.device_keys("@alice:example.org", "ALICEPHONE")
    assert keys.verify()
    assert DeviceKeys.from_json(keys.to_json()) == keys


@pytest.mark.parametrize("field", ["user", "device_id", "curve25519"])
def test_device_keys_altered_field_fails(identity: DeviceIdentity, field: str) -> None:
    keys = identity.device_keys().to_json()
    other = DeviceIdentity.create("@mallory:example.org", "EVIL").device_keys().to_json()
    keys[field] = other[field]
    assert not DeviceKeys.from_json(keys).verify()


def test_device_keys_other_signer_fails(identity: DeviceIdentity) -> None:
    keys = identity.device_keys().to_json()
    keys["ed25519"] = DeviceIdentity.create("@m:x", "M").ed25519
    assert not DeviceKeys.from_json(keys).verify()


def test_one_time_keys_signed_and_bound_to_device(identity: DeviceIdentity) -> None:
    otks = identity.generate_one_time_keys(3)
    assert len(otks) >= 3
    for otk in otks:
        assert not otk.fallback
        assert otk.verify("@alice:example.org", "ALICEPHONE", identity.ed25519)
        assert not otk.verify("@alice:example.org", "OTHER", identity.ed25519)
        assert OneTimeKey.from_json(otk.to_json()) == otk
    forged = OneTimeKey.from_json({**otks[0].to_json(), "key": otks[1].key})
    assert not forged.verify("@alice:example.org", "ALICEPHONE", identity.ed25519)
    flipped = OneTimeKey.from_json({**otks[0].to_json(), "fallback": True})
    assert not flipped.verify("@alice:example.org", "ALICEPHONE", identity.ed25519)


def _good() -> dict[str, object]:
    return DeviceIdentity.create("@bob:x", "BOB").device_keys().to_json()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("signature"),
        lambda d: d.update(extra=1),
        lambda d: d.update(user=""),
        lambda d: d.update(user=5),
        lambda d: d.update(user="a\nb"),
        lambda d: d.update(device_id="has space"),
        lambda d: d.update(device_id="x" * 65),
        lambda d: d.update(curve25519="AAAA"),
        lambda d: d.update(ed25519="not base64!"),
        lambda d: d.update(signature=d["signature"] + "=="),
        lambda d: d.update(signature=b64encode(b"\x00" * 63)),
    ],
)
def test_device_keys_malformed(mutate: object) -> None:
    data = _good()
    mutate(data)  # type: ignore[operator]
    with pytest.raises(KeyFormatError) as info:
        DeviceKeys.from_json(data)
    assert info.value.code == "bad_key_format"


@pytest.mark.parametrize("bad", [None, [], "x", {"key_id": "a"}])
def test_one_time_key_malformed(bad: object) -> None:
    with pytest.raises(KeyFormatError):
        OneTimeKey.from_json(bad)


def test_one_time_key_bad_id_and_fallback_type(identity: DeviceIdentity) -> None:
    good = identity.fallback_key().to_json()
    for patch in ({"key_id": "a/b"}, {"key_id": ""}, {"fallback": 1}, {"key_id": "k" * 65}):
        with pytest.raises(KeyFormatError):
            OneTimeKey.from_json({**good, **patch})


@pytest.mark.parametrize(("key", "sig"), [("", ""), ("AAAA", "AAAA"), ("!!", "??"), (None, None)])
def test_verify_ed25519_never_raises(key: object, sig: object) -> None:
    assert verify_ed25519(key, b"msg", sig) is False  # type: ignore[arg-type]


def test_verify_ed25519_good(identity: DeviceIdentity) -> None:
    sig = identity.sign(b"hello")
    assert verify_ed25519(identity.ed25519, b"hello", sig)
    assert not verify_ed25519(identity.ed25519, b"hellO", sig)
