"""Pure parsing of private-message sends (HTTP body and WebSocket frame)."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.protocol import limits
from tidings.protocol.messages import (
    BadSend,
    MessageFormatError,
    SendFrame,
    device_mismatch,
    parse_send,
)
from tidings.protocol.stream import FrameError, parse_client_frame

COMMITMENT = base64.b64encode(bytes(32)).decode()


def good(**changes: Any) -> dict[str, Any]:
    body = {"client_id": "c-1", "to": "bob", "commitment": COMMITMENT,
            "envelopes": [{"device_id": "DA", "ciphertext": {"type": 0, "body": "QUJD"}}]}
    body.update(changes)
    return body


def test_good_send_parses() -> None:
    req = parse_send(good(to_device="DA"))
    assert (req.client_id, req.to, req.to_device) == ("c-1", "bob", "DA")
    assert req.envelopes[0].ciphertext() == {"type": 0, "body": "QUJD"}
    assert req.commitment_bytes() == bytes(32)


@pytest.mark.parametrize(("changes", "code"), [
    ({"client_id": ""}, "invalid_message"),
    ({"client_id": "x" * (limits.MESSAGE_CLIENT_ID_MAX + 1)}, "invalid_message"),
    ({"commitment": base64.b64encode(bytes(31)).decode()}, "bad_commitment"),
    ({"commitment": "not base64!"}, "bad_commitment"),
    ({"envelopes": []}, "invalid_message"),
    ({"envelopes": [{"device_id": "DA", "ciphertext": {"type": True, "body": "x"}}]},
     "invalid_message"),
    ({"envelopes": [{"device_id": "DA", "ciphertext": {"type": 1, "body": ""}}]},
     "invalid_message"),
    ({"envelopes": [{"device_id": "DA", "ciphertext": {
        "type": 1, "body": "x" * (limits.MESSAGE_CIPHERTEXT_MAX_CHARS + 1)}}]},
     "invalid_message"),
    ({"envelopes": [{"device_id": "DA", "ciphertext": {"type": 1, "body": "é" * 8}}]},
     "invalid_message"),  # base64 only: the largest body fits in MAX_BODY_BYTES
    ({"envelopes": [{"device_id": "DA", "ciphertext": {"type": 1, "body": "x"}}] * 2},
     "duplicate_device"),
    ({"envelopes": [{"device_id": f"D{i}", "ciphertext": {"type": 1, "body": "x"}}
                    for i in range(limits.MESSAGE_ENVELOPES_MAX + 1)]}, "invalid_message"),
])
def test_bad_sends_have_codes(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(MessageFormatError) as info:
        parse_send(good(**changes))
    assert info.value.code == code


def test_frames_carry_their_ref_even_when_bad() -> None:
    frame = parse_client_frame(json.dumps({"type": "send", "ref": "r1", **good()}))
    assert isinstance(frame, SendFrame) and frame.ref == "r1"
    bad = parse_client_frame(json.dumps({"type": "send", "ref": "r2", **good(envelopes=5)}))
    assert isinstance(bad, BadSend) and (bad.ref, bad.code) == ("r2", "invalid_message")
    with pytest.raises(FrameError):
        parse_client_frame(json.dumps({"type": "send", **good()}))


@given(st.sets(st.text(min_size=1, max_size=3)), st.sets(st.text(min_size=1, max_size=3)))
def test_device_mismatch_is_exact(expected: set[str], given_: set[str]) -> None:
    missing, extra = device_mismatch(expected, given_)
    assert set(missing) == expected - given_ and set(extra) == given_ - expected
    assert (not missing and not extra) == (expected == given_)


@given(st.recursive(st.none() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_arbitrary_json_never_crashes_the_parser(value: Any) -> None:
    with contextlib.suppress(MessageFormatError):
        parse_send(value)
