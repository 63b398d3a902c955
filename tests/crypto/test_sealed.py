"""Sealed secrets (partner credentials at rest): AES-256-GCM, bound to their use,
opened by any key the server still has, refused when changed or moved."""

from __future__ import annotations

import pytest

from tidings.crypto.errors import UndecryptableError
from tidings.crypto.sealed import Sealer

OLD, NEW = b"o" * 32, b"n" * 32


def test_seal_opens_and_hides_the_value() -> None:
    sealer = Sealer.from_secrets("c1", {"c1": OLD})
    sealed = sealer.seal(b"tcap-user:hunter2", b"tat")
    assert sealed.startswith("v1.c1.") and b"hunter2" not in sealed.encode()
    assert "hunter2" not in repr(sealer)
    assert sealer.unseal(sealed, b"tat") == b"tcap-user:hunter2"
    assert sealer.seal(b"x", b"tat") != sealer.seal(b"x", b"tat")  # a fresh nonce each


def test_changed_moved_or_unknown_key_is_refused() -> None:
    sealer = Sealer.from_secrets("c1", {"c1": OLD})
    sealed = sealer.seal(b"token", b"threatexchange")
    with pytest.raises(UndecryptableError):
        sealer.unseal(sealed, b"ncmec")  # moved to another exchange type's row
    body = sealed.rsplit(".", 1)[1]
    flipped = sealed[:-len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    for bad in (flipped, "v1.c9." + body, "v2.c1." + body, "garbage"):
        with pytest.raises(UndecryptableError):
            sealer.unseal(bad, b"threatexchange")
    with pytest.raises(UndecryptableError):
        Sealer.from_secrets("c2", {"c1": OLD})


def test_rotation_keeps_old_values_open() -> None:
    old = Sealer.from_secrets("c1", {"c1": OLD}).seal(b"secret", b"tat")
    rotated = Sealer.from_secrets("c2", {"c1": OLD, "c2": NEW})
    assert rotated.unseal(old, b"tat") == b"secret"
    assert Sealer.key_id(rotated.seal(b"secret", b"tat")) == "c2"
    with pytest.raises(UndecryptableError):
        Sealer.from_secrets("c2", {"c2": NEW}).unseal(old, b"tat")
