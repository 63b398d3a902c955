"""The base of every JSON request body: strict, so a body means what it says.

Pydantic's default (lax) mode coerces ``true`` and ``"5"`` to the integer 1 and 5, and
``5`` to the string "5" — the server then acts on a value the client did not send, and
the published schema (``"type": "integer"``) is not what is enforced. Strict bodies
refuse them with 422 (docs/decisions.md, "Strict request bodies").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True)
