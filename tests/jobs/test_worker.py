"""The job worker against a real PostgreSQL: shared queues, retries, wake-ups, leases, shutdown.

Workers run in this process as asyncio tasks, each with a pool of its own, except where a test
kills or stops one: that one runs in a process of its own (tests/jobs/slow_worker.py).
"""

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import msgspec
import pytest
from asyncpg.connection import LoggedQuery

from bookshop.db.pool import Connection, Database, Pool, create_pool, named_statements
from bookshop.db.query_log import UNNAMED, QueryObserver
from bookshop.db.urls import DatabaseUrls
from bookshop.jobs.worker import Handler, Worker, WorkerOptions, run_worker
from bookshop.settings import Settings
from tests.support.jobs import enqueue
from tests.support.waiting import DEADLINE, wait_until

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]


class StatementLog(QueryObserver):
    """The names of the statements a worker's pool ran, in order, each once it finished: signs
    of where the worker is in its loop, so no test has to guess it with a sleep."""

    def __init__(self) -> None:
        super().__init__(named_statements(), slow_query_ms=0)
        self.names: list[str] = []

    @property
    def active(self) -> bool:
        return True

    def __call__(self, record: LoggedQuery, /) -> None:
        self.names.append(named_statements().get(record.query, UNNAMED))


@dataclass
class Run:
    name: str
    stop: asyncio.Event
    task: "asyncio.Task[None]"
    pool: Pool
    statements: StatementLog

    def times_idle(self) -> int:
        """How often the worker found nothing to claim and looked up when its next job falls due,
        just before it waits. Its LISTEN is in place by the first time: from then on a new job's
        notification wakes it, even one that arrives before the wait begins."""
        return self.statements.names.count("jobs.next_due_at")


@dataclass
class Workers:
    """Starts in-process workers; the fixture stops them all and closes their pools."""

    settings: Settings
    dsn: str
    runs: list[Run] = field(default_factory=list)

    async def start(self, name: str, handlers: Mapping[str, Handler], options: WorkerOptions) -> Run:
        assert self.settings.pool_max_size >= options.concurrency + 1
        statements = StatementLog()
        pool = await create_pool(self.settings, dsn=self.dsn, observer=statements)
        database = Database(pool, acquire_timeout=5)
        worker = Worker(
            database, settings=self.settings, listen_dsn=self.dsn, handlers=handlers, options=options, name=name
        )
        stop = asyncio.Event()
        run = Run(name, stop, asyncio.create_task(worker.run(stop), name=f"worker {name}"), pool, statements)
        self.runs.append(run)
        return run

    def check(self) -> None:
        """Fails at once if a worker ended on its own: a worker only returns when told to stop."""
        for run in self.runs:
            if run.task.done() and not run.stop.is_set():
                error = None if run.task.cancelled() else run.task.exception()
                raise AssertionError(f"worker {run.name} ended unasked: {error!r}") from error

    async def stop(self, run: Run, within: float = 10.0) -> None:
        """Asks one worker to stop and waits until it returned (its jobs in hand finished)."""
        run.stop.set()
        done, _ = await asyncio.wait([run.task], timeout=within)
        if not done:
            run.task.cancel()
            raise AssertionError(f"worker {run.name} did not stop within {within} s of being asked")
        run.task.result()

    async def close(self) -> None:
        errors: list[BaseException] = []
        for run in self.runs:
            if not run.task.done():
                try:
                    await self.stop(run)
                except BaseException as error:
                    errors.append(error)
            elif not run.task.cancelled() and (error := run.task.exception()) is not None:
                errors.append(error)
        for run in self.runs:
            await run.pool.close()
        if errors:
            raise errors[0]


@pytest.fixture
async def workers(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[Workers]:
    started = Workers(msgspec.structs.replace(settings, pool_min_size=1, pool_max_size=10), database_urls.app)
    try:
        yield started
    finally:
        await started.close()


async def wait_for(
    check: Callable[[], Awaitable[T | None]], what: str, *, within: float = DEADLINE, workers: Workers | None = None
) -> T:
    """wait_until, failing at once if one of `workers` ended on its own meanwhile."""

    async def checked() -> T | None:
        if workers is not None:
            workers.check()
        return await check()

    return await wait_until(checked, what, within=within)


def been_idle(run: Run, times: int = 1) -> Callable[[], Awaitable[bool]]:
    """A check for wait_for: the worker has been idle `times` times in all."""

    async def check() -> bool:
        return run.times_idle() >= times

    return check


async def job(conn: asyncpg.Connection, job_id: int) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM jobs WHERE id = $1", job_id)
    assert row is not None, f"job {job_id} is gone"
    return row


def job_in(
    conn: asyncpg.Connection, job_id: int, status: str, *, attempts: int | None = None
) -> Callable[[], Awaitable[asyncpg.Record | None]]:
    """A check for wait_for: the job's row once it has this status (and number of attempts)."""

    async def check() -> asyncpg.Record | None:
        row = await job(conn, job_id)
        wanted = row["status"] == status and (attempts is None or row["attempts"] == attempts)
        return row if wanted else None

    return check


async def nothing_pending(conn: asyncpg.Connection) -> bool:
    pending = await conn.fetchval("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
    return pending == 0


# Sharing a queue


async def test_workers_sharing_a_queue_run_every_job_exactly_once(conn: asyncpg.Connection, workers: Workers) -> None:
    seen: dict[str, list[int]] = {}

    def counting(name: str) -> Handler:
        async def handler(_conn: Connection, payload: dict[str, Any]) -> None:
            seen.setdefault(name, []).append(payload["n"])

        return handler

    options = WorkerOptions(concurrency=4, poll_interval=0.5)
    started = [await workers.start(name, {"count": counting(name)}, options) for name in ("w1", "w2", "w3")]
    for run in started:  # all three idle and listening: the commit below wakes them together
        await wait_for(been_idle(run), f"worker {run.name} is idle", workers=workers)

    total = 300
    await enqueue(conn, "count", [{"n": n} for n in range(total)])
    await wait_for(lambda: nothing_pending(conn), "every job done or failed", workers=workers)

    runs = Counter(n for ns in seen.values() for n in ns)
    assert sorted(runs) == list(range(total)), "some jobs never ran"
    assert [n for n, times in runs.items() if times > 1] == [], "some jobs ran more than once"
    assert set(seen) == {"w1", "w2", "w3"}, {name: len(ns) for name, ns in seen.items()}
    outcome = await conn.fetch("SELECT status, attempts, count(*) AS jobs FROM jobs GROUP BY 1, 2")
    assert [tuple(row) for row in outcome] == [("done", 1, total)]
    assert await conn.fetchval("SELECT count(*) FROM jobs WHERE locked_by IS NOT NULL OR last_error IS NOT NULL") == 0


# Failures and retries


async def test_a_job_that_keeps_failing_ends_failed_with_its_error_and_an_event(
    conn: asyncpg.Connection, workers: Workers
) -> None:
    calls: list[dict[str, Any]] = []

    async def explode(_conn: Connection, payload: dict[str, Any]) -> None:
        calls.append(payload)
        raise ValueError("boom")

    [job_id] = await enqueue(conn, "explode", [{"order": 7}], max_attempts=3)
    options = WorkerOptions(concurrency=2, backoff_seconds=0.01, poll_interval=0.05)
    run = await workers.start("failing", {"explode": explode}, options)
    failed = await wait_for(job_in(conn, job_id, "failed"), f"job {job_id} failed for good", workers=workers)

    assert failed["attempts"] == 3
    assert failed["locked_by"] is None
    assert "ValueError: boom" in failed["last_error"]
    assert calls == [{"order": 7}] * 3
    events = await conn.fetch(
        "SELECT actor, payload FROM events WHERE kind = 'job_failed' AND subject = $1", f"job:{job_id}"
    )
    assert len(events) == 1, events
    assert events[0]["actor"] == "worker:failing"
    assert "boom" in events[0]["payload"]["error"]

    # A dead letter stays dead: no fourth attempt. Twice idle since it failed, the worker has
    # claimed after the failure, and again after any retry due within a poll interval of it.
    twice_more = been_idle(run, run.times_idle() + 2)
    await wait_for(twice_more, "the worker was idle twice since the job failed", workers=workers)
    assert len(calls) == 3
    assert (await job(conn, job_id))["status"] == "failed"


async def test_a_retry_waits_for_its_backoff_then_succeeds(conn: asyncpg.Connection, workers: Workers) -> None:
    called_at: list[float] = []
    errors: list[str | None] = []

    async def flaky(handler_conn: Connection, _payload: dict[str, Any]) -> None:
        called_at.append(time.monotonic())
        if len(called_at) == 1:
            raise RuntimeError("first time unlucky")
        # The retry sees what the failed attempt left: its error, kept until the job is done.
        errors.append(await handler_conn.fetchval("SELECT last_error FROM jobs WHERE id = $1", job_id))

    [job_id] = await enqueue(conn, "flaky", [{}])
    await workers.start("retrying", {"flaky": flaky}, WorkerOptions(backoff_seconds=1.0, poll_interval=0.05))

    done = await wait_for(job_in(conn, job_id, "done"), "the retry succeeded", workers=workers)

    assert len(called_at) == 2
    gap = called_at[1] - called_at[0]
    # backoff_seconds * 2^0 with a jitter of 0.75-1.25: never sooner than 0.75 s, never much later than 1.25 s.
    assert 0.74 <= gap <= 2.0, f"the retry ran {gap:.3f} s after the failure"
    assert errors == ["RuntimeError: first time unlucky"]
    assert done["attempts"] == 2
    assert done["last_error"] is None
    assert done["locked_by"] is None


# Waking up


async def test_a_new_job_wakes_an_idle_worker_long_before_its_poll(conn: asyncpg.Connection, workers: Workers) -> None:
    ran_at: list[float] = []

    async def note(_conn: Connection, _payload: dict[str, Any]) -> None:
        ran_at.append(time.monotonic())

    sleepy = await workers.start("sleepy", {"note": note}, WorkerOptions(poll_interval=30.0))
    # Once it found nothing and looked up its next due job (none), it waits up to 30 s.
    await wait_for(been_idle(sleepy), "the worker is idle", workers=workers)
    [job_id] = await enqueue(conn, "note", [{}])
    committed_at = time.monotonic()

    await wait_for(job_in(conn, job_id, "done"), "the job was done", within=5.0, workers=workers)
    latency = ran_at[0] - committed_at
    assert latency < 2.0, f"the job started {latency:.3f} s after its commit, with a 30 s poll interval"


# Leases


@asynccontextmanager
async def slow_worker(
    database_urls: DatabaseUrls, *, lease_seconds: float
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m tests.jobs.slow_worker` on the test database; killed on the way out if alive.
    Its log is printed, so a failing test shows it."""
    env = {**os.environ, "DATABASE_URL": database_urls.app}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.jobs.slow_worker",
        str(lease_seconds),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        output, _ = await process.communicate()
        print(f"--- slow_worker (exit {process.returncode}) ---\n{output.decode(errors='replace')}")


async def running_job(conn: asyncpg.Connection) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow("SELECT * FROM jobs WHERE status = 'running'")
    return row


async def test_a_job_whose_worker_was_killed_is_taken_again_when_its_lease_ends(
    conn: asyncpg.Connection, database_urls: DatabaseUrls, workers: Workers
) -> None:
    [job_id] = await enqueue(conn, "sleep", [{"seconds": 60}])
    async with slow_worker(database_urls, lease_seconds=2) as process:
        claimed = await wait_for(lambda: running_job(conn), "the slow worker took the job")
        process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(process.wait(), 5)
    assert claimed["id"] == job_id
    assert claimed["attempts"] == 1
    lease_end: datetime = claimed["run_at"]

    taken_at: list[datetime] = []

    async def quick(handler_conn: Connection, payload: dict[str, Any]) -> None:
        assert payload == {"seconds": 60}
        taken_at.append(await handler_conn.fetchval("SELECT now()"))

    await workers.start("rescuer", {"sleep": quick}, WorkerOptions(concurrency=1, poll_interval=0.2))
    done = await wait_for(job_in(conn, job_id, "done"), "the job was taken again and done", within=10.0)

    assert done["attempts"] == 2
    assert done["locked_by"] is None
    assert len(taken_at) == 1
    assert taken_at[0] >= lease_end, "the job was taken again before its lease ended"


async def test_sigterm_finishes_the_job_in_hand_claims_no_more_and_exits_cleanly(
    conn: asyncpg.Connection, database_urls: DatabaseUrls
) -> None:
    async with slow_worker(database_urls, lease_seconds=30) as process:
        first, second = await enqueue(conn, "work_past_stop", [{"seconds": 0.5}, {"seconds": 0.5}])
        in_hand = await wait_for(lambda: running_job(conn), "the slow worker took a job")
        process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            pytest.fail("the worker did not exit within 10 s of SIGTERM")

    assert code == 0
    assert in_hand["id"] == first, "jobs are claimed oldest first"
    finished = await job(conn, first)
    assert (finished["status"], finished["attempts"]) == ("done", 1)
    left = await job(conn, second)
    assert (left["status"], left["attempts"], left["locked_by"]) == ("queued", 0, None)


async def test_work_of_a_handler_that_lost_its_lease_is_rolled_back(conn: asyncpg.Connection, workers: Workers) -> None:
    calls: list[str] = []
    second_returned = asyncio.Event()

    def handler(name: str, *, waits_for: asyncio.Event | None = None, sets: asyncio.Event | None = None) -> Handler:
        async def run(handler_conn: Connection, _payload: dict[str, Any]) -> None:
            calls.append(f"{name} started")
            # Work in the job's transaction: it must land only for the run whose claim holds.
            await handler_conn.execute(
                "INSERT INTO events (actor, kind, subject) VALUES ($1, 'test_handler_ran', 'test')", name
            )
            if waits_for is not None:
                await asyncio.wait_for(waits_for.wait(), DEADLINE)
            calls.append(f"{name} returned")
            if sets is not None:
                sets.set()

        return run

    [job_id] = await enqueue(conn, "slow", [{}])
    # The first handler outlasts its lease: it returns only once the second worker's has.
    first = await workers.start(
        "first",
        {"slow": handler("first", waits_for=second_returned)},
        WorkerOptions(concurrency=1, lease_seconds=0.5, poll_interval=0.05),
    )
    claimed = await wait_for(job_in(conn, job_id, "running"), "the first worker took the job", workers=workers)
    assert claimed["locked_by"] == "first"
    await workers.start(
        "second",
        {"slow": handler("second", sets=second_returned)},
        WorkerOptions(concurrency=1, lease_seconds=30, poll_interval=0.05),
    )

    done = await wait_for(job_in(conn, job_id, "done"), "the second worker finished the job", workers=workers)
    assert done["attempts"] == 2

    async def first_returned() -> bool:
        return "first returned" in calls

    await wait_for(first_returned, "the first handler returned", workers=workers)
    await workers.stop(first)  # returns once the first worker has dealt with its handler's end

    assert calls == ["first started", "second started", "second returned", "first returned"]
    after = await job(conn, job_id)
    assert (after["status"], after["attempts"], after["locked_by"], after["last_error"]) == ("done", 2, None, None)
    assert after["updated_at"] == done["updated_at"], "the first worker changed the job after losing it"
    ran = await conn.fetch("SELECT actor FROM events WHERE kind = 'test_handler_ran'")
    assert [row["actor"] for row in ran] == ["second"], "the first run's work was committed"


# Long handlers


async def test_run_worker_lets_a_handler_hold_its_transaction_for_the_whole_lease(
    conn: asyncpg.Connection, settings: Settings, database_urls: DatabaseUrls
) -> None:
    """The service's sessions die after 10 s idle in a transaction; a job's may last its lease."""
    seen: list[str] = []

    async def probe(handler_conn: Connection, payload: dict[str, Any]) -> None:
        seen.append(await handler_conn.fetchval("SHOW idle_in_transaction_session_timeout"))

    stop = asyncio.Event()
    options = WorkerOptions(lease_seconds=120, poll_interval=0.05)
    task = asyncio.create_task(
        run_worker(settings, dsn=database_urls.app, handlers={"probe": probe}, options=options, stop=stop)
    )
    try:
        [job_id] = await enqueue(conn, "probe", [{}])
        await wait_for(job_in(conn, job_id, "done"), "the probe job is done")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert seen == ["2min"]
