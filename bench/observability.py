"""What the metrics and the access log cost through HTTP (issues 6 and 16).

`bookshop serve` (granian, 1 worker) on loopback against an embedded PostgreSQL in
bench/.data/observability with 1,000 generated books (the catalog seed generator), three ways:

- bare: METRICS_ENABLED=false, LOG_LEVEL=WARNING (no /metrics, no access lines; the request id
  and the slow-query check stay, as they always run);
- metrics: METRICS_ENABLED=true, LOG_LEVEL=WARNING (request and named-query histograms);
- as shipped: METRICS_ENABLED=true, LOG_LEVEL=INFO (plus one JSON access line per request,
  written to the server's log file, as a collector would read them from a pipe).

wrk (bench/wrk.py: 2 threads, 16 connections) drives GET /health and GET /books/{id} (cycling
through the books) against each. A round starts a fresh server per variant, variants
alternating, and measures each endpoint for SECONDS after a 2 s warm-up; the figures are each
variant's median round per endpoint: requests/s and the server's CPU time per request (user +
sys of its process group ÷ requests: steadier than requests/s on a shared machine). Any error
or non-2xx answer fails the run. Results are printed and recorded in bench/results/
(observability.json, README.md).

Run from the project root:
    uv run python bench/observability.py [--seconds S] [--rounds R]
"""

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import wrk as wrk_tool
from measure import positive_float, positive_int
from recording import RunReport, command, machine_facts, now, publish_run
from served import free_port, start_server, stop_server, wait_ready_on

from bookshop.catalog import seed as catalog_seed
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "observability"
WORK_DIR = BENCH_DIR / ".data" / "observability-work"
SERVE_LOG = BENCH_DIR / ".data" / "observability-serve.log"
CONNECTIONS = 16
BOOKS = 1_000
WARMUP_SECONDS = 2.0
TIMEOUT_SECONDS = 30.0
VARIANTS = {
    "bare": {"METRICS_ENABLED": "false", "LOG_LEVEL": "WARNING"},
    "metrics": {"METRICS_ENABLED": "true", "LOG_LEVEL": "WARNING"},
    "as shipped": {"METRICS_ENABLED": "true", "LOG_LEVEL": "INFO"},
}
ENDPOINTS = ("health", "detail")
BOOK_IDS = "SELECT id::text FROM books WHERE is_published AND deleted_at IS NULL ORDER BY id"  # bench-only SQL


@dataclass(frozen=True)
class Measured:
    variant: str
    settings: dict[str, str]
    endpoint: str
    median: wrk_tool.Round  # by requests/s
    requests_ratio_to_bare: float
    cpu_ratio_to_bare: float


@dataclass(frozen=True)
class Report(RunReport):
    results: list[Measured]
    rounds: list[wrk_tool.Round]


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


def one_round(
    wrk: str, variant: str, scripts: dict[str, Path], round_number: int, seconds: float
) -> list[wrk_tool.Round]:
    port = free_port()
    server = start_server(
        embedded.database_urls(PGDATA), port, env=dict(os.environ), log=SERVE_LOG, settings=VARIANTS[variant]
    )
    try:
        wait_ready_on(port, server, log=SERVE_LOG)
        rounds = []
        for endpoint in ENDPOINTS:
            wrk_tool.run(
                wrk, port, scripts[endpoint], connections=CONNECTIONS, seconds=WARMUP_SECONDS, timeout=TIMEOUT_SECONDS
            )
            measured = wrk_tool.measure_round(
                wrk,
                server=variant,
                group=server.pid,
                port=port,
                endpoint=endpoint,
                script=scripts[endpoint],
                round_number=round_number,
                seconds=seconds,
                connections=CONNECTIONS,
                timeout=TIMEOUT_SECONDS,
            )
            if sum(measured.errors.values()):
                raise SystemExit(f"{variant} {endpoint}: errors {measured.errors}; see {SERVE_LOG}")
            rounds.append(measured)
        return rounds
    finally:
        stop_server(server)


def run(seconds: float, rounds: int) -> Report:
    wrk = wrk_tool.program()
    ids = asyncio.run(book_ids())
    scripts = {
        "health": wrk_tool.script(WORK_DIR, "health", ["/health"]),
        "detail": wrk_tool.script(WORK_DIR, "detail", [f"/books/{book_id}" for book_id in ids]),
    }
    measured: list[wrk_tool.Round] = []
    for round_number in range(1, rounds + 1):
        for variant in VARIANTS:
            measured += one_round(wrk, variant, scripts, round_number, seconds)
    results = []
    for endpoint in ENDPOINTS:
        bare = wrk_tool.median_round([r for r in measured if r.endpoint == endpoint and r.server == "bare"])
        for variant, settings in VARIANTS.items():
            median = wrk_tool.median_round([r for r in measured if r.endpoint == endpoint and r.server == variant])
            results.append(
                Measured(
                    variant=variant,
                    settings=settings,
                    endpoint=endpoint,
                    median=median,
                    requests_ratio_to_bare=median.requests_per_second / bare.requests_per_second,
                    cpu_ratio_to_bare=median.cpu_ms_per_request / bare.cpu_ms_per_request,
                )
            )
    setup = (
        f"bookshop serve (granian, 1 worker) on loopback; {len(ids):,} published books; wrk with 2 threads and "
        f"{CONNECTIONS} connections on the same machine, GET /health and GET /books/{{id}} cycling through the "
        f"books; {rounds} rounds of {seconds:g} s per endpoint after a {WARMUP_SECONDS:g} s warm-up, variants "
        "alternating, a fresh server per variant and round; median round (by requests/s) per variant and endpoint"
    )
    return Report(
        benchmark="observability",
        date=now(),
        command=command(__file__, sys.argv[1:]),
        machine=machine_facts({"wrk": wrk_tool.version(wrk)}),
        setup=setup,
        results=results,
        rounds=measured,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=8.0, help="measured seconds per round (8)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of the three variants (3)")
    args = parser.parse_args()
    report = run(args.seconds, args.rounds)
    rows = [
        f"| {m.endpoint} | {m.variant} | {', '.join(f'{k}={val}' for k, val in m.settings.items())} "
        f"| {m.median.requests_per_second:,.0f} | {m.median.p50_ms:.2f} | {m.median.p99_ms:.2f} "
        f"| {m.median.cpu_ms_per_request * 1000:.0f} | {m.requests_ratio_to_bare:.2f} | {m.cpu_ratio_to_bare:.2f} |"
        for m in report.results
    ]
    table = "\n".join(
        [
            "| endpoint | variant | settings | requests/s | p50 ms | p99 ms | server CPU µs/request"
            " | requests/s vs bare | CPU vs bare |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|",
            *rows,
        ]
    )
    publish_run("observability", report, table)


if __name__ == "__main__":
    main()
