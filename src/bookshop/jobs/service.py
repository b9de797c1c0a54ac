"""The job queue's operations over sql/jobs/jobs.sql: enqueue, claim, finish, fail, retry."""

from datetime import datetime
from typing import Any

from bookshop.db.pool import Connection
from bookshop.db.queries import queries
from bookshop.jobs.schemas import ClaimedJob, FailedAttempt, Job, JobStatus

q = queries.jobs

DEFAULT_QUEUE = "default"
DEFAULT_MAX_ATTEMPTS = 5


async def enqueue(
    conn: Connection,
    *,
    kind: str,
    payload: dict[str, Any],
    queue: str = DEFAULT_QUEUE,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    run_at: datetime | None = None,
) -> int:
    """Queues a job; it is claimable once the caller's transaction commits and run_at (default:
    now) has come."""
    job_id: int = await q.enqueue_job(
        conn, queue=queue, kind=kind, payload=payload, max_attempts=max_attempts, run_at=run_at
    )
    return job_id


async def claim(conn: Connection, *, queue: str, worker: str, lease_seconds: float, limit: int) -> list[ClaimedJob]:
    rows = q.claim_jobs(conn, queue=queue, worker=worker, lease_seconds=lease_seconds, limit=limit)
    return [ClaimedJob(**row) async for row in rows]


async def finish(conn: Connection, *, job: ClaimedJob, worker: str) -> bool:
    """Marks the job done if this worker's claim still holds; False when it was lost."""
    return await q.finish_job(conn, id=job.id, worker=worker, attempt=job.attempts) is not None


async def fail(
    conn: Connection, *, job: ClaimedJob, worker: str, error: str, backoff_seconds: float
) -> FailedAttempt | None:
    row = await q.fail_job(
        conn, id=job.id, worker=worker, attempt=job.attempts, error=error, backoff_seconds=backoff_seconds
    )
    return None if row is None else FailedAttempt(**row)


async def fail_abandoned(conn: Connection, *, queue: str) -> list[int]:
    return [row["id"] async for row in q.fail_abandoned_jobs(conn, queue=queue)]


async def next_due_at(conn: Connection, *, queue: str) -> datetime | None:
    due: datetime | None = await q.next_due_at(conn, queue=queue)
    return due


async def list_jobs(conn: Connection, *, status: JobStatus | None, after: int | None, limit: int) -> list[Job]:
    """Jobs newest first, of one status (its own query, on its own index) or all."""
    if status is None:
        rows = q.list_jobs(conn, after_id=after, limit=limit)
    else:
        rows = q.list_jobs_by_status(conn, status=status, after_id=after, limit=limit)
    return [Job(**row) async for row in rows]


async def get_job(conn: Connection, *, job_id: int) -> Job | None:
    row = await q.get_job(conn, id=job_id)
    return None if row is None else Job(**row)


async def retry(conn: Connection, *, job_id: int) -> Job | None:
    """Queues a failed job again with fresh attempts; None unless it was failed."""
    row = await q.retry_job(conn, id=job_id)
    return None if row is None else Job(**row)


async def count_by_status(conn: Connection) -> dict[str, int]:
    """Jobs queued, running and failed (zero included); done jobs are not counted."""
    return {row["status"]: row["jobs"] async for row in q.count_jobs_by_status(conn)}
