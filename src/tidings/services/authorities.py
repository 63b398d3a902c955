"""Competent-authority accounts (TCO Regulation (EU) 2021/784, Art. 12 and 14).

An authority is an account with the role ``authority`` plus the authority's name and
member state, which every order it submits carries. An admin creates it; it gets an
access token the same way a device does (a row in ``devices``, only the HMAC stored),
so it authenticates like any API client and can be revoked like any device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tidings.moderation.orders import OrderError, member_state
from tidings.protocol import limits
from tidings.protocol.errors import BadRequest, Forbidden
from tidings.services.accounts import (
    AccountService,
    Principal,
    check_username,
    new_device_id,
    new_token,
)
from tidings.storage.accounts import AccountStore
from tidings.storage.orders import AuthorityRecord, OrderStore

AUTHORITY_ROLE = "authority"
TOKEN_DEVICE_NAME = "authority API"  # noqa: S105 - a device name, not a secret


@dataclass(frozen=True, slots=True)
class NewAuthority:
    username: str
    authority_name: str
    member_state: str
    token: str
    device_id: str

    def json(self) -> dict[str, Any]:
        return {"username": self.username, "role": AUTHORITY_ROLE,
                "authority_name": self.authority_name, "member_state": self.member_state,
                "token": self.token, "device_id": self.device_id}


def authority_name(value: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > limits.AUTHORITY_NAME_MAX or any(ord(c) < 32 for c in name):
        raise BadRequest(f"the authority's name has 1..{limits.AUTHORITY_NAME_MAX} printable "
                         "characters", "invalid_authority_name")
    return name


class AuthorityService:
    def __init__(self, accounts: AccountService, store: OrderStore, users: AccountStore
                 ) -> None:
        self.accounts = accounts
        self.db = accounts.db
        self.store = store
        self.users = users

    async def create(self, username: str, name: str, state: str) -> NewAuthority:
        """Create the account, its authority record and its access token (shown once),
        in one transaction. The account has no password: it only uses its token."""
        username = check_username(username, self.accounts.reserved)
        name = authority_name(name)
        try:
            state = member_state(state)
        except OrderError as exc:
            raise BadRequest(str(exc), exc.code) from exc
        token = new_token()
        device_id = new_device_id()
        now = self.accounts.clock()
        async with self.db.write() as conn:
            user = await self.users.create_user(conn, username, None, AUTHORITY_ROLE, now)
            await self.store.add_authority(conn, AuthorityRecord(user.id, name, state, now))
            await self.users.create_device(conn, user.id, device_id, TOKEN_DEVICE_NAME,
                                           self.accounts.hash_token(token), now)
        return NewAuthority(user.username, name, state, token, device_id)

    async def of(self, who: Principal) -> AuthorityRecord:
        """The authority behind the caller (403 for anyone else)."""
        if who.role != AUTHORITY_ROLE:
            raise Forbidden("only competent authorities submit removal orders",
                            "forbidden_role")
        async with self.db.read() as conn:
            found = await self.store.authority(conn, who.user_id)
        if found is None:
            raise Forbidden("this account has no authority record; ask the operator",
                            "not_an_authority")
        return found
