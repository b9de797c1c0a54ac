"""What checking a key on every route costs through HTTP (issue 13).

A key sent to any route is authenticated (one indexed lookup of api_keys by prefix and an
HMAC), before the rate limiter, so that only a key that proved itself gets a budget of its own
(http/security.py). A route that takes no caller, GET /books, did not look at the key before;
now a request with a good key pays the lookup there. Two ways, same server settings:

- no key: GET /books?limit=20 anonymously;
- good key: the same with `Authorization: Bearer <a customer's key>`.

`bookshop serve` (granian, 1 worker, rate limit off, as start_server runs it) on loopback
against an embedded PostgreSQL in bench/.data/auth_cost with 1,000 generated books. 16 clients
in this process, one request at a time each; rounds alternate the variants (a fresh server each
round), each with a 2 s warm-up and SECONDS measured; the figures are each variant's median
round. Every answer must be a 200. Results are printed and recorded in bench/results/
(auth_cost.json, README.md).

Run from the project root:
    uv run python bench/auth_cost.py [--seconds S] [--rounds R]
"""

import argparse
import asyncio
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from measure import Metrics, median_metrics, metrics, positive_float, positive_int
from recording import RunReport, command, machine_facts, now, publish_run
from served import free_port, start_server, stop_server, wait_ready

from bookshop.accounts import service as accounts
from bookshop.catalog import seed as catalog_seed
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "auth_cost"
SERVE_LOG = BENCH_DIR / ".data" / "auth_cost-serve.log"
CLIENTS = 16
BOOKS = 1_000
WARMUP_SECONDS = 2.0
VARIANTS = ("no key", "good key")
BOOK_COUNT = "SELECT count(*) FROM books WHERE is_published AND deleted_at IS NULL"  # bench-only SQL


@dataclass(frozen=True)
class Variant:
    name: str
    rounds: list[Metrics]
    median: Metrics
    ratio_to_no_key: float


@dataclass(frozen=True)
class Report(RunReport):
    variants: list[Variant]


async def prepare() -> tuple[int, str]:
    """The data set (generated once), and a fresh customer's key under the server's pepper."""
    urls = embedded.database_urls(PGDATA)
    migrations.apply(urls.owner)
    owner = await connect(Settings(statement_timeout_ms=0, command_timeout=600.0), dsn=urls.owner)
    try:
        books: int = await owner.fetchval(BOOK_COUNT)
        if books < BOOKS // 2:
            await catalog_seed.generate(owner, catalog=catalog_seed.plan(books=BOOKS))
            books = await owner.fetchval(BOOK_COUNT)
        user = await accounts.create_user(owner, email=f"bench-{uuid.uuid4().hex[:8]}@example.com", name="Bench")
        issued = await accounts.issue_api_key(
            owner, user_id=user.id, name="bench", pepper=Settings.from_env().api_key_pepper
        )
    finally:
        await owner.close()
    return books, issued.key


async def client_loop(
    client: httpx.AsyncClient, headers: dict[str, str], start: float, end: float, latencies: list[float]
) -> None:
    while (began := time.perf_counter()) < end:
        response = await client.get("/books?limit=20", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"GET /books answered {response.status_code}: {response.text[:200]}")
        if began >= start:
            latencies.append(time.perf_counter() - began)


async def one_round(headers: dict[str, str], seconds: float) -> Metrics:
    port = free_port()
    server = start_server(embedded.database_urls(PGDATA), port, env=dict(os.environ), log=SERVE_LOG)
    try:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            await wait_ready(client, server, log=SERVE_LOG)
            start = time.perf_counter() + WARMUP_SECONDS
            latencies: list[float] = []
            async with asyncio.TaskGroup() as group:
                for _ in range(CLIENTS):
                    group.create_task(client_loop(client, headers, start, start + seconds, latencies))
        return metrics(latencies, seconds)
    finally:
        stop_server(server)


async def run(seconds: float, rounds: int) -> Report:
    books, key = await prepare()
    headers = {"no key": {}, "good key": {"Authorization": f"Bearer {key}"}}
    measured: dict[str, list[Metrics]] = {name: [] for name in VARIANTS}
    for round_number in range(1, rounds + 1):
        for name in VARIANTS:
            result = await one_round(headers[name], seconds)
            measured[name].append(result)
            print(
                f"round {round_number} {name}: {result.ops_per_second:,.0f} requests/s, "
                f"p50 {result.p50_ms:.2f} / p95 {result.p95_ms:.2f} ms",
                flush=True,
            )
    anonymous = median_metrics(measured["no key"])
    variants = []
    for name in VARIANTS:
        median = median_metrics(measured[name])
        ratio = median.ops_per_second / anonymous.ops_per_second
        variants.append(Variant(name=name, rounds=measured[name], median=median, ratio_to_no_key=ratio))
    setup = (
        f"bookshop serve (granian, 1 worker) on loopback; {books:,} published books; {CLIENTS} httpx clients in "
        f"one process on the same machine, GET /books?limit=20; {rounds} rounds of {seconds:g} s after a "
        f"{WARMUP_SECONDS:g} s warm-up, variants alternating, a fresh server each round; median round per variant"
    )
    return Report(
        benchmark="auth_cost",
        date=now(),
        command=command(__file__, sys.argv[1:]),
        machine=machine_facts({"httpx": httpx.__version__}),
        setup=setup,
        variants=variants,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="measured seconds per round (8)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of the two variants (3)")
    args = parser.parse_args()
    report = asyncio.run(run(args.seconds, args.rounds))
    rows = [
        f"| {v.name} | {v.median.ops_per_second:,.0f} "
        f"| {v.median.p50_ms:.2f} | {v.median.p95_ms:.2f} | {v.ratio_to_no_key:.2f} |"
        for v in report.variants
    ]
    table = "\n".join(
        [
            "| variant | requests/s | p50 ms | p95 ms | vs no key |",
            "|---|---:|---:|---:|---:|",
            *rows,
        ]
    )
    publish_run("auth_cost", report, table)


if __name__ == "__main__":
    main()
