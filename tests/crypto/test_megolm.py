import pytest

from tidings.crypto import GroupKeyStore, InboundGroup, OutboundGroup, UndecryptableError
from tidings.crypto.errors import PickleError
from tidings.crypto.megolm import MEGOLM_ROTATION_MESSAGES, MEGOLM_ROTATION_PERIOD_MS

PK = b"p" * 32
T0 = 1_700_000_000_000


def test_shared_key_decrypts() -> None:
    out = OutboundGroup.create(T0)
    inbound = InboundGroup.from_session_key(out.session_key())
    assert inbound.session_id == out.session_id
    for i in range(3):
        assert inbound.decrypt(out.encrypt(f"m{i}".encode())) == (f"m{i}".encode(), i)
    assert out.message_index == 3


def test_late_key_cannot_read_earlier_messages() -> None:
    out = OutboundGroup.create(T0)
    early = [out.encrypt(f"old {i}".encode()) for i in range(5)]
    late = InboundGroup.from_session_key(out.session_key())
    assert late.first_known_index == 5
    for ciphertext in early:
        with pytest.raises(UndecryptableError):
            late.decrypt(ciphertext)
    assert late.decrypt(out.encrypt(b"new")) == (b"new", 5)


def test_export_at_index_forward_secrecy() -> None:
    out = OutboundGroup.create(T0)
    full = InboundGroup.from_session_key(out.session_key())
    msgs = [out.encrypt(f"{i}".encode()) for i in range(4)]
    exported = full.export_at(2)
    assert exported is not None
    partial = InboundGroup.from_export(exported)
    assert partial.first_known_index == 2
    with pytest.raises(UndecryptableError):
        partial.decrypt(msgs[1])
    assert partial.decrypt(msgs[3]) == (b"3", 3)
    assert partial.export_at(0) is None


def test_rotation_thresholds() -> None:
    out = OutboundGroup.create(T0)
    assert not out.needs_rotation(T0)
    assert not out.needs_rotation(T0 + MEGOLM_ROTATION_PERIOD_MS - 1)
    assert out.needs_rotation(T0 + MEGOLM_ROTATION_PERIOD_MS)
    for _ in range(MEGOLM_ROTATION_MESSAGES - 1):
        out.encrypt(b".")
    assert not out.needs_rotation(T0)
    out.encrypt(b".")
    assert out.needs_rotation(T0)


def test_garbage_and_wrong_session() -> None:
    inbound = InboundGroup.from_session_key(OutboundGroup.create(T0).session_key())
    other = OutboundGroup.create(T0)
    for bad in ["", "!!!", "AAAA", other.encrypt(b"x"), "A" * 300_000]:
        with pytest.raises(UndecryptableError):
            inbound.decrypt(bad)
    with pytest.raises(UndecryptableError):
        InboundGroup.from_session_key("garbage")
    with pytest.raises(UndecryptableError):
        InboundGroup.from_export("garbage")


def test_group_key_store_flow_and_rotation() -> None:
    alice, bob = GroupKeyStore("ALICE_CURVE"), GroupKeyStore("BOB_CURVE")
    session, new = alice.ensure_outbound("g1", T0)
    assert new
    assert alice.ensure_outbound("g1", T0 + 1) == (session, False)
    bob.add_inbound("ALICE_CURVE", InboundGroup.from_session_key(session.session_key()))
    ciphertext = session.encrypt(b"hello group")
    assert bob.decrypt("ALICE_CURVE", session.session_id, ciphertext) == (b"hello group", 0)
    # the sender can read its own message
    assert alice.decrypt("ALICE_CURVE", session.session_id, ciphertext)[0] == b"hello group"
    # a session claimed under another sender's key is not found
    with pytest.raises(UndecryptableError):
        bob.decrypt("MALLORY_CURVE", session.session_id, ciphertext)
    rotated, new = alice.ensure_outbound("g1", T0 + MEGOLM_ROTATION_PERIOD_MS)
    assert new
    assert rotated.session_id != session.session_id
    alice.discard_outbound("g1")
    assert alice.outbound("g1") is None


def test_add_inbound_keeps_earliest() -> None:
    store = GroupKeyStore("ME")
    out = OutboundGroup.create(T0)
    early = InboundGroup.from_session_key(out.session_key())
    out.encrypt(b"x")
    late = InboundGroup.from_session_key(out.session_key())
    store.add_inbound("S", early)
    assert store.add_inbound("S", late) is early
    assert store.inbound("S", out.session_id) is early


def test_pickle_round_trip() -> None:
    store = GroupKeyStore("ME")
    out, _ = store.ensure_outbound("g", T0)
    out.encrypt(b"first")
    state = store.pickle(PK)
    restored = GroupKeyStore.from_pickle(state, PK)
    out2 = restored.outbound("g")
    assert out2 is not None
    assert out2.message_index == 1
    assert out2.created_at_ms == T0
    assert restored.decrypt("ME", out2.session_id, out2.encrypt(b"second")) == (b"second", 1)
    with pytest.raises(PickleError):
        GroupKeyStore.from_pickle(state, b"q" * 32)
    with pytest.raises(PickleError):
        GroupKeyStore.from_pickle({"own_curve25519": "x"}, PK)
