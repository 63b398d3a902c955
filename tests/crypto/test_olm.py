import pytest

from tidings.crypto import NoSessionError, OlmCiphertext, OlmMachine, UndecryptableError
from tidings.crypto.errors import PickleError
from tidings.crypto.identity import DeviceIdentity

PK = b"p" * 32


def _machine(user: str, device: str) -> OlmMachine:
    return OlmMachine(DeviceIdentity.create(user, device))


def _claim(m: OlmMachine) -> str:
    otk = m.identity.generate_one_time_keys(1)[0]
    m.identity.mark_published()
    assert otk.verify(m.identity.user, m.identity.device_id, m.identity.ed25519)
    return otk.key


def test_two_devices_both_ways() -> None:
    alice = _machine("@alice:x", "A1")
    bob1, bob2 = _machine("@bob:x", "B1"), _machine("@bob:x", "B2")
    a, b1, b2 = (m.identity.curve25519 for m in (alice, bob1, bob2))

    with pytest.raises(NoSessionError):
        alice.encrypt_for(b1, None, b"hi")

    c1 = alice.encrypt_for(b1, _claim(bob1), b"hi bob1")
    c2 = alice.encrypt_for(b2, bob2.identity.generate_one_time_keys(1)[0], b"hi bob2")
    assert c1.type == 0
    assert c2.type == 0
    assert alice.encrypt_for(b1, None, b"again").type == 0  # until Bob answers
    assert bob1.decrypt_from(a, c1) == b"hi bob1"
    assert bob2.decrypt_from(a, c2) == b"hi bob2"

    reply = bob1.encrypt_for(a, None, b"hello alice")
    assert reply.type == 1
    assert alice.decrypt_from(b1, reply) == b"hello alice"
    normal = alice.encrypt_for(b1, None, b"now normal")
    assert normal.type == 1
    assert bob1.decrypt_from(a, normal) == b"now normal"
    for i in range(5):
        msg = f"ping {i}".encode()
        assert alice.decrypt_from(b2, bob2.encrypt_for(a, None, msg)) == msg
    assert len(alice.sessions_with(b1)) == 1


def test_pre_key_replay_to_existing_session_decrypts_on_matching_session() -> None:
    alice, bob = _machine("@a:x", "A"), _machine("@b:x", "B")
    a, b = alice.identity.curve25519, bob.identity.curve25519
    first = alice.encrypt_for(b, _claim(bob), b"one")
    second = alice.encrypt_for(b, None, b"two")
    assert bob.decrypt_from(a, first) == b"one"
    # the second pre-key message names a one-time key that is already used up;
    # it must be routed to the existing matching session
    assert bob.decrypt_from(a, second) == b"two"
    assert len(bob.sessions_with(a)) == 1


def test_crossed_sessions_are_all_tried() -> None:
    alice, bob = _machine("@a:x", "A"), _machine("@b:x", "B")
    a, b = alice.identity.curve25519, bob.identity.curve25519
    to_bob = alice.encrypt_for(b, _claim(bob), b"from alice")
    to_alice = bob.encrypt_for(a, _claim(alice), b"from bob")
    assert bob.decrypt_from(a, to_bob) == b"from alice"
    assert alice.decrypt_from(b, to_alice) == b"from bob"
    assert len(alice.sessions_with(b)) == 2
    # replies on either session decrypt
    assert alice.decrypt_from(b, bob.encrypt_for(a, None, b"x")) == b"x"
    assert bob.decrypt_from(a, alice.encrypt_for(b, None, b"y")) == b"y"


def test_fallback_key_survives_two_claims() -> None:
    bob = _machine("@b:x", "B")
    fallback = bob.identity.fallback_key()
    assert fallback.fallback
    bob.identity.mark_published()
    assert bob.identity.fallback_key() == fallback
    for name in ("C", "D"):
        sender = _machine("@c:x", name)
        msg = sender.encrypt_for(bob.identity.curve25519, fallback, b"via fallback")
        assert bob.decrypt_from(sender.identity.curve25519, msg) == b"via fallback"
    assert bob.identity.rotate_fallback_key() != fallback


@pytest.mark.parametrize(
    "bad",
    [
        OlmCiphertext(1, "AAAA"),
        OlmCiphertext(0, "AAAA"),
        OlmCiphertext(2, "AAAA"),
        OlmCiphertext(1, "!!!"),
        OlmCiphertext(1, "A" * 300_000),
    ],
)
def test_garbage_is_undecryptable(bad: OlmCiphertext) -> None:
    bob = _machine("@b:x", "B")
    with pytest.raises(UndecryptableError) as info:
        bob.decrypt_from(_machine("@a:x", "A").identity.curve25519, bad)
    assert info.value.code == "undecryptable"


def test_corrupted_ciphertext_is_undecryptable() -> None:
    alice, bob = _machine("@a:x", "A"), _machine("@b:x", "B")
    a, b = alice.identity.curve25519, bob.identity.curve25519
    assert bob.decrypt_from(a, alice.encrypt_for(b, _claim(bob), b"setup")) == b"setup"
    alice.decrypt_from(b, bob.encrypt_for(a, None, b"ack"))
    good = alice.encrypt_for(b, None, b"secret")
    from tidings.protocol.keys import b64decode, b64encode

    raw = bytearray(b64decode(good.body))
    raw[len(raw) // 2] ^= 0x01
    with pytest.raises(UndecryptableError):
        bob.decrypt_from(a, OlmCiphertext(good.type, b64encode(bytes(raw))))
    # the session is not damaged by the failed attempt
    assert bob.decrypt_from(a, good) == b"secret"
    # a stranger cannot decrypt
    with pytest.raises(UndecryptableError):
        _machine("@e:x", "E").decrypt_from(a, good)


def test_pre_key_for_unknown_one_time_key() -> None:
    alice, bob = _machine("@a:x", "A"), _machine("@b:x", "B")
    msg = alice.encrypt_for(bob.identity.curve25519, _claim(_machine("@z:x", "Z")), b"x")
    with pytest.raises(UndecryptableError):
        bob.decrypt_from(alice.identity.curve25519, msg)


def test_pickle_round_trip_keeps_sessions() -> None:
    alice, bob = _machine("@a:x", "A"), _machine("@b:x", "B")
    a, b = alice.identity.curve25519, bob.identity.curve25519
    bob.decrypt_from(a, alice.encrypt_for(b, _claim(bob), b"one"))
    state_a, state_b = alice.pickle(PK), bob.pickle(PK)
    assert all(isinstance(v, str) for v in state_a.values())
    alice2, bob2 = OlmMachine.from_pickle(state_a, PK), OlmMachine.from_pickle(state_b, PK)
    assert alice2.identity.curve25519 == a
    assert alice2.decrypt_from(b, bob2.encrypt_for(a, None, b"two")) == b"two"
    assert bob2.decrypt_from(a, alice2.encrypt_for(b, None, b"three")) == b"three"
    with pytest.raises(PickleError):
        OlmMachine.from_pickle(state_a, b"q" * 32)
    with pytest.raises(PickleError):
        OlmMachine.from_pickle({"identity": "x"}, PK)


def test_ciphertext_json() -> None:
    c = OlmCiphertext(1, "AAAA")
    assert OlmCiphertext.from_json(c.to_json()) == c
    bads: list[object] = [{"type": True, "body": "x"}, {"type": 0}, [], {"type": 1, "body": 2}]
    for bad in bads:
        with pytest.raises(UndecryptableError):
            OlmCiphertext.from_json(bad)
