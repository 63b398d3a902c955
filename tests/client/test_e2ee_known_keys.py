"""The sender records a device keeps parsed stay true to what it has pinned."""

from __future__ import annotations

from tidings.client.e2ee import DeviceCrypto


def test_known_key_follows_the_pinned_record() -> None:
    bob = DeviceCrypto.create("bob", "B1")
    first = DeviceCrypto.create("alice", "A1")
    bob.verify_devices("alice", {"A1": first.device_keys()})
    record = bob.known_key("alice", "A1")
    assert record is not None and record.curve25519 == first.machine.identity.device_keys(
    ).curve25519
    assert bob.known_key("alice", "A1") is record  # parsed once

    bob.verify_devices("alice", {})  # A1 logged out: unpinned
    assert bob.known_key("alice", "A1") is None

    again = DeviceCrypto.create("alice", "A1")  # the same id, new keys, pinned afresh
    bob.verify_devices("alice", {"A1": again.device_keys()})
    fresh = bob.known_key("alice", "A1")
    assert fresh is not None
    assert fresh.curve25519 == again.machine.identity.device_keys().curve25519
    assert fresh.curve25519 != record.curve25519
