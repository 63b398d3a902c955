"""Review cases as stored rows: (de)serialising the pure ``Case`` and opening/joining one.

Every report and automated hold about the same target joins the one case that is still
waiting or being reviewed; a target decided before gets a fresh case.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tidings.moderation import review as rv
from tidings.storage.reports import CaseRow, ReportStore


def case_to_json(case: rv.Case) -> str:
    data: dict[str, Any] = {}
    for name in rv.Case.__dataclass_fields__:
        value = getattr(case, name)
        data[name] = sorted(str(s) for s in value) if name == "sources" else (
            str(value) if isinstance(value, str) else value)
    return json.dumps(data, separators=(",", ":"))


def case_from_json(text: str) -> rv.Case:
    data = json.loads(text)
    data["state"] = rv.State(data["state"])
    data["sources"] = frozenset(rv.Source(s) for s in data["sources"])
    if data.get("decision") is not None:
        data["decision"] = rv.Decision(data["decision"])
    if data.get("appeal_decision") is not None:
        data["appeal_decision"] = rv.AppealDecision(data["appeal_decision"])
    return rv.Case(**data)


def case_columns(case: rv.Case, now: int) -> dict[str, Any]:
    return {"state": str(case.state), "rank": rv.priority_key(case)[0],
            "record": case_to_json(case), "updated_at": now}


def new_case_id() -> str:
    return "c_" + secrets.token_hex(8)


async def open_or_join(conn: AsyncConnection, store: ReportStore, kind: str, ref: str,
                       affected_user_id: int | None, source: rv.Source, now: int,
                       terrorist: bool = False, matches: list[dict[str, Any]] | None = None
                       ) -> str:
    """The id of the case the new report or hold joined (opened if there was none)."""
    row = await store.joinable_case(conn, kind, ref)
    if row is None:
        case_id = new_case_id()
        case = rv.open_case(case_id, source, now, terrorist_content=terrorist)
        await store.insert_case(conn, id=case_id, target_kind=kind, target_ref=ref,
                                affected_user_id=affected_user_id, created_at=now,
                                matches=json.dumps(matches) if matches else None,
                                **case_columns(case, now))
        return case_id
    case = case_from_json(row.record)
    event: rv.Event = (rv.HoldAdded(now) if source is rv.Source.AUTOMATED_HOLD
                       else rv.ReportAdded(source, now))
    case = rv.apply(case, event)
    if terrorist and not case.terrorist_content:
        case = dataclasses.replace(case, terrorist_content=True)
    extra: dict[str, Any] = {}
    if matches:
        extra["matches"] = json.dumps([*json.loads(row.matches or "[]"), *matches])
    await store.update_case(conn, row.id, **case_columns(case, now), **extra)
    return row.id


def load(row: CaseRow) -> rv.Case:
    return case_from_json(row.record)
