"""What asyncpg's per-release reset query costs: one get_user workload on two pools.

Pool A lends asyncpg's own Connection, whose release runs the reset query
(`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`), one more round trip per
request. Pool B is the project's create_pool (PooledConnection, no reset query). Both have the
same size, codecs, timeouts and session settings. Each iteration acquires a connection, runs the
named query get_user for a random live user, and releases it; latency spans all three.

Rounds alternate A, B, A, B…, each on a fresh pool with a warm-up; the median round per variant
is reported, printed and recorded in bench/results/ (reset_query.json, README.md).

Run from the project root:
    uv run python bench/reset_query.py [--rows N] [--clients C] [--seconds S] [--rounds R]

The data lives in an embedded PostgreSQL in bench/.data/pg, generated on the first run and reused
while the row count matches; the server is stopped at the end.
"""

import argparse
import asyncio
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from measure import Metrics, add_load_arguments, median_metrics, metrics, positive_int, ratio
from recording import command, machine_facts, now, publish

from bookshop.db import embedded, migrations
from bookshop.db.pool import Pool, create_pool, init_connection, server_settings
from bookshop.db.queries import queries
from bookshop.db.urls import DatabaseUrls, with_user
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "pg"

DATABASE = "bookshop_bench"
POOL_SIZE = 16  # min and max, for both pools
SAMPLE_IDS = 10_000
WARMUP_SECONDS = 2.0

# --- SQL for the data set (bench only; the service's queries live in sql/) -------------------

COUNT_USERS = "SELECT count(*) FROM users"

# One server-side statement. Users registered over the last five years: each id is a UUIDv7
# shifted back by a random age (PostgreSQL 18's uuidv7(shift)) and created_at is the time in it,
# so ids sort by registration as the service's own do. Unique emails, 576 name combinations,
# 1 % staff and 0.1 % admins, 2 % inactive, 0.5 % soft-deleted, 1 in 7 never signed in, last
# sign-in between registration and now. Each subquery has volatile outputs, so PostgreSQL
# evaluates it once per row instead of folding it into the outer query.
GENERATE_USERS = """
INSERT INTO users (id, email, name, role, is_active, preferences, last_login_at, deleted_at, created_at, updated_at)
SELECT id,
       'user' || n || '@bench.example',
       (ARRAY['Ada', 'Alan', 'Barbara', 'Claude', 'Dorothy', 'Edsger', 'Frances', 'Grace',
              'Hedy', 'Ivan', 'Joan', 'John', 'Karen', 'Ken', 'Leslie', 'Margaret',
              'Niklaus', 'Radia', 'Rosalind', 'Sophie', 'Tim', 'Ursula', 'Whitfield', 'Yukihiro'])[1 + n % 24]
       || ' ' ||
       (ARRAY['Allen', 'Backus', 'Cerf', 'Dijkstra', 'Engelbart', 'Floyd', 'Goldberg', 'Hamilton',
              'Hopper', 'Kay', 'Knuth', 'Lamport', 'Liskov', 'Lovelace', 'McCarthy', 'Perlman',
              'Ritchie', 'Shannon', 'Sutherland', 'Thompson', 'Turing', 'Wilkes', 'Wirth', 'Zuse'])[1 + (n / 24) % 24],
       CASE WHEN n % 1000 = 0 THEN 'admin' WHEN n % 100 = 0 THEN 'staff' ELSE 'customer' END,
       n % 50 <> 0,
       jsonb_build_object(
           'newsletter', n % 3 = 0,
           'language', (ARRAY['en', 'de', 'fr', 'es', 'it'])[1 + n % 5],
           'currency', (ARRAY['EUR', 'USD', 'GBP'])[1 + (n / 7) % 3],
           'theme', CASE WHEN n % 4 = 0 THEN 'dark' ELSE 'light' END
       ),
       CASE WHEN n % 7 <> 0 THEN created_at + since_created * login_lag END,
       CASE WHEN n % 200 = 0 THEN created_at + since_created / 2 END,
       created_at,
       CASE WHEN n % 200 = 0 THEN created_at + since_created / 2 ELSE created_at END
FROM (
    SELECT n, id, login_lag, created_at, clock_timestamp() - created_at AS since_created
    FROM (
        SELECT n, id, login_lag, uuid_extract_timestamp(id) AS created_at
        FROM (
            SELECT n, uuidv7(-make_interval(secs => random() * 5 * 365.25 * 86400)) AS id, random() AS login_lag
            FROM generate_series(1, $1::int) AS n
        ) AS with_ids
    ) AS with_created_at
) AS generated
"""

SAMPLE_LIVE_IDS = "SELECT id FROM users WHERE deleted_at IS NULL ORDER BY random() LIMIT $1"

# --- the two pools ---------------------------------------------------------------------------

PoolFactory = Callable[[Settings, str], Awaitable[Pool]]


async def default_pool(settings: Settings, dsn: str) -> Pool:
    """Pool A: as create_pool's, but with asyncpg's own Connection class and its reset query."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        command_timeout=settings.command_timeout,
        init=init_connection,
        server_settings=server_settings(settings),
    )
    assert pool is not None  # create_pool returns None only when not awaited
    return pool


async def project_pool(settings: Settings, dsn: str) -> Pool:
    """Pool B: the project's pool, whose PooledConnection has no reset query."""
    return await create_pool(settings, dsn=dsn)


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    make_pool: PoolFactory


VARIANTS = (
    Variant("A", "asyncpg.Connection (default reset query)", default_pool),
    Variant("B", "create_pool: PooledConnection (no reset query)", project_pool),
)

# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundResult:
    variant: str
    round: int
    reset_query: str
    ops: int
    metrics: Metrics


@dataclass(frozen=True)
class DataSet:
    rows: int
    ids: list[uuid.UUID]
    postgresql: str


# --- data set --------------------------------------------------------------------------------


async def generate_users(conn: asyncpg.Connection, rows: int, existing: int) -> None:
    if existing:
        print(f"users holds {existing:,} rows, not {rows:,}: regenerating the data set")
        await conn.execute("TRUNCATE users CASCADE")
    print(f"generating {rows:,} users…", flush=True)
    started = time.perf_counter()
    await conn.execute(GENERATE_USERS, rows)
    await conn.execute("VACUUM ANALYZE")
    await conn.execute("CHECKPOINT")  # so no checkpoint of the load lands in a measured round
    print(f"generated in {time.perf_counter() - started:.0f} s")


async def prepare_data(dsn: str, rows: int) -> DataSet:
    """Generates the users unless their count matches; samples live ids to look up."""
    # A plain connection: the service's statement_timeout would stop the generation.
    conn = await asyncpg.connect(dsn)
    try:
        existing = await conn.fetchval(COUNT_USERS)
        if existing == rows:
            print(f"reusing {rows:,} users")
        else:
            await generate_users(conn, rows, existing)
        ids = [record["id"] for record in await conn.fetch(SAMPLE_LIVE_IDS, SAMPLE_IDS)]
        version = await conn.fetchval("SELECT version()")
    finally:
        await conn.close()
    return DataSet(rows=rows, ids=ids, postgresql=version)


# --- workload --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Requests that end between start and end are measured; none begins after end."""

    start: float
    end: float


async def client(
    pool: Pool, ids: Sequence[uuid.UUID], rng: random.Random, window: Window, latencies: list[float]
) -> None:
    get_user = queries.accounts.get_user
    while (began := time.perf_counter()) < window.end:
        async with pool.acquire() as conn:
            user = await get_user(conn, id=rng.choice(ids))
        ended = time.perf_counter()
        if user is None:
            raise RuntimeError("a sampled user is missing")
        if window.start <= ended <= window.end:
            latencies.append(ended - began)


async def reset_query_of(pool: Pool) -> str:
    async with pool.acquire() as conn:
        return conn.get_reset_query()


async def run_round(
    variant: Variant, number: int, settings: Settings, dsn: str, ids: Sequence[uuid.UUID], clients: int, seconds: float
) -> RoundResult:
    pool = await variant.make_pool(settings, dsn)
    try:
        reset_query = await reset_query_of(pool)
        now = time.perf_counter()
        window = Window(start=now + WARMUP_SECONDS, end=now + WARMUP_SECONDS + seconds)
        latencies: list[float] = []
        async with asyncio.TaskGroup() as group:
            for seed in range(clients):  # the same id sequences for every round
                group.create_task(client(pool, ids, random.Random(seed), window, latencies))
    finally:
        await pool.close()
    result = RoundResult(variant.name, number, reset_query, len(latencies), metrics(latencies, seconds))
    m = result.metrics
    print(f"round {number} {variant.name}: {m.ops_per_second:,.0f} ops/s, p50 {m.p50_ms:.3f} ms, p99 {m.p99_ms:.3f} ms")
    return result


async def run_rounds(dsn: str, data: DataSet, args: argparse.Namespace) -> list[RoundResult]:
    settings = Settings(pool_min_size=POOL_SIZE, pool_max_size=POOL_SIZE)
    results: list[RoundResult] = []
    for number in range(1, args.rounds + 1):
        for variant in VARIANTS:  # A, B, A, B…
            results.append(await run_round(variant, number, settings, dsn, data.ids, args.clients, args.seconds))
    return results


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantReport:
    description: str
    reset_query: str
    median: Metrics
    rounds: list[RoundResult]


@dataclass(frozen=True)
class Report:
    date: str
    command: str
    machine: dict[str, str]
    postgresql: str
    connection: str
    rows: int
    sampled_ids: int
    clients: int
    pool_min_max: int
    warmup_seconds: float
    seconds: float
    rounds_per_variant: int
    order: list[str]
    variants: dict[str, VariantReport]
    ratio_b_over_a: Metrics
    benchmark: str = "reset_query"


def variant_report(variant: Variant, rounds: Sequence[RoundResult]) -> VariantReport:
    mine = [r for r in rounds if r.variant == variant.name]
    return VariantReport(variant.description, mine[0].reset_query, median_metrics([r.metrics for r in mine]), mine)


def build_report(data: DataSet, rounds: list[RoundResult], args: argparse.Namespace, argv: Sequence[str]) -> Report:
    variants = {variant.name: variant_report(variant, rounds) for variant in VARIANTS}
    return Report(
        date=now(),
        command=command(__file__, argv),
        machine=machine_facts({"asyncpg": asyncpg.__version__}),
        postgresql=data.postgresql,
        connection="Unix socket, client and server on the same machine",
        rows=data.rows,
        sampled_ids=len(data.ids),
        clients=args.clients,
        pool_min_max=POOL_SIZE,
        warmup_seconds=WARMUP_SECONDS,
        seconds=args.seconds,
        rounds_per_variant=args.rounds,
        order=[r.variant for r in rounds],
        variants=variants,
        ratio_b_over_a=ratio(variants["B"].median, variants["A"].median),
    )


def table(report: Report) -> str:
    """The medians and the B/A ratios as a Markdown table."""
    lines = ["| variant | ops/s | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    for name, variant in report.variants.items():
        m = variant.median
        label = f"{name}: {variant.description}"
        lines.append(f"| {label} | {m.ops_per_second:,.0f} | {m.p50_ms:.3f} | {m.p95_ms:.3f} | {m.p99_ms:.3f} |")
    r = report.ratio_b_over_a
    lines.append(f"| B/A | {r.ops_per_second:.2f}x | {r.p50_ms:.2f}x | {r.p95_ms:.2f}x | {r.p99_ms:.2f}x |")
    return "\n".join(lines)


def readme_section(report: Report) -> str:
    machine = report.machine
    per_round = "; ".join(
        f"{name} " + " / ".join(f"{r.metrics.ops_per_second:,.0f}" for r in variant.rounds)
        for name, variant in report.variants.items()
    )
    reset_query = " ".join(report.variants["A"].reset_query.split()) or "(none)"
    return f"""
## {report.date}: reset_query

Command (from the project root): `{report.command}`

- Machine: nproc {machine["nproc"]}, {machine["cpu"]}, {machine["platform"]}; Python {machine["python"]}, \
asyncpg {machine["asyncpg"]}; {report.connection}
- PostgreSQL: {report.postgresql}
- Data: {report.rows:,} rows in users; get_user by {report.sampled_ids:,} random live ids
- Load: {report.clients} clients (asyncio tasks), pool min/max {report.pool_min_max}, \
{report.warmup_seconds:g} s warm-up + {report.seconds:g} s measured per round, order \
{", ".join(report.order)}; medians per variant
- A's reset query on release: `{reset_query}`; B's: none

{table(report)}

Per round, ops/s: {per_round}.
"""


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=positive_int, default=1_000_000, help="users in the data set (1,000,000)")
    add_load_arguments(parser)
    return parser.parse_args(argv)


async def benchmark(urls: DatabaseUrls, args: argparse.Namespace, argv: Sequence[str]) -> Report:
    # The data set is loaded as the superuser (it ends with a CHECKPOINT), and read as the
    # service reads it: as the application role.
    superuser_url = with_user(urls.owner, "postgres")
    data = await prepare_data(superuser_url, args.rows)
    rounds = await run_rounds(urls.app, data, args)
    return build_report(data, rounds, args, argv)


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    try:
        urls = embedded.database_urls(PGDATA, database=DATABASE)
        migrations.apply(urls.owner)
        report = asyncio.run(benchmark(urls, args, argv))
    finally:
        embedded.stop(PGDATA)
    publish(report.benchmark, report, table=table(report), section=readme_section(report))


if __name__ == "__main__":
    main(sys.argv[1:])
