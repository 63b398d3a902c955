"""The once-stored ciphertexts of group messages, put into events as they are delivered.

A group message's stream event carries the message id, not the ciphertext
(services/groups.py); :meth:`GroupCiphertexts.expand` puts the one stored ciphertext
in when the event is delivered. ``StreamService`` takes ``expand`` in its constructor
and ``GroupService`` takes this object to :meth:`remember` what it just stored, so live
delivery reads nothing. Kept apart from ``GroupService`` because streams need it
before the groups service (which appends to streams) can be built.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace

from tidings.protocol import limits
from tidings.protocol.control import splice
from tidings.storage.database import Database
from tidings.storage.groups import GROUP_MESSAGE_KIND, GroupStore
from tidings.storage.records import StreamEvent


class GroupCiphertexts:
    def __init__(self, db: Database, store: GroupStore) -> None:
        self.db = db
        self.store = store
        self._recent: OrderedDict[str, str] = OrderedDict()

    def remember(self, mid: str, ciphertext: str) -> None:
        """Keep a just-stored ciphertext for live delivery (a small LRU)."""
        self._recent[mid] = ciphertext
        while len(self._recent) > limits.GROUP_EXPAND_CACHE:
            self._recent.popitem(last=False)

    async def expand(self, events: Sequence[StreamEvent]) -> list[StreamEvent]:
        """Put each group message's one stored ciphertext into its delivered event."""
        refs = [_ref(e.body) for e in events if e.kind == GROUP_MESSAGE_KIND]
        if not refs:
            return list(events)
        found = {r: self._recent[r] for r in refs if r in self._recent}
        missing = [r for r in refs if r not in found]
        if missing:
            async with self.db.read() as conn:
                found.update(await self.store.ciphertexts(conn, missing))
        out = []
        for e in events:
            if e.kind == GROUP_MESSAGE_KIND:
                ct = found.get(_ref(e.body))
                # Pruned (expired timer): delivered without content; clients skip it.
                extra = ({"ciphertext": json.dumps(ct)} if ct is not None
                         else {"ciphertext": "null", "expired": "true"})
                e = replace(e, body=splice(e.body, extra))
            out.append(e)
        return out


def _ref(body: str) -> str:
    # Bodies start {"id":"<id>" (services/groups.py writes "id" first).
    return body[7:body.index('"', 7)]
