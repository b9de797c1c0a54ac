"""The catalog on 1,000,000 books (issue 3): listing, search, detail over HTTP, reviews, import, export.

What it measures, each against the goal issue 3 sets where it sets one:

1. Keyset listing: the first page (list_books without a cursor) against a page 500,000 rows
   deep (list_books from the cursor of the 500,000th row). Goal: the deep page within 1.5x.
2. Offset listing at the same depth (list_books_page, offset 500,000): reported, expected slow.
3. Search (search_books, no filters): two rare words (goal: p95 under 50 ms), a common word and
   a quoted two-word phrase, each with how many books it matches; and the common word as the
   service searches a broad query, search_books_bounded over its SEARCH_RANK_LIMIT newest matches
   (goal: p95 under 50 ms).
4. Book detail over HTTP: `bookshop serve` (granian, 1 worker) on this data, GET /books/{slug}
   for random live published books from 16 concurrent clients in this process; and GET /health,
   the HTTP floor on this machine. Every answer must be a 200.
5. Reviews: get_book_detail for the book with the most reviews against one with a single review
   (the rating summary is computed when read, migration 0011).
6. Import: import_books over 100,000 NDJSON rows (parse, COPY, upsert) against the database's own
   limit for such rows, a plain INSERT ... SELECT from a filled staging table into books with all
   its indexes (rolled back), and against 10,000 rows inserted one create_book per row. Goal:
   within 1.25x of that floor, and 20x the row-by-row rate.
   The measured import runs without statement_timeout; the same import on the service's
   settings (5 s) is tried too, and its statements are timed one by one (rolled back).
7. Export: export_ndjson over every live book, rows/s and the process's peak memory growth.

Reads run as the application role, as the service reads, on the project's pool (create_pool):
one connection, one query at a time, p50/p95/p99 over --repeat runs after a warm-up, and one
EXPLAIN (ANALYZE, BUFFERS) of each query kept in the JSON. Results are printed and recorded in
bench/results/ (catalog.json, README.md).

Run from the project root:
    uv run python bench/catalog.py [--books N] [--repeat N] [--seconds S] [--skip-http] [--skip-import]

The data lives in an embedded PostgreSQL in bench/.data/catalog, made on the first run with the
project's own commands (`bookshop migrate apply`, `bookshop seed --books N`) and reused while
the book count matches. Each run first rebuilds the indexes of books (the import measurements
insert and delete rows, which leaves them larger), and stops the server at the end.
"""

import argparse
import asyncio
import gc
import json
import os
import random
import re
import resource
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec
from measure import Timing, positive_float, timing
from recording import PROJECT_ROOT, command, display, machine_facts, now, publish
from served import free_port, start_server, stop_server, wait_ready

from bookshop.catalog import importer
from bookshop.catalog.seed import COMMON_WORDS, RARE_WORDS
from bookshop.db import embedded
from bookshop.db.pool import Connection, Database, create_pool
from bookshop.db.queries import queries
from bookshop.db.urls import DatabaseUrls, with_user
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "catalog"
GENERATION_FILE = BENCH_DIR / ".data" / "catalog-generation.json"  # how the data set was made
SERVE_LOG = BENCH_DIR / ".data" / "catalog-serve.log"

DEPTH = 500_000  # the deep page starts after this many rows of the listing
PAGE_SIZE = 20
WARMUP_RUNS = 10
WARMUP_MAX_SECONDS = 10.0
QUERY_BUDGET_SECONDS = 30.0  # a slow query stops after this much measured time…
MIN_RUNS = 10  # …once it has run at least this often
HTTP_CONNECTIONS = 16
# The service's pool settings (statement_timeout 5 s) but one or two connections; and the same
# without statement_timeout, for what passes it (a large import, a broad search) to be measured.
AS_SERVED = Settings(pool_min_size=1, pool_max_size=2)
UNLIMITED = Settings(pool_min_size=1, pool_max_size=1, statement_timeout_ms=0, command_timeout=600.0)
HTTP_WARMUP_SECONDS = 2.0
SAMPLE_SLUGS = 10_000
IMPORT_ROWS = 100_000
ROW_BY_ROW_ROWS = 10_000
IMPORT_SEED = 3

RARE_QUERIES = ("quasar", "zeppelin")  # planted in one book in 10,000 and in 100,000
COMMON_QUERY = COMMON_WORDS[0]  # "night": most books
PHRASE_QUERY = '"winter garden"'  # words 13 and 12 of the vocabulary: each in about a fifth of the books

# Goals from issue 3.
KEYSET_MAX_RATIO = 1.5
SEARCH_SELECTIVE_P95_MS = 50.0
IMPORT_MAX_FLOOR_RATIO = 1.25  # the import's time over the database's own INSERT ... SELECT
IMPORT_MIN_RATIO = 20.0

# --- SQL for the set-up and the checks (bench only; the service's queries live in sql/) ------

COUNT_BOOKS = "SELECT count(*) FROM books"

# Every row the seed writes goes with its authors, tags and customers (users cascades to reviews
# and the private tables, authors to books and their tags).
TRUNCATE_CATALOG = "TRUNCATE authors, tags, users CASCADE"

DATA_FACTS = """
SELECT (SELECT count(*) FROM books) AS books,
       (SELECT count(*) FROM books WHERE is_published AND deleted_at IS NULL) AS listed,
       (SELECT count(*) FROM books WHERE deleted_at IS NULL) AS live,
       (SELECT count(*) FROM authors) AS authors,
       (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM reviews) AS reviews,
       (SELECT count(*) FROM book_tags) AS book_tags,
       pg_size_pretty(pg_database_size(current_database())) AS database_size,
       pg_size_pretty(pg_total_relation_size('books')) AS books_size,
       pg_size_pretty(pg_relation_size('books_search_idx')) AS books_search_idx_size,
       pg_size_pretty(pg_relation_size('books_public_listing_idx')) AS books_public_listing_idx_size,
       pg_size_pretty(pg_total_relation_size('reviews')) AS reviews_size,
       version() AS postgresql
"""

# The (published_at, id) of the n-th row of the public listing: the cursor a reader who paged
# that far would hold.
NTH_LISTED = """
SELECT published_at, id
FROM books
WHERE is_published AND deleted_at IS NULL
ORDER BY published_at DESC, id DESC
OFFSET $1 - 1 LIMIT 1
"""

COUNT_MATCHES = """
SELECT count(*)
FROM books
WHERE search @@ websearch_to_tsquery('english', $1) AND is_published AND deleted_at IS NULL
"""

# The live published books that hold every word of the query, adjacent or not: what
# books_search_idx hands over for a phrase, each rechecked from the heap (GIN keeps no positions).
COUNT_CANDIDATES = """
SELECT count(*)
FROM books
WHERE search @@ replace(websearch_to_tsquery('english', $1)::text, '<->', '&')::tsquery
  AND is_published AND deleted_at IS NULL
"""

SAMPLE_SLUGS_SQL = "SELECT slug FROM books WHERE is_published AND deleted_at IS NULL ORDER BY random() LIMIT $1"

# The live published books with the most reviews and with exactly one.
MOST_REVIEWED = """
SELECT r.book_id, count(*) AS reviews
FROM reviews AS r
JOIN books AS b ON b.id = r.book_id AND b.is_published AND b.deleted_at IS NULL
GROUP BY r.book_id
ORDER BY reviews DESC, r.book_id
LIMIT 1
"""
ONE_REVIEW = """
SELECT r.book_id, count(*) AS reviews
FROM reviews AS r
JOIN books AS b ON b.id = r.book_id AND b.is_published AND b.deleted_at IS NULL
GROUP BY r.book_id
HAVING count(*) = 1
ORDER BY r.book_id
LIMIT 1
"""

AN_AUTHOR = "SELECT id FROM authors ORDER BY id LIMIT 1"

# What the generated column books.search computes for the staged rows, alone (the upsert pays it
# again): the share of an import that is text search, whatever the indexes.
STAGED_TSVECTORS = """
SELECT count(setweight(to_tsvector('english', title), 'A')
             || setweight(to_tsvector('english', subtitle), 'B')
             || setweight(to_tsvector('english', description), 'C'))
FROM book_import
"""
DELETE_BY_ISBN = "DELETE FROM books WHERE isbn = any($1::text[])"

# The floor of the upsert, for the step-by-step run (owner, rolled back): books without the
# indexes the import does not need (all but the primary key and the ISBN arbiter), then also
# without computing the generated search column.
SECONDARY_BOOK_INDEXES = """
SELECT string_agg(indexrelid::regclass::text, ', ')
FROM pg_index
WHERE indrelid = 'books'::regclass AND NOT indisprimary AND indexrelid <> 'books_isbn_key'::regclass
"""
# The database's own limit for the import's rows: the INSERT ... SELECT the upsert is built on,
# without its conflict arbiter, rejection step, parsing or COPY, from a filled staging table into
# books with all its indexes, constraints, triggers and generated search column.
INSERT_STAGED = """
INSERT INTO books (isbn, slug, title, subtitle, description, author_id, price, stock, is_published, published_at,
                   metadata)
SELECT isbn, slug, title, subtitle, description, author_id, price, stock, is_published, published_at, metadata::jsonb
FROM book_import
ORDER BY line
"""
STOP_GENERATING_SEARCH = "ALTER TABLE books ALTER COLUMN search DROP EXPRESSION"

# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One query's timing and the plan of one run of it."""

    query: str
    parameters: dict[str, str]
    rows: int
    timing: Timing
    plan: list[str]
    as_served: str  # whether it ran within the service's statement_timeout


@dataclass(frozen=True)
class Generation:
    books: int
    date: str
    commands: list[str]
    seed_seconds: float  # `bookshop seed --books N`, wall time
    vacuum_seconds: float  # VACUUM ANALYZE + CHECKPOINT after it, so reads see all-visible pages
    seed_output: str  # the seed's last line: what it added


@dataclass(frozen=True)
class DataSet:
    books: int
    listed: int  # live and published: the public listing
    live: int
    authors: int
    users: int
    reviews: int
    book_tags: int
    database_size: str
    books_size: str
    books_search_idx_size: str
    books_public_listing_idx_size: str
    reviews_size: str
    postgresql: str
    reused: bool
    generation: Generation | None
    rebuild_seconds: float  # REINDEX TABLE books + VACUUM ANALYZE books + CHECKPOINT before measuring


@dataclass(frozen=True)
class Listing:
    depth: int
    cursor: list[str]  # (published_at, id) of row `depth`
    first: Measured
    keyset_deep: Measured
    offset_deep: Measured
    same_rows: bool  # the keyset and offset pages at depth hold the same books
    keyset_ratio_p50: float  # keyset_deep / first
    keyset_ratio_p95: float
    offset_ratio_p50: float  # offset_deep / first
    goal_met: bool


@dataclass(frozen=True)
class SearchCase:
    kind: str  # "rare", "common", "common, bounded" (search_books_bounded) or "phrase"
    q: str
    matches: int  # live published books the query matches
    candidates: int  # those that hold all its words, adjacent or not (= matches but for a phrase)
    measured: Measured
    goal_p95_ms: float | None
    goal_met: bool | None


@dataclass(frozen=True)
class ReviewCase:
    book_id: str
    reviews: int
    measured: Measured


@dataclass(frozen=True)
class Reviews:
    most: ReviewCase
    one: ReviewCase
    ratio_p50: float  # most / one


@dataclass(frozen=True)
class HttpRun:
    path: str
    seconds: float
    requests: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]  # in the measured window
    non_200: int  # in the warm-up and the measured window together
    non_200_share: float
    client_cpu_share: float  # CPU seconds of this process (the client) per wall second, warm-up included


@dataclass(frozen=True)
class Http:
    server: str
    client: str
    sampled_slugs: int
    health: HttpRun
    detail: HttpRun
    goal_met: bool  # no answer but 200


@dataclass(frozen=True)
class ImportStep:
    step: str
    seconds: float


@dataclass(frozen=True)
class Import:
    rows: int
    parse_only_seconds: float  # importer.parse over the same bytes, alone
    statement_timeout_ms: int  # of the measured run's session (0: none)
    seconds: float  # import_books end to end: parse, COPY, reject, upsert, commit
    rows_per_second: float
    inserted: int
    as_served: str  # the same import on the service's settings (statement_timeout 5 s), other ISBNs
    as_served_seconds: float
    floor_seconds: float  # INSERT_STAGED of as many rows (other ISBNs), staged first, rolled back
    floor_ratio: float  # seconds ÷ floor_seconds
    steps: list[ImportStep]  # the same steps one by one on other rows, rolled back
    upsert_plan: list[str]  # EXPLAIN (ANALYZE, BUFFERS) of upsert_staged_books in that run
    row_by_row_rows: int
    row_by_row_seconds: float
    row_by_row_rows_per_second: float
    ratio: float
    cleanup_seconds: float  # DELETE by ISBN + VACUUM books, not measured
    goal_met: bool


@dataclass(frozen=True)
class Export:
    rows: int
    megabytes: float
    seconds: float
    rows_per_second: float
    rss_before_mb: float  # VmRSS when the export starts
    maxrss_growth_mb: float  # ru_maxrss after - before, with the peak reset before the export
    peak_rss_mb: float
    tracemalloc_peak_mb: float  # in a second pass under tracemalloc (which slows it)
    traced_seconds: float


@dataclass(frozen=True)
class Goal:
    measure: str
    figure: str
    goal: str
    met: bool | None  # None: reported, no goal


@dataclass(frozen=True)
class Report:
    date: str
    command: str
    machine: dict[str, str]
    postgresql: str
    connection: str
    data: DataSet
    repeat: int
    listing: Listing
    search: list[SearchCase]
    reviews: Reviews
    http: Http | None
    bulk_import: Import | None
    export: Export
    goals: list[Goal]
    benchmark: str = "catalog"


# --- timing ----------------------------------------------------------------------------------


Run = Callable[[], Awaitable[int]]  # runs the query once; returns how many rows it gave


async def time_runs(run: Run, repeat: int) -> tuple[int, Timing]:
    """A warm-up, then `repeat` runs, fewer (but MIN_RUNS at least) when a slow query would
    take longer than QUERY_BUDGET_SECONDS. Returns the rows of the last run and the timing."""
    started = time.perf_counter()
    for _ in range(WARMUP_RUNS):
        rows = await run()
        if time.perf_counter() - started > WARMUP_MAX_SECONDS:
            break
    durations: list[float] = []
    started = time.perf_counter()
    while len(durations) < repeat:
        began = time.perf_counter()
        rows = await run()
        durations.append(time.perf_counter() - began)
        if len(durations) >= MIN_RUNS and time.perf_counter() - started > QUERY_BUDGET_SECONDS:
            break
    return rows, timing(durations)


async def explain(conn: Connection, name: str, parameters: dict[str, Any]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the named catalog query, run once with these parameters."""
    sql = getattr(queries.catalog, name).sql.strip().rstrip(";")
    order: list[str] = queries.driver_adapter.var_sorted[f"catalog.{name}"]
    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *(parameters[key] for key in order))
    return [row[0] for row in rows]


async def measure_on(conn: Connection, name: str, parameters: dict[str, Any], repeat: int, as_served: str) -> Measured:
    """Times the named catalog query (every row fetched), then keeps one run's plan."""
    query = getattr(queries.catalog, name)
    if name.startswith(("list_", "search_")):

        async def run() -> int:
            return len([row async for row in query(conn, **parameters)])
    else:

        async def run() -> int:
            return 0 if await query(conn, **parameters) is None else 1

    rows, measured = await time_runs(run, repeat)
    shown = {key: str(value) for key, value in parameters.items() if value is not None}
    print(
        f"  {name}({', '.join(f'{k}={v}' for k, v in shown.items())}): {rows} rows, "
        f"p50 {measured.p50_ms:.2f} ms, p95 {measured.p95_ms:.2f} ms ({measured.runs} runs)",
        flush=True,
    )
    return Measured(name, shown, rows, measured, await explain(conn, name, parameters), as_served)


async def measure(
    conn: Connection, unlimited: Database, name: str, parameters: dict[str, Any], repeat: int
) -> Measured:
    """measure_on the service's settings; a query that passes their statement_timeout is said to,
    and measured again on a connection without one, so it still has figures."""
    limit = AS_SERVED.statement_timeout_ms
    try:
        return await measure_on(conn, name, parameters, repeat, "within the statement_timeout")
    except asyncpg.QueryCanceledError:
        print(f"  {name} passed the service's statement_timeout ({limit:,} ms): measuring it without one")
    async with unlimited.connection() as free:
        return await measure_on(
            free,
            name,
            parameters,
            repeat,
            f"**passes the service's statement_timeout ({limit:,} ms)**: measured without one",
        )


# --- data set --------------------------------------------------------------------------------


def cli_environment() -> dict[str, str]:
    """The environment for `bookshop` commands on this benchmark's embedded server."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DATABASE_URL")}
    env["EMBEDDED_PGDATA"] = str(PGDATA)
    return env


def run_cli(*arguments: str) -> str:
    """Runs `uv run bookshop …` from the project root, showing its output; returns its last line."""
    process = subprocess.run(
        ["uv", "run", "bookshop", *arguments],
        cwd=PROJECT_ROOT,
        env=cli_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    print(process.stdout, end="", flush=True)
    if process.returncode != 0:
        raise RuntimeError(f"`bookshop {' '.join(arguments)}` failed with status {process.returncode}")
    lines = [line.strip() for line in process.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def cli_command(*arguments: str) -> str:
    return f"EMBEDDED_PGDATA={display(PGDATA)} uv run bookshop {' '.join(arguments)}"


def load_generation(books: int) -> Generation | None:
    if not GENERATION_FILE.exists():
        return None
    generation = Generation(**json.loads(GENERATION_FILE.read_text()))
    return generation if generation.books == books else None


async def count_books(owner_url: str) -> int:
    conn = await asyncpg.connect(owner_url)
    try:
        books: int = await conn.fetchval(COUNT_BOOKS)
    finally:
        await conn.close()
    return books


async def truncate_catalog(owner_url: str) -> None:
    conn = await asyncpg.connect(owner_url)
    try:
        await conn.execute(TRUNCATE_CATALOG)
    finally:
        await conn.close()


async def settle(superuser_url: str) -> None:
    """VACUUM ANALYZE (all-visible pages, so the listing is index-only) and a CHECKPOINT, so
    none of the load's writes land in a measurement."""
    conn = await asyncpg.connect(superuser_url)
    try:
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def generate(urls: DatabaseUrls, books: int, existing: int) -> Generation:
    if existing:
        print(f"books holds {existing:,} rows, not {books:,}: regenerating the catalog")
        asyncio.run(truncate_catalog(urls.owner))
    print(f"generating {books:,} books with `bookshop seed`…", flush=True)
    started = time.perf_counter()
    seed_output = run_cli("seed", "--books", str(books))
    seed_seconds = time.perf_counter() - started
    started = time.perf_counter()
    asyncio.run(settle(with_user(urls.owner, "postgres")))
    vacuum_seconds = time.perf_counter() - started
    print(f"generated in {seed_seconds:.0f} s, VACUUM ANALYZE + CHECKPOINT {vacuum_seconds:.0f} s")
    generation = Generation(
        books=books,
        date=now(),
        commands=[cli_command("migrate", "apply"), cli_command("seed", "--books", str(books))],
        seed_seconds=seed_seconds,
        vacuum_seconds=vacuum_seconds,
        seed_output=seed_output,
    )
    GENERATION_FILE.write_text(json.dumps(asdict(generation), indent=2) + "\n")
    return generation


async def rebuild_books_indexes(superuser_url: str) -> float:
    """REINDEX TABLE books, VACUUM ANALYZE books and a CHECKPOINT: every run reads the same
    compact indexes, whatever earlier runs' imports (inserted, deleted, vacuumed) left in them."""
    started = time.perf_counter()
    conn = await asyncpg.connect(superuser_url)
    try:
        await conn.execute("REINDEX TABLE books")
        await conn.execute("VACUUM ANALYZE books")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def read_into_cache(superuser_url: str) -> float:
    """Reads every table and index of the database once into the operating system's page cache
    (pg_prewarm's `read` mode), so that a run's first requests after a reboot or a long pause do
    not wait on the disk: cold, a phrase search took longer than the service's 5 s statement
    timeout and answered 503. Returns how long the read took."""
    started = time.perf_counter()
    conn = await asyncpg.connect(superuser_url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        await conn.execute(
            "SELECT pg_prewarm(c.oid, 'read') FROM pg_class AS c"
            " WHERE c.relkind IN ('r', 'i', 't', 'm') AND c.relnamespace <> 'pg_catalog'::regnamespace"
            " AND c.relpersistence = 'p'"
        )
    finally:
        await conn.close()
    return time.perf_counter() - started


def seeded(books: int) -> tuple[DatabaseUrls, bool, Generation | None]:
    """Migrates the benchmark's server and seeds it unless it holds `books` books already.
    Returns the URLs, whether the data was reused, and how it was made."""
    run_cli("migrate", "apply")  # starts the embedded server and bootstraps it when new
    urls = embedded.database_urls(PGDATA)
    existing = asyncio.run(count_books(urls.owner))
    if existing == books:
        print(f"reusing {books:,} books in {display(PGDATA)}")
        return urls, True, load_generation(books)
    return urls, False, generate(urls, books, existing)


def warm(urls: DatabaseUrls) -> None:
    """Reads the database into the page cache, so that no first request waits on the disk."""
    cache_seconds = asyncio.run(read_into_cache(with_user(urls.owner, "postgres")))
    print(f"read the database into the page cache (pg_prewarm) in {cache_seconds:.0f} s")


def prepare_data(books: int) -> tuple[DatabaseUrls, bool, Generation | None, float]:
    """The data set seeded, its indexes of books rebuilt, and read into the page cache. Returns
    the URLs, whether the data was reused, how it was made, and how long the rebuild took."""
    urls, reused, generation = seeded(books)
    rebuild_seconds = asyncio.run(rebuild_books_indexes(with_user(urls.owner, "postgres")))
    print(f"rebuilt the indexes of books (REINDEX, VACUUM ANALYZE, CHECKPOINT) in {rebuild_seconds:.0f} s")
    warm(urls)
    return urls, reused, generation, rebuild_seconds


def prepare_warm(books: int) -> tuple[DatabaseUrls, bool]:
    """The data set as the HTTP benchmarks use it: seeded and read into the page cache, its
    indexes not rebuilt. Returns the URLs and whether the data was reused."""
    urls, reused, _ = seeded(books)
    warm(urls)
    return urls, reused


async def sample_slugs(conn: asyncpg.Connection, count: int) -> list[str]:
    """`count` random listed books' slugs."""
    return [row["slug"] for row in await conn.fetch(SAMPLE_SLUGS_SQL, count)]


async def data_facts(
    owner: asyncpg.Connection, reused: bool, generation: Generation | None, rebuild_seconds: float
) -> DataSet:
    row = await owner.fetchrow(DATA_FACTS)
    assert row is not None
    return DataSet(**dict(row), reused=reused, generation=generation, rebuild_seconds=rebuild_seconds)


# --- 1, 2: listing ---------------------------------------------------------------------------


async def listing(
    conn: Connection, unlimited: Database, owner: asyncpg.Connection, data: DataSet, repeat: int
) -> Listing:
    depth = DEPTH if data.listed >= DEPTH + PAGE_SIZE else data.listed // 2
    cursor = await owner.fetchrow(NTH_LISTED, depth)
    assert cursor is not None
    print(f"listing ({data.listed:,} listed books; deep page after row {depth:,}):")
    first = await measure(
        conn, unlimited, "list_books", {"after_published_at": None, "after_id": None, "limit": PAGE_SIZE}, repeat
    )
    deep = await measure(
        conn,
        unlimited,
        "list_books",
        {"after_published_at": cursor["published_at"], "after_id": cursor["id"], "limit": PAGE_SIZE},
        repeat,
    )
    numbered = {"limit": PAGE_SIZE, "offset": depth, "exact_limit": Settings().exact_total_limit}
    offset = await measure(conn, unlimited, "list_books_page", numbered, repeat)
    keyset_ids = [
        row["id"]
        async for row in queries.catalog.list_books(
            conn, after_published_at=cursor["published_at"], after_id=cursor["id"], limit=PAGE_SIZE
        )
    ]
    offset_ids = [row["id"] async for row in queries.catalog.list_books_page(conn, **numbered)]
    keyset_ratio = deep.timing.p50_ms / first.timing.p50_ms
    return Listing(
        depth=depth,
        cursor=[cursor["published_at"].isoformat(), str(cursor["id"])],
        first=first,
        keyset_deep=deep,
        offset_deep=offset,
        same_rows=keyset_ids == offset_ids and len(keyset_ids) == PAGE_SIZE,
        keyset_ratio_p50=keyset_ratio,
        keyset_ratio_p95=deep.timing.p95_ms / first.timing.p95_ms,
        offset_ratio_p50=offset.timing.p50_ms / first.timing.p50_ms,
        goal_met=keyset_ratio <= KEYSET_MAX_RATIO,
    )


# --- 3: search -------------------------------------------------------------------------------


def search_parameters(q: str) -> dict[str, Any]:
    return {
        "q": q,
        "tag": None,
        "author_id": None,
        "min_price": None,
        "max_price": None,
        "after_rank": None,
        "after_id": None,
        "limit": PAGE_SIZE,
    }


async def search(conn: Connection, unlimited: Database, owner: asyncpg.Connection, repeat: int) -> list[SearchCase]:
    print("search:")
    cases = [*(("rare", q) for q in RARE_QUERIES), ("common", COMMON_QUERY), ("phrase", PHRASE_QUERY)]
    results: list[SearchCase] = []
    for kind, q in cases:
        if kind == "rare" and q not in RARE_WORDS:
            raise RuntimeError(f"{q!r} is not one of the seed's rare words {sorted(RARE_WORDS)}")
        matches: int = await owner.fetchval(COUNT_MATCHES, q)
        candidates: int = await owner.fetchval(COUNT_CANDIDATES, q)
        print(f"  {q} matches {matches:,} books ({candidates:,} hold all its words)")
        measured = await measure(conn, unlimited, "search_books", search_parameters(q), repeat)
        goal = SEARCH_SELECTIVE_P95_MS if kind == "rare" else None
        within = measured.as_served.startswith("within")
        met = None if goal is None else within and measured.timing.p95_ms < goal
        results.append(SearchCase(kind, q, matches, candidates, measured, goal, met))
        if kind == "common":  # what the service runs for it: the newest SEARCH_RANK_LIMIT matches ranked
            bounded = {**search_parameters(q), "rank_limit": Settings().search_rank_limit}
            measured = await measure(conn, unlimited, "search_books_bounded", bounded, repeat)
            met = measured.as_served.startswith("within") and measured.timing.p95_ms < SEARCH_SELECTIVE_P95_MS
            results.append(
                SearchCase("common, bounded", q, matches, candidates, measured, SEARCH_SELECTIVE_P95_MS, met)
            )
    return results


# --- 5: reviews ------------------------------------------------------------------------------


async def review_case(
    conn: Connection, unlimited: Database, owner: asyncpg.Connection, sql: str, repeat: int
) -> ReviewCase:
    row = await owner.fetchrow(sql)
    if row is None:
        raise RuntimeError("no live published book has reviews")
    book_id: UUID = row["book_id"]
    detail = await queries.catalog.get_book_detail(conn, id=book_id, slug=None)
    if detail is None or detail["rating"]["count"] != row["reviews"]:
        raise RuntimeError(f"get_book_detail disagrees on the reviews of {book_id}: {detail}")
    measured = await measure(conn, unlimited, "get_book_detail", {"id": book_id, "slug": None}, repeat)
    return ReviewCase(str(book_id), row["reviews"], measured)


async def reviews(conn: Connection, unlimited: Database, owner: asyncpg.Connection, repeat: int) -> Reviews:
    print("book detail with its rating summary:")
    most = await review_case(conn, unlimited, owner, MOST_REVIEWED, repeat)
    one = await review_case(conn, unlimited, owner, ONE_REVIEW, repeat)
    return Reviews(most=most, one=one, ratio_p50=most.measured.timing.p50_ms / one.measured.timing.p50_ms)


# --- 7: export -------------------------------------------------------------------------------


def proc_status_kb(key: str) -> int:
    """A figure in kB from /proc/self/status (VmRSS, VmHWM)."""
    match = re.search(rf"^{key}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def reset_peak_rss() -> None:
    """Sets the process's peak RSS back to its current RSS (Linux 4.0+), so ru_maxrss after the
    export shows what the export itself needed, not an earlier peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        print("warning: could not reset the peak RSS; ru_maxrss growth may read low")


async def stream_export(database: Database) -> tuple[int, int]:
    """Streams every live book through export_ndjson, as GET /books/export does; returns rows and bytes."""
    rows = size = 0
    async with database.connection() as conn:
        async for chunk in importer.export_ndjson(conn):
            rows += chunk.count(b"\n")
            size += len(chunk)
    return rows, size


async def export(database: Database, data: DataSet) -> Export:
    print(f"export of {data.live:,} live books:", flush=True)
    gc.collect()
    reset_peak_rss()
    rss_before = proc_status_kb("VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    rows, size = await stream_export(database)
    seconds = time.perf_counter() - started
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if rows != data.live:
        raise RuntimeError(f"the export gave {rows:,} rows, not the {data.live:,} live books")
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    await stream_export(database)
    traced_seconds = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = Export(
        rows=rows,
        megabytes=size / 1e6,
        seconds=seconds,
        rows_per_second=rows / seconds,
        rss_before_mb=rss_before / 1024,
        maxrss_growth_mb=(maxrss_after - maxrss_before) / 1024,
        peak_rss_mb=maxrss_after / 1024,
        tracemalloc_peak_mb=traced_peak / 1e6,
        traced_seconds=traced_seconds,
    )
    print(
        f"  {rows:,} rows ({result.megabytes:,.0f} MB) in {seconds:.1f} s: {result.rows_per_second:,.0f} rows/s; "
        f"peak RSS +{result.maxrss_growth_mb:.1f} MB over {result.rss_before_mb:.0f} MB, "
        f"tracemalloc peak {result.tracemalloc_peak_mb:.2f} MB"
    )
    return result


# --- 6: import -------------------------------------------------------------------------------


def isbn13(first_twelve: str) -> str:
    total = sum(int(digit) * (3 if i % 2 else 1) for i, digit in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


def fresh_isbn(number: int) -> str:
    """979 and the number: the seed's ISBNs all start 978, so these are new to the data."""
    return isbn13(f"979{number:09d}")


def ndjson_books(first: int, count: int, author_id: UUID, words: Sequence[str]) -> bytes:
    """`count` valid import rows numbered from `first`, shaped like the seed's books (a 2 to 6
    word title, 20 to 60 words of description drawn mostly from the front of the vocabulary)."""
    rng = random.Random(IMPORT_SEED + first)
    today = datetime.now(UTC)

    def word() -> str:
        return words[int(rng.random() ** 3 * len(words))]

    def lines() -> Iterator[bytes]:
        for number in range(first, first + count):
            yield msgspec.json.encode(
                {
                    "isbn": fresh_isbn(number),
                    "slug": f"bench-import-{number}",
                    "title": " ".join(word().capitalize() for _ in range(rng.randint(2, 6))),
                    "subtitle": rng.choice(("", "", "", "A Novel", "Stories")),
                    "description": " ".join(word() for _ in range(rng.randint(20, 60))).capitalize() + ".",
                    "author_id": str(author_id),
                    "price": f"{rng.randint(4, 49)}.99",
                    "stock": rng.randint(0, 200),
                    "is_published": True,
                    "published_at": (today - timedelta(days=rng.random() * 7300)).isoformat(),
                    "metadata": {"pages": rng.randint(48, 948), "format": rng.choice(("paperback", "hardcover"))},
                }
            )

    return b"\n".join(lines()) + b"\n"


def isbns_of(first: int, count: int) -> list[str]:
    return [fresh_isbn(number) for number in range(first, first + count)]


async def insert_row_by_row(database: Database, data: bytes) -> int:
    """Parses the rows and inserts them one create_book per row, in one transaction."""
    inserted = 0
    async with database.transaction() as conn:
        for line, row in importer.parse(data, "ndjson"):
            if isinstance(row, str):
                raise RuntimeError(f"line {line} of the generated rows is not valid: {row}")
            await queries.catalog.create_book(
                conn,
                slug=row.slug,
                isbn=row.isbn,
                title=row.title,
                subtitle=row.subtitle,
                description=row.description,
                author_id=row.author_id,
                price=row.price,
                stock=row.stock,
                is_published=row.is_published,
                published_at=row.published_at,
                metadata=row.metadata,
            )
            inserted += 1
    return inserted


async def delete_imported(owner: asyncpg.Connection, isbns: list[str]) -> None:
    await owner.execute(DELETE_BY_ISBN, isbns)
    await owner.execute("VACUUM books")


def staged_records(data: bytes) -> Iterator[tuple[Any, ...]]:
    """The rows as import_books stages them (importer.STAGED_COLUMNS), for the step-by-step run."""
    for line, row in importer.parse(data, "ndjson"):
        if isinstance(row, str):
            raise RuntimeError(f"line {line} of the generated rows is not valid: {row}")
        yield (
            line, row.isbn, row.slug, row.title, row.subtitle, row.description, row.author_id, row.price,
            row.stock, row.is_published, row.published_at, msgspec.json.encode(row.metadata).decode(),
        )  # fmt: skip


async def import_steps(conn: Connection, data: bytes) -> tuple[list[ImportStep], list[str]]:
    """import_books' statements one at a time, timed, the upsert under EXPLAIN (ANALYZE, BUFFERS);
    rolled back."""
    steps: list[ImportStep] = []
    transaction = conn.transaction()
    await transaction.start()
    try:
        started = time.perf_counter()
        await queries.catalog.create_book_import_table(conn)
        await conn.copy_records_to_table("book_import", records=staged_records(data), columns=importer.STAGED_COLUMNS)
        steps.append(ImportStep("parse + COPY into book_import", time.perf_counter() - started))
        started = time.perf_counter()
        await conn.fetchval(STAGED_TSVECTORS)
        steps.append(
            ImportStep("to_tsvector of the staged rows alone (not an import step)", time.perf_counter() - started)
        )
        started = time.perf_counter()
        rejected = [row async for row in queries.catalog.reject_staged_books(conn)]
        steps.append(ImportStep("reject_staged_books", time.perf_counter() - started))
        if rejected:
            raise RuntimeError(f"{len(rejected)} generated rows were rejected: {rejected[:3]}")
        started = time.perf_counter()
        plan = await explain(conn, "upsert_staged_books", {})
        steps.append(ImportStep("upsert_staged_books (under EXPLAIN ANALYZE)", time.perf_counter() - started))
    finally:
        await transaction.rollback()
    return steps, plan


async def insert_floor(conn: Connection, data: bytes) -> float:
    """INSERT_STAGED's seconds for the rows of `data`, staged (untimed) in a transaction that is
    rolled back: the least an import of them into books as it is can cost."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        await queries.catalog.create_book_import_table(conn)
        await conn.copy_records_to_table("book_import", records=staged_records(data), columns=importer.STAGED_COLUMNS)
        await conn.execute("ANALYZE book_import")
        started = time.perf_counter()
        await conn.execute(INSERT_STAGED)
        return time.perf_counter() - started
    finally:
        await transaction.rollback()


async def upsert_floor(owner: asyncpg.Connection, data: bytes) -> list[ImportStep]:
    """upsert_staged_books on books stripped, inside a transaction rolled back after: without
    the secondary indexes, then also without the generated search column. What is left is the
    heap, the primary key, the ISBN arbiter, the CHECKs and the foreign key: the least any
    upsert into books costs on this machine, whatever the import does around it."""
    steps: list[ImportStep] = []
    transaction = owner.transaction()
    await transaction.start()
    try:
        await queries.catalog.create_book_import_table(owner)
        await owner.copy_records_to_table("book_import", records=staged_records(data), columns=importer.STAGED_COLUMNS)
        secondary = await owner.fetchval(SECONDARY_BOOK_INDEXES)
        await owner.execute(f"DROP INDEX {secondary}")
        for step, change in (
            (f"upsert without {secondary} (rolled back)", None),
            ("upsert without those indexes nor computing search (rolled back)", STOP_GENERATING_SEARCH),
        ):
            if change is not None:
                await owner.execute(change)
            savepoint = owner.transaction()
            await savepoint.start()
            started = time.perf_counter()
            await owner.fetchrow(queries.catalog.upsert_staged_books.sql)
            steps.append(ImportStep(step, time.perf_counter() - started))
            await savepoint.rollback()
    finally:
        await transaction.rollback()
    return steps


async def import_as_served(database: Database, data: bytes) -> tuple[str, float, bool]:
    """import_books on the service's own pool settings; says how it ended and whether it committed."""
    started = time.perf_counter()
    try:
        async with database.connection() as conn:
            report = await importer.import_books(conn, rows=importer.parse(data, "ndjson"))
    except (asyncpg.QueryCanceledError, TimeoutError) as error:
        seconds = time.perf_counter() - started
        reason = (
            str(error)
            if isinstance(error, asyncpg.QueryCanceledError)
            else f"asyncpg's command_timeout of {AS_SERVED.command_timeout:g} s expired first"
        )
        return f"failed after {seconds:.1f} s ({reason}): rolled back, nothing imported", seconds, False
    seconds = time.perf_counter() - started
    return f"imported {report.inserted:,} rows in {seconds:.1f} s", seconds, True


async def bulk_import(database: Database, unlimited: Database, owner: asyncpg.Connection) -> Import:
    """import_books over IMPORT_ROWS rows against create_book row by row. The measured import
    runs on a pool without statement_timeout (the service's 5 s may cut it short, which the
    as-served run shows). Each run has its own ISBNs; every book they add is deleted after."""
    print(f"import of {IMPORT_ROWS:,} rows against {ROW_BY_ROW_ROWS:,} row by row:", flush=True)
    author_id: UUID = await owner.fetchval(AN_AUTHOR)
    async with database.connection() as conn:
        vocabulary = await queries.catalog.seed_vocabulary(conn)
    words: list[str] = vocabulary["words"]
    # Book numbers: the measured import 1.., row by row 100,001.., as served 200,001.., steps 300,001..
    firsts = {
        "measured": 1,
        "row_by_row": IMPORT_ROWS + 1,
        "as_served": 2 * IMPORT_ROWS + 1,
        "steps": 3 * IMPORT_ROWS + 1,
    }
    counts = {"measured": IMPORT_ROWS, "row_by_row": ROW_BY_ROW_ROWS, "as_served": IMPORT_ROWS, "steps": IMPORT_ROWS}
    isbns = [isbn for run, first in firsts.items() for isbn in isbns_of(first, counts[run])]
    await owner.execute(DELETE_BY_ISBN, isbns)  # what an interrupted run left
    data = {run: ndjson_books(first, counts[run], author_id, words) for run, first in firsts.items()}

    started = time.perf_counter()
    parsed = sum(1 for _, row in importer.parse(data["measured"], "ndjson") if not isinstance(row, str))
    parse_seconds = time.perf_counter() - started
    if parsed != IMPORT_ROWS:
        raise RuntimeError(f"only {parsed:,} of the {IMPORT_ROWS:,} generated rows are valid")

    try:
        started = time.perf_counter()
        async with unlimited.connection() as conn:
            report = await importer.import_books(conn, rows=importer.parse(data["measured"], "ndjson"))
        seconds = time.perf_counter() - started
        if report.inserted != IMPORT_ROWS or report.updated or report.rejected:
            raise RuntimeError(
                f"the import inserted {report.inserted:,}, updated {report.updated:,} and rejected "
                f"{len(report.rejected):,} ({report.rejected[:3]}), not {IMPORT_ROWS:,} new books"
            )
        print(
            f"  import_books: {IMPORT_ROWS / seconds:,.0f} rows/s ({seconds:.2f} s; parse alone {parse_seconds:.2f} s)"
        )
        started = time.perf_counter()
        inserted = await insert_row_by_row(database, data["row_by_row"])
        single_seconds = time.perf_counter() - started
        print(f"  create_book per row: {inserted / single_seconds:,.0f} rows/s ({single_seconds:.2f} s)")
        as_served, as_served_seconds, _ = await import_as_served(database, data["as_served"])
        print(f"  import_books as served (statement_timeout {AS_SERVED.statement_timeout_ms} ms): {as_served}")
        async with unlimited.connection() as conn:
            floor_seconds = await insert_floor(conn, data["steps"])
            print(
                f"  the database's own INSERT ... SELECT of as many staged rows: {floor_seconds:.2f} s;"
                f" import_books takes {seconds / floor_seconds:.2f}x that"
            )
            steps, upsert_plan = await import_steps(conn, data["steps"])
        steps += await upsert_floor(owner, data["steps"])
        print("  step by step (rolled back): " + ", ".join(f"{s.step} {s.seconds:.2f} s" for s in steps))
    finally:
        started = time.perf_counter()
        await delete_imported(owner, isbns)
        cleanup_seconds = time.perf_counter() - started
        print(f"  deleted the imported books and vacuumed in {cleanup_seconds:.1f} s", flush=True)
    rate = IMPORT_ROWS / seconds
    single_rate = inserted / single_seconds
    return Import(
        rows=IMPORT_ROWS,
        parse_only_seconds=parse_seconds,
        statement_timeout_ms=UNLIMITED.statement_timeout_ms,
        seconds=seconds,
        rows_per_second=rate,
        inserted=report.inserted,
        as_served=as_served,
        as_served_seconds=as_served_seconds,
        floor_seconds=floor_seconds,
        floor_ratio=seconds / floor_seconds,
        steps=steps,
        upsert_plan=upsert_plan,
        row_by_row_rows=inserted,
        row_by_row_seconds=single_seconds,
        row_by_row_rows_per_second=single_rate,
        ratio=rate / single_rate,
        cleanup_seconds=cleanup_seconds,
        goal_met=seconds / floor_seconds <= IMPORT_MAX_FLOOR_RATIO and rate / single_rate >= IMPORT_MIN_RATIO,
    )


# --- 4: book detail over HTTP ----------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    non_200: int = 0


async def http_client(
    client: httpx.AsyncClient, paths: Sequence[str], rng: random.Random, start: float, end: float, tally: Tally
) -> None:
    while (began := time.perf_counter()) < end:
        response = await client.get(rng.choice(paths))
        ended = time.perf_counter()
        if response.status_code != 200:
            tally.non_200 += 1
        if start <= ended <= end:
            tally.latencies.append(ended - began)
            tally.statuses[response.status_code] += 1


async def load(client: httpx.AsyncClient, label: str, paths: Sequence[str], seconds: float) -> HttpRun:
    """HTTP_CONNECTIONS clients for a warm-up and `seconds` measured; requests that end in the
    measured window count."""
    started = time.perf_counter()
    start = started + HTTP_WARMUP_SECONDS
    end = start + seconds
    tally = Tally()
    cpu_before = time.process_time()
    async with asyncio.timeout(HTTP_WARMUP_SECONDS + seconds + 30), asyncio.TaskGroup() as group:
        for seed in range(HTTP_CONNECTIONS):
            group.create_task(http_client(client, paths, random.Random(seed), start, end, tally))
    cpu_share = (time.process_time() - cpu_before) / (time.perf_counter() - started)
    measured = timing(tally.latencies)
    run = HttpRun(
        path=label,
        seconds=seconds,
        requests=measured.runs,
        requests_per_second=measured.runs / seconds,
        p50_ms=measured.p50_ms,
        p95_ms=measured.p95_ms,
        p99_ms=measured.p99_ms,
        statuses={str(status): count for status, count in sorted(tally.statuses.items())},
        non_200=tally.non_200,
        non_200_share=tally.non_200 / max(1, sum(tally.statuses.values())),
        client_cpu_share=cpu_share,
    )
    print(
        f"  GET {label}: {run.requests_per_second:,.0f} requests/s, p50 {run.p50_ms:.2f} ms, "
        f"p95 {run.p95_ms:.2f} ms, p99 {run.p99_ms:.2f} ms, non-200: {run.non_200}; "
        f"client CPU {run.client_cpu_share:.0%} of a core",
        flush=True,
    )
    return run


async def http(urls: DatabaseUrls, owner: asyncpg.Connection, seconds: float) -> Http:
    slugs = await sample_slugs(owner, SAMPLE_SLUGS)
    port = free_port()
    print(f"HTTP on 127.0.0.1:{port} ({HTTP_CONNECTIONS} clients, {len(slugs):,} sampled slugs):", flush=True)
    server = start_server(urls, port, env=cli_environment(), log=SERVE_LOG)
    try:
        limits = httpx.Limits(max_connections=HTTP_CONNECTIONS, max_keepalive_connections=HTTP_CONNECTIONS)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=10.0) as client:
            await wait_ready(client, server, log=SERVE_LOG)
            health = await load(client, "/health", ["/health"], seconds)
            detail = await load(client, "/books/{slug}", [f"/books/{slug}" for slug in slugs], seconds)
    finally:
        stop_server(server)
    return Http(
        server=f"`uv run bookshop serve --port <free port> --workers 1` (granian, 1 worker; pool "
        f"{Settings().pool_min_size} to {Settings().pool_max_size} connections, the defaults), DATABASE_URL the "
        "application role, RATE_LIMIT_PER_MINUTE=0, LOG_LEVEL=WARNING",
        client=f"httpx {httpx.__version__} AsyncClient in the benchmark's process, {HTTP_CONNECTIONS} connections "
        f"and {HTTP_CONNECTIONS} tasks, loopback; {HTTP_WARMUP_SECONDS:g} s warm-up + {seconds:g} s measured; "
        "client and server share the machine's cores",
        sampled_slugs=len(slugs),
        health=health,
        detail=detail,
        goal_met=health.non_200 == 0 and detail.non_200 == 0,
    )


# --- report ----------------------------------------------------------------------------------


def ms(t: Timing) -> str:
    return f"p50 {t.p50_ms:.2f} / p95 {t.p95_ms:.2f} / p99 {t.p99_ms:.2f} ms"


def figure(measured: Measured) -> str:
    """The timing, and a warning when the query passes the service's statement_timeout."""
    note = "" if measured.as_served.startswith("within") else f" ({measured.as_served})"
    return ms(measured.timing) + note


def matched(case: SearchCase) -> str:
    books = f"{case.matches:,} book{'s' if case.matches != 1 else ''}"
    return books if case.candidates == case.matches else f"{books}; {case.candidates:,} hold both words"


def goals(report_parts: dict[str, Any]) -> list[Goal]:
    listing: Listing = report_parts["listing"]
    result = [
        Goal("keyset listing, first page", figure(listing.first), "", None),
        Goal(
            f"keyset listing, page at depth {listing.depth:,}",
            f"{figure(listing.keyset_deep)}; {listing.keyset_ratio_p50:.2f}x the first page (p50), "
            f"{listing.keyset_ratio_p95:.2f}x (p95)",
            f"within {KEYSET_MAX_RATIO:g}x of the first page (p50)",
            listing.goal_met,
        ),
        Goal(
            f"offset listing, page at depth {listing.depth:,}",
            f"{figure(listing.offset_deep)}; {listing.offset_ratio_p50:,.0f}x the first page (p50)",
            "reported (expected much slower)",
            None,
        ),
    ]
    for case in report_parts["search"]:
        goal = f"p95 < {case.goal_p95_ms:g} ms" if case.goal_p95_ms is not None else "reported"
        result.append(
            Goal(f"search {case.kind} {case.q} ({matched(case)})", figure(case.measured), goal, case.goal_met)
        )
    rv: Reviews = report_parts["reviews"]
    for label, case in (("the most reviewed book", rv.most), ("a book with one review", rv.one)):
        result.append(
            Goal(
                f"book detail (DB): {label} ({case.reviews:,} review{'s' if case.reviews != 1 else ''})",
                figure(case.measured),
                "reported",
                None,
            )
        )
    web: Http | None = report_parts["http"]
    if web is not None:
        for run in (web.health, web.detail):
            result.append(
                Goal(
                    f"HTTP GET {run.path}",
                    f"{run.requests_per_second:,.0f} requests/s, p50 {run.p50_ms:.2f} / p95 {run.p95_ms:.2f} / "
                    f"p99 {run.p99_ms:.2f} ms, non-200 {run.non_200} ({run.non_200_share:.1%}); "
                    f"client CPU {run.client_cpu_share:.0%} of a core",
                    "no non-200",
                    run.non_200 == 0,
                )
            )
    imported: Import | None = report_parts["bulk_import"]
    if imported is not None:
        result.append(
            Goal(
                f"import {imported.rows:,} NDJSON rows",
                f"{imported.seconds:.2f} s, {imported.floor_ratio:.2f}x the database's own INSERT ... SELECT"
                f" ({imported.floor_seconds:.2f} s); {imported.rows_per_second:,.0f} rows/s vs"
                f" {imported.row_by_row_rows_per_second:,.0f} rows/s row by row: {imported.ratio:.1f}x (without"
                f" statement_timeout; as served: {imported.as_served})",
                f"<= {IMPORT_MAX_FLOOR_RATIO:g}x the INSERT ... SELECT floor and >= {IMPORT_MIN_RATIO:g}x row by row",
                imported.goal_met,
            )
        )
    out: Export = report_parts["export"]
    result.append(
        Goal(
            f"export {out.rows:,} books",
            f"{out.rows_per_second:,.0f} rows/s; peak RSS +{out.maxrss_growth_mb:.1f} MB, "
            f"tracemalloc peak {out.tracemalloc_peak_mb:.2f} MB",
            "memory stays flat (no figure set)",
            None,
        )
    )
    return result


def table(report: Report) -> str:
    lines = ["| measure | figure | goal | met |", "|---|---|---|---|"]
    for goal in report.goals:
        met = "n/a" if goal.met is None else ("yes" if goal.met else "**no**")
        lines.append(f"| {goal.measure} | {goal.figure} | {goal.goal or 'reported'} | {met} |")
    return "\n".join(lines)


def plan_detail(measured: Measured, prefix: str) -> str:
    """The first line of the plan that starts with prefix, as `prefix …`, or n/a."""
    for line in measured.plan:
        if line.strip().startswith(prefix):
            return f"`{line.strip()}`"
    return "n/a"


def first_line_of(plan: list[str]) -> str:
    return plan[0].strip() if plan else ""


def plan_summary(measured: Measured) -> str:
    """The plan's nodes, top down, without their figures: what the query did."""
    nodes = [re.sub(r"\s+\(.*$", "", line.strip().removeprefix("->  ")) for line in measured.plan if "->" in line]
    return " → ".join(dict.fromkeys(nodes)) or first_line_of(measured.plan)


def readme_section(report: Report) -> str:
    machine = report.machine
    data = report.data
    generation = data.generation
    if generation is None:
        made = "generated earlier (no record of how long it took)"
    else:
        made = (
            f"generated {generation.date} by `{'` then `'.join(generation.commands)}` in "
            f"{generation.seed_seconds:.0f} s (then VACUUM ANALYZE + CHECKPOINT {generation.vacuum_seconds:.0f} s)"
        )
    made += "; reused by this run" if data.reused else "; generated by this run"
    made += (
        f". Before measuring, the indexes of books are rebuilt (REINDEX TABLE books, VACUUM ANALYZE books, "
        f"CHECKPOINT: {data.rebuild_seconds:.0f} s), so every run reads the same compact indexes"
    )
    listing = report.listing
    heap_reads = "; ".join(
        f"{case.q}: {plan_detail(case.measured, 'Heap Blocks:')}, {plan_detail(case.measured, 'Buffers:')}"
        for case in report.search
    )
    lines = [
        "",
        f"## {report.date}: catalog",
        "",
        f"Command (from the project root): `{report.command}`",
        "",
        f"- Machine: nproc {machine['nproc']}, {machine['cpu']}, {machine['platform']}; Python {machine['python']}, "
        f"asyncpg {machine['asyncpg']}, httpx {machine['httpx']}; {report.connection}",
        f"- PostgreSQL: {report.postgresql}",
        f"- Data: {data.books:,} books ({data.listed:,} live and published, {data.live:,} live), "
        f"{data.authors:,} authors, {data.users:,} users, {data.reviews:,} reviews, {data.book_tags:,} book tags; "
        f"database {data.database_size}, books {data.books_size} (books_search_idx "
        f"{data.books_search_idx_size}, books_public_listing_idx {data.books_public_listing_idx_size}), "
        f"reviews {data.reviews_size}; {made}",
        f"- Queries: as the application role on create_pool, one at a time, every row fetched; "
        f"{WARMUP_RUNS} warm-up runs, then {report.repeat} runs (fewer, at least {MIN_RUNS}, once a query "
        f"has used {QUERY_BUDGET_SECONDS:g} s); EXPLAIN (ANALYZE, BUFFERS) of one run of each in the JSON",
        f"- Listing: cursor of row {listing.depth:,} ({', '.join(listing.cursor)}); keyset and offset pages at that "
        f"depth hold the same books: {'yes' if listing.same_rows else '**no**'}. Plans: first page "
        f"{plan_summary(listing.first)}; offset page {plan_summary(listing.offset_deep)}",
        f"- Search: search_books, no filters, limit {PAGE_SIZE}; every match is read from the heap and ranked "
        f"before the top {PAGE_SIZE} are kept (Bitmap Heap Scan on books_search_idx, then a top-N sort). Heap "
        f"blocks and buffers per query: {heap_reads}",
        f"- Detail with rating summary (get_book_detail by id): {plan_summary(report.reviews.most.measured)}; "
        f"the summary reads {report.reviews.most.reviews:,} entries of reviews_book_newest_idx for the most "
        f"reviewed book: {report.reviews.ratio_p50:.2f}x the p50 of a book with one",
    ]
    if report.http is not None:
        lines.append(f"- HTTP: server {report.http.server}; client {report.http.client}")
    if report.bulk_import is not None:
        imported = report.bulk_import
        steps = ", ".join(f"{step.step} {step.seconds:.2f} s" for step in imported.steps)
        lines.append(
            f"- Import: import_books on an application-role connection without statement_timeout (parse + COPY + "
            f"reject + upsert, one transaction, committed; parsing alone {imported.parse_only_seconds:.2f} s of "
            f"{imported.seconds:.2f} s) against {imported.row_by_row_rows:,} create_book calls in one transaction "
            f"(parse included). The same import on the service's settings (statement_timeout "
            f"{AS_SERVED.statement_timeout_ms:,} ms), other ISBNs: {imported.as_served}. Step by step on other "
            f"rows, rolled back: {steps} (the upsert's plan in the JSON). The rows were deleted by ISBN afterwards"
        )
    out = report.export
    lines += [
        f"- Export: export_ndjson over a pooled connection, chunks discarded: {out.megabytes:,.0f} MB of NDJSON; "
        f"RSS {out.rss_before_mb:.0f} MB before, peak {out.peak_rss_mb:.0f} MB; tracemalloc pass "
        f"{out.traced_seconds:.1f} s",
        "",
        table(report),
        "",
    ]
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------


def positive_int(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0] if __doc__ else None)
    parser.add_argument("--books", type=positive_int, default=1_000_000, help="books in the data set (1,000,000)")
    parser.add_argument("--repeat", type=positive_int, default=200, help="measured runs per query (200)")
    parser.add_argument("--seconds", type=positive_float, default=10.0, help="measured seconds per HTTP run (10)")
    parser.add_argument("--skip-http", action="store_true", help="no HTTP measurements")
    parser.add_argument("--skip-import", action="store_true", help="no import measurements")
    return parser.parse_args(argv)


async def open_database(settings: Settings, dsn: str) -> Database:
    return Database(await create_pool(settings, dsn=dsn), acquire_timeout=settings.pool_acquire_timeout)


async def benchmark(
    urls: DatabaseUrls,
    reused: bool,
    generation: Generation | None,
    rebuild_seconds: float,
    args: argparse.Namespace,
    argv: Sequence[str],
) -> Report:
    database = await open_database(AS_SERVED, urls.app)
    unlimited = await open_database(UNLIMITED, urls.app)
    owner = await asyncpg.connect(urls.owner)  # set-up queries and checks: the owner, no time limit
    try:
        data = await data_facts(owner, reused, generation, rebuild_seconds)
        async with database.connection() as conn:
            parts: dict[str, Any] = {
                "listing": await listing(conn, unlimited, owner, data, args.repeat),
                "search": await search(conn, unlimited, owner, args.repeat),
                "reviews": await reviews(conn, unlimited, owner, args.repeat),
            }
        parts["export"] = await export(database, data)
        parts["http"] = None if args.skip_http else await http(urls, owner, args.seconds)
        parts["bulk_import"] = None if args.skip_import else await bulk_import(database, unlimited, owner)
    finally:
        await owner.close()
        await unlimited.pool.close()
        await database.pool.close()
    return Report(
        date=now(),
        command=command(__file__, argv),
        machine=machine_facts({"asyncpg": asyncpg.__version__, "httpx": httpx.__version__}),
        postgresql=data.postgresql,
        connection="Unix socket for the queries, loopback TCP for HTTP; client and server on the same machine",
        data=data,
        repeat=args.repeat,
        goals=goals(parts),
        **parts,
    )


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    try:
        urls, reused, generation, rebuild_seconds = prepare_data(args.books)
        report = asyncio.run(benchmark(urls, reused, generation, rebuild_seconds, args, argv))
    finally:
        embedded.stop(PGDATA)
    publish(report.benchmark, report, table=table(report), section=readme_section(report))


if __name__ == "__main__":
    main(sys.argv[1:])
