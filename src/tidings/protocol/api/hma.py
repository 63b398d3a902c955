"""Results of the HMA-compatible matching routes (``/hma/m``), in HMA's shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field

from tidings.protocol.api import Result
from tidings.protocol.api.banks import ConfigValue


class HmaMatch(Result):
    bank_content_id: int
    distance: str
    """pytx's ``pretty_str()`` of the distance: the integer as a string."""


ByBank = dict[str, list[HmaMatch]]
"""``{bank: [{bank_content_id, distance}]}``: HMA's lookup of one hash."""

BySignalType = dict[str, ByBank]
"""The lookup of a file or URL: the same keyed by signal type first."""


class RawLookup(Result):
    matches: list[int] | list[HmaMatch]
    """Content ids; with ``include_distance``, the matches."""


class IndexStatus(Result):
    present: bool
    built_to: int
    size: int


class Distance(Result):
    distance: int | None = None


Compared = dict[str, Annotated[list[bool | Distance], Field(min_length=2, max_length=2)]]
"""``{signal_type: [match, {"distance": n}]}`` (pytx's comparison as HMA sends it)."""


class HmaBank(Result):
    name: str
    matching_enabled_ratio: float
    """1.0 or 0.0: Tidings banks match all or nothing."""


class HmaBankItem(Result):
    """``{id, signals}``: the banked item's id (``bank_content_id`` in lookups) and its
    pytx-named hashes."""
    id: int
    signals: dict[str, str]


class HmaContent(Result):
    """HMA's ``BankContentResponse``."""
    id: int
    disable_until_ts: int
    """1: enabled, 0: disabled (Tidings has no timed disable)."""
    original_media_uri: str | None
    bank: HmaBank
    signals: dict[str, str] | None = None
    """With ``include_signals=true``: pytx-named hashes."""
    collab_metadata: dict[str, str] | None = None
    user_metadata: dict[str, str] | None = None
    note: str | None = None


class ApiConfig(Result):
    supports_authentification: bool
    has_set_authentification: bool


class SchemaField(Result):
    name: str
    type: str
    required: bool
    default: str | int | None
    choices: list[str] | None
    help: str


class Fields(Result):
    fields: list[SchemaField]


class ApiSchema(Result):
    config_schema: Fields
    credentials_schema: Fields | None


class HmaExchange(Result):
    """The exchange's configuration (its own keys) with its name and API."""
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, ConfigValue]
    name: str
    api: str
    enabled: bool


class FetchStatus(Result):
    """pytx's ``FetchStatus``, in seconds."""
    checkpoint_ts: int | None
    running_fetch_start_ts: int | None
    last_fetch_complete_ts: int | None
    last_fetch_succeeded: bool | None
    up_to_date: bool
    fetched_items: int


class SignalType(Result):
    name: str
    enabled_ratio: float


class SignalTypeIndex(Result):
    db_size: int
    index_size: int
    index_out_of_date: bool
    newest_db_item: int
    index_built_to: int


class ContentType(Result):
    name: str
    enabled: bool
