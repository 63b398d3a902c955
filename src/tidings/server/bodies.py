"""The base of every JSON request body: strict, so a body means what it says.

Pydantic's default (lax) mode coerces ``true`` and ``"5"`` to the integer 1 and 5, and
``5`` to the string "5" — the server then acts on a value the client did not send, and
the published schema (``"type": "integer"``) is not what is enforced. Strict bodies
refuse them with 422 (docs/decisions.md, "Strict request bodies"), and refuse fields
the schema does not name (``additionalProperties: false``).

JSON has one number type: ``5.0`` is the integer 5 (JSON Schema says so too), so an
integer field takes a number with no fraction, and nothing else.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, model_validator


def _takes_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if get_origin(annotation) is Annotated:
        return _takes_int(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType, list, dict):
        return any(_takes_int(arg) for arg in get_args(annotation))
    return False


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole(item) for key, item in value.items()}
    return value


class StrictBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {key: _whole(value) if key in fields and _takes_int(fields[key].annotation)
                else value for key, value in data.items()}
