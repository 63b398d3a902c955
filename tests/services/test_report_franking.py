"""Verifiable reports: any flipped byte or swapped metadata is rejected (hypothesis)."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.protocol.errors import BadRequest
from tidings.protocol.franking import FrankingKeyring, FrankingSecret, commitment
from tidings.protocol.keys import b64decode, b64encode
from tidings.protocol.payload import MessageContent
from tidings.services.reports import FrankedMessage, verify_message

RING = FrankingKeyring(FrankingSecret("k1", b"s" * 32))
TS = 1_767_225_600_000


def message(text: str = "the reported words") -> FrankedMessage:
    payload = MessageContent("text", {"text": text}, "cid", TS).to_bytes()
    key = secrets.token_bytes(32)
    c = commitment(key, payload)
    key_id, tag = RING.tag(c, "mallory", "DEV1", "bob", TS)
    return FrankedMessage("M1", "mallory", "DEV1", "bob", TS, b64encode(payload),
                          b64encode(key), b64encode(c), b64encode(tag), key_id)


GOOD = message()
BYTE_FIELDS = ("payload", "franking_key", "commitment", "tag")


def test_the_genuine_message_verifies() -> None:
    assert "the reported words" in verify_message(RING, GOOD, "m")


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(BYTE_FIELDS), data=st.data())
def test_any_flipped_bit_is_rejected(field: str, data: st.DataObject) -> None:
    raw = bytearray(b64decode(getattr(GOOD, field)))
    index = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 7))
    raw[index] ^= 1 << bit
    forged = dataclasses.replace(GOOD, **{field: b64encode(bytes(raw))})
    with pytest.raises(BadRequest) as caught:
        verify_message(RING, forged, "m")
    assert caught.value.code in ("franking_altered", "franking_forged", "franking_malformed")


@settings(max_examples=300, deadline=None)
@given(sender=st.text(max_size=20), device=st.text(max_size=20),
       conversation=st.text(max_size=20), ts=st.integers(0, 2**62),
       which=st.sets(st.sampled_from(("sender", "sender_device", "conversation", "ts")),
                     min_size=1))
def test_swapped_metadata_is_rejected(sender: str, device: str, conversation: str, ts: int,
                                      which: set[str]) -> None:
    values = {"sender": sender, "sender_device": device, "conversation": conversation,
              "ts": ts}
    changes = {k: values[k] for k in which if values[k] != getattr(GOOD, k)}
    if not changes:
        return
    forged = dataclasses.replace(GOOD, **changes)
    with pytest.raises(BadRequest) as caught:
        verify_message(RING, forged, "m")
    assert caught.value.code == "franking_forged"


def test_messages_swapped_between_reports_are_rejected() -> None:
    other = message("something else")
    mixed = dataclasses.replace(GOOD, payload=other.payload, franking_key=other.franking_key)
    with pytest.raises(BadRequest) as caught:
        verify_message(RING, mixed, "m")
    assert caught.value.code == "franking_altered"  # does not open GOOD's commitment
    with pytest.raises(BadRequest) as caught:
        verify_message(RING, dataclasses.replace(GOOD, payload="!!"), "m")
    assert caught.value.code == "franking_malformed"
