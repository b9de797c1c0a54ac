"""Orders per second through HTTP (issue 4): buyers on distinct books, then all on one hot book.

`bookshop serve` (granian, 1 worker) runs on loopback against an embedded PostgreSQL in
bench/.data/orders; 16 buyers, each with their own API key, POST /orders from this process
with a fresh Idempotency-Key per order, one line of quantity 1:

- distinct: each order picks one of 1,000 books at random, so row locks rarely meet;
- hot: every order is for the same book, so each waits for the previous one's lock on its row.

Stock is large enough that no order is refused; every answer must be a 201, and afterwards the
hot book's stock must have dropped by exactly the number of orders placed for it. Results are
printed and recorded in bench/results/ (orders.json, README.md).

Run from the project root:
    uv run python bench/orders.py [--seconds S]
"""

import argparse
import asyncio
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from measure import percentile_ms, positive_float
from recording import RunReport, command, machine_facts, now, publish, section
from served import free_port, start_server, stop_server, wait_ready

from bookshop.accounts import service as accounts
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "orders"
SERVE_LOG = BENCH_DIR / ".data" / "orders-serve.log"
BUYERS = 16
BOOKS = 1_000
STOCK = 10_000_000
WARMUP_SECONDS = 2.0
PEPPER = "bench-orders-pepper"

# Bench-only SQL: the data set and the checks (the service's queries live in sql/).
CLEAR = "TRUNCATE events, jobs, invoices, order_lines, orders, books, authors, api_keys, users CASCADE"
ADD_AUTHOR = "INSERT INTO authors (name) VALUES ('Bench Author') RETURNING id"
ADD_BOOKS = """
INSERT INTO books (slug, title, author_id, price, stock, is_published, published_at)
SELECT 'bench-book-' || n, 'Bench Book ' || n, $1, 10 + n % 40, $2, true, now()
FROM generate_series(1, $3) AS n
RETURNING id
"""
STOCK_OF = "SELECT stock FROM books WHERE id = $1"
ORDERS_FOR = "SELECT count(*) FROM order_lines WHERE book_id = $1"


@dataclass(frozen=True)
class Run:
    scenario: str
    seconds: float
    orders: int
    orders_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]


@dataclass(frozen=True)
class Report(RunReport):
    runs: list[Run]
    hot_book_stock_consistent: bool


async def buyer(
    client: httpx.AsyncClient, key: str, books: list[str], rng: random.Random, start: float, end: float,
    latencies: list[float], statuses: Counter[int],
) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}
    while (began := time.perf_counter()) < end:
        body = {"lines": [{"book_id": rng.choice(books), "quantity": 1}]}
        response = await client.post("/orders", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
        ended = time.perf_counter()
        if start <= ended <= end:
            latencies.append(ended - began)
            statuses[response.status_code] += 1
        elif response.status_code != 201:
            statuses[response.status_code] += 1


async def load(client: httpx.AsyncClient, scenario: str, keys: list[str], books: list[str], seconds: float) -> Run:
    start = time.perf_counter() + WARMUP_SECONDS
    end = start + seconds
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    async with asyncio.TaskGroup() as group:
        for index, key in enumerate(keys):
            group.create_task(buyer(client, key, books, random.Random(index), start, end, latencies, statuses))
    latencies.sort()
    run = Run(
        scenario=scenario,
        seconds=seconds,
        orders=statuses[201],
        orders_per_second=statuses[201] / seconds,
        p50_ms=percentile_ms(latencies, 50),
        p95_ms=percentile_ms(latencies, 95),
        p99_ms=percentile_ms(latencies, 99),
        statuses={str(status): count for status, count in sorted(statuses.items())},
    )
    print(
        f"  {scenario}: {run.orders_per_second:,.0f} orders/s, p50 {run.p50_ms:.2f} / p95 {run.p95_ms:.2f} ms, "
        f"statuses {run.statuses}",
        flush=True,
    )
    return run


async def run(seconds: float) -> Report:
    SERVE_LOG.parent.mkdir(parents=True, exist_ok=True)
    urls = embedded.database_urls(PGDATA)
    migrations.apply(urls.owner)
    owner = await connect(Settings(statement_timeout_ms=0), dsn=urls.owner)
    server = None
    try:
        await owner.execute(CLEAR)
        author_id = await owner.fetchval(ADD_AUTHOR)
        books = [str(row["id"]) for row in await owner.fetch(ADD_BOOKS, author_id, STOCK, BOOKS)]
        hot = books[0]
        keys = []
        for index in range(BUYERS):
            user = await accounts.create_user(owner, email=f"buyer-{index}@example.com", name=f"Buyer {index}")
            keys.append((await accounts.issue_api_key(owner, user_id=user.id, name="bench", pepper=PEPPER)).key)
        await owner.execute("ANALYZE")
        port = free_port()
        env = {"API_KEY_PEPPER": PEPPER}
        server = start_server(urls, port, env={**os.environ, **env}, log=SERVE_LOG)
        limits = httpx.Limits(max_connections=BUYERS, max_keepalive_connections=BUYERS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30.0) as client:
            await wait_ready(client, server, log=SERVE_LOG)
            print(f"{BUYERS} buyers, {seconds:g} s each after {WARMUP_SECONDS:g} s warm-up:", flush=True)
            distinct = await load(client, f"distinct books (1 of {BOOKS:,} at random)", keys, books, seconds)
            stock_before = await owner.fetchval(STOCK_OF, hot)
            ordered_before = await owner.fetchval(ORDERS_FOR, hot)
            hot_run = await load(client, "one hot book", keys, [hot], seconds)
        consistent = STOCK - await owner.fetchval(STOCK_OF, hot) == await owner.fetchval(ORDERS_FOR, hot)
        print(f"  hot book: stock {stock_before:,} before, orders {ordered_before:,}; consistent: {consistent}")
    finally:
        if server is not None:
            stop_server(server)
        await owner.close()
        embedded.stop(PGDATA)
    return Report(
        benchmark="orders",
        date=now(),
        command=command(Path(__file__), sys.argv[1:]),
        machine=machine_facts(),
        setup=(
            "`bookshop serve --workers 1` (granian; pool defaults; RATE_LIMIT_PER_MINUTE=0), embedded PostgreSQL 18, "
            f"{BUYERS} buyers as {BUYERS} concurrent httpx tasks in the benchmark's process on the same 2 cores; "
            "each POST /orders: API key check, then one transaction (idempotency key, lock and decrement stock, "
            "lines with prices, issue_invoice job, audit event, read back the order)"
        ),
        runs=[distinct, hot_run],
        hot_book_stock_consistent=consistent,
    )


def table(report: Report) -> str:
    lines = ["| scenario | orders/s | p50 ms | p95 ms | p99 ms | statuses |", "|---|---:|---:|---:|---:|---|"]
    for r in report.runs:
        lines.append(
            f"| {r.scenario} | {r.orders_per_second:,.0f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.p99_ms:.2f} | "
            f"{r.statuses} |"
        )
    lines.append(f"\nHot book stock = start - orders placed for it: **{report.hot_book_stock_consistent}**")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=10.0)
    report = asyncio.run(run(parser.parse_args(argv).seconds))
    body = f"{report.setup}\n\n{table(report)}"
    record = section(report.benchmark, date=report.date, command=report.command, machine=report.machine, body=body)
    publish(report.benchmark, report, table=table(report), section=record)


if __name__ == "__main__":
    main(sys.argv[1:])
