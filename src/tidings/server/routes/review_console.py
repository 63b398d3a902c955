"""Console pages for the review queue, cases, decisions and appeals (server-rendered)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter

router = APIRouter(prefix="/console", include_in_schema=False)
SECTIONS: Final[list[dict[str, Any]]] = []
