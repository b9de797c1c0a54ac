"""HTTP routes of the job queue, for admins: look at jobs, retry dead letters."""

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter

from bookshop.http.auth import ensure_admin
from bookshop.http.dependencies import CurrentCaller, Db
from bookshop.http.errors import ProblemError
from bookshop.http.pagination import After, Limit, next_cursor, read_cursor
from bookshop.jobs import service
from bookshop.jobs.schemas import Job, JobPage, JobStatus


class AdminJobController(Controller):
    path = "/admin/jobs"
    tags = ["admin"]

    @get("/", summary="Jobs newest first, of one status or all, by keyset (admin).")
    async def list_jobs(
        self,
        db: Db,
        caller: CurrentCaller,
        request: Request[Any, Any, Any],
        status: Annotated[JobStatus | None, QueryParameter(description="queued, running, done or failed.")] = None,
        limit: Limit = 20,
        after: After = None,
    ) -> JobPage:
        ensure_admin(caller)
        position = read_cursor(request, after, size=1, parse=lambda key: int(key[0]))
        async with db.connection() as conn:
            items = await service.list_jobs(conn, status=status, after=position, limit=limit)
        next_key = [str(items[-1].id)] if len(items) == limit else None
        return JobPage(items=items, next=next_cursor(request, next_key))

    @post("/{job_id:int}/retry", status_code=200, summary="Queue a failed job again, attempts reset (admin).")
    async def retry_job(self, db: Db, caller: CurrentCaller, job_id: FromPath[int]) -> Job:
        ensure_admin(caller)
        async with db.transaction() as conn:
            job = await service.retry(conn, job_id=job_id)
            found = job or await service.get_job(conn, job_id=job_id)
        if found is None:
            raise NotFoundException(detail=f"No job {job_id}.")
        if job is None:
            raise ProblemError(
                409, "job-state-conflict", detail=f"Job {job_id} is {found.status}: only failed jobs retry."
            )
        return job
