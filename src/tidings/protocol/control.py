"""Typed messages of the live bus and of each connection's outbox.

Three bus topics carry three small sum types (docs/decisions.md, "Gateway and control
messages"); nothing downstream of :func:`decode_device`, :func:`decode_channel` and
:func:`decode_session` looks at bytes or prefixes:

- a device topic (``device:<id>``) carries :data:`DeviceMessage`: stream events, and the
  controls "catch up from the store" and "join/leave a channel's live feed";
- a channel topic (``channel:<id>``) carries :data:`ChannelMessage`: frames for the
  channel's live followers, and "the channel is closed" (a ban revoked access to it);
- the one ``contacts`` topic carries :class:`ContactsChanged` (a block: rare);
- the one ``sessions`` topic carries :class:`SessionEnded`: a measure ended a session
  (suspension, password reset, device removal, logout, account deletion), and every
  process closes that person's or device's sockets. Measures are rare, so one topic
  every process reads costs less than a per-user subscription on each connection.

A connection's outbox holds :data:`OutboxItem` values: the writer task matches on the
type, so a reply can never be mistaken for a control word.

Wire format: a first line naming the type, then the rest. Stream events keep the form
``b"<seq>\\n<frame>"`` so a connection orders them without parsing the frame; frames
are ``b"f\\n<frame>"``; controls are ``b"ctl\\n<json>"``. :func:`splice` builds frames
around values that are already serialised JSON (a stored event body, a ciphertext), so
that they are serialised once, in one tested place.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ControlError(ValueError):
    """Bytes on the bus that are not a message of the topic's type."""


class EndReason(StrEnum):
    """Why a session ended; also the WebSocket close reason the client sees."""

    LOGGED_OUT = "logged_out"
    DEVICE_REMOVED = "device_removed"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a reason, not a password)
    SUSPENDED = "suspended"
    ACCOUNT_DELETED = "account_deleted"


@dataclass(frozen=True, slots=True)
class Event:
    """A stored device stream event, its frame serialised once (ordered by ``seq``)."""

    seq: int
    frame: str


@dataclass(frozen=True, slots=True)
class Frame:
    """A serialised frame sent as it is (a reply to a send, a pong, a channel post)."""

    text: str


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Live messages may have been lost (the bus reconnected): read the store."""


@dataclass(frozen=True, slots=True)
class JoinChannel:
    """The user subscribed: this device's sockets start following the channel live."""

    channel_id: int


@dataclass(frozen=True, slots=True)
class LeaveChannel:
    """The user unsubscribed: this device's sockets stop following the channel."""

    channel_id: int


@dataclass(frozen=True, slots=True)
class ChannelClosed:
    """The channel was banned: every socket on every process drops its live feed."""

    channel_id: int


@dataclass(frozen=True, slots=True)
class ContactsChanged:
    """``owner`` blocked ``peer`` (or otherwise narrowed who reaches them): every
    process forgets the send-gate decisions it keeps (services/contacts.py)."""

    owner_id: int
    peer_id: int


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """Close the sockets of a device, or of every device of a user (``device_id`` None)
    opened before ``at_ms``; their later sends are refused."""

    user_id: int
    device_id: str | None
    reason: EndReason
    at_ms: int


@dataclass(frozen=True, slots=True)
class EndSession:
    """Outbox item: close this connection now (the writer closes with 4003)."""

    reason: EndReason


DeviceMessage = Event | CatchUp | JoinChannel | LeaveChannel
ChannelMessage = Frame | ChannelClosed
OutboxItem = Event | Frame | CatchUp | EndSession


# -- pre-serialised frames -------------------------------------------------------------

def splice(serialised: str, raw: Mapping[str, str]) -> str:
    """Add fields whose values are already JSON text to a serialised JSON object.

    Neither side is parsed again: a stored event body or a ciphertext is put into the
    frame as it is. ``serialised`` must be a JSON object (``{...}``); the keys of ``raw``
    are escaped here; its values are trusted to be JSON (they come from ``json.dumps``
    or the store, never from a client's text). ``splice('{"a":1}', {"b": "[2]"})`` is
    ``'{"a":1,"b":[2]}'``.
    """
    if not raw:
        return serialised
    head = serialised.strip()
    if not (head.startswith("{") and head.endswith("}")):
        raise ValueError("splice needs a serialised JSON object")
    inner = head[1:-1].strip()
    fields = ",".join(f"{json.dumps(key)}:{value}" for key, value in raw.items())
    return f"{{{inner},{fields}}}" if inner else f"{{{fields}}}"


def compact(value: Any) -> str:
    """JSON text without spaces (frames are sent as they are, so they stay small)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def event_frame(seq: int, kind: str, created_at: int, body_json: str) -> str:
    """The frame of one device stream event around its stored, serialised body."""
    return splice(compact({"type": "event", "seq": seq, "kind": kind, "ts": created_at}),
                  {"body": body_json})


# -- wire encoding ---------------------------------------------------------------------

_CTL = b"ctl"
_FRAME = b"f"


def _control(kind: str, **fields: Any) -> bytes:
    return _CTL + b"\n" + compact({"c": kind, **fields}).encode()


def encode_device(message: DeviceMessage) -> bytes:
    match message:
        case Event(seq, frame):
            return f"{seq}\n{frame}".encode()
        case CatchUp():
            return _control("catch_up")
        case JoinChannel(channel_id):
            return _control("join", channel=channel_id)
        case LeaveChannel(channel_id):
            return _control("leave", channel=channel_id)
    raise TypeError(f"not a device message: {message!r}")


def encode_channel(message: ChannelMessage) -> bytes:
    match message:
        case Frame(text):
            return _FRAME + b"\n" + text.encode()
        case ChannelClosed(channel_id):
            return _control("channel_closed", channel=channel_id)
    raise TypeError(f"not a channel message: {message!r}")


def encode_contacts(message: ContactsChanged) -> bytes:
    return _control("contacts_changed", owner=message.owner_id, peer=message.peer_id)


def decode_contacts(message: bytes) -> ContactsChanged:
    data = _control_only(message, "contacts")
    if data["c"] != "contacts_changed":
        raise ControlError(f"unknown contacts control {data['c']!r}")
    return ContactsChanged(_id(data, "owner"), _id(data, "peer"))


def encode_session(message: SessionEnded) -> bytes:
    return _control("session_ended", user=message.user_id, device=message.device_id,
                    reason=message.reason.value, at=message.at_ms)


def _control_only(message: bytes, topic: str) -> dict[str, Any]:
    """The fields of a message that must be a control message (a topic that carries no
    payloads), or ControlError."""
    head, sep, rest = message.partition(b"\n")
    if head != _CTL or not sep:
        raise ControlError(f"not a {topic} control message")
    return _parse_control(rest)


def _parse_control(rest: bytes) -> dict[str, Any]:
    try:
        data = json.loads(rest)
    except ValueError as exc:
        raise ControlError("control message is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("c"), str):
        raise ControlError("control message has no kind")
    return data


def _id(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ControlError(f"control field {key} must be a non-negative integer")
    return value


def decode_device(message: bytes) -> DeviceMessage:
    head, sep, rest = message.partition(b"\n")
    if not sep:
        raise ControlError("bus message without a type line")
    if head.isdigit():
        return Event(int(head), rest.decode())
    if head != _CTL:
        raise ControlError("unknown device message type")
    data = _parse_control(rest)
    match data["c"]:
        case "catch_up":
            return CatchUp()
        case "join":
            return JoinChannel(_id(data, "channel"))
        case "leave":
            return LeaveChannel(_id(data, "channel"))
    raise ControlError(f"unknown device control {data['c']!r}")


def decode_channel(message: bytes) -> ChannelMessage:
    head, sep, rest = message.partition(b"\n")
    if not sep:
        raise ControlError("bus message without a type line")
    if head == _FRAME:
        return Frame(rest.decode())
    if head != _CTL:
        raise ControlError("unknown channel message type")
    data = _parse_control(rest)
    if data["c"] == "channel_closed":
        return ChannelClosed(_id(data, "channel"))
    raise ControlError(f"unknown channel control {data['c']!r}")


def decode_session(message: bytes) -> SessionEnded:
    data = _control_only(message, "session")
    if data["c"] != "session_ended":
        raise ControlError(f"unknown session control {data['c']!r}")
    device = data.get("device")
    if device is not None and not isinstance(device, str):
        raise ControlError("control field device must be a string")
    try:
        reason = EndReason(str(data.get("reason")))
    except ValueError as exc:
        raise ControlError("unknown session end reason") from exc
    return SessionEnded(_id(data, "user"), device, reason, _id(data, "at"))
