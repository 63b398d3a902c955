"""The typed bus and outbox messages, and the one helper for pre-serialised frames."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.protocol.control import (
    CatchUp,
    ChannelClosed,
    ControlError,
    EndReason,
    Event,
    Frame,
    JoinChannel,
    LeaveChannel,
    SessionEnded,
    decode_channel,
    decode_device,
    decode_session,
    encode_channel,
    encode_device,
    encode_session,
    event_frame,
    splice,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12)
objects = st.dictionaries(st.text(), json_values, max_size=5)


@given(objects, st.dictionaries(st.text(), json_values, min_size=1, max_size=3))
def test_splice_equals_serialising_the_merged_object(head: dict[str, Any],
                                                     raw: dict[str, Any]) -> None:
    raw = {k: v for k, v in raw.items() if k not in head}
    out = splice(json.dumps(head), {k: json.dumps(v) for k, v in raw.items()})
    assert json.loads(out) == {**head, **raw}


def test_splice_escapes_keys_and_handles_empty_objects() -> None:
    assert splice("{}", {"a": "1"}) == '{"a":1}'
    assert splice(' { } ', {"b": "[]"}) == '{"b":[]}'
    assert json.loads(splice('{"x":1}', {'q"uote\\': '"v"'})) == {"x": 1, 'q"uote\\': "v"}
    assert splice('{"x":1}', {}) == '{"x":1}'
    for bad in ("[1]", '"text"', "", '{"a":1'):
        with pytest.raises(ValueError):
            splice(bad, {"b": "1"})


def test_event_frame_carries_the_stored_body_unparsed() -> None:
    frame = event_frame(42, 'odd"kind', 1700, '{"text":"hi","n":[1,2]}')
    assert json.loads(frame) == {"type": "event", "seq": 42, "kind": 'odd"kind', "ts": 1700,
                                 "body": {"text": "hi", "n": [1, 2]}}


@pytest.mark.parametrize("message", [
    Event(7, '{"type":"event","seq":7}'), Event(0, ""), CatchUp(), JoinChannel(3),
    LeaveChannel(2**40)])
def test_device_messages_round_trip(message: Any) -> None:
    assert decode_device(encode_device(message)) == message


@pytest.mark.parametrize("message", [Frame('{"type":"channel"}'), Frame("ctl\nx"),
                                     ChannelClosed(9)])
def test_channel_messages_round_trip(message: Any) -> None:
    assert decode_channel(encode_channel(message)) == message


@given(st.integers(0, 2**62), st.none() | st.text(max_size=64), st.sampled_from(EndReason),
       st.integers(0, 2**62))
def test_session_messages_round_trip(user: int, device: str | None, reason: EndReason,
                                     at: int) -> None:
    message = SessionEnded(user, device, reason, at)
    assert decode_session(encode_session(message)) == message


def test_a_frame_that_looks_like_a_control_stays_a_frame() -> None:
    """The old protocol told replies from control words by their first character; a
    frame is now a frame whatever its text (a post whose text is "revoked", "chan+1")."""
    for text in ("revoked", "chan+1", "catch_up", "ctl\n{}", "{"):
        assert decode_channel(encode_channel(Frame(text))) == Frame(text)
        assert decode_device(encode_device(Event(1, text))) == Event(1, text)


@pytest.mark.parametrize("raw", [
    b"", b"revoked", b"ctl\nrevoked", b"chan+7", b"ctl\n{}", b'ctl\n{"c":"join"}',
    b'ctl\n{"c":"join","channel":-1}', b'ctl\n{"c":"join","channel":true}',
    b'ctl\n{"c":"explode"}', b"x\n{}", b"-1\n{}", b'ctl\n[1]'])
def test_garbage_on_a_device_topic_is_refused(raw: bytes) -> None:
    with pytest.raises(ControlError):
        decode_device(raw)


@pytest.mark.parametrize("raw", [
    b'{"type":"channel"}', b"ctl\nchan-1", b'ctl\n{"c":"join","channel":1}', b"f"])
def test_garbage_on_a_channel_topic_is_refused(raw: bytes) -> None:
    with pytest.raises(ControlError):
        decode_channel(raw)


@pytest.mark.parametrize("raw", [
    b"revoked", b'ctl\n{"c":"session_ended","user":1,"reason":"bored","at":1}',
    b'ctl\n{"c":"session_ended","user":"1","reason":"suspended","at":1}',
    b'ctl\n{"c":"session_ended","user":1,"device":5,"reason":"suspended","at":1}',
    b'ctl\n{"c":"catch_up"}'])
def test_garbage_on_the_sessions_topic_is_refused(raw: bytes) -> None:
    with pytest.raises(ControlError):
        decode_session(raw)


def test_encoders_refuse_messages_of_another_topic() -> None:
    with pytest.raises(TypeError):
        encode_device(Frame("{}"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_channel(CatchUp())  # type: ignore[arg-type]
