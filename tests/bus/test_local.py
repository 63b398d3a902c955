"""The in-process bus: delivery order, unsubscribing (also from inside a handler), a
failing handler, and topics forgotten when their last handler leaves."""

from __future__ import annotations

import logging

import pytest

from tidings.bus.base import Subscription
from tidings.bus.local import LocalBus


async def test_each_handler_of_a_topic_gets_each_message_in_subscribe_order() -> None:
    bus = LocalBus()
    got: list[tuple[str, bytes]] = []
    bus.subscribe("device:a", lambda m: got.append(("first", m)))
    bus.subscribe("device:a", lambda m: got.append(("second", m)))
    bus.subscribe("device:b", lambda m: got.append(("other", m)))
    await bus.publish("device:a", b"1")
    await bus.publish("device:nobody", b"2")
    assert got == [("first", b"1"), ("second", b"1")]
    assert bus.subscriber_count() == 3 and sorted(bus.topics()) == ["device:a", "device:b"]


async def test_closing_removes_only_that_handler_and_the_last_one_forgets_the_topic() -> None:
    bus = LocalBus()
    got: list[str] = []
    one = bus.subscribe("t", lambda m: got.append("one"))
    two = bus.subscribe("t", lambda m: got.append("two"))
    one.close()
    one.close()  # idempotent
    await bus.publish("t", b"x")
    assert got == ["two"] and bus.has_topic("t")
    two.close()
    assert not bus.has_topic("t") and bus.subscriber_count() == 0


async def test_a_handler_may_unsubscribe_during_delivery() -> None:
    bus = LocalBus()
    got: list[str] = []
    subs: list[Subscription] = []

    def leave_all(message: bytes) -> None:
        got.append("leaver")
        for sub in subs:
            sub.close()

    subs.append(bus.subscribe("t", leave_all))
    subs.append(bus.subscribe("t", lambda m: got.append("later")))
    await bus.publish("t", b"x")  # this delivery still reaches the second handler
    await bus.publish("t", b"y")  # nobody is left for this one
    assert got == ["leaver", "later"] and not bus.has_topic("t")


async def test_a_failing_handler_does_not_starve_the_others(
        caplog: pytest.LogCaptureFixture) -> None:
    bus = LocalBus()
    got: list[bytes] = []

    def broken(message: bytes) -> None:
        raise RuntimeError("boom")

    bus.subscribe("device:x", broken)
    bus.subscribe("device:x", got.append)
    with caplog.at_level(logging.ERROR):
        await bus.publish("device:x", b"m")
    assert got == [b"m"]
    assert "bus handler failed on topic device" in caplog.text
