"""Background jobs as staff see them: state and progress of long work."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel

from tidings.protocol import limits
from tidings.server.deps import require_role
from tidings.server.state import kernel_of
from tidings.services.accounts import Principal
from tidings.services.jobs import JobService
from tidings.storage.jobs import JOB_STATES, JobRecord
from tidings.storage.records import STAFF_ROLES

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
staff = require_role(*STAFF_ROLES)


class ProgressOut(BaseModel):
    done: int
    total: int | None
    fraction: float | None


class JobOut(BaseModel):
    id: int
    kind: str
    state: str
    attempts: int
    max_attempts: int
    payload: dict[str, Any]
    progress: ProgressOut
    result: dict[str, Any] | None
    error: str | None
    run_after: int
    created_at: int
    updated_at: int


def jobs(request: Request) -> JobService:
    service: JobService = kernel_of(request).jobs
    return service


class JobList(BaseModel):
    jobs: list[JobOut]


@router.get("", response_model=JobList)
async def list_jobs(state: str | None = Query(None, max_length=16,
                                                    json_schema_extra={"enum": list(JOB_STATES)}),
                    kind: str | None = Query(None, max_length=64),
                    limit: int = Query(50, ge=1, le=limits.JOBS_PAGE_MAX),
                    _: Principal = Depends(staff),
                    svc: JobService = Depends(jobs)) -> JobList:
    """The newest jobs first, optionally of one state (queued, running, done, failed)
    and kind (staff only)."""
    return JobList(jobs=[job_out(j) for j in await svc.recent(state, kind, limit)])


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: int = Path(ge=1, lt=2**63), _: Principal = Depends(staff),
                  svc: JobService = Depends(jobs)) -> JobOut:
    """A job's state and progress (staff only; payloads hold references, not content)."""
    return job_out(await svc.get(job_id))


def job_out(job: JobRecord) -> JobOut:
    fraction = (min(1.0, job.progress_done / job.progress_total)
                if job.progress_total else None)
    return JobOut(id=job.id, kind=job.kind, state=job.state, attempts=job.attempts,
                  max_attempts=job.max_attempts, payload=job.payload,
                  progress=ProgressOut(done=job.progress_done, total=job.progress_total,
                                       fraction=fraction),
                  result=job.result, error=job.error, run_after=job.run_after,
                  created_at=job.created_at, updated_at=job.updated_at)
