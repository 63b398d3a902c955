"""Results of the transparency routes (the report's figures are
``moderation.transparency.TransparencyReport``)."""

from __future__ import annotations

from pydantic import Field

from tidings.protocol.api import Result


class BansOfDay(Result):
    date: str
    """A UTC day, YYYY-MM-DD."""
    channels_banned: int


class TerroristChannelBans(Result):
    from_: str = Field(alias="from")
    to: str
    total: int
    days: list[BansOfDay]
    description: str
