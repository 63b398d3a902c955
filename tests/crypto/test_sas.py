import pytest

from tidings.crypto import SAS_EMOJI, SasError, SasParty, SasSession

ALICE, BOB = SasParty("@alice:x", "A1"), SasParty("@bob:x", "B1")


def _pair() -> tuple[SasSession, SasSession]:
    a = SasSession(ALICE, BOB, "txn1", we_started=True)
    b = SasSession(BOB, ALICE, "txn1", we_started=False)
    a.establish(b.public_key)
    b.establish(a.public_key)
    return a, b


def test_table_has_64_distinct_entries() -> None:
    assert len(SAS_EMOJI) == 64
    assert len({e for e, _ in SAS_EMOJI}) == 64


def test_both_sides_show_the_same() -> None:
    a, b = _pair()
    assert a.emojis() == b.emojis()
    assert len(a.emojis()) == 7
    assert a.decimals() == b.decimals()
    assert all(1000 <= d <= 9191 for d in a.decimals())


def test_mitm_or_mismatched_roles_show_different() -> None:
    a = SasSession(ALICE, BOB, "t", we_started=True)
    b = SasSession(BOB, ALICE, "t", we_started=False)
    m1 = SasSession(BOB, ALICE, "t", we_started=False)
    m2 = SasSession(ALICE, BOB, "t", we_started=True)
    a.establish(m1.public_key)
    m1.establish(a.public_key)
    b.establish(m2.public_key)
    m2.establish(b.public_key)
    assert a.decimals() != b.decimals() or a.emojis() != b.emojis()


def test_mac_verifies_and_binds_info() -> None:
    a, b = _pair()
    info = a.mac_info("ed25519:A1", outgoing=True)
    assert info == b.mac_info("ed25519:A1", outgoing=False)
    mac = a.calculate_mac("ALICE_ED25519_KEY", info)
    assert b.verify_mac("ALICE_ED25519_KEY", info, mac)
    assert not b.verify_mac("OTHER_KEY", info, mac)
    assert not b.verify_mac("ALICE_ED25519_KEY", b.mac_info("ed25519:A1", outgoing=True), mac)
    assert not b.verify_mac("ALICE_ED25519_KEY", info, "garbage")


def test_misuse() -> None:
    a = SasSession(ALICE, BOB, "t", we_started=True)
    with pytest.raises(SasError):
        a.emojis()
    with pytest.raises(SasError):
        a.establish("not a key")
    with pytest.raises(SasError):
        SasSession(SasParty("@a|b", "D"), BOB, "t", we_started=True)
    b = SasSession(BOB, ALICE, "t", we_started=False)
    a2 = SasSession(ALICE, BOB, "t", we_started=True)
    a2.establish(b.public_key)
    with pytest.raises(SasError):
        a2.establish(b.public_key)
