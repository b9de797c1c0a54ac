"""What the metrics and the access log cost through HTTP (issue 6).

`bookshop serve` (granian, 1 worker) on loopback against an embedded PostgreSQL in
bench/.data/observability with 1,000 generated books (the catalog seed generator), three ways:

- bare: METRICS_ENABLED=false, LOG_LEVEL=WARNING (no /metrics, no access lines; the request id
  and the slow-query check stay, as they always run);
- metrics: METRICS_ENABLED=true, LOG_LEVEL=WARNING (request and named-query histograms);
- as shipped: METRICS_ENABLED=true, LOG_LEVEL=INFO (plus one JSON access line per request,
  written to the server's log file, as a collector would read them from a pipe).

16 clients in this process request GET /books/{id} for random books, one request at a time
each. Rounds alternate the three variants (a fresh server each round), each with a 2 s warm-up
and SECONDS measured; the figures are each variant's median round. Every answer must be a 200.
Results are printed and recorded in bench/results/ (observability.json, README.md).

Run from the project root:
    uv run python bench/observability.py [--seconds S] [--rounds R]
"""

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from measure import Metrics, median_metrics, metrics, positive_float, positive_int
from recording import command, machine_facts, now, publish_run
from served import free_port, start_server, stop_server, wait_ready

from bookshop.catalog import seed as catalog_seed
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "observability"
SERVE_LOG = BENCH_DIR / ".data" / "observability-serve.log"
CLIENTS = 16
BOOKS = 1_000
WARMUP_SECONDS = 2.0
VARIANTS = {
    "bare": {"METRICS_ENABLED": "false", "LOG_LEVEL": "WARNING"},
    "metrics": {"METRICS_ENABLED": "true", "LOG_LEVEL": "WARNING"},
    "as shipped": {"METRICS_ENABLED": "true", "LOG_LEVEL": "INFO"},
}
BOOK_IDS = "SELECT id::text FROM books WHERE is_published AND deleted_at IS NULL ORDER BY id"  # bench-only SQL


@dataclass(frozen=True)
class Variant:
    name: str
    settings: dict[str, str]
    rounds: list[Metrics]
    median: Metrics
    ratio_to_bare: float


@dataclass(frozen=True)
class Report:
    benchmark: str
    date: str
    command: str
    machine: dict[str, str]
    setup: str
    variants: list[Variant]


async def book_ids() -> list[str]:
    urls = embedded.database_urls(PGDATA)
    migrations.apply(urls.owner)
    owner = await connect(Settings(statement_timeout_ms=0, command_timeout=600.0), dsn=urls.owner)
    try:
        ids = [row[0] for row in await owner.fetch(BOOK_IDS)]
        if len(ids) < BOOKS // 2:
            await catalog_seed.generate(owner, catalog=catalog_seed.plan(books=BOOKS))
            ids = [row[0] for row in await owner.fetch(BOOK_IDS)]
    finally:
        await owner.close()
    return ids


async def client_loop(
    client: httpx.AsyncClient, ids: list[str], rng: random.Random, start: float, end: float, latencies: list[float]
) -> None:
    while (began := time.perf_counter()) < end:
        response = await client.get(f"/books/{rng.choice(ids)}")
        if response.status_code != 200:
            raise RuntimeError(f"GET /books/id answered {response.status_code}: {response.text[:200]}")
        if began >= start:
            latencies.append(time.perf_counter() - began)


async def one_round(settings: dict[str, str], ids: list[str], seconds: float) -> Metrics:
    port = free_port()
    server = start_server(embedded.database_urls(PGDATA), port, env=dict(os.environ), log=SERVE_LOG, settings=settings)
    try:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            await wait_ready(client, server, log=SERVE_LOG)
            start = time.perf_counter() + WARMUP_SECONDS
            latencies: list[float] = []
            async with asyncio.TaskGroup() as group:
                for index in range(CLIENTS):
                    rng = random.Random(index)
                    group.create_task(client_loop(client, ids, rng, start, start + seconds, latencies))
        return metrics(latencies, seconds)
    finally:
        stop_server(server)


async def run(seconds: float, rounds: int) -> Report:
    ids = await book_ids()
    measured: dict[str, list[Metrics]] = {name: [] for name in VARIANTS}
    for round_number in range(1, rounds + 1):
        for name, settings in VARIANTS.items():
            result = await one_round(settings, ids, seconds)
            measured[name].append(result)
            print(
                f"round {round_number} {name}: {result.ops_per_second:,.0f} requests/s, "
                f"p50 {result.p50_ms:.2f} / p95 {result.p95_ms:.2f} ms",
                flush=True,
            )
    bare = median_metrics(measured["bare"])
    variants = []
    for name, settings in VARIANTS.items():
        median = median_metrics(measured[name])
        ratio = median.ops_per_second / bare.ops_per_second
        variants.append(
            Variant(name=name, settings=settings, rounds=measured[name], median=median, ratio_to_bare=ratio)
        )
    setup = (
        f"bookshop serve (granian, 1 worker) on loopback; {len(ids):,} published books; {CLIENTS} httpx clients in "
        f"one process on the same machine, GET /books/{{id}} at random; {rounds} rounds of {seconds:g} s after a "
        f"{WARMUP_SECONDS:g} s warm-up, variants alternating, a fresh server each round; median round per variant"
    )
    return Report(
        benchmark="observability",
        date=now(),
        command=command(__file__, sys.argv[1:]),
        machine=machine_facts({"httpx": httpx.__version__}),
        setup=setup,
        variants=variants,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="measured seconds per round (8)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of the three variants (3)")
    args = parser.parse_args()
    report = asyncio.run(run(args.seconds, args.rounds))
    rows = [
        f"| {v.name} | {', '.join(f'{k}={val}' for k, val in v.settings.items())} | {v.median.ops_per_second:,.0f} "
        f"| {v.median.p50_ms:.2f} | {v.median.p95_ms:.2f} | {v.ratio_to_bare:.2f} |"
        for v in report.variants
    ]
    table = "\n".join(
        [
            "| variant | settings | requests/s | p50 ms | p95 ms | vs bare |",
            "|---|---|---:|---:|---:|---:|",
            *rows,
        ]
    )
    publish_run("observability", report, table)


if __name__ == "__main__":
    main()
