"""Payloads of the job queue: jobs as staff see them, and a claimed job as a worker runs it."""

from datetime import datetime
from typing import Any, Literal

import msgspec

JobStatus = Literal["queued", "running", "done", "failed"]


class Job(msgspec.Struct, kw_only=True):
    id: int
    queue: str
    kind: str
    payload: dict[str, Any]
    status: JobStatus
    attempts: int
    max_attempts: int
    run_at: datetime  # queued: due at; running: end of the worker's lease
    locked_at: datetime | None
    locked_by: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class ClaimedJob(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # this attempt's number, from 1: the worker's claim is (id, worker, attempts)
    max_attempts: int


class FailedAttempt(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    status: JobStatus  # queued again, or failed for good
    attempts: int
    run_at: datetime
