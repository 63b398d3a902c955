"""Sealed partner credentials on SQLite and PostgreSQL: stored only sealed, opened for
a fetch, the environment as fallback, sealed again under a rotated key."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tidings.crypto.sealed import Sealer
from tidings.protocol.errors import BadRequest, Unavailable
from tidings.services.clock import ManualClock
from tidings.services.exchange_credentials import ExchangeCredentials
from tidings.storage.credentials import CredentialStore, exchange_credentials
from tidings.storage.database import Database

OLD, NEW = b"o" * 32, b"n" * 32


def _service(database: Database, sealer: Sealer, env: dict[str, str] | None = None
             ) -> ExchangeCredentials:
    return ExchangeCredentials(database, CredentialStore(), sealer, env or {}, ManualClock())


async def test_stored_sealed_and_rekeyed(database: Database) -> None:
    svc = _service(database, Sealer.from_secrets("c1", {"c1": OLD}),
                   {"TIDINGS_NCMEC_CREDENTIALS": "env-user:env-pass"})
    assert await svc.stored("ncmec") is None and await svc.is_set("ncmec")
    assert not await svc.is_set("tat")
    await svc.set("ncmec", {"user": "ncmec-user", "password": "pa:ss w0rd"}, "staff:1")
    await svc.set("threatexchange", {"api_token": "1234|abcd"}, "staff:1")
    assert await svc.stored("ncmec") == "ncmec-user:pa:ss w0rd"
    assert await svc.stored("threatexchange") == "1234|abcd"
    async with database.read() as conn:
        rows = (await conn.execute(sa.select(exchange_credentials.c.sealed))).all()
    assert len(rows) == 2
    assert all("pa:ss" not in r[0] and "1234|" not in r[0] and r[0].startswith("v1.c1.")
               for r in rows)
    for bad in ({"user": "a:b", "password": "p"}, {"user": "u"}, {"user": "u", "password": ""},
                {"user": "u", "password": "p", "extra": "x"}, ["u", "p"]):
        with pytest.raises(BadRequest) as refused:
            await svc.set("ncmec", bad, "staff:1")
        assert "pa:ss" not in refused.value.message
    with pytest.raises(BadRequest):
        await svc.set("static_sample", {"x": "y"}, "staff:1")

    rotated = _service(database, Sealer.from_secrets("c2", {"c1": OLD, "c2": NEW}))
    assert await rotated.stored("ncmec") == "ncmec-user:pa:ss w0rd"
    assert (await rotated.rekey())["resealed"] == 2
    only_new = _service(database, Sealer.from_secrets("c2", {"c2": NEW}))
    assert await only_new.stored("threatexchange") == "1234|abcd"
    with pytest.raises(Unavailable, match="do not open"):
        await svc.stored("ncmec")  # the old key alone no longer opens them
    await only_new.set("ncmec", {}, "staff:1")  # HMA's {} clears
    assert await only_new.stored("ncmec") is None
