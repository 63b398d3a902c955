import pytest

from tidings.crypto import SafetyNumberError, format_safety_number, safety_number
from tidings.crypto.identity import DeviceIdentity


def _keys(n: int) -> list[str]:
    return [DeviceIdentity.create("@u:x", f"D{i}").ed25519 for i in range(n)]


ALICE, BOB = _keys(2), _keys(3)


def test_sixty_digits_and_symmetric() -> None:
    number = safety_number("@alice:x", ALICE, "@bob:x", BOB)
    assert len(number) == 60
    assert number.isdigit()
    assert number == safety_number("@bob:x", BOB, "@alice:x", ALICE)
    assert number == safety_number("@alice:x", list(reversed(ALICE)), "@bob:x", BOB)
    formatted = format_safety_number(number)
    assert len(formatted.split(" ")) == 12
    assert formatted.replace(" ", "") == number


def test_changes_when_any_device_key_changes() -> None:
    base = safety_number("@alice:x", ALICE, "@bob:x", BOB)
    new_key = _keys(1)[0]
    for i in range(len(BOB)):
        changed = [*BOB]
        changed[i] = new_key
        assert safety_number("@alice:x", ALICE, "@bob:x", changed) != base
    assert safety_number("@alice:x", ALICE, "@bob:x", [*BOB, new_key]) != base
    assert safety_number("@alice:x", ALICE, "@bob:x", BOB[:2]) != base
    assert safety_number("@alice:x", ALICE, "@carol:x", BOB) != base


def test_bad_inputs() -> None:
    with pytest.raises(SafetyNumberError):
        safety_number("@a:x", [], "@b:x", BOB)
    with pytest.raises(SafetyNumberError):
        safety_number("@a:x", ["AAAA"], "@b:x", BOB)
    with pytest.raises(SafetyNumberError):
        format_safety_number("123")
