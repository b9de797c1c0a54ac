"""The app alone: CPU time per request with no HTTP server, where the framework's and the service's
own costs show without granian's or wrk's.

The Litestar app that `bookshop serve` runs, built by `create_app` from the environment (rate
limit off, LOG_LEVEL=WARNING as the HTTP benchmarks run it; metrics on, kept in memory, since no
`bookshop serve` sets up their shared folder) and started through its lifespan, is called as an
ASGI callable by --tasks concurrent tasks on uvloop, against bench/catalog.py's data set
(1,000,000 books; made on the first run, read into the page cache). A round sends --requests
requests to one endpoint; its figure is this process's CPU time (`time.process_time`: the app and
asyncpg's client side; PostgreSQL's own time is not in it) ÷ requests. Rounds go endpoint by
endpoint, round-robin, each after a warm-up, and the median round is reported. The cyclic garbage
collector's runs per generation and its longest pause are counted too (`gc.callbacks`), over all
rounds of an endpoint. An answer other than 200 rejects the run: nothing is recorded.

Endpoints: `GET /health`, `GET /books/{slug}` (1,000 random listed books in turn), `GET
/books?limit=20` (keyset), `GET /books?page=1&per_page=20` (numbered, with its total) and `GET
/books/search?q=quasar` (a rare word).

Run from the project root:
    uv run python bench/in_app.py [--books N] [--requests N] [--rounds R] [--tasks T]
Results go to bench/results/in_app.json and bench/results/README.md.
"""

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import catalog
import uvloop
from measure import positive_int
from recording import RunReport, command, display, machine_facts, now, publish_run

from bookshop.app import create_app
from bookshop.db import embedded

SAMPLE_SLUGS = 1_000
WARMUP_FRACTION = 0.1  # of a round's requests, before each round


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: Callable[[int], str]  # the n-th request's path and query


def endpoints(slugs: Sequence[str]) -> list[Endpoint]:
    return [
        Endpoint("GET /health", lambda n: "/health"),
        Endpoint("book detail", lambda n: f"/books/{slugs[n % len(slugs)]}"),
        Endpoint("keyset listing", lambda n: "/books?limit=20"),
        Endpoint("numbered listing page 1", lambda n: "/books?page=1&per_page=20"),
        Endpoint("search, a rare word", lambda n: "/books/search?q=quasar"),
    ]


class Collections:
    """The cyclic collector's runs by generation and its longest pause, while installed."""

    def __init__(self) -> None:
        self.runs = [0, 0, 0]
        self.longest_ms = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.runs[info["generation"]] += 1
        self.longest_ms = max(self.longest_ms, (time.perf_counter() - self._started) * 1000)


@dataclass
class Measured:
    endpoint: str
    cpu_us_per_request: list[float] = field(default_factory=list)  # one per round
    statuses: Counter[int] = field(default_factory=Counter)
    collections: Collections = field(default_factory=Collections)


class App:
    """The ASGI app driven without a server: lifespan, then requests with an empty body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan: asyncio.Task[None] | None = None

    async def start(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = asyncio.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        started = await self._from_app.get()
        if started["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app did not start: {started}")

    async def stop(self) -> None:
        await self._to_app.put({"type": "lifespan.shutdown"})
        await self._from_app.get()
        assert self._lifespan is not None
        await self._lifespan

    async def get(self, target: str, statuses: Counter[int]) -> None:
        path, _, query = target.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] += 1

        await self.app(scope, receive, send)


async def requests(app: App, endpoint: Endpoint, count: int, tasks: int, statuses: Counter[int]) -> int:
    """`count` requests, rounded down to a multiple of `tasks`, from `tasks` concurrent tasks;
    returns how many were sent."""
    sent = count - count % tasks

    async def client(first: int) -> None:
        for n in range(first, sent, tasks):
            await app.get(endpoint.path(n), statuses)

    await asyncio.gather(*(client(first) for first in range(tasks)))
    return sent


async def measure(args: argparse.Namespace, app_url: str, slugs: Sequence[str]) -> list[Measured]:
    os.environ.update(DATABASE_URL=app_url, RATE_LIMIT_PER_MINUTE="0", LOG_LEVEL="WARNING")
    app = App(create_app())
    await app.start()
    measured = {endpoint.name: Measured(endpoint.name) for endpoint in endpoints(slugs)}
    try:
        for round_number in range(1, args.rounds + 1):
            for endpoint in endpoints(slugs):
                result = measured[endpoint.name]
                await requests(app, endpoint, int(args.requests * WARMUP_FRACTION), args.tasks, Counter())
                gc.callbacks.append(result.collections)
                cpu = time.process_time()
                sent = await requests(app, endpoint, args.requests, args.tasks, result.statuses)
                spent = time.process_time() - cpu
                gc.callbacks.remove(result.collections)
                result.cpu_us_per_request.append(spent / sent * 1e6)
                print(f"  round {round_number} {endpoint.name:26} {spent / sent * 1e6:6.0f} µs CPU a request")
    finally:
        await app.stop()
    return list(measured.values())


@dataclass(frozen=True)
class Row:
    endpoint: str
    cpu_us_median: float
    cpu_us_rounds: list[float]
    requests: int
    collections_by_generation: list[int]
    longest_collection_ms: float


@dataclass(frozen=True)
class Report(RunReport):
    books: int
    tasks: int
    requests_per_round: int
    rounds: int
    results: list[Row]


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| endpoint | CPU µs a request, median round | rounds | collections young / middle / full | longest pause ms |",
        "|---|---:|---|---:|---:|",
    ]
    for row in rows:
        spread = ", ".join(f"{value:.0f}" for value in row.cpu_us_rounds)
        young, middle, full = row.collections_by_generation
        lines.append(
            f"| {row.endpoint} | {row.cpu_us_median:.0f} | {spread} | {young} / {middle} / {full} |"
            f" {row.longest_collection_ms:.2f} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--books", type=positive_int, default=1_000_000, help="books in the data set")
    parser.add_argument("--requests", type=positive_int, default=8_000, help="requests a round")
    parser.add_argument("--rounds", type=positive_int, default=5, help="rounds per endpoint")
    parser.add_argument("--tasks", type=positive_int, default=16, help="concurrent tasks")
    return parser.parse_args(argv)


async def sample_slugs(owner_url: str) -> list[str]:
    conn = await asyncpg.connect(owner_url)
    try:
        return await catalog.sample_slugs(conn, SAMPLE_SLUGS)
    finally:
        await conn.close()


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    urls, _ = catalog.prepare_warm(args.books)
    try:
        slugs = asyncio.run(sample_slugs(urls.owner))
        print(f"{args.rounds} rounds of {args.requests:,} requests per endpoint from {args.tasks} tasks")
        measured = uvloop.run(measure(args, urls.app, slugs))
    finally:
        embedded.stop(catalog.PGDATA)
    refused = {m.endpoint: dict(m.statuses) for m in measured if set(m.statuses) != {200}}
    if refused:
        sys.exit(f"rejected, nothing recorded: answers other than 200: {refused}")
    rows = [
        Row(
            endpoint=m.endpoint,
            cpu_us_median=statistics.median(m.cpu_us_per_request),
            cpu_us_rounds=[round(value, 1) for value in m.cpu_us_per_request],
            requests=sum(m.statuses.values()),
            collections_by_generation=m.collections.runs,
            longest_collection_ms=round(m.collections.longest_ms, 3),
        )
        for m in measured
    ]
    report = Report(
        benchmark="in_app",
        date=now(),
        command=command(__file__, argv),
        machine=machine_facts(),
        setup=(
            f"create_app on uvloop as an ASGI callable, {args.tasks} tasks, {args.rounds} rounds of"
            f" {args.requests:,} requests per endpoint, {args.books:,} books in {display(catalog.PGDATA)};"
            " CPU time of this process only"
        ),
        books=args.books,
        tasks=args.tasks,
        requests_per_round=args.requests,
        rounds=args.rounds,
        results=rows,
    )
    publish_run("in_app", report, table(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
