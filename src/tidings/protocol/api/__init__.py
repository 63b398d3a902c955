"""The JSON results of the HTTP API, as types both ends share.

The server declares them as its routes' response models (so ``/openapi.json`` says what
each answer holds, and an answer that strays from its type fails loudly as a 500 in the
tests); the SDK parses answers into the same types (``client/transport.py``).

Every result is a :class:`Result`: no field beyond the declared ones. Fields that an
answer holds only sometimes (``invite_token`` for a channel's managers, a tombstone's
``notice``) have a default and are left out of the answer when absent: routes serialise
with ``exclude_unset`` (:data:`tidings.server.openapi.TYPED`), so the JSON is the same
as before the types were declared.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Result(BaseModel):
    model_config = ConfigDict(extra="forbid")
