"""What row-level security costs on a private read: get_settings with and without the policy.

The same read of a user's settings, for the same random users, four ways:

- A, no RLS: a pool as the owner role, which row-level security does not apply to, and the
  query on a plain `database.connection()`, no transaction (what a public read costs).
- B, RLS as served: a pool as the application role and `database.transaction(caller)` for a
  customer, exactly as the service reads a private table: BEGIN, set_config through act_as,
  the query under the user_settings policy, COMMIT.
- C, transaction only: B's transaction and set_config on the owner's pool, so no policy
  applies. B - C is the policy's evaluation, C - A the extra round trips.
- D, RLS as served since migration 0021: the application role, `database.connection()` and
  the named query get_settings, whose function read_settings names the caller in a statement
  of its own and then reads: one statement, one round trip, no transaction.

Before timing it checks that A, B, C and D return the same settings for a sample user, that the
customer sees only their own rows and the owner all of them, and that the application role
with no caller sees none. Each iteration acquires a connection, runs the query (in B and C
inside the caller's transaction) and releases it; latency spans all of it.

Rounds alternate A, B, C, D, A, B, C, D…, each on a fresh pool with a warm-up; the median round per
variant is reported, printed and recorded in bench/results/ (rls_cost.json, README.md).

Run from the project root:
    uv run python bench/rls_cost.py [--users N] [--clients C] [--seconds S] [--rounds R]

The data lives in an embedded PostgreSQL in bench/.data/rls, generated on the first run and
reused while the row counts match; the server is stopped at the end.
"""

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from measure import Metrics, add_load_arguments, median_metrics, metrics, positive_int, ratio
from recording import command, machine_facts, now, publish

from bookshop.db import embedded, migrations
from bookshop.db.pool import Database, create_pool
from bookshop.db.queries import queries
from bookshop.db.urls import DatabaseUrls, with_user
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "rls"

DATABASE = "bookshop_rls_bench"
POOL_SIZE = 16  # min and max, for every pool
SAMPLE_IDS = 10_000
SETTINGS_PER_USER = 5
WARMUP_SECONDS = 2.0

# --- SQL for the data set and the checks (bench only; the service's queries live in sql/) ----

COUNT_USERS = "SELECT count(*) FROM users"
COUNT_SETTINGS = "SELECT count(*) FROM user_settings"  # also: how many rows a role sees

# Live customers; ids come from the column's default (UUIDv7).
GENERATE_USERS = """
INSERT INTO users (email, name)
SELECT 'user' || n || '@rls.bench.example', 'Bench User ' || n
FROM generate_series(1, $1::int) AS n
"""

# Five settings per user with small jsonb values that vary by user; each user's rows are
# written together, as one user's settings page would write them.
GENERATE_SETTINGS = """
INSERT INTO user_settings (user_id, key, value)
SELECT u.id, k.key,
       CASE k.key
           WHEN 'theme' THEN to_jsonb((ARRAY['light', 'dark', 'system'])[1 + u.n % 3])
           WHEN 'lang' THEN to_jsonb((ARRAY['en', 'de', 'fr', 'es', 'it'])[1 + u.n % 5])
           WHEN 'page.size' THEN to_jsonb((ARRAY[10, 20, 50, 100])[1 + u.n % 4])
           WHEN 'tz' THEN to_jsonb((ARRAY['UTC', 'Europe/Berlin', 'Europe/London', 'America/New_York',
                                          'Asia/Tokyo'])[1 + u.n % 5])
           ELSE jsonb_build_object('email', u.n % 2 = 0, 'push', u.n % 3 = 0)
       END
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) AS u
CROSS JOIN (VALUES (1, 'theme'), (2, 'lang'), (3, 'page.size'), (4, 'tz'), (5, 'notify')) AS k(ord, key)
ORDER BY u.n, k.ord
"""

TABLE_SIZES = """
SELECT pg_size_pretty(pg_total_relation_size('users')) AS users,
       pg_size_pretty(pg_total_relation_size('user_settings')) AS user_settings
"""

SAMPLE_USER_IDS = "SELECT id FROM users WHERE deleted_at IS NULL ORDER BY random() LIMIT $1"

# --- the four variants ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Customer:
    """The caller B and C act for (pool.Actor): the user whose settings are read."""

    user_id: uuid.UUID
    role: str = "customer"


# The read itself, as get_settings ran it before migration 0021 and as read_settings runs it
# after naming the caller: the baseline A and the transaction variants B and C run this text.
PLAIN_GET_SETTINGS = """
SELECT coalesce(jsonb_object_agg(s.key, s.value) FILTER (WHERE s.key IS NOT NULL), '{}') AS settings
FROM users AS u
LEFT JOIN user_settings AS s ON s.user_id = u.id
WHERE u.id = $1 AND u.deleted_at IS NULL
GROUP BY u.id
"""


async def read_plain(database: Database, user_id: uuid.UUID) -> Any:
    """A: acquire, query, release; no transaction, no caller."""
    async with database.connection() as conn:
        return await conn.fetchrow(PLAIN_GET_SETTINGS, user_id)


async def read_as_caller(database: Database, user_id: uuid.UUID) -> Any:
    """B and C: a transaction acting for the user (BEGIN, set_caller, the read, COMMIT), as the
    service read a private table before migration 0021."""
    async with database.transaction(Customer(user_id)) as conn:
        return await conn.fetchrow(PLAIN_GET_SETTINGS, user_id)


async def read_in_one_statement(database: Database, user_id: uuid.UUID) -> Any:
    """D: as the service reads a private table now: get_settings, whose read_settings names the
    caller and then reads, one statement on a connection, no transaction."""
    caller = Customer(user_id)
    async with database.connection() as conn:
        return await queries.accounts.get_settings(
            conn, caller_id=caller.user_id, caller_role=caller.role, user_id=user_id
        )


Read = Callable[[Database, uuid.UUID], Awaitable[Any]]


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    role: str  # "owner" or "app": which of the DatabaseUrls the pool connects with
    read: Read


VARIANTS = (
    Variant("A", "no RLS: owner role, connection(), no transaction", "owner", read_plain),
    Variant("B", "RLS in a transaction (before 0021): app role, transaction(caller)", "app", read_as_caller),
    Variant("C", "transaction only: owner role, transaction(caller)", "owner", read_as_caller),
    Variant("D", "RLS as served: app role, connection(), get_settings (one statement)", "app", read_in_one_statement),
)


def url_for(urls: DatabaseUrls, role: str) -> str:
    return urls.owner if role == "owner" else urls.app


def pool_settings() -> Settings:
    return Settings(pool_min_size=POOL_SIZE, pool_max_size=POOL_SIZE)


async def open_database(settings: Settings, dsn: str) -> Database:
    return Database(await create_pool(settings, dsn=dsn), acquire_timeout=settings.pool_acquire_timeout)


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoundResult:
    variant: str
    round: int
    ops: int
    metrics: Metrics


@dataclass(frozen=True)
class DataSet:
    users: int
    settings_rows: int
    users_size: str
    user_settings_size: str
    ids: list[uuid.UUID]
    postgresql: str


@dataclass(frozen=True)
class Checks:
    """What the checks before timing found, for the record."""

    sample_user: str
    settings: dict[str, Any]  # get_settings for the sample user; A, B, C and D agree on it
    rows_seen_by_customer: int  # app role, transaction(caller): the user's own rows
    rows_seen_by_owner_with_caller: int  # owner role, transaction(caller): every row
    rows_seen_by_app_without_caller: int  # app role, transaction() naming no one: none
    rows_seen_by_app_outside_transaction: int  # app role, connection(): none
    plan_without_rls: list[str]  # EXPLAIN (COSTS OFF) of get_settings, as in A
    plan_with_rls: list[str]  # the same, as in B


def microseconds_per_request(m: Metrics) -> float:
    """1 / throughput: what one request costs the saturated client and server together."""
    return 1e6 / m.ops_per_second


# --- data set --------------------------------------------------------------------------------


async def generate(conn: asyncpg.Connection, users: int, existing_users: int, existing_settings: int) -> None:
    if existing_users or existing_settings:
        print(
            f"found {existing_users:,} users and {existing_settings:,} settings, "
            f"not {users:,} and {users * SETTINGS_PER_USER:,}: regenerating the data set"
        )
        await conn.execute("TRUNCATE users CASCADE")
    print(f"generating {users:,} users and {users * SETTINGS_PER_USER:,} settings…", flush=True)
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute(GENERATE_USERS, users)
        await conn.execute(GENERATE_SETTINGS)
    await conn.execute("VACUUM ANALYZE")
    await conn.execute("CHECKPOINT")  # so no checkpoint of the load lands in a measured round
    print(f"generated in {time.perf_counter() - started:.0f} s")


async def prepare_data(dsn: str, users: int) -> DataSet:
    """Generates the users and their settings unless the counts match; samples ids to read."""
    # A plain connection as the superuser: no statement_timeout, no row-level security.
    conn = await asyncpg.connect(dsn)
    try:
        existing_users = await conn.fetchval(COUNT_USERS)
        existing_settings = await conn.fetchval(COUNT_SETTINGS)
        if existing_users == users and existing_settings == users * SETTINGS_PER_USER:
            print(f"reusing {users:,} users and {existing_settings:,} settings")
        else:
            await generate(conn, users, existing_users, existing_settings)
        ids = [row["id"] for row in await conn.fetch(SAMPLE_USER_IDS, SAMPLE_IDS)]
        sizes = await conn.fetchrow(TABLE_SIZES)
        version = await conn.fetchval("SELECT version()")
        settings_rows = await conn.fetchval(COUNT_SETTINGS)
    finally:
        await conn.close()
    assert sizes is not None
    return DataSet(
        users=users,
        settings_rows=settings_rows,
        users_size=sizes["users"],
        user_settings_size=sizes["user_settings"],
        ids=ids,
        postgresql=version,
    )


# --- checks before timing -------------------------------------------------------------------


def settings_of(row: Any) -> dict[str, Any]:
    if row is None:
        raise RuntimeError("get_settings found no live user")
    settings: dict[str, Any] = row["settings"]
    return settings


async def plan(conn: Any, user_id: uuid.UUID) -> list[str]:
    sql = "EXPLAIN (COSTS OFF) " + PLAIN_GET_SETTINGS
    return [row[0] for row in await conn.fetch(sql, user_id)]


async def check(urls: DatabaseUrls, data: DataSet) -> Checks:
    """Fails unless the four variants read the same thing and the policy does what it says."""
    settings = Settings(pool_min_size=1, pool_max_size=1)
    owner = await open_database(settings, urls.owner)
    app = await open_database(settings, urls.app)
    user_id = data.ids[0]
    try:
        a = settings_of(await read_plain(owner, user_id))
        b = settings_of(await read_as_caller(app, user_id))
        c = settings_of(await read_as_caller(owner, user_id))
        d = settings_of(await read_in_one_statement(app, user_id))
        if not a == b == c == d or len(a) != SETTINGS_PER_USER:
            raise RuntimeError(f"the variants disagree for user {user_id}: A {a}, B {b}, C {c}, D {d}")
        async with app.transaction(Customer(user_id)) as conn:
            seen_by_customer = await conn.fetchval(COUNT_SETTINGS)
            plan_with_rls = await plan(conn, user_id)
        async with owner.transaction(Customer(user_id)) as conn:
            seen_by_owner = await conn.fetchval(COUNT_SETTINGS)
        async with owner.connection() as conn:
            plan_without_rls = await plan(conn, user_id)
        async with app.transaction() as conn:
            seen_without_caller = await conn.fetchval(COUNT_SETTINGS)
            nobodys = settings_of(await conn.fetchrow(PLAIN_GET_SETTINGS, user_id))
        async with app.connection() as conn:
            # D's caller must end with its statement: the next one on the connection sees nothing.
            await queries.accounts.get_settings(conn, caller_id=user_id, caller_role="customer", user_id=user_id)
            seen_outside_transaction = await conn.fetchval(COUNT_SETTINGS)
    finally:
        await owner.pool.close()
        await app.pool.close()
    if seen_by_customer != SETTINGS_PER_USER:
        raise RuntimeError(f"the customer sees {seen_by_customer} settings rows, not their own {SETTINGS_PER_USER}")
    if seen_by_owner != data.settings_rows:
        raise RuntimeError(f"the owner sees {seen_by_owner} settings rows, not all {data.settings_rows}")
    if seen_without_caller or seen_outside_transaction or nobodys:
        raise RuntimeError(
            f"the application role naming no one sees {seen_without_caller} rows in a transaction, "
            f"{seen_outside_transaction} outside one, and get_settings {nobodys}; expected none"
        )
    print(
        f"checked: A, B, C and D agree on user {user_id} ({len(a)} settings); the customer sees "
        f"{seen_by_customer} rows, the owner {seen_by_owner:,}, the app role without a caller 0"
    )
    return Checks(
        sample_user=str(user_id),
        settings=a,
        rows_seen_by_customer=seen_by_customer,
        rows_seen_by_owner_with_caller=seen_by_owner,
        rows_seen_by_app_without_caller=seen_without_caller,
        rows_seen_by_app_outside_transaction=seen_outside_transaction,
        plan_without_rls=plan_without_rls,
        plan_with_rls=plan_with_rls,
    )


# --- workload --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Requests that end between start and end are measured; none begins after end."""

    start: float
    end: float


async def client(
    database: Database,
    read: Read,
    ids: Sequence[uuid.UUID],
    rng: random.Random,
    window: Window,
    latencies: list[float],
) -> None:
    while (began := time.perf_counter()) < window.end:
        row = await read(database, rng.choice(ids))
        ended = time.perf_counter()
        # Every variant must do the same work: all five settings, none hidden by the policy.
        if row is None or len(row["settings"]) != SETTINGS_PER_USER:
            raise RuntimeError(f"a sampled user's settings came back as {row}")
        if window.start <= ended <= window.end:
            latencies.append(ended - began)


async def run_round(
    variant: Variant, number: int, urls: DatabaseUrls, ids: Sequence[uuid.UUID], clients: int, seconds: float
) -> RoundResult:
    database = await open_database(pool_settings(), url_for(urls, variant.role))
    try:
        started = time.perf_counter()
        window = Window(start=started + WARMUP_SECONDS, end=started + WARMUP_SECONDS + seconds)
        latencies: list[float] = []
        async with asyncio.TaskGroup() as group:
            for seed in range(clients):  # the same id sequences for every round
                group.create_task(client(database, variant.read, ids, random.Random(seed), window, latencies))
    finally:
        await database.pool.close()
    result = RoundResult(variant.name, number, len(latencies), metrics(latencies, seconds))
    m = result.metrics
    print(f"round {number} {variant.name}: {m.ops_per_second:,.0f} ops/s, p50 {m.p50_ms:.3f} ms, p99 {m.p99_ms:.3f} ms")
    return result


async def run_rounds(urls: DatabaseUrls, data: DataSet, args: argparse.Namespace) -> list[RoundResult]:
    results: list[RoundResult] = []
    for number in range(1, args.rounds + 1):
        for variant in VARIANTS:  # A, B, C, D, A, B, C, D…
            results.append(await run_round(variant, number, urls, data.ids, args.clients, args.seconds))
    return results


# --- report ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantReport:
    description: str
    role: str
    median: Metrics
    microseconds_per_request: float
    rounds: list[RoundResult]


@dataclass(frozen=True)
class Report:
    date: str
    command: str
    machine: dict[str, str]
    postgresql: str
    connection: str
    users: int
    settings_rows: int
    users_size: str
    user_settings_size: str
    sampled_ids: int
    clients: int
    pool_min_max: int
    warmup_seconds: float
    seconds: float
    rounds_per_variant: int
    order: list[str]
    checks: Checks
    variants: dict[str, VariantReport]
    ratio_b_over_a: Metrics
    ratio_c_over_a: Metrics
    ratio_d_over_a: Metrics
    ratio_b_over_c: Metrics
    # The median of each round's D/A throughput: steadier than the ratio of the medians when the
    # machine's load drifts between rounds (the rounds run A, B, C, D in turn).
    paired_d_over_a: float
    policy_microseconds: float  # B - C per request, from throughput
    transaction_microseconds: float  # C - A per request, from throughput
    benchmark: str = "rls_cost"


def variant_report(variant: Variant, rounds: Sequence[RoundResult]) -> VariantReport:
    mine = [r for r in rounds if r.variant == variant.name]
    median = median_metrics([r.metrics for r in mine])
    return VariantReport(variant.description, variant.role, median, microseconds_per_request(median), mine)


def build_report(
    data: DataSet, checks: Checks, rounds: list[RoundResult], args: argparse.Namespace, argv: Sequence[str]
) -> Report:
    variants = {variant.name: variant_report(variant, rounds) for variant in VARIANTS}
    a, b, c, d = (variants[name] for name in ("A", "B", "C", "D"))
    return Report(
        date=now(),
        command=command(__file__, argv),
        machine=machine_facts({"asyncpg": asyncpg.__version__}),
        postgresql=data.postgresql,
        connection="Unix socket, client and server on the same machine",
        users=data.users,
        settings_rows=data.settings_rows,
        users_size=data.users_size,
        user_settings_size=data.user_settings_size,
        sampled_ids=len(data.ids),
        clients=args.clients,
        pool_min_max=POOL_SIZE,
        warmup_seconds=WARMUP_SECONDS,
        seconds=args.seconds,
        rounds_per_variant=args.rounds,
        order=[r.variant for r in rounds],
        checks=checks,
        variants=variants,
        ratio_b_over_a=ratio(b.median, a.median),
        ratio_c_over_a=ratio(c.median, a.median),
        ratio_d_over_a=ratio(d.median, a.median),
        ratio_b_over_c=ratio(b.median, c.median),
        paired_d_over_a=statistics.median(
            dr.metrics.ops_per_second / ar.metrics.ops_per_second for ar, dr in zip(a.rounds, d.rounds, strict=True)
        ),
        policy_microseconds=b.microseconds_per_request - c.microseconds_per_request,
        transaction_microseconds=c.microseconds_per_request - a.microseconds_per_request,
    )


def table(report: Report) -> str:
    """The medians and the ratios as a Markdown table."""
    lines = [
        "| variant | ops/s | p50 ms | p95 ms | p99 ms | µs/request |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, variant in report.variants.items():
        m = variant.median
        label = f"{name}: {variant.description}"
        lines.append(
            f"| {label} | {m.ops_per_second:,.0f} | {m.p50_ms:.3f} | {m.p95_ms:.3f} | {m.p99_ms:.3f} "
            f"| {variant.microseconds_per_request:.1f} |"
        )
    for label, r in (
        ("B/A (RLS in a transaction, before 0021)", report.ratio_b_over_a),
        ("C/A (the transaction and set_config)", report.ratio_c_over_a),
        ("D/A (what RLS costs as served, one statement)", report.ratio_d_over_a),
        ("B/C (the policy alone)", report.ratio_b_over_c),
    ):
        lines.append(f"| {label} | {r.ops_per_second:.2f}x | {r.p50_ms:.2f}x | {r.p95_ms:.2f}x | {r.p99_ms:.2f}x | |")
    lines.append(f"| D/A paired by round (the median of each round's D/A) | {report.paired_d_over_a:.2f}x | | | | |")
    return "\n".join(lines)


def policy_lines(checks: Checks) -> str:
    """The lines B's plan has and A's lacks, InitPlans aside: the policy's filter."""
    added = [line.strip() for line in checks.plan_with_rls if line not in checks.plan_without_rls]
    filters = [line for line in added if not line.startswith(("InitPlan", "->  Result"))]
    return ", ".join(f"`{line}`" for line in filters) or "nothing"


def readme_section(report: Report) -> str:
    machine = report.machine
    checks = report.checks
    per_round = "; ".join(
        f"{name} " + " / ".join(f"{r.metrics.ops_per_second:,.0f}" for r in variant.rounds)
        for name, variant in report.variants.items()
    )
    return f"""
## {report.date}: rls_cost

Command (from the project root): `{report.command}`

- Machine: nproc {machine["nproc"]}, {machine["cpu"]}, {machine["platform"]}; Python {machine["python"]}, \
asyncpg {machine["asyncpg"]}; {report.connection}
- PostgreSQL: {report.postgresql}
- Data: {report.users:,} users ({report.users_size}), {report.settings_rows:,} rows in user_settings \
({report.user_settings_size}, {SETTINGS_PER_USER} keys per user); get_settings by {report.sampled_ids:,} \
random user ids, B and C acting for that user as a customer
- Load: {report.clients} clients (asyncio tasks), a fresh pool of min/max {report.pool_min_max} per round, \
{report.warmup_seconds:g} s warm-up + {report.seconds:g} s measured per round, order \
{", ".join(report.order)}; medians per variant; latency is acquire + (BEGIN, set_config) + query \
+ (COMMIT) + release
- Checked before timing: A, B, C and D return the same {len(checks.settings)} settings for a sample user; \
in B's transaction the customer sees {checks.rows_seen_by_customer} rows of user_settings, the owner \
with a caller {checks.rows_seen_by_owner_with_caller:,}, the application role naming no one \
{checks.rows_seen_by_app_without_caller} (in a transaction) and \
{checks.rows_seen_by_app_outside_transaction} (outside one)
- Plans (EXPLAIN in the JSON): both join users_pkey to user_settings_pkey by index; B adds \
{policy_lines(checks)} on the user_settings scan, its two InitPlans run once per statement

{table(report)}

Per request (1 / throughput): the policy (B - C) {report.policy_microseconds:+.1f} µs, BEGIN + \
set_config + COMMIT (C - A) {report.transaction_microseconds:+.1f} µs.

Per round, ops/s: {per_round}.
"""


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=positive_int, default=100_000, help="users, 5 settings each (100,000)")
    add_load_arguments(parser)
    return parser.parse_args(argv)


async def benchmark(urls: DatabaseUrls, args: argparse.Namespace, argv: Sequence[str]) -> Report:
    # The data set is loaded as the superuser (it ends with a CHECKPOINT); the variants read it
    # as the owner (A, C) and as the application role (B).
    data = await prepare_data(with_user(urls.owner, "postgres"), args.users)
    checks = await check(urls, data)
    rounds = await run_rounds(urls, data, args)
    return build_report(data, checks, rounds, args, argv)


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
