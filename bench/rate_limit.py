"""What the rate limit costs per request, by where it counts (issue 15).

Two measurements:

1. Through HTTP. `bookshop serve --workers 1` (granian, access lines off) on loopback against an
   embedded PostgreSQL in bench/.data/rate_limit with 1,000 generated books; CLIENTS kept-alive
   anonymous httpx clients (so one address budget, the hottest key a store can have) GET
   /books/{slug} over 200 books in turn. Variants: the limit off; on, in memory
   (RATE_LIMIT_STORE=memory); on, in a Redis (Debian's redis-server on a free loopback port).
   The limit is high enough that nothing is refused. Rounds alternate the variants, a fresh
   server each round; the figures are each variant's median round.
2. The counting step alone, in this process: one task, then CLIENTS tasks, counting hits on one
   budget for SECONDS each, by the service's own MemoryCounter and RedisCounter (http/rate_limit.py), and
   by the PostgreSQL candidate that was measured and not adopted: one upsert of a counter row
   in an UNLOGGED table per request on the asyncpg pool (the statement is below, bench-only).

Results are printed and recorded in bench/results/ (rate_limit.json, README.md).

Run from the project root (redis-server on the PATH: apt-get install redis-server):
    uv run python bench/rate_limit.py [--seconds S] [--rounds R] [--clients C]
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import redis
from measure import Metrics, median_metrics, metrics, positive_float, positive_int
from recording import RunReport, command, machine_facts, now, publish_run
from served import drive, free_port, start_server, stop_server

from bookshop.catalog import seed as catalog_seed
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect, create_pool
from bookshop.http.rate_limit import MemoryCounter, RedisCounter
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "rate_limit"
SERVE_LOG = BENCH_DIR / ".data" / "rate_limit-serve.log"
BOOKS = 1_000
WARMUP_SECONDS = 2.0
LIMIT = 100_000_000  # per minute: counted, never reached
HTTP_VARIANTS = ("off", "memory", "redis")
# bench-only SQL.
SLUGS = "SELECT slug FROM books WHERE is_published AND deleted_at IS NULL ORDER BY id LIMIT 200"
COUNTER_TABLE = """CREATE UNLOGGED TABLE IF NOT EXISTS bench_rate_windows (
    bucket text PRIMARY KEY, ends_at timestamptz NOT NULL, hits integer NOT NULL)"""
# One round trip per request: a new window when there is none or it ended, else one more hit.
COUNT_HIT = """
INSERT INTO bench_rate_windows AS w (bucket, ends_at, hits) VALUES ($1, now() + interval '60 seconds', 1)
ON CONFLICT (bucket) DO UPDATE SET
    hits = CASE WHEN w.ends_at <= now() THEN 1 ELSE w.hits + 1 END,
    ends_at = CASE WHEN w.ends_at <= now() THEN now() + interval '60 seconds' ELSE w.ends_at END
RETURNING hits, ceil(extract(epoch FROM w.ends_at - now()))::int AS resets_in"""


@dataclass(frozen=True)
class Variant:
    name: str
    rounds: list[Metrics]
    median: Metrics
    ratio_to_off: float
    added_p50_ms: float


@dataclass(frozen=True)
class StepResult:
    store: str
    clients: int
    hits_per_second: float
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class Report(RunReport):
    http: list[Variant]
    counting_step: list[StepResult]


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Debian's redis-server on a free loopback port, nothing saved; its URL."""
    found = shutil.which("redis-server", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if not found:
        raise SystemExit("this benchmark needs redis-server: apt-get install redis-server")
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    server = subprocess.Popen(
        [found, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start within 15 s")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


async def prepare() -> list[str]:
    urls = embedded.database_urls(PGDATA)
    migrations.apply(urls.owner)
    owner = await connect(Settings(statement_timeout_ms=0, command_timeout=600.0), dsn=urls.owner)
    try:
        slugs = [row["slug"] for row in await owner.fetch(SLUGS)]
        if len(slugs) < 200:
            await catalog_seed.generate(owner, catalog=catalog_seed.plan(books=BOOKS))
            slugs = [row["slug"] for row in await owner.fetch(SLUGS)]
        await owner.execute(COUNTER_TABLE)
    finally:
        await owner.close()
    return [f"/books/{slug}" for slug in slugs]


async def http_round(variant: str, paths: list[str], redis_url: str, *, clients: int, seconds: float) -> Metrics:
    settings = {"RATE_LIMIT_PER_MINUTE": "0" if variant == "off" else str(LIMIT)}
    if variant != "off":
        settings["RATE_LIMIT_STORE"] = redis_url if variant == "redis" else "memory"
        redis.Redis.from_url(redis_url).flushall()
    port = free_port()
    server = start_server(embedded.database_urls(PGDATA), port, env=dict(os.environ), log=SERVE_LOG, settings=settings)
    try:
        return await drive(
            port, server, log=SERVE_LOG, paths=paths, clients=clients, seconds=seconds, warmup_seconds=WARMUP_SECONDS
        )
    finally:
        stop_server(server)


async def counting_step(name: str, hit: Callable[[], Awaitable[object]], *, clients: int, seconds: float) -> StepResult:
    latencies: list[float] = []
    end = time.perf_counter() + seconds

    async def one_client() -> None:
        while (began := time.perf_counter()) < end:
            await hit()
            latencies.append(time.perf_counter() - began)

    async with asyncio.TaskGroup() as group:
        for _ in range(clients):
            group.create_task(one_client())
    measured = metrics(latencies, seconds)
    return StepResult(name, clients, measured.ops_per_second, measured.p50_ms, measured.p95_ms)


async def counting_steps(redis_url: str, *, clients: int, seconds: float) -> list[StepResult]:
    memory = MemoryCounter()
    shared = RedisCounter(redis_url)
    urls = embedded.database_urls(PGDATA)
    pool = await create_pool(Settings(pool_min_size=10, pool_max_size=10), dsn=urls.owner)

    async def postgres_hit() -> asyncpg.Record | None:
        async with pool.acquire() as conn:
            return await conn.fetchrow(COUNT_HIT, "address:127.0.0.1")

    hits: dict[str, Callable[[], Awaitable[object]]] = {
        "memory": lambda: memory.hit("address:127.0.0.1"),
        "redis": lambda: shared.hit("address:127.0.0.1"),
        "postgres (candidate)": postgres_hit,
    }
    try:
        # One client: what a hit adds to a request's latency; many: what they cost under load.
        return [
            await counting_step(name, hit, clients=step_clients, seconds=seconds)
            for step_clients in (1, clients)
            for name, hit in hits.items()
        ]
    finally:
        await shared.close()
        await pool.close()


async def run(seconds: float, rounds: int, clients: int) -> Report:
    paths = await prepare()
    measured: dict[str, list[Metrics]] = {name: [] for name in HTTP_VARIANTS}
    with redis_server() as redis_url:
        for round_number in range(1, rounds + 1):
            for name in HTTP_VARIANTS:
                result = await http_round(name, paths, redis_url, clients=clients, seconds=seconds)
                measured[name].append(result)
                print(
                    f"round {round_number}, limit {name}: {result.ops_per_second:,.0f} requests/s, "
                    f"p50 {result.p50_ms:.2f} / p95 {result.p95_ms:.2f} ms",
                    flush=True,
                )
        steps = await counting_steps(redis_url, clients=clients, seconds=seconds)
    off = median_metrics(measured["off"])
    http = []
    for name in HTTP_VARIANTS:
        median = median_metrics(measured[name])
        http.append(
            Variant(
                name=name,
                rounds=measured[name],
                median=median,
                ratio_to_off=median.ops_per_second / off.ops_per_second,
                added_p50_ms=median.p50_ms - off.p50_ms,
            )
        )
    setup = (
        f"HTTP: bookshop serve (granian, 1 worker) on loopback; embedded PostgreSQL 18 with {BOOKS:,} generated "
        f"books; {clients} kept-alive anonymous httpx clients in one process on the same machine, GET "
        f"/books/{{slug}} over {len(paths)} books; {rounds} rounds of {seconds:g} s after a {WARMUP_SECONDS:g} s "
        f"warm-up, variants alternating, a fresh server each round; median round per variant. Counting step: "
        f"1 and {clients} tasks in one process for {seconds:g} s per store on one budget; Redis is Debian's "
        f"redis-server on loopback, PostgreSQL the same embedded server (pool of 10)"
    )
    return Report(
        benchmark="rate_limit",
        date=now(),
        command=command(__file__, sys.argv[1:]),
        machine=machine_facts({"httpx": httpx.__version__, "redis-py": redis.__version__}),
        setup=setup,
        http=http,
        counting_step=steps,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="measured seconds per round (8)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of the three variants (3)")
    parser.add_argument("--clients", type=positive_int, default=16, help="concurrent clients (16)")
    args = parser.parse_args()
    try:
        report = asyncio.run(run(args.seconds, args.rounds, args.clients))
    finally:
        embedded.stop(PGDATA)
    http_rows = [
        f"| {v.name} | {v.median.ops_per_second:,.0f} | {v.median.p50_ms:.2f} | {v.median.p95_ms:.2f} "
        f"| {v.ratio_to_off:.2f} | {v.added_p50_ms:+.2f} |"
        for v in report.http
    ]
    step_rows = [
        f"| {s.store} | {s.clients} | {s.hits_per_second:,.0f} | {s.p50_ms:.3f} | {s.p95_ms:.3f} |"
        for s in report.counting_step
    ]
    table = "\n".join(
        [
            "| rate limit | requests/s | p50 ms | p95 ms | vs off | p50 added, ms |",
            "|---|---:|---:|---:|---:|---:|",
            *http_rows,
            "",
            "| counting step | clients | hits/s | p50 ms | p95 ms |",
            "|---|---:|---:|---:|---:|",
            *step_rows,
        ]
    )
    publish_run("rate_limit", report, table)


if __name__ == "__main__":
    main()
