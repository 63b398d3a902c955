"""Partner credentials set over the HMA API, sealed at rest (issue 19 item 3).

HMA keeps one credential per exchange API (``POST /c/exchanges/api/<api>`` with
``{"credential_json": {...}}``, the fields of pytx's credential class for that API).
Here each is sealed (AES-256-GCM, ``crypto/sealed.py``, bound to its exchange type)
before it reaches the database, never logged, never answered: reads say only whether
one is set. Fetches prefer a stored credential and fall back to the server's
environment (``credentials_ref``, ``bank_exchanges.DEFAULT_CREDENTIAL_ENV``), so an
operator who keeps secrets in the environment changes nothing.
"""

from __future__ import annotations

import dataclasses
import typing as t
from collections.abc import Mapping

from threatexchange.exchanges.impl.fb_threatexchange_api import FBThreatExchangeCredentials
from threatexchange.exchanges.impl.ncmec_api import NCMECCredentials
from threatexchange.exchanges.impl.techagainstterrorism_api import TATCredentials

from tidings.crypto.errors import UndecryptableError
from tidings.crypto.sealed import Sealer
from tidings.protocol.errors import BadRequest, Unavailable
from tidings.services import bank_exchanges as ex
from tidings.services.clock import Clock
from tidings.storage.credentials import CredentialStore, SealedCredential
from tidings.storage.database import Database

CREDENTIAL_CLASSES: Mapping[str, type[t.Any]] = {
    "threatexchange": FBThreatExchangeCredentials,
    "ncmec": NCMECCredentials,
    "tat": TATCredentials,
}
"""Tidings' exchange type -> pytx's credential dataclass (its fields are HMA's
``credential_json``)."""
MAX_FIELD_CHARS = 1024


def credential_fields(exchange_type: str) -> list[dict[str, t.Any]] | None:
    """HMA's ``credentials_schema.fields`` (``utils/exchange_schema.py``), or None."""
    cls = CREDENTIAL_CLASSES.get(exchange_type)
    if cls is None:
        return None
    return [{"name": f.name, "type": "string", "required": True, "default": None,
             "help": f.metadata.get("help", ""), "choices": None}
            for f in dataclasses.fields(cls) if f.init]


def to_secret(exchange_type: str, values: t.Any) -> str:
    """pytx's credential string (a token, or ``user:password``) from HMA's
    ``credential_json``. Errors name fields, never values."""
    cls = CREDENTIAL_CLASSES.get(exchange_type)
    if cls is None:
        raise BadRequest(f"the {exchange_type} exchange takes no credentials",
                         "no_credentials_needed")
    if not isinstance(values, dict):
        raise BadRequest("credential_json must be an object", "invalid_credentials")
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise BadRequest(f"unknown credential fields {', '.join(map(repr, unknown))}; "
                         f"expected {', '.join(names)}", "invalid_credentials")
    for name in names:
        value = values.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_FIELD_CHARS:
            raise BadRequest(f"credential field {name!r} must be a non-empty string of at "
                             f"most {MAX_FIELD_CHARS} characters", "invalid_credentials")
        if any(ord(c) < 32 for c in value):
            raise BadRequest(f"credential field {name!r} has control characters",
                             "invalid_credentials")
    if len(names) == 1:
        return str(values[names[0]]).strip()
    user, password = (str(values[n]) for n in names)
    if ":" in user:
        raise BadRequest(f"credential field {names[0]!r} may not contain ':'",
                         "invalid_credentials")
    return f"{user}:{password}"


class ExchangeCredentials:
    def __init__(self, db: Database, store: CredentialStore, sealer: Sealer,
                 environ: Mapping[str, str], clock: Clock) -> None:
        self.db = db
        self.store = store
        self.sealer = sealer
        self.environ = environ
        self.clock = clock

    @staticmethod
    def _aad(exchange_type: str) -> bytes:
        return f"exchange-credentials:{exchange_type}".encode()

    async def set(self, exchange_type: str, values: t.Any, by: str) -> None:
        """Seal and store (replacing any); an empty ``values`` clears, as in HMA."""
        if not values and isinstance(values, dict):
            await self.clear(exchange_type)
            return
        secret = to_secret(exchange_type, values)
        sealed = self.sealer.seal(secret.encode(), self._aad(exchange_type))
        async with self.db.write() as conn:
            await self.store.put(conn, SealedCredential(exchange_type, sealed, self.clock(),
                                                        by[:64]))

    async def clear(self, exchange_type: str) -> bool:
        async with self.db.write() as conn:
            return await self.store.delete(conn, exchange_type)

    async def stored(self, exchange_type: str) -> str | None:
        """The stored credential string, opened; None if none is stored."""
        async with self.db.read() as conn:
            row = await self.store.get(conn, exchange_type)
        if row is None:
            return None
        try:
            return self.sealer.unseal(row.sealed, self._aad(exchange_type)).decode()
        except UndecryptableError as exc:
            raise Unavailable(f"the stored {exchange_type} credentials do not open with this "
                              f"server's keys ({exc.args[0] if exc.args else exc}): set them "
                              "again, or restore the secrets.json that sealed them",
                              "credentials_unreadable") from None

    async def is_set(self, exchange_type: str) -> bool:
        """Stored, or in the server's environment (the fallback a fetch would use)."""
        async with self.db.read() as conn:
            if await self.store.get(conn, exchange_type) is not None:
                return True
        env = ex.DEFAULT_CREDENTIAL_ENV.get(exchange_type)
        return bool(env and self.environ.get(env, "").strip())

    async def rekey(self) -> dict[str, t.Any]:
        """Seal every stored credential again under the current key; answers how many
        and which key ids are still in use (only the current one after success)."""
        async with self.db.write() as conn:
            rows = await self.store.all(conn)
            resealed = 0
            for row in rows:
                if Sealer.key_id(row.sealed) == self.sealer.current:
                    continue
                plain = self.sealer.unseal(row.sealed, self._aad(row.exchange_type))
                sealed = self.sealer.seal(plain, self._aad(row.exchange_type))
                await self.store.put(conn, dataclasses.replace(row, sealed=sealed))
                resealed += 1
        return {"resealed": resealed, "stored": len(rows), "key": self.sealer.current,
                "keys_in_use": [self.sealer.current] if rows else []}
