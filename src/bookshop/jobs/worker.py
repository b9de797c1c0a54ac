"""The worker behind `bookshop worker`: claims due jobs in batches, runs their handlers, and
marks each done in the handler's own transaction.

- Claims take up to `concurrency` jobs at once with FOR UPDATE SKIP LOCKED, so any number of
  workers share a queue without taking the same job; a batch runs concurrently.
- A claim is a lease. A worker that dies leaves its jobs 'running' until the lease ends, and
  then another worker claims them again (each claim is an attempt). A worker whose lease ran
  out before its handler finished finds its claim gone and rolls the handler's work back.
- A failed attempt is retried after an exponential backoff, up to max_attempts; then the job
  stays 'failed' with its last error (a dead letter, retried by staff).
- Idle workers LISTEN for new jobs and wake at once; polling is the fallback, and also finds
  jobs that fall due later (a retry's backoff, a lease running out). LISTEN needs a session of
  its own, which a transaction pooler does not keep: behind one (DATABASE_POOLER=transaction)
  the worker LISTENs on WORKER_LISTEN_URL, a direct connection, or without it only polls.
- `stop` (SIGTERM, SIGINT): no new claims; the jobs in hand finish; then it returns.

A handler's database work commits together with its job's completion, so it lands once; but a
handler may run again after a failure or a lost lease, so what it does must be idempotent.
"""

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from bookshop.db.pool import Connection, Database, connect, create_pool, needed_limits
from bookshop.db.urls import libpq_url
from bookshop.jobs import service
from bookshop.jobs.schemas import ClaimedJob
from bookshop.ops.service import record_event
from bookshop.settings import Settings

logger = logging.getLogger("bookshop.worker")

CHANNEL = "bookshop_jobs"  # notify_jobs_queued() in migrations/0013_jobs.sql

Handler = Callable[[Connection, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class WorkerActor:
    """Whom a worker's transactions act for: no user, with staff rights over private rows."""

    user_id: None = None
    role: str = "staff"


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    queue: str = service.DEFAULT_QUEUE
    concurrency: int = 8
    poll_interval: float = 5.0  # seconds an idle worker waits without a notification
    lease_seconds: float = 300.0  # the visibility timeout: how long a claim holds
    backoff_seconds: float = 2.0  # the first retry's delay; it doubles per attempt


class ClaimLost(Exception):
    """The lease ran out before the handler finished and another worker took the job."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        database: Database,
        *,
        settings: Settings,
        listen_dsn: str | None,
        handlers: Mapping[str, Handler],
        options: WorkerOptions,
        name: str | None = None,
    ) -> None:
        """`listen_dsn`: where to LISTEN for new jobs, a direct connection (listen_url); None
        to poll only."""
        self.database = database
        self.settings = settings
        self.listen_dsn = listen_dsn
        self.handlers = handlers
        self.options = options
        self.name = name or worker_name()
        self.actor = WorkerActor()

    async def run(self, stop: asyncio.Event) -> None:
        """Works the queue until `stop` is set, then returns once the jobs in hand are done."""
        wake = asyncio.Event()

        def on_notify(_conn: object, _pid: int, _channel: str, queue: object) -> None:
            if queue == self.options.queue:
                wake.set()

        async with contextlib.AsyncExitStack() as stack:
            if self.listen_dsn is None:
                logger.warning(
                    "worker %s: no WORKER_LISTEN_URL behind a transaction pooler, so no LISTEN: new jobs wait"
                    " for the next poll (every %g s)",
                    self.name,
                    self.options.poll_interval,
                )
            else:
                # LISTEN holds a connection of its own: on a pooled one it would follow the
                # connection to its next borrower. A direct one, so no pooler settings.
                direct = msgspec.structs.replace(self.settings, database_pooler="none")
                listener = await connect(direct, dsn=self.listen_dsn)
                stack.push_async_callback(listener.close)
                await listener.add_listener(CHANNEL, on_notify)
            logger.info(
                "worker %s on queue %s, %d at a time, %s",
                self.name,
                self.options.queue,
                self.options.concurrency,
                "polling only" if self.listen_dsn is None else "listening for new jobs",
            )
            while not stop.is_set():
                wake.clear()  # before claiming: a job queued meanwhile wakes the next wait
                try:
                    claimed = await self._claim()
                    if claimed:
                        await asyncio.gather(*(self._run(job) for job in claimed))
                    else:
                        await self._idle(wake, stop)
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                    # The database restarting or out of reach: wait a poll interval and claim
                    # again; leases bring back whatever this worker held.
                    logger.warning("worker %s: database unavailable (%s); retrying", self.name, error)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.options.poll_interval)
        logger.info("worker %s stopped", self.name)

    async def _claim(self) -> list[ClaimedJob]:
        async with self.database.connection() as conn:
            return await service.claim(
                conn,
                queue=self.options.queue,
                worker=self.name,
                lease_seconds=self.options.lease_seconds,
                limit=self.options.concurrency,
            )

    async def _idle(self, wake: asyncio.Event, stop: asyncio.Event) -> None:
        """Sleeps until a notification, `stop`, the next due job or the poll interval."""
        async with self.database.transaction(self.actor) as conn:
            for job_id in await service.fail_abandoned(conn, queue=self.options.queue):
                await self._record_failure(conn, job_id, "the worker stopped answering during the last attempt")
            due = await service.next_due_at(conn, queue=self.options.queue)
        timeout = self.options.poll_interval
        if due is not None:
            timeout = max(0.0, min(timeout, (due - datetime.now(UTC)).total_seconds()))
        waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _run(self, job: ClaimedJob) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for jobs of kind {job.kind!r}")
            async with self.database.transaction(self.actor) as conn:
                await handler(conn, job.payload)
                if not await service.finish(conn, job=job, worker=self.name):
                    raise ClaimLost
        except ClaimLost:
            logger.warning("job %s: the lease ran out before it finished; its work was rolled back", job.id)
        except Exception as error:  # noqa: BLE001 - a handler's failure is the job's, not the worker's
            await self._fail(job, f"{type(error).__name__}: {error}")

    async def _fail(self, job: ClaimedJob, error: str) -> None:
        logger.warning("job %s (%s) attempt %d failed: %s", job.id, job.kind, job.attempts, error)
        async with self.database.transaction(self.actor) as conn:
            failed = await service.fail(
                conn, job=job, worker=self.name, error=error, backoff_seconds=self.options.backoff_seconds
            )
            if failed is not None and failed.status == "failed":
                await self._record_failure(conn, job.id, error)

    async def _record_failure(self, conn: Connection, job_id: int, error: str) -> None:
        logger.error("job %s failed for good: %s", job_id, error)
        await record_event(
            conn, actor=f"worker:{self.name}", kind="job_failed", subject=f"job:{job_id}", payload={"error": error}
        )


def listen_url(settings: Settings, dsn: str) -> str | None:
    """Where the worker LISTENs: WORKER_LISTEN_URL, else the pool's own `dsn` unless that leads
    to a transaction pooler (None: poll only)."""
    if settings.worker_listen_url:
        return libpq_url(settings.worker_listen_url)
    return None if settings.database_pooler == "transaction" else dsn


async def run_worker(
    settings: Settings, *, dsn: str, handlers: Mapping[str, Handler], options: WorkerOptions, stop: asyncio.Event
) -> None:
    """A worker with its own pool: a connection per job it runs at once, and one to claim.

    A handler runs inside its job's transaction, so the pool's sessions may stay idle in a
    transaction as long as a lease lasts (the service's own limit is seconds)."""
    sized = msgspec.structs.replace(
        settings,
        pool_min_size=1,
        pool_max_size=options.concurrency + 1,
        idle_in_transaction_session_timeout_ms=max(
            settings.idle_in_transaction_session_timeout_ms, int(options.lease_seconds * 1000)
        ),
    )
    pool = await create_pool(sized, dsn=dsn)
    try:
        database = Database(
            pool, acquire_timeout=settings.pool_acquire_timeout, limits=await needed_limits(pool, sized)
        )
        worker = Worker(
            database, settings=settings, listen_dsn=listen_url(settings, dsn), handlers=handlers, options=options
        )
        await worker.run(stop)
    finally:
        await pool.close()
