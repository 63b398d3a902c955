import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.crypto import AttachmentError, AttachmentKey, decrypt_attachment, encrypt_attachment


@settings(max_examples=30)
@given(st.binary(max_size=5000))
def test_round_trip(data: bytes) -> None:
    ciphertext, key = encrypt_attachment(data, "image/png")
    assert key.size == len(data)
    assert key.media_type == "image/png"
    assert decrypt_attachment(ciphertext, key) == data
    assert AttachmentKey.from_json(key.to_json()) == key


def test_fresh_key_and_nonce_each_time() -> None:
    (c1, k1), (c2, k2) = (
        encrypt_attachment(b"same", "text/plain"),
        encrypt_attachment(b"same", "text/plain"),
    )
    assert c1 != c2
    assert k1.key != k2.key
    assert k1.nonce != k2.nonce


def test_tampered_ciphertext_rejected_before_decrypting() -> None:
    ciphertext, key = encrypt_attachment(b"hello world", "text/plain")
    for i in range(len(ciphertext)):
        tampered = bytearray(ciphertext)
        tampered[i] ^= 0x80
        with pytest.raises(AttachmentError):
            decrypt_attachment(bytes(tampered), key)
    with pytest.raises(AttachmentError):
        decrypt_attachment(ciphertext[:-1], key)


def test_wrong_key_rejected() -> None:
    ciphertext, key = encrypt_attachment(b"hello world", "text/plain")
    _, other = encrypt_attachment(b"x" * 11, "text/plain")
    with pytest.raises(AttachmentError) as info:
        decrypt_attachment(ciphertext, dataclasses.replace(key, key=other.key))
    assert info.value.code == "attachment_mismatch"
    with pytest.raises(AttachmentError):
        decrypt_attachment(ciphertext, dataclasses.replace(key, sha256_plaintext="0" * 64))


@pytest.mark.parametrize(
    "patch",
    [
        {"key": "short"},
        {"nonce": "AAAA"},
        {"size": -1},
        {"size": True},
        {"media_type": "png"},
        {"sha256_plaintext": "XYZ"},
        {"extra": 1},
    ],
)
def test_malformed_key_record(patch: dict[str, object]) -> None:
    _, key = encrypt_attachment(b"x", "text/plain")
    with pytest.raises(AttachmentError):
        AttachmentKey.from_json({**key.to_json(), **patch})


def test_bad_media_type() -> None:
    with pytest.raises(AttachmentError):
        encrypt_attachment(b"x", "not a media type")
