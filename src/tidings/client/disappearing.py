"""Disappearing messages: a per-conversation timer any member may set.

For a 1:1 chat the timer is an end-to-end encrypted ``timer`` control message to the
other person (and one's own devices); both sides then send with ``expires_in_ms``,
so the server deletes undelivered envelopes, and every device deletes its copy, when
it runs out. For a group it is server state (``PUT /groups/{id}/timer``, announced to
members as a ``group`` event), since the server must stamp each stored ciphertext.
Attachments sent under a timer are uploaded with the same expiry.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from tidings.client.groups import set_timer as set_group_timer
from tidings.client.messaging import Messenger
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest
from tidings.protocol.payload import MessageContent


async def set_timer(m: Messenger, conversation: str, timer_ms: int | None) -> dict[str, Any]:
    """``conversation`` is a username or a group id (``G...``); None turns it off.

    Timers under ``DISAPPEAR_MIN_MS`` (a minute) are refused here, before anything is
    sent: for a 1:1 chat the server never sees the timer message, only each message's
    expiry (which it also refuses under the floor).
    """
    if timer_ms is not None and not (limits.DISAPPEAR_MIN_MS <= timer_ms
                                     <= limits.DISAPPEAR_MAX_MS):
        raise BadRequest(f"a disappearing-message timer must be {limits.DISAPPEAR_MIN_MS // 1000}"
                         f"..{limits.DISAPPEAR_MAX_MS // 1000} s (shorter messages could not "
                         "be read and reported), or off", "bad_timer")
    if conversation.startswith("G") and conversation[1:].isalnum() and conversation.isupper():
        result: dict[str, Any] = await m.client.call(set_group_timer(conversation, timer_ms))
        m.crypto.set_timer(f"group:{conversation}", timer_ms)
    else:
        user = conversation.strip().lower()
        content = MessageContent("timer", {"timer_ms": timer_ms}, uuid.uuid4().hex,
                                 time.time_ns() // 1_000_000)
        result = await m.send_content(user, content)
        m.crypto.set_timer(user, timer_ms)
    m.save()
    return result
