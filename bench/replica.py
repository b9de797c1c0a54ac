"""Public reads served by a streaming replica against the same reads on the primary (issue 14).

A primary and its hot standby made with the embedded server's own binaries (initdb, then
`pg_basebackup -R`; tests/support/replica.py, the pair the tests use), in a temporary folder,
with a generated catalog (bookshop.catalog.seed: --books books with their authors, tags and
reviews) replayed on the replica before anything is measured. Two ways, same server settings:

- primary: `bookshop serve` without REPLICA_DATABASE_URL: every read on the primary;
- replica: the same with REPLICA_DATABASE_URL naming the standby: anonymous public reads on it.

Two reads: book detail (GET /books/{slug}, random live published books) and a listing
(GET /books?limit=20). `bookshop serve` (granian, 1 worker, rate limit off) on loopback, 16
clients in this process, anonymous, one request at a time each; rounds alternate the ways (a
fresh server each round), each with a 2 s warm-up and SECONDS measured; the figures are each
way's median round. Every answer must be a 200. Where the reads went is counted, not assumed:
the transactions each server committed in the round's database (pg_stat_database.xact_commit,
read after the server stopped, when its sessions have flushed their statistics).

Both servers share this machine's cores, so the replica cannot make a read faster here; what
it shows is the cost of the routing (the same speed) and that the primary is spared the reads.

Run from the project root:
    uv run python bench/replica.py [--books N] [--seconds S] [--rounds R]
"""

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from measure import Metrics, median_metrics, metrics, positive_float, positive_int
from recording import PROJECT_ROOT, RunReport, command, machine_facts, now, publish_run
from served import free_port, start_server, stop_server, wait_ready

from bookshop.catalog import seed as catalog_seed
from bookshop.db import admin, migrations
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls, with_database, with_user
from bookshop.settings import Settings

sys.path.insert(0, str(PROJECT_ROOT))  # the tests' pair of servers, shared with the tests
from tests.support.replica import StreamingPair

BENCH_DIR = Path(__file__).resolve().parent
SERVE_LOG = BENCH_DIR / ".data" / "replica-serve.log"
DATABASE = "bookshop_bench"
CLIENTS = 16
WARMUP_SECONDS = 2.0
SAMPLE_SLUGS = 2_000
WAYS = ("primary", "replica")
READS = ("book detail", "listing")
# Bench-only SQL: sampling slugs, and counting where transactions ran.
SAMPLE_SLUGS_SQL = "SELECT slug FROM books WHERE is_published AND deleted_at IS NULL ORDER BY random() LIMIT $1"
COMMITS_SQL = "SELECT xact_commit FROM pg_stat_database WHERE datname = $1"


@dataclass(frozen=True)
class Round:
    metrics: Metrics
    requests: int
    primary_commits: int
    replica_commits: int


@dataclass(frozen=True)
class Way:
    read: str
    way: str
    rounds: list[Round]
    median: Metrics
    ratio_to_primary: float


@dataclass(frozen=True)
class Report(RunReport):
    results: list[Way]


def urls_on(server_url: str) -> DatabaseUrls:
    url = with_database(server_url, DATABASE)
    return DatabaseUrls(app=with_user(url, admin.APP_ROLE), owner=with_user(url, admin.OWNER_ROLE))


async def prepare(pair: StreamingPair, books: int) -> list[str]:
    """The catalog on the primary, replayed on the replica; a sample of its slugs."""
    admin.bootstrap(pair.primary.url(), database=DATABASE)
    urls = urls_on(pair.primary.url())
    migrations.apply(urls.owner)
    started = time.monotonic()
    owner = await connect(Settings(statement_timeout_ms=0, command_timeout=900.0), dsn=urls.owner)
    try:
        await catalog_seed.generate(owner, catalog=catalog_seed.plan(books=books))
        await owner.execute("VACUUM (ANALYZE)")
        slugs: list[str] = [row["slug"] for row in await owner.fetch(SAMPLE_SLUGS_SQL, SAMPLE_SLUGS)]
    finally:
        await owner.close()
    while True:  # the replica replays the load in a few seconds
        if await pair.caught_up():
            break
        await asyncio.sleep(0.2)
    print(f"{books:,} books generated and replayed in {time.monotonic() - started:.1f} s", flush=True)
    return slugs


async def commits(pair: StreamingPair) -> tuple[int, int]:
    primary = await pair.primary.fetchval(COMMITS_SQL, DATABASE)
    replica = await pair.replica.fetchval(COMMITS_SQL, DATABASE)
    assert isinstance(primary, int)
    assert isinstance(replica, int)
    return primary, replica


async def client_loop(
    client: httpx.AsyncClient, path: Callable[[], str], start: float, end: float, latencies: list[float]
) -> int:
    requests = 0
    while (began := time.perf_counter()) < end:
        response = await client.get(path())
        if response.status_code != 200:
            raise RuntimeError(f"GET {response.url} answered {response.status_code}: {response.text[:200]}")
        requests += 1
        if began >= start:
            latencies.append(time.perf_counter() - began)
    return requests


async def one_round(pair: StreamingPair, way: str, path: Callable[[], str], seconds: float) -> Round:
    settings = {"REPLICA_DATABASE_URL": urls_on(pair.replica.url()).app} if way == "replica" else {}
    before = await commits(pair)
    port = free_port()
    server = start_server(urls_on(pair.primary.url()), port, env=dict(os.environ), log=SERVE_LOG, settings=settings)
    try:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            await wait_ready(client, server, log=SERVE_LOG)
            start = time.perf_counter() + WARMUP_SECONDS
            latencies: list[float] = []
            async with asyncio.TaskGroup() as group:
                loops = [
                    group.create_task(client_loop(client, path, start, start + seconds, latencies))
                    for _ in range(CLIENTS)
                ]
    finally:
        stop_server(server)
    after = await commits(pair)
    return Round(
        metrics=metrics(latencies, seconds),
        requests=sum(loop.result() for loop in loops),
        primary_commits=after[0] - before[0],
        replica_commits=after[1] - before[1],
    )


async def run(books: int, seconds: float, rounds: int) -> Report:
    SERVE_LOG.parent.mkdir(parents=True, exist_ok=True)
    pair = await asyncio.to_thread(StreamingPair.create)
    try:
        slugs = await prepare(pair, books)
        paths: dict[str, Callable[[], str]] = {
            "book detail": lambda: f"/books/{random.choice(slugs)}",
            "listing": lambda: "/books?limit=20",
        }
        results = []
        for read in READS:
            measured: dict[str, list[Round]] = {way: [] for way in WAYS}
            for round_number in range(1, rounds + 1):
                for way in WAYS:
                    result = await one_round(pair, way, paths[read], seconds)
                    measured[way].append(result)
                    m = result.metrics
                    print(
                        f"{read}, round {round_number}, {way}: {m.ops_per_second:,.0f} requests/s, "
                        f"p50 {m.p50_ms:.2f} / p95 {m.p95_ms:.2f} ms; {result.requests:,} requests, "
                        f"commits: primary {result.primary_commits:,}, replica {result.replica_commits:,}",
                        flush=True,
                    )
            on_primary = median_metrics([r.metrics for r in measured["primary"]])
            for way in WAYS:
                median = median_metrics([r.metrics for r in measured[way]])
                ratio = median.ops_per_second / on_primary.ops_per_second
                results.append(Way(read=read, way=way, rounds=measured[way], median=median, ratio_to_primary=ratio))
    finally:
        await asyncio.to_thread(pair.close)
    setup = (
        f"a primary and its streaming hot standby (pg_basebackup -R, embedded PostgreSQL binaries) on this "
        f"machine; {books:,} generated books; bookshop serve (granian, 1 worker) on loopback, {CLIENTS} anonymous "
        f"httpx clients in one process; {rounds} rounds of {seconds:g} s after a {WARMUP_SECONDS:g} s warm-up, "
        f"ways alternating, a fresh server each round; median round per way"
    )
    return Report(
        benchmark="replica",
        date=now(),
        command=command(__file__, sys.argv[1:]),
        machine=machine_facts({"httpx": httpx.__version__}),
        setup=setup,
        results=results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--books", type=positive_int, default=20_000, help="generated books (20,000)")
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="measured seconds per round (8)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of the two ways per read (3)")
    args = parser.parse_args()
    report = asyncio.run(run(args.books, args.seconds, args.rounds))
    rows = []
    for result in report.results:
        commits_by_round = result.rounds[len(result.rounds) // 2]
        rows.append(
            f"| {result.read} | {result.way} | {result.median.ops_per_second:,.0f} "
            f"| {result.median.p50_ms:.2f} | {result.median.p95_ms:.2f} | {result.ratio_to_primary:.2f} "
            f"| {commits_by_round.requests:,} | {commits_by_round.primary_commits:,} "
            f"| {commits_by_round.replica_commits:,} |"
        )
    table = "\n".join(
        [
            "| read | served by | requests/s | p50 ms | p95 ms | vs primary | requests (middle round) "
            "| primary commits | replica commits |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    publish_run("replica", report, table)


if __name__ == "__main__":
    main()
