"""Jobs per second through `bookshop worker` with 1, 2 and 4 worker processes (issue 4).

For each worker count: the queue is emptied, the workers are started (`bookshop worker
--concurrency C`, application role) and left to go idle, then N no-op jobs are queued in one
statement; the clock runs from that commit (whose NOTIFY wakes the workers) until no job is
queued or running. Then every job must be done exactly once: N jobs 'done', none claimed twice
(attempts = 1), none failed. Workers get SIGTERM and must exit 0. Goal: at least 1,000 jobs/s
with 4 workers, zero duplicates. Results are printed and recorded in bench/results/ (jobs.json,
README.md).

Run from the project root:
    uv run python bench/jobs.py [--jobs N] [--concurrency C] [--rounds R]

The database is an embedded PostgreSQL in bench/.data/jobs, migrated on each run; the server is
stopped at the end.
"""

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from measure import positive_int
from recording import PROJECT_ROOT, RunReport, command, machine_facts, now, publish, section

from bookshop.db import embedded, migrations

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "jobs"
WORKER_LOG = BENCH_DIR / ".data" / "jobs-workers.log"
WORKER_COUNTS = (1, 2, 4)
GOAL_JOBS_PER_SECOND = 1_000.0
GOAL_WORKERS = 4
IDLE_SECONDS = 3.0  # for the workers to start, claim nothing and wait on LISTEN
DEADLINE_SECONDS = 300.0

# Bench-only SQL: the data set and the checks (the service's queries live in sql/).
CLEAR_JOBS = "TRUNCATE jobs"
QUEUE_NOOPS = (
    "INSERT INTO jobs (kind, payload) SELECT 'noop', jsonb_build_object('n', n) FROM generate_series(1, $1) AS n"
)
UNFINISHED = "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"
OUTCOME = """
SELECT count(*) FILTER (WHERE status = 'done') AS done,
       count(*) FILTER (WHERE attempts > 1) AS claimed_twice,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(DISTINCT locked_by) AS workers_left_locked
FROM jobs
"""


@dataclass(frozen=True)
class Round:
    workers: int
    jobs: int
    seconds: float
    jobs_per_second: float
    done: int
    claimed_twice: int
    failed: int
    exit_codes: list[int]


@dataclass(frozen=True)
class Report(RunReport):
    rounds: list[Round]  # the best of --rounds per worker count
    goal: str
    goal_met: bool


def start_workers(count: int, concurrency: int, app_url: str) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DATABASE_URL")}
    env.update(DATABASE_URL=app_url, LOG_LEVEL="WARNING")
    with WORKER_LOG.open("ab") as log:
        return [
            subprocess.Popen(
                [sys.executable, "-m", "bookshop.cli", "worker", "--concurrency", str(concurrency)],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            for _ in range(count)
        ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> list[int]:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    codes = []
    for worker in workers:
        try:
            codes.append(worker.wait(timeout=30))
        except subprocess.TimeoutExpired:
            worker.kill()
            codes.append(worker.wait())
    return codes


async def one_round(owner: asyncpg.Connection, app_url: str, *, workers: int, jobs: int, concurrency: int) -> Round:
    await owner.execute(CLEAR_JOBS)
    processes = start_workers(workers, concurrency, app_url)
    try:
        await asyncio.sleep(IDLE_SECONDS)
        if any(process.poll() is not None for process in processes):
            raise RuntimeError(f"a worker exited at start; see {WORKER_LOG}")
        started = time.perf_counter()
        await owner.execute(QUEUE_NOOPS, jobs)
        while await owner.fetchval(UNFINISHED):
            if time.perf_counter() - started > DEADLINE_SECONDS:
                raise RuntimeError(f"{jobs:,} jobs were not done within {DEADLINE_SECONDS:g} s")
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
    finally:
        codes = stop_workers(processes)
    outcome = await owner.fetchrow(OUTCOME)
    measured = Round(
        workers=workers,
        jobs=jobs,
        seconds=seconds,
        jobs_per_second=jobs / seconds,
        done=outcome["done"],
        claimed_twice=outcome["claimed_twice"],
        failed=outcome["failed"],
        exit_codes=codes,
    )
    print(
        f"  {workers} worker(s): {measured.jobs_per_second:,.0f} jobs/s ({seconds:.2f} s); done {measured.done:,}, "
        f"claimed twice {measured.claimed_twice}, failed {measured.failed}, exit codes {codes}",
        flush=True,
    )
    return measured


def table(report: Report) -> str:
    lines = [
        "| workers | jobs | seconds | jobs/s | done | claimed twice | failed | exit codes |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report.rounds:
        lines.append(
            f"| {r.workers} | {r.jobs:,} | {r.seconds:.2f} | {r.jobs_per_second:,.0f} | {r.done:,} | "
            f"{r.claimed_twice} | {r.failed} | {r.exit_codes} |"
        )
    lines.append(f"\nGoal: {report.goal}: **{'met' if report.goal_met else 'not met'}**")
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> Report:
    WORKER_LOG.parent.mkdir(parents=True, exist_ok=True)
    WORKER_LOG.write_bytes(b"")
    urls = embedded.database_urls(PGDATA)
    migrations.apply(urls.owner)
    owner = await asyncpg.connect(urls.owner)
    try:
        best: list[Round] = []
        for workers in WORKER_COUNTS:
            print(f"{workers} worker(s), {args.jobs:,} no-op jobs, {args.rounds} round(s):", flush=True)
            rounds = [
                await one_round(owner, urls.app, workers=workers, jobs=args.jobs, concurrency=args.concurrency)
                for _ in range(args.rounds)
            ]
            best.append(max(rounds, key=lambda r: r.jobs_per_second))
        await owner.execute(CLEAR_JOBS)
    finally:
        await owner.close()
        embedded.stop(PGDATA)
    at_goal = next(r for r in best if r.workers == GOAL_WORKERS)
    clean = all(
        r.done == r.jobs and r.claimed_twice == 0 and r.failed == 0 and r.exit_codes == [0] * r.workers for r in best
    )
    return Report(
        benchmark="jobs",
        date=now(),
        command=command(Path(__file__), sys.argv[1:]),
        machine=machine_facts(),
        setup=(
            f"`bookshop worker --concurrency {args.concurrency}` processes (application role, embedded PostgreSQL 18 "
            f"on the same 2 cores), started and idle {IDLE_SECONDS:g} s before {args.jobs:,} no-op jobs are queued in "
            f"one INSERT; timed from that commit until none is queued or running; best of {args.rounds} round(s)."
        ),
        rounds=best,
        goal=f">= {GOAL_JOBS_PER_SECOND:,.0f} jobs/s with {GOAL_WORKERS} workers, every job done once, "
        "workers exit 0 on SIGTERM",
        goal_met=at_goal.jobs_per_second >= GOAL_JOBS_PER_SECOND and clean,
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=positive_int, default=20_000)
    parser.add_argument("--concurrency", type=positive_int, default=16)
    parser.add_argument("--rounds", type=positive_int, default=2)
    report = asyncio.run(run(parser.parse_args(argv)))
    body = f"{report.setup}\n\n{table(report)}"
    record = section(report.benchmark, date=report.date, command=report.command, machine=report.machine, body=body)
    publish(report.benchmark, report, table=table(report), section=record)


if __name__ == "__main__":
    main(sys.argv[1:])
