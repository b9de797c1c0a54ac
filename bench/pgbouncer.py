"""What running behind PgBouncer in transaction mode costs through HTTP (issue 14).

Two routes, each four ways, same data and server settings:

- book detail: GET /books/{slug}, anonymous, a random one of the catalog's books each time;
- my orders: GET /me/orders, 16 customers with orders, each client with its own key.

- direct: DATABASE_URL to PostgreSQL, pooler mode off (today's default);
- pooler mode, direct: DATABASE_POOLER=transaction, still straight to PostgreSQL: the cost of
  the mode alone (no statement cache; the timeouts asked for are the role's defaults, which
  the sessions start with, so no transaction sets them);
- pgbouncer: the same through Debian's PgBouncer 1.18, pool_mode = transaction, as many server
  sessions as the app's pool (POOL_MAX_SIZE, 10);
- pgbouncer, own timeouts: and STATEMENT_TIMEOUT_MS=4000, unlike the role's 5 s, so each
  transaction sets the timeouts first and each read runs in one (BEGIN, set_config, the query,
  COMMIT: three round trips more).

`bookshop serve` (granian, 1 worker, rate limit off) on loopback against an embedded PostgreSQL
in bench/.data/pgbouncer holding a generated catalog and a year of orders (bookshop seed's data
set: BOOKS books, ORDERS orders). 16 clients in this process, one request at a time each; rounds
alternate the variants (a fresh server each round), each with a 2 s warm-up and SECONDS
measured; the figures are each variant's median round, and its ratio to direct both as the
ratio of the median rounds and as the median of each round's ratio to the direct run of the same
round (steadier on a busy machine, whose load drifts between rounds). Every answer must be a 200. Results are
printed and recorded in bench/results/ (pgbouncer.json, README.md). PgBouncer and the embedded
server are stopped at the end.

Run from the project root (PgBouncer from Debian's package: apt-get install pgbouncer):
    uv run python bench/pgbouncer.py [--seconds S] [--rounds R]
"""

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from measure import Metrics, median_metrics, metrics, positive_float, positive_int
from recording import RunReport, command, machine_facts, now, publish_run
from served import free_port, start_server, stop_server, wait_ready

from bookshop.accounts import service as accounts
from bookshop.catalog import seed as catalog_seed
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls
from bookshop.orders import seed as order_seed
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "pgbouncer"
BOUNCER_DIR = BENCH_DIR / ".data" / "pgbouncer-bouncer"
SERVE_LOG = BENCH_DIR / ".data" / "pgbouncer-serve.log"
CLIENTS = 16
BOOKS = 20_000
ORDERS = 50_000
SERVER_SESSIONS = 10  # PgBouncer's default_pool_size: the app pool's POOL_MAX_SIZE default
WARMUP_SECONDS = 2.0
ROUTES = ("book detail", "my orders")
MODES = ("direct", "pooler mode, direct", "pgbouncer", "pgbouncer, own timeouts")
# Unlike the role's 5 s, so every transaction sets it (and reads run in one), see db/pool.py.
OWN_STATEMENT_TIMEOUT_MS = "4000"

# Bench-only SQL: the data set's size and who to ask for (the service's queries live in sql/).
BOOK_COUNT = "SELECT count(*) FROM books WHERE is_published AND deleted_at IS NULL"
ORDER_COUNT = "SELECT count(*) FROM orders"
SLUGS = "SELECT slug FROM books WHERE is_published AND deleted_at IS NULL ORDER BY random() LIMIT 2000"
BUSY_CUSTOMERS = """
SELECT o.user_id FROM orders AS o JOIN users AS u ON u.id = o.user_id
WHERE u.is_active AND u.deleted_at IS NULL
GROUP BY o.user_id ORDER BY count(*) DESC LIMIT $1
"""
PGBOUNCER_SEARCH_PATH = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"


@dataclass(frozen=True)
class Variant:
    route: str
    mode: str
    rounds: list[Metrics]
    median: Metrics
    ratio_to_direct: float  # of the median rounds
    paired_ratio_to_direct: float  # the median of each round's ratio to the direct run just before it


@dataclass(frozen=True)
class Report(RunReport):
    variants: list[Variant]


@dataclass(frozen=True)
class DataSet:
    books: int
    orders: int
    slugs: list[str]
    keys: list[str]  # one per client: customers with the most orders


async def prepare(urls: DatabaseUrls) -> DataSet:
    """The data set (generated once), and keys under the server's pepper for busy customers."""
    migrations.apply(urls.owner)
    owner = await connect(Settings(statement_timeout_ms=0, command_timeout=3600.0), dsn=urls.owner)
    try:
        if await owner.fetchval(BOOK_COUNT) < BOOKS // 2:
            await catalog_seed.generate(owner, catalog=catalog_seed.plan(books=BOOKS))
        if await owner.fetchval(ORDER_COUNT) < ORDERS // 2:
            await order_seed.generate(owner, orders=ORDERS)
        pepper = Settings.from_env().api_key_pepper
        keys = []
        for row in await owner.fetch(BUSY_CUSTOMERS, CLIENTS):
            keys.append((await accounts.issue_api_key(owner, user_id=row["user_id"], name="bench", pepper=pepper)).key)
        return DataSet(
            books=await owner.fetchval(BOOK_COUNT),
            orders=await owner.fetchval(ORDER_COUNT),
            slugs=[row["slug"] for row in await owner.fetch(SLUGS)],
            keys=keys,
        )
    finally:
        await owner.close()


@contextlib.contextmanager
def running_pgbouncer(urls: DatabaseUrls) -> Iterator[str]:
    """PgBouncer in transaction mode before the embedded server; yields the app's URL through it."""
    binary = shutil.which("pgbouncer", path=PGBOUNCER_SEARCH_PATH)
    if binary is None:
        raise SystemExit("this benchmark needs PgBouncer: apt-get install pgbouncer")
    app = urlsplit(urls.app)
    socket_dir = Path(parse_qs(app.query)["host"][0])
    port = free_port()
    BOUNCER_DIR.mkdir(parents=True, exist_ok=True)
    BOUNCER_DIR.chmod(0o755)
    userlist = BOUNCER_DIR / "userlist.txt"
    userlist.write_text('"bookshop_app" ""\n')  # the embedded server trusts local connections
    ini = BOUNCER_DIR / "pgbouncer.ini"
    ini.write_text(
        f"[databases]\n* = host={socket_dir} port=5432\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
        f"listen_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {userlist}\n"
        f"pool_mode = transaction\ndefault_pool_size = {SERVER_SESSIONS}\nmax_client_conn = 500\n"
    )
    for written in (userlist, ini):
        written.chmod(0o644)
    # PgBouncer refuses to run as root: then as the server's own user, who may enter its socket folder.
    user = ["-u", socket_dir.owner()] if os.geteuid() == 0 else []
    log = (BOUNCER_DIR / "pgbouncer.log").open("wb")
    process = subprocess.Popen([binary, *user, str(ini)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while "process up" not in (BOUNCER_DIR / "pgbouncer.log").read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start; see {BOUNCER_DIR / 'pgbouncer.log'}")
            time.sleep(0.05)
        yield f"postgresql://bookshop_app@127.0.0.1:{port}{app.path}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def client_loop(
    client: httpx.AsyncClient, route: str, data: DataSet, key: str, start: float, end: float, latencies: list[float]
) -> None:
    headers = {"Authorization": f"Bearer {key}"} if route == "my orders" else {}
    while (began := time.perf_counter()) < end:
        path = f"/books/{random.choice(data.slugs)}" if route == "book detail" else "/me/orders"
        response = await client.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
        if began >= start:
            latencies.append(time.perf_counter() - began)


async def one_round(urls: DatabaseUrls, settings: dict[str, str], route: str, data: DataSet, seconds: float) -> Metrics:
    port = free_port()
    server = start_server(urls, port, env=dict(os.environ), log=SERVE_LOG, settings=settings)
    try:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            await wait_ready(client, server, log=SERVE_LOG)
            start = time.perf_counter() + WARMUP_SECONDS
            latencies: list[float] = []
            async with asyncio.TaskGroup() as group:
                for key in data.keys:
                    group.create_task(client_loop(client, route, data, key, start, start + seconds, latencies))
        return metrics(latencies, seconds)
    finally:
        stop_server(server)


def load_average() -> str:
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


async def run(seconds: float, rounds: int) -> Report:
    load_before = load_average()
    urls = embedded.database_urls(PGDATA)
    try:
        data = await prepare(urls)
        if len(data.keys) < CLIENTS:
            raise RuntimeError(f"only {len(data.keys)} customers have orders; {CLIENTS} needed")
        with running_pgbouncer(urls) as pooled_url:
            modes = {
                "direct": {},
                "pooler mode, direct": {"DATABASE_POOLER": "transaction"},
                "pgbouncer": {"DATABASE_POOLER": "transaction", "DATABASE_URL": pooled_url},
                "pgbouncer, own timeouts": {
                    "DATABASE_POOLER": "transaction",
                    "DATABASE_URL": pooled_url,
                    "STATEMENT_TIMEOUT_MS": OWN_STATEMENT_TIMEOUT_MS,
                },
            }
            measured: dict[tuple[str, str], list[Metrics]] = {(r, m): [] for r in ROUTES for m in MODES}
            for round_number in range(1, rounds + 1):
                for route in ROUTES:
                    for mode in MODES:
                        result = await one_round(urls, modes[mode], route, data, seconds)
                        measured[route, mode].append(result)
                        print(
                            f"round {round_number} {route}, {mode}: {result.ops_per_second:,.0f} requests/s, "
                            f"p50 {result.p50_ms:.2f} / p95 {result.p95_ms:.2f} ms",
                            flush=True,
                        )
    finally:
        embedded.stop(PGDATA)
    variants = []
    for route in ROUTES:
        direct_rounds = measured[route, "direct"]
        direct = median_metrics(direct_rounds)
        for mode in MODES:
            median = median_metrics(measured[route, mode])
            paired = statistics.median(
                run.ops_per_second / base.ops_per_second
                for run, base in zip(measured[route, mode], direct_rounds, strict=True)
            )
            variants.append(
                Variant(
                    route=route,
                    mode=mode,
                    rounds=measured[route, mode],
                    median=median,
                    ratio_to_direct=median.ops_per_second / direct.ops_per_second,
                    paired_ratio_to_direct=paired,
                )
            )
    setup = (
        f"bookshop serve (granian, 1 worker) on loopback; {data.books:,} published books, {data.orders:,} orders; "
        f"PgBouncer 1.18, pool_mode = transaction, default_pool_size = {SERVER_SESSIONS}; {CLIENTS} httpx clients "
        f"in one process on the same machine; {rounds} rounds of {seconds:g} s after a {WARMUP_SECONDS:g} s warm-up, "
        "variants alternating, a fresh server each round; median round per variant; load average (1/5/15 min) "
        f"{load_before} before, {load_average()} after"
    )
    return Report(
        benchmark="pgbouncer",
        date=now(),
        command=command(__file__, sys.argv[1:]),
        machine=machine_facts({"httpx": httpx.__version__}),
        setup=setup,
        variants=variants,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="measured seconds per round (8)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of the eight variants (3)")
    args = parser.parse_args()
    report = asyncio.run(run(args.seconds, args.rounds))
    rows = [
        f"| {v.route} | {v.mode} | {v.median.ops_per_second:,.0f} "
        f"| {v.median.p50_ms:.2f} | {v.median.p95_ms:.2f} | {v.ratio_to_direct:.2f} | {v.paired_ratio_to_direct:.2f} |"
        for v in report.variants
    ]
    table = "\n".join(
        [
            "| route | mode | requests/s | p50 ms | p95 ms | vs direct | vs direct, paired by round |",
            "|---|---|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    publish_run("pgbouncer", report, table)


if __name__ == "__main__":
    main()
