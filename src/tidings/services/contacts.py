"""Blocks and message requests, enforced by the server (issue 20).

Signal's answer to spam is a consent layer: a stranger's first message is a *request*
that the recipient accepts, deletes or reports and blocks, and nothing flows back
(delivery, read or typing receipts) before they accept. Tidings enforces it on the
server, which already sees who writes to whom (never what):

* ``B`` towards ``A`` is one of: nothing yet, ``accepted`` (B wrote to A first, or
  accepted A's request), ``request`` (A wrote first, B has not decided) or ``blocked``.
  Sharing a group both joined counts as accepted (both consented to hear each other
  there; it is also how group key shares and receipts travel 1:1).
* A send from A to B is decided by :meth:`ContactService.gate`:
  B blocked A: the server answers A exactly as for any send (same id and timestamp
  shape, same errors), stores copies for A's own other devices, and none for B;
  B accepted A: delivered; otherwise delivered marked ``"request": true`` and B's
  state becomes ``request``.
* B cannot send *anything* to A while A's request is pending (403 ``message_request``):
  the server cannot tell a receipt from a reply (both are ciphertext), so nothing goes
  back until B accepts (an explicit ``accept``, which the SDK does when a person
  writes back). B cannot write to someone B blocked (403 ``blocked``).

What the server learns that it did not know before: each person's block list (who,
since when) and whom they have accepted; it keeps no message content for either.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from tidings.bus.base import Bus, Subscription
from tidings.protocol import limits
from tidings.protocol.control import ContactsChanged
from tidings.protocol.errors import BadRequest, Conflict, Forbidden, NotFound
from tidings.services.accounts import Principal, named_user
from tidings.services.clock import Clock
from tidings.services.live import CONTACTS_TOPIC, contacts_changed
from tidings.storage.accounts import AccountStore
from tidings.storage.contacts import ACCEPTED, BLOCKED, REQUEST, ContactStore
from tidings.storage.database import Database
from tidings.storage.invitations import HIDDEN, PENDING
from tidings.storage.privacy_schema import group_invitations


class Delivery(enum.Enum):
    DELIVER = "deliver"
    REQUEST = "request"
    """Delivered marked as a message request."""
    DROP = "drop"
    """The recipient blocked the sender: nothing reaches them, the sender cannot tell."""


GATE_KEEP_MS = 1_000
"""How long a pair that accepted each other is delivered without reading the store
again. A block drops every kept decision at once, in every process that hears it on
the bus (``watch``); this bound only covers a bus message lost between processes."""
GATE_KEEP_MAX = 100_000


class ContactService:
    def __init__(self, db: Database, store: ContactStore, accounts: AccountStore,
                 clock: Clock, bus: Bus | None = None) -> None:
        self.db = db
        self.store = store
        self.accounts = accounts
        self.clock = clock
        self.bus = bus
        self._accepted: dict[tuple[int, int], int] = {}
        """(sender, recipient) -> until when: both accepted each other, so a send from
        the one to the other is delivered with no write (the common case, per message)."""
        self._generation = 0
        """Bumped by every block heard: a read begun before it is not kept."""

    def watch(self) -> Subscription | None:
        """Hear other processes' blocks on the bus (close the handle at shutdown)."""
        if self.bus is None:
            return None
        return self.bus.subscribe(CONTACTS_TOPIC, lambda _message: self.forget())

    def forget(self) -> None:
        """Drop every kept send-gate decision (after a block anywhere)."""
        self._accepted.clear()
        self._generation += 1

    # -- the send gate --------------------------------------------------------------------
    async def gate(self, who: Principal, recipient_id: int, recipient: str) -> Delivery:
        """How a 1:1 send from ``who`` to ``recipient`` is delivered (see module doc)."""
        if recipient_id == who.user_id:
            return Delivery.DELIVER
        pair = (who.user_id, recipient_id)
        now = self.clock()
        if self._accepted.get(pair, 0) > now:
            return Delivery.DELIVER
        generation = self._generation
        mine, theirs, shared = await self.db.read_plan(
            self.store.gate_plan(who.user_id, recipient_id, self.db.dialect))
        if mine == ACCEPTED and theirs == ACCEPTED and generation == self._generation:
            if len(self._accepted) >= GATE_KEEP_MAX:
                self._accepted.clear()
            self._accepted[pair] = now + GATE_KEEP_MS
        if mine == BLOCKED:
            raise Forbidden(f"you blocked {recipient}; unblock them to write",
                            "blocked")
        if mine == REQUEST and not shared:
            raise Forbidden(f"{recipient} sent you a message request: accept it before "
                            "anything is sent back (tidings requests accept "
                            f"{recipient})", "message_request")
        if theirs == BLOCKED:
            decision = Delivery.DROP
        elif theirs == ACCEPTED or shared:
            decision = Delivery.DELIVER
        else:
            decision = Delivery.REQUEST
        if mine is None or (theirs is None and decision is Delivery.REQUEST):
            now = self.clock()
            async with self.db.write() as conn:
                if mine is None:  # writing to someone is consenting to hear from them
                    await self.store.put(conn, who.user_id, recipient_id, ACCEPTED, now,
                                         only_if_absent=True)
                if theirs is None and decision is Delivery.REQUEST:
                    await self.store.put(conn, recipient_id, who.user_id, REQUEST, now,
                                         only_if_absent=True)
        return decision

    async def blockers(self, sender_id: int, member_ids: Sequence[int]) -> set[int]:
        """Members who blocked the sender: a group message is not fanned out to them."""
        async with self.db.read() as conn:
            return await self.store.blockers(conn, sender_id, member_ids)

    async def has_blocked(self, owner_id: int, peer_id: int) -> bool:
        async with self.db.read() as conn:
            mine, _ = await self.store.pair(conn, owner_id, peer_id)
        return mine == BLOCKED

    # -- the owner's own lists ------------------------------------------------------------
    async def _peer(self, conn: Any, who: Principal, user: str) -> int:
        name = named_user(user)
        record = await self.accounts.user_by_name(conn, name)
        if record is None or record.deleted_at is not None:
            raise NotFound(f"no such user: {name}", "user_not_found")
        if record.id == who.user_id:
            raise BadRequest("that is you", "self")
        return record.id

    async def block(self, who: Principal, user: str) -> None:
        """Block ``user``: their messages, invitations and typing never reach you.

        Their pending invitations to you are hidden (they still look pending to them).
        """
        async with self.db.write() as conn:
            peer = await self._peer(conn, who, user)
            mine, _ = await self.store.pair(conn, who.user_id, peer)
            if mine != BLOCKED and await self.store.count(
                    conn, who.user_id, BLOCKED) >= limits.BLOCKS_PER_USER_MAX:
                raise Conflict(f"you can block at most {limits.BLOCKS_PER_USER_MAX} accounts",
                               "too_many_blocks")
            await self.store.put(conn, who.user_id, peer, BLOCKED, self.clock())
            await conn.execute(group_invitations.update().where(
                group_invitations.c.user_id == who.user_id,
                group_invitations.c.inviter_id == peer,
                group_invitations.c.state == PENDING).values(state=HIDDEN))
        self.forget()  # committed: no kept decision lets the blocked account through
        if self.bus is not None:
            await contacts_changed(self.bus, ContactsChanged(who.user_id, peer))

    async def unblock(self, who: Principal, user: str) -> bool:
        """Their next message is a message request again; False if they were not blocked."""
        async with self.db.write() as conn:
            peer = await self._peer(conn, who, user)
            return await self.store.remove(conn, who.user_id, peer, BLOCKED)

    async def blocked(self, who: Principal) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await self.store.listed(conn, who.user_id, BLOCKED, limits.REQUESTS_PAGE_MAX)
        return [{"user": name, "since": ts} for name, ts in rows]

    async def requests(self, who: Principal) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await self.store.listed(conn, who.user_id, REQUEST, limits.REQUESTS_PAGE_MAX)
        return [{"user": name, "since": ts} for name, ts in rows]

    async def accept(self, who: Principal, user: str) -> None:
        """Accept ``user``'s message request (or start hearing from them): receipts,
        typing and replies may flow both ways from now on."""
        async with self.db.write() as conn:
            peer = await self._peer(conn, who, user)
            mine, _ = await self.store.pair(conn, who.user_id, peer)
            if mine == BLOCKED:
                raise Conflict(f"you blocked {user}; unblock them first", "blocked")
            await self.store.put(conn, who.user_id, peer, ACCEPTED, self.clock())

    async def delete_request(self, who: Principal, user: str) -> None:
        """Delete a message request; a later message from them is a new request."""
        async with self.db.write() as conn:
            peer = await self._peer(conn, who, user)
            if not await self.store.remove(conn, who.user_id, peer, REQUEST):
                raise NotFound(f"no message request from {user}", "no_request")
