"""Results of the HMA-compatible matching routes (``/hma/m``), in HMA's shapes."""

from __future__ import annotations

from tidings.protocol.api import Result


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


Compared = dict[str, tuple[bool, Distance]]
"""``{signal_type: [match, {"distance": n}]}`` (pytx's comparison as HMA sends it)."""
