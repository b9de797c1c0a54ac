"""Book detail with one granian worker vs two (issue 15).

`bookshop serve --workers N` (granian, rate limit off, access lines off, metrics on: the
workers write them to the shared folder as they do in service) on loopback against an embedded
PostgreSQL in bench/.data/workers with 1,000 generated books. CLIENTS kept-alive httpx clients
in this process, one request at a time each, GET /books/{slug} over 200 published books in
turn. Rounds alternate the variants (a fresh server each round), each with a warm-up and
SECONDS measured; the figures are each variant's median round. Every answer must be a 200.
The load generator, PostgreSQL and the workers share this machine's cores: the figures say
what a second worker buys here, not on a host with cores to spare. Results are printed and
recorded in bench/results/ (workers.json, README.md).

Run from the project root:
    uv run python bench/workers.py [--seconds S] [--rounds R] [--clients C]
"""

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
from measure import Metrics, median_metrics, positive_float, positive_int
from recording import RunReport, command, machine_facts, now, publish_run
from served import drive, free_port, start_server, stop_server

from bookshop.catalog import seed as catalog_seed
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "workers"
SERVE_LOG = BENCH_DIR / ".data" / "workers-serve.log"
BOOKS = 1_000
WARMUP_SECONDS = 2.0
VARIANTS = (1, 2)
# bench-only SQL: the published books to ask for.
SLUGS = "SELECT slug FROM books WHERE is_published AND deleted_at IS NULL ORDER BY id LIMIT 200"


@dataclass(frozen=True)
class Variant:
    workers: int
    rounds: list[Metrics]
    median: Metrics
    ratio_to_one_worker: float


@dataclass(frozen=True)
class Report(RunReport):
    variants: list[Variant]


async def prepare() -> list[str]:
    """The data set (generated once) and the paths of the book details to ask for."""
    urls = embedded.database_urls(PGDATA)
    migrations.apply(urls.owner)
    owner = await connect(Settings(statement_timeout_ms=0, command_timeout=600.0), dsn=urls.owner)
    try:
        slugs = [row["slug"] for row in await owner.fetch(SLUGS)]
        if len(slugs) < 200:
            await catalog_seed.generate(owner, catalog=catalog_seed.plan(books=BOOKS))
            slugs = [row["slug"] for row in await owner.fetch(SLUGS)]
    finally:
        await owner.close()
    return [f"/books/{slug}" for slug in slugs]


async def one_round(workers: int, paths: list[str], *, clients: int, seconds: float) -> Metrics:
    port = free_port()
    server = start_server(embedded.database_urls(PGDATA), port, env=dict(os.environ), log=SERVE_LOG, workers=workers)
    try:
        return await drive(
            port, server, log=SERVE_LOG, paths=paths, clients=clients, seconds=seconds, warmup_seconds=WARMUP_SECONDS
        )
    finally:
        stop_server(server)


async def run(seconds: float, rounds: int, clients: int) -> Report:
    paths = await prepare()
    measured: dict[int, list[Metrics]] = {workers: [] for workers in VARIANTS}
    for round_number in range(1, rounds + 1):
        for workers in VARIANTS:
            result = await one_round(workers, paths, clients=clients, seconds=seconds)
            measured[workers].append(result)
            print(
                f"round {round_number}, {workers} worker(s): {result.ops_per_second:,.0f} requests/s, "
                f"p50 {result.p50_ms:.2f} / p95 {result.p95_ms:.2f} ms",
                flush=True,
            )
    one = median_metrics(measured[1])
    variants = [
        Variant(
            workers=workers,
            rounds=measured[workers],
            median=median_metrics(measured[workers]),
            ratio_to_one_worker=median_metrics(measured[workers]).ops_per_second / one.ops_per_second,
        )
        for workers in VARIANTS
    ]
    setup = (
        f"bookshop serve (granian) with 1 or 2 workers on loopback, rate limit off, metrics on; embedded "
        f"PostgreSQL 18 with {BOOKS:,} generated books; {clients} kept-alive httpx clients in one process on the "
        f"same machine, GET /books/{{slug}} over {len(paths)} books; {rounds} rounds of {seconds:g} s after a "
        f"{WARMUP_SECONDS:g} s warm-up, variants alternating, a fresh server each round; median round per variant"
    )
    return Report(
        benchmark="workers",
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
    parser.add_argument("--clients", type=positive_int, default=16, help="concurrent clients (16)")
    args = parser.parse_args()
    try:
        report = asyncio.run(run(args.seconds, args.rounds, args.clients))
    finally:
        embedded.stop(PGDATA)
    rows = [
        f"| {v.workers} | {v.median.ops_per_second:,.0f} | {v.median.p50_ms:.2f} | {v.median.p95_ms:.2f} "
        f"| {v.ratio_to_one_worker:.2f} |"
        for v in report.variants
    ]
    table = "\n".join(["| workers | requests/s | p50 ms | p95 ms | vs 1 worker |", "|---:|---:|---:|---:|---:|", *rows])
    publish_run("workers", report, table)


if __name__ == "__main__":
    main()
