import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.protocol.keys import b64encode
from tidings.protocol.payload import (
    PAYLOAD_MAX_CONTENT_BYTES,
    MessageContent,
    PayloadError,
    SealedPayload,
)

KF = b"k" * 32

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _msg(**kw: object) -> MessageContent:
    base: dict[str, object] = {
        "kind": "text",
        "body": {"text": "hi"},
        "client_id": "c1",
        "sent_at_ms": 1,
    }
    base.update(kw)
    return MessageContent(**base)  # type: ignore[arg-type]


@given(body=st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_content_round_trip(body: dict[str, object]) -> None:
    content = _msg(body=body)
    assert MessageContent.from_bytes(content.to_bytes()) == content


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"kind":"text"}',
        b'{"body":{},"client_id":"c","kind":"shout","sent_at_ms":1}',
        b'{"body":{"x":1.5},"client_id":"c","kind":"text","sent_at_ms":1}',
        b'{"body":{"x":NaN},"client_id":"c","kind":"text","sent_at_ms":1}',
        b'{"body":{"a":1,"a":2},"client_id":"c","kind":"text","sent_at_ms":1}',
        b'{"body":{},"client_id":"","kind":"text","sent_at_ms":1}',
        b'{"body":{},"client_id":"c","kind":"text","sent_at_ms":-1}',
        b'{"body":{},"client_id":"c","kind":"text","sent_at_ms":true}',
        b'{"body":[],"client_id":"c","kind":"text","sent_at_ms":1}',
        b'{"kind":"text","body":{},"client_id":"c","sent_at_ms":1}',
        b'{"body":{}, "client_id":"c","kind":"text","sent_at_ms":1}',
        b'{"body":{"n":9007199254740993},"client_id":"c","kind":"text","sent_at_ms":1}',
        b"[" * 5000 + b"]" * 5000,
        b'{"body":'
        + b'{"a":' * 40
        + b"1"
        + b"}" * 40
        + b',"client_id":"c","kind":"text","sent_at_ms":1}',
    ],
)
def test_from_bytes_rejects(data: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        MessageContent.from_bytes(data)
    assert info.value.code == "bad_payload"


def test_size_limit() -> None:
    big = _msg(body={"text": "x" * PAYLOAD_MAX_CONTENT_BYTES})
    with pytest.raises(PayloadError):
        big.to_bytes()
    with pytest.raises(PayloadError):
        MessageContent.from_bytes(b" " * (PAYLOAD_MAX_CONTENT_BYTES + 1))


def test_all_kinds_accepted() -> None:
    for kind in ["text", "file", "receipt", "typing", "key_share", "rekey_request", "verification"]:
        assert MessageContent.from_bytes(_msg(kind=kind).to_bytes()).kind == kind


def test_seal_open_round_trip() -> None:
    content = _msg()
    payload, key = SealedPayload.open(SealedPayload.seal(content, KF))
    assert payload == content.to_bytes()
    assert key == KF


@pytest.mark.parametrize(
    "obj",
    [
        b"{}",
        b'{"payload":"eA","franking_key":"c2hvcnQ"}',
        b'{"payload":"!!","franking_key":"' + b64encode(KF).encode() + b'"}',
        b'{"payload":1,"franking_key":"' + b64encode(KF).encode() + b'"}',
        b'{"payload":"eA","franking_key":"' + b64encode(KF).encode() + b'","x":1}',
    ],
)
def test_open_rejects(obj: bytes) -> None:
    with pytest.raises(PayloadError):
        SealedPayload.open(obj)


def test_seal_rejects_short_key() -> None:
    with pytest.raises(PayloadError):
        SealedPayload.seal(_msg(), b"short")


def test_payload_encoder_gives_the_bytes_signatures_cover() -> None:
    """payload.py's prebuilt encoder and keys.canonical_json must never disagree:
    commitments, tags and signatures all cover canonical bytes."""
    from tidings.protocol import keys, payload

    for obj in ({"b": [1, "é", None, True], "a": {"z": "\u2028", "y": -3}}, [], "x\n\"",
                {"text": "\U0001f600 tram", "n": 2**53 - 1}):
        assert payload.canonical_json(obj) == keys.canonical_json(obj)


def test_strict_decoder_still_refuses_duplicates_and_floats_after_reuse() -> None:
    from tidings.protocol.payload import PayloadError, SealedPayload

    for bad in (b'{"payload":"","payload":"","franking_key":""}', b'{"a":1.5}', b'{"a":NaN}'):
        for _ in range(2):  # the decoder object is shared between calls
            with pytest.raises(PayloadError):
                SealedPayload.from_bytes(bad)
