"""Numbered listings and broad search at a million rows, through HTTP under load (issue 16).

Every numbered listing with a total must answer with p95 <= 20 ms and no error at 16 clients, its
total exact below EXACT_TOTAL_LIMIT and a labelled estimate above it; a search for a word most
books hold must answer with p95 <= 50 ms, title hits first, saying that its ranking was bounded.

Two data sets, each reused while its size matches:
- bench/catalog.py's 1,000,000 books (bench/.data/catalog, `bookshop seed --books N`, indexes
  rebuilt by catalog.prepare_data): GET /books?page=1 and ?page=50, and GET /books/search?q=night
  (the seed puts "night" in most books);
- bench/reset_query.py's 1,000,000 users (bench/.data/pg): GET /users?page=1, ?is_active=true
  (a filter most users pass) and ?q=lovelace (a name one user in 24 has), with an admin's key.

Invoices have only keyset listings (no total), so they are not here.

`bookshop serve` (granian with --workers processes, 1 by default; rate limit off, no access
lines; bench/served.py) runs on each, on loopback, and wrk (bench/wrk.py) drives each endpoint: a
warm-up, then --rounds rounds of --seconds with --connections (16) connections, interleaved with
as many rounds with one connection, whose latency is the service time without queueing behind
other clients. Before timing, each path is asked once and what it answers is kept: the total and
whether it is exact, or for the search whether ranking was bounded and the first hit's title.
Recorded: requests/s, p50/p95/p99, the server's CPU per request and the errors of the median
round per endpoint and connection count, against the goals, in bench/results/listings.json (with
more than one worker, listings-N-workers.json) and a section of bench/results/README.md.

Run from the project root:
    uv run python bench/listings.py [--books N] [--users N] [--seconds S] [--rounds R] [--connections C]
        [--workers W]
"""

import argparse
import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import catalog
import httpx
import reset_query
import wrk as wrk_tool
from measure import positive_float, positive_int
from recording import command, machine_facts, now, publish, section
from served import free_port, start_server, stop_server, wait_ready_on

from bookshop.accounts import service as accounts
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls, with_user
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
WORK_DIR = BENCH_DIR / ".data" / "listings"
LISTING_P95_MS = 20.0
SEARCH_P95_MS = 50.0
# The users data set's staff and admins are all inactive; its oldest live active user becomes
# the admin, the same one on every run, and the count of users that makes the data reusable stays.
ADMIN_SQL = """
UPDATE users SET role = 'admin'
WHERE id = (SELECT id FROM users WHERE is_active AND deleted_at IS NULL ORDER BY id LIMIT 1)
RETURNING id
"""  # bench-only SQL


@dataclass(frozen=True)
class Endpoint:
    name: str
    data_set: str  # "books" or "users"
    path: str
    goal_p95_ms: float


ENDPOINTS = (
    Endpoint("books page 1", "books", "/books?page=1&per_page=20", LISTING_P95_MS),
    Endpoint("books page 50", "books", "/books?page=50&per_page=20", LISTING_P95_MS),
    Endpoint("broad search", "books", "/books/search?q=night", SEARCH_P95_MS),
    Endpoint("users page 1", "users", "/users?page=1&per_page=20", LISTING_P95_MS),
    Endpoint("users active", "users", "/users?is_active=true&per_page=20", LISTING_P95_MS),
    Endpoint("users named", "users", "/users?q=lovelace&per_page=20", LISTING_P95_MS),
)


@dataclass(frozen=True)
class Answer:
    """What the path answered once, before timing: the facts a user reads from it."""

    status: int
    total: int | None = None
    total_exact: bool | None = None
    ranking_bounded: bool | None = None
    first_hit_title: str | None = None


@dataclass(frozen=True)
class Result:
    endpoint: str
    path: str
    answer: Answer
    single: wrk_tool.Round  # one connection: the service time; the median round by requests/s
    loaded: wrk_tool.Round  # --connections connections
    goal_p95_ms: float
    met_single: bool  # p95 within the goal and no error in any round
    met_loaded: bool
    rounds: list[wrk_tool.Round]


@dataclass(frozen=True)
class Report:
    date: str
    command: str
    machine: dict[str, str]
    books: int
    users: int
    connections: int
    workers: int
    seconds: float
    rounds: int
    warmup_seconds: float
    results: list[Result]
    benchmark: str  # "listings", or "listings-2-workers" and so on: each kept beside the other


async def admin_key(urls: DatabaseUrls) -> str:
    """A fresh key of a live admin of the users data set, under the server's pepper; as the
    superuser, whom row-level security does not hide the users from."""
    owner = await connect(
        Settings(statement_timeout_ms=0, command_timeout=600.0), dsn=with_user(urls.owner, "postgres")
    )
    try:
        admin = await owner.fetchval(ADMIN_SQL)
        issued = await accounts.issue_api_key(
            owner, user_id=admin, name="bench listings", pepper=Settings.from_env().api_key_pepper
        )
    finally:
        await owner.close()
    return issued.key


def prepare_users(users: int) -> tuple[DatabaseUrls, str]:
    urls = embedded.database_urls(reset_query.PGDATA, database=reset_query.DATABASE)
    migrations.apply(urls.owner)
    asyncio.run(reset_query.prepare_data(with_user(urls.owner, "postgres"), users))
    return urls, asyncio.run(admin_key(urls))


async def ask(port: int, path: str, headers: dict[str, str]) -> Answer:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        response = await client.get(path, headers=headers)
    if response.status_code != 200:
        return Answer(status=response.status_code)
    body: dict[str, Any] = response.json()
    if "ranking_bounded" in body:
        first = body["items"][0]["title"] if body["items"] else None
        return Answer(status=200, ranking_bounded=body["ranking_bounded"], first_hit_title=first)
    return Answer(status=200, total=body["total"], total_exact=body["total_exact"])


def measure(
    wrk: str,
    endpoint: Endpoint,
    port: int,
    server: subprocess.Popen[bytes],
    headers: dict[str, str],
    args: argparse.Namespace,
) -> Result:
    answer = asyncio.run(ask(port, endpoint.path, headers))
    print(f"{endpoint.name}: {endpoint.path} answered {answer}", flush=True)
    script = wrk_tool.script(WORK_DIR, endpoint.name.replace(" ", "-"), [endpoint.path], headers)
    wrk_tool.run(wrk, port, script, connections=args.connections, seconds=args.warmup, timeout=args.timeout)
    rounds = [
        wrk_tool.measure_round(
            wrk,
            server=f"{connections} conn",
            group=server.pid,
            port=port,
            endpoint=endpoint.name,
            script=script,
            round_number=number,
            seconds=args.seconds,
            connections=connections,
            timeout=args.timeout,
        )
        for number in range(1, args.rounds + 1)
        for connections in (1, args.connections)  # interleaved
    ]
    single = wrk_tool.median_round([r for r in rounds if r.server == "1 conn"])
    loaded = wrk_tool.median_round([r for r in rounds if r.server != "1 conn"])
    clean = answer.status == 200 and not any(sum(r.errors.values()) for r in rounds)
    return Result(
        endpoint=endpoint.name,
        path=endpoint.path,
        answer=answer,
        single=single,
        loaded=loaded,
        goal_p95_ms=endpoint.goal_p95_ms,
        met_single=clean and single.p95_ms <= endpoint.goal_p95_ms,
        met_loaded=clean and loaded.p95_ms <= endpoint.goal_p95_ms,
        rounds=rounds,
    )


def serve_and_measure(
    wrk: str, urls: DatabaseUrls, data_set: str, headers: dict[str, str], args: argparse.Namespace
) -> list[Result]:
    port, log = free_port(), WORK_DIR / f"serve-{data_set}.log"
    server = start_server(urls, port, env=dict(os.environ), log=log, workers=args.workers)
    try:
        wait_ready_on(port, server, log=log)
        return [
            measure(wrk, endpoint, port, server, headers, args)
            for endpoint in ENDPOINTS
            if endpoint.data_set == data_set
        ]
    finally:
        stop_server(server)


def table(report: Report) -> str:
    c = report.connections
    lines = [
        f"| endpoint | answer | p95 ms, 1 conn | req/s, {c} conn | p50 ms | p95 ms | p99 ms | server CPU ms/req"
        " | errors | goal p95 | met (1 / {c} conn) |".replace("{c}", str(c)),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for result in report.results:
        m, a = result.loaded, result.answer
        if a.ranking_bounded is not None:
            shown = f"ranking bounded: {a.ranking_bounded}; first hit “{a.first_hit_title}”"
        else:
            shown = f"total {a.total:,} ({'exact' if a.total_exact else 'estimate'})" if a.total is not None else ""
        errors = sum(sum(r.errors.values()) for r in result.rounds)
        met = " / ".join("yes" if met else "**no**" for met in (result.met_single, result.met_loaded))
        lines.append(
            f"| {result.endpoint} (`{result.path}`) | {shown} | {result.single.p95_ms:.1f}"
            f" | {m.requests_per_second:,.0f} | {m.p50_ms:.1f} | {m.p95_ms:.1f} | {m.p99_ms:.1f}"
            f" | {m.cpu_ms_per_request:.2f} | {errors} | ≤ {result.goal_p95_ms:g} | {met} |"
        )
    return "\n".join(lines)


def readme_section(report: Report) -> str:
    body = (
        f"{report.books:,} books and {report.users:,} users; `bookshop serve` with {report.workers} worker(s);"
        f" wrk with 1 and with"
        f" {report.connections} connections in interleaved rounds, {report.rounds} of {report.seconds:g} s each per"
        f" endpoint after a {report.warmup_seconds:g} s warm-up; the median round (by requests/s) of each.\n\n"
        f"{table(report)}\n"
    )
    return section(report.benchmark, date=report.date, command=report.command, machine=report.machine, body=body)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--books", type=positive_int, default=1_000_000, help="books in the data set (1,000,000)")
    parser.add_argument("--users", type=positive_int, default=1_000_000, help="users in the data set (1,000,000)")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="measured seconds per round (10)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds per endpoint (3)")
    parser.add_argument("--warmup", type=positive_float, default=2.0, help="warm-up seconds per endpoint (2)")
    parser.add_argument("--connections", type=positive_int, default=16, help="wrk connections (16)")
    parser.add_argument("--workers", type=positive_int, default=1, help="`bookshop serve` worker processes (1)")
    parser.add_argument("--timeout", type=positive_float, default=30.0, help="wrk's request timeout, s (30)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    wrk = wrk_tool.program()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    try:
        books_urls = catalog.prepare_data(args.books)[0]
        results += serve_and_measure(wrk, books_urls, "books", {}, args)
    finally:
        embedded.stop(catalog.PGDATA)
    try:
        users_urls, key = prepare_users(args.users)
        results += serve_and_measure(wrk, users_urls, "users", {"Authorization": f"Bearer {key}"}, args)
    finally:
        embedded.stop(reset_query.PGDATA)
    report = Report(
        date=now(),
        command=command(__file__, argv),
        machine=machine_facts({"wrk": wrk_tool.version(wrk)}),
        books=args.books,
        users=args.users,
        connections=args.connections,
        workers=args.workers,
        seconds=args.seconds,
        rounds=args.rounds,
        warmup_seconds=args.warmup,
        results=results,
        benchmark="listings" if args.workers == 1 else f"listings-{args.workers}-workers",
    )
    publish(report.benchmark, asdict(report), table=table(report), section=readme_section(report))


if __name__ == "__main__":
    main(sys.argv[1:])
