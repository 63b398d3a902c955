import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.protocol.franking import (
    FRANKING_DOMAIN,
    FrankingInputError,
    FrankingKeyring,
    FrankingSecret,
    FrankingVerdict,
    commitment,
    server_tag,
    tag_input,
    verify_report,
)

SECRET = FrankingSecret("k2", b"s" * 32)
OLD = FrankingSecret("k1", b"o" * 32)
RING = FrankingKeyring(SECRET, {"k1": OLD})
KF = bytes(range(32))

ids = st.text(min_size=1, max_size=20)
ts = st.integers(min_value=0, max_value=2**63 - 1)


def _flip(data: bytes, index: int) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def test_commitment_is_hmac_sha256() -> None:
    assert commitment(KF, b"hi") == hmac.new(KF, b"hi", hashlib.sha256).digest()
    with pytest.raises(FrankingInputError):
        commitment(b"short", b"hi")


def test_tag_input_layout() -> None:
    data = tag_input(b"C", "s", "d", "c", 1)
    assert data == (
        FRANKING_DOMAIN
        + b"\x00\x00\x00\x01C"
        + b"\x00\x00\x00\x01s"
        + b"\x00\x00\x00\x01d"
        + b"\x00\x00\x00\x01c"
        + b"\x00\x00\x00\x08"
        + (1).to_bytes(8, "big")
    )


def test_tag_input_is_unambiguous() -> None:
    assert tag_input(b"C", "ab", "c", "x", 1) != tag_input(b"C", "a", "bc", "x", 1)


@pytest.mark.parametrize("bad_ts", [-1, 2**63, True, 1.5])
def test_tag_input_rejects_bad_timestamp(bad_ts: object) -> None:
    with pytest.raises(FrankingInputError):
        tag_input(b"C", "s", "d", "c", bad_ts)  # type: ignore[arg-type]


@given(payload=st.binary(min_size=1, max_size=300), sender=ids, device=ids, conv=ids, when=ts)
def test_real_message_verifies_and_any_change_fails(
    payload: bytes, sender: str, device: str, conv: str, when: int
) -> None:
    c = commitment(KF, payload)
    key_id, tag = RING.tag(c, sender, device, conv, when)
    args = (sender, device, conv, when)
    assert verify_report(RING, payload, KF, c, tag, key_id, *args) is FrankingVerdict.VERIFIED
    assert RING.verify(key_id, tag, c, *args)
    # payload or commitment changed
    assert (
        verify_report(RING, _flip(payload, 7), KF, c, tag, key_id, *args)
        is FrankingVerdict.BAD_COMMITMENT
    )
    c2 = _flip(c, 3)
    assert not RING.verify(key_id, tag, c2, *args)
    # any metadata changed
    assert not RING.verify(key_id, tag, c, sender + "x", device, conv, when)
    assert not RING.verify(key_id, tag, c, sender, device + "x", conv, when)
    assert not RING.verify(key_id, tag, c, sender, device, conv + "x", when)
    assert not RING.verify(key_id, tag, c, sender, device, conv, when ^ 1)
    assert not RING.verify(key_id, _flip(tag, 5), c, *args)


@given(payload=st.binary(max_size=100), conv=ids, other=ids)
def test_report_replayed_to_another_conversation_fails(
    payload: bytes, conv: str, other: str
) -> None:
    if conv == other:
        return
    c = commitment(KF, payload)
    key_id, tag = RING.tag(c, "@a:x", "DEV", conv, 10)
    verdict = verify_report(RING, payload, KF, c, tag, key_id, "@a:x", "DEV", other, 10)
    assert verdict is FrankingVerdict.BAD_TAG


def test_verdicts() -> None:
    payload = b"abuse"
    c = commitment(KF, payload)
    key_id, tag = RING.tag(c, "@a:x", "D", "@b:x", 5)
    assert key_id == "k2"
    meta = ("@a:x", "D", "@b:x", 5)
    assert verify_report(RING, payload, KF, c, tag, "k2", *meta) is FrankingVerdict.VERIFIED
    assert (
        verify_report(RING, payload, bytes(32), c, tag, "k2", *meta)
        is FrankingVerdict.BAD_COMMITMENT
    )
    assert (
        verify_report(RING, payload, b"short", c, tag, "k2", *meta)
        is FrankingVerdict.BAD_COMMITMENT
    )
    assert verify_report(RING, payload, KF, c, bytes(32), "k2", *meta) is FrankingVerdict.BAD_TAG
    assert verify_report(RING, payload, KF, c, tag, "k1", *meta) is FrankingVerdict.BAD_TAG
    assert verify_report(RING, payload, KF, c, tag, "k0", *meta) is FrankingVerdict.UNKNOWN_KEY
    assert not RING.verify("k0", tag, c, *meta)


def test_old_key_still_verifies_after_rotation() -> None:
    c = commitment(KF, b"m")
    old_ring = FrankingKeyring(OLD)
    key_id, tag = old_ring.tag(c, "@a:x", "D", "group:g1", 7)
    assert RING.verify(key_id, tag, c, "@a:x", "D", "group:g1", 7)
    assert server_tag(OLD.secret, c, "@a:x", "D", "group:g1", 7) == tag


def test_short_secret_rejected() -> None:
    with pytest.raises(FrankingInputError):
        FrankingKeyring(FrankingSecret("k", b"x" * 8))
