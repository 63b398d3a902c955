import pytest

from tidings.crypto import FrankingMismatchError, new_franking_key, open_message, seal_message
from tidings.protocol.franking import (
    FrankingKeyring,
    FrankingSecret,
    FrankingVerdict,
    verify_report,
)
from tidings.protocol.payload import MessageContent, SealedPayload

CONTENT = MessageContent("text", {"text": "hello"}, "cid-1", 1234)


def test_seal_open_and_report_end_to_end() -> None:
    sealed, commitment, key = seal_message(CONTENT)
    content, opened_key = open_message(sealed, commitment)
    assert content == CONTENT
    assert opened_key == key
    ring = FrankingKeyring(FrankingSecret("k1", b"s" * 32))
    key_id, tag = ring.tag(commitment, "@a:x", "A1", "@b:x", 99)
    verdict = verify_report(
        ring, content.to_bytes(), opened_key, commitment, tag, key_id, "@a:x", "A1", "@b:x", 99
    )
    assert verdict is FrankingVerdict.VERIFIED


def test_fresh_key_per_message() -> None:
    assert seal_message(CONTENT)[2] != seal_message(CONTENT)[2]
    assert len(new_franking_key()) == 32


def test_mismatched_commitment_dropped() -> None:
    sealed, commitment, _ = seal_message(CONTENT)
    with pytest.raises(FrankingMismatchError) as info:
        open_message(sealed, bytes(32))
    assert info.value.code == "franking_mismatch"
    # a sender who swaps content under the same commitment is caught
    other = SealedPayload.seal(MessageContent("text", {"text": "bye"}, "cid-1", 1234), b"k" * 32)
    with pytest.raises(FrankingMismatchError):
        open_message(other, commitment)
