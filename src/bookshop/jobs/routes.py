"""HTTP routes of the job queue, for admins: look at jobs, retry dead letters."""

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter

from bookshop.http.dependencies import Admin, Db
from bookshop.http.errors import ProblemError, found
from bookshop.http.pagination import Keyset, KeysetPage, KeysetParams
from bookshop.jobs import service
from bookshop.jobs.schemas import Job, JobStatus

JOBS = Keyset("jobs", key=lambda job: job.id, key_type=int)
# At most 2**53 - 1: a JSON number is a double to many clients (and to JSON Schema validators),
# past which ids stop being exact; a queue will not reach it.
JobId = Annotated[int, PathParameter(ge=1, le=2**53 - 1, description="The job's id.")]


class AdminJobController(Controller):
    path = "/admin/jobs"
    tags = ["admin"]

    @get("/", dependencies=JOBS.dependencies, summary="Jobs newest first, of one status or all, by keyset (admin).")
    async def list_jobs(
        self,
        db: Db,
        admin: Admin,
        keyset: NamedDependency[KeysetParams[int]],
        status: Annotated[JobStatus | None, QueryParameter(description="queued, running, done or failed.")] = None,
    ) -> KeysetPage[Job]:
        async with db.connection() as conn:
            jobs = await service.list_jobs(conn, status=status, after=keyset.after, limit=keyset.limit)
        return keyset.page(jobs)

    @post("/{job_id:int}/retry", status_code=200, summary="Queue a failed job again, attempts reset (admin).")
    async def retry_job(self, db: Db, admin: Admin, job_id: JobId) -> Job:
        async with db.transaction() as conn:
            retried = await service.retry(conn, job_id=job_id)
            job = found(retried or await service.get_job(conn, job_id=job_id), f"No job {job_id}.")
        if retried is None:
            raise ProblemError(
                409, "job-state-conflict", detail=f"Job {job_id} is {job.status}: only failed jobs retry."
            )
        return job
