"""Nearby venue search over 100,000 venues (issue 5): the KNN query as served, what it saves, and over HTTP.

Goal (issue 5): p95 under 10 ms for a 5 km radius in a city-density area, over 100,000 venues.

The query points are random points within 2 km of the centres of the 5 biggest of the seed's 30
cities (a fixed random seed), one point per query, taking the cities in turn; how many venues lie
within the radius of them (on average, and per city) says how dense those areas are. On one
connection as the application role (set up as the service's pool sets up its own: codecs,
statement_timeout), one query at a time after a warm-up, limit 20, it times:

1. served: the named query nearby_venues through aiosql, as GET /venues/nearby runs it:
   earth_box(...) @> ll_to_earth(...) as the index condition on venues_location_idx, and
   ORDER BY ll_to_earth(...) <-> point, a k-nearest-neighbour scan that stops after 20 rows.
   asyncpg prepares it once per connection; from the sixth run PostgreSQL may run the prepared
   statement's generic plan instead of planning each run for its values (plan_cache_mode auto);
2. served, custom plans: the same SQL, each run the first of a newly prepared statement, so
   planned for its values as the first five runs on every new connection are (fewer runs);
3. box + sort: the same filter, ORDER BY earth_distance(...) instead of <->: every venue in the
   box is read and the 20 nearest are sorted out of them;
4. no index: only earth_distance(...) <= r and ORDER BY earth_distance(...): a scan of every
   venue (fewer runs).

Before timing, all of them must give the same venues in the same order at a sample of the
points. Then `bookshop serve` (granian, 1 worker) answers GET /venues/nearby for the same points,
one request at a time from httpx, checked against the served query first. For each query, the
JSON keeps EXPLAIN (ANALYZE, BUFFERS) at the first point (near London's centre, the densest) both
as planned for its values and as its generic plan runs, and how many runs of each kind the timed
runs used (pg_prepared_statements). Results are printed and recorded in bench/results/
(venues.json, README.md).

Run from the project root:
    uv run python bench/venues.py [--venues N] [--queries N] [--radius-km R]

The data lives in an embedded PostgreSQL in bench/.data/venues: the first run migrates it and
generates the venues with the project's generator (bookshop.bookings.seed.generate, no bookings,
PostgreSQL's random() seeded so the same venues come back), and later runs reuse them while the
count matches. The server is stopped at the end.
"""

import argparse
import asyncio
import json
import math
import os
import random
import re
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from measure import Timing, positive_float, positive_int, timing
from recording import RunReport, command, display, machine_facts, now, publish, section
from served import free_port, start_server, stop_server, wait_ready

from bookshop.bookings import seed as venue_seed
from bookshop.db import embedded, migrations
from bookshop.db.pool import Connection, connect
from bookshop.db.queries import queries
from bookshop.db.urls import DatabaseUrls, with_user
from bookshop.settings import Settings

BENCH_DIR = Path(__file__).resolve().parent
PGDATA = BENCH_DIR / ".data" / "venues"
GENERATION_FILE = BENCH_DIR / ".data" / "venues-generation.json"  # how the data set was made
SERVE_LOG = BENCH_DIR / ".data" / "venues-serve.log"

CITIES = 5  # the query points are around the centres of the biggest cities…
POINT_SPREAD_KM = 2.0  # …within this distance of them
POINT_SEED = 5
DATA_SEED = 0.5  # setseed() before the generator, so a regenerated data set is the same
KM_PER_DEGREE = 111.32  # of latitude, as the seed places venues
LIMIT = 20
WARMUP_RUNS = 50
SLOW_RUNS = 100  # at most, for the variants that read every venue in the box or the table
SLOW_WARMUP_RUNS = 5
CHECK_POINTS = 10  # points at which every variant must give the same venues in the same order
TIE_KM = 1e-9  # distances closer than this are a tie, whose order may differ

# Goal from issue 5.
GOAL_P95_MS = 10.0
GOAL_VENUES = 100_000
GOAL_RADIUS_KM = 5.0

AS_SERVED = Settings()  # the service's statement_timeout and command_timeout

# --- bench-only SQL (the service's queries live in sql/) ----------------------------------

COUNT_VENUES = "SELECT count(*) FROM venues"
CLEAR_VENUES = "TRUNCATE venues CASCADE"  # and bookings, which reference them
SEED_RANDOM = "SELECT setseed($1)"

DATA_FACTS = """
SELECT (SELECT count(*) FROM venues) AS venues,
       pg_size_pretty(pg_table_size('venues')) AS table_size,
       pg_size_pretty(pg_relation_size('venues_location_idx')) AS index_size,
       current_setting('server_version') AS postgresql
"""

# For each point: the venues in the search's box (what box + sort reads) and within the radius.
DENSITY = """
SELECT p.n,
       count(v.id) AS in_box,
       count(v.id) FILTER (WHERE earth_distance(ll_to_earth(p.lat, p.lon), ll_to_earth(v.latitude, v.longitude))
                                 <= $3) AS in_radius
FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p (lat, lon, n)
LEFT JOIN venues AS v ON earth_box(ll_to_earth(p.lat, p.lon), $3) @> ll_to_earth(v.latitude, v.longitude)
GROUP BY p.n
ORDER BY p.n
"""

# Variant 3: nearby_venues' filter, but the 20 nearest sorted out of every venue in the box.
BOX_AND_SORT = """
SELECT v.id, v.name, v.address, v.latitude, v.longitude, v.capacity, v.created_at, v.updated_at,
       earth_distance(here.point, ll_to_earth(v.latitude, v.longitude)) / 1000 AS distance_km
FROM (SELECT ll_to_earth($1, $2) AS point) AS here
JOIN venues AS v
  ON earth_box(here.point, $3) @> ll_to_earth(v.latitude, v.longitude)
 AND earth_distance(here.point, ll_to_earth(v.latitude, v.longitude)) <= $3
ORDER BY earth_distance(here.point, ll_to_earth(v.latitude, v.longitude))
LIMIT $4
"""

# Variant 4: no condition the index can serve, so every venue is read.
NO_INDEX = """
SELECT v.id, v.name, v.address, v.latitude, v.longitude, v.capacity, v.created_at, v.updated_at,
       earth_distance(here.point, ll_to_earth(v.latitude, v.longitude)) / 1000 AS distance_km
FROM (SELECT ll_to_earth($1, $2) AS point) AS here
JOIN venues AS v
  ON earth_distance(here.point, ll_to_earth(v.latitude, v.longitude)) <= $3
ORDER BY earth_distance(here.point, ll_to_earth(v.latitude, v.longitude))
LIMIT $4
"""

# How many generic and custom plans each statement the connection has prepared has run.
PLAN_COUNTS = "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
PLAN_COUNTS_OF = "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1"

# What each variant runs, for the JSON.
HOW = {
    "served": "nearby_venues through aiosql (queries.bookings.nearby_venues, as GET /venues/nearby runs it): "
    "earth_box @> on venues_location_idx, ORDER BY <-> (k-nearest-neighbour index scan), LIMIT",
    "served, custom plans": "the same SQL, each run the first of a statement prepared for it (not timed), so planned "
    "for its values, as the first five runs of the statement on every new connection are",
    "box + sort": "the same filter (earth_box @> on venues_location_idx, earth_distance <= r), ORDER BY "
    "earth_distance(...): every venue in the box read, then a top-N sort",
    "no index": "only earth_distance(...) <= r, ORDER BY earth_distance(...): every venue read, then a top-N sort",
}

# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    city: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Variant:
    name: str
    how: str
    timing: Timing
    by_city: dict[str, Timing]
    rows_mean: float  # venues returned per query
    generic_plans: int | None  # runs (warm-up included) through the prepared statement's generic plan…
    custom_plans: int | None  # …and planned for their values (pg_prepared_statements); None over HTTP
    plan: list[str]  # EXPLAIN (ANALYZE, BUFFERS) at the first point, planned for its values
    generic_plan: list[str]  # the same through the statement's generic plan


@dataclass(frozen=True)
class CityDensity:
    city: str
    points: int
    in_radius_mean: float
    in_radius_min: int
    in_radius_max: int
    in_box_mean: float


@dataclass(frozen=True)
class Density:
    radius_km: float
    points: int
    in_radius_mean: float  # venues within the radius of a query point
    in_radius_min: int
    in_radius_max: int
    in_box_mean: float  # venues in earth_box(point, radius): what box + sort reads
    points_under_limit: int  # points with fewer than LIMIT venues within the radius
    by_city: list[CityDensity]


@dataclass(frozen=True)
class Generation:
    venues: int
    date: str
    how: str
    seconds: float  # the generator, wall time
    settle_seconds: float  # VACUUM ANALYZE venues + CHECKPOINT after it


@dataclass(frozen=True)
class DataSet:
    venues: int
    table_size: str
    index_size: str
    postgresql: str
    reused: bool
    generation: Generation | None


@dataclass(frozen=True)
class Checks:
    points: int
    variants: list[str]  # each compared with the first
    same_order: int  # points where they all gave the same venues in the same order
    ties: int  # points where they differed only among venues at the same distance


@dataclass(frozen=True)
class Report(RunReport):
    data: DataSet
    radius_km: float
    limit: int
    queries: int
    points: str
    density: Density
    checks: list[Checks]  # the database variants, then HTTP, each against the served query
    variants: list[Variant]  # served, served with custom plans, box + sort, no index, HTTP
    goal: str
    goal_met: bool | None  # None: not a run at the goal's size and radius
    http_within_goal: bool


# --- timing -------------------------------------------------------------------------------


Search = Callable[[Point], Awaitable[list[Any]]]  # one search at a point; returns its venues
Answer = Callable[[Point], Awaitable[list[tuple[str, float]]]]  # the same as (id, distance in km)


async def time_searches(
    search: Search, points: Sequence[Point], warmup: int, before: Callable[[], Awaitable[None]] | None = None
) -> tuple[Timing, dict[str, Timing], float]:
    """`warmup` searches (at the points in turn), then one per point, timed, each after
    `before` (not timed) when given; returns the timing, the timing per city and the mean
    number of venues returned."""
    for index in range(warmup):
        if before is not None:
            await before()
        await search(points[index % len(points)])
    durations: dict[str, list[float]] = {}
    returned = 0
    for point in points:
        if before is not None:
            await before()
        began = time.perf_counter()
        venues = await search(point)
        durations.setdefault(point.city, []).append(time.perf_counter() - began)
        returned += len(venues)
    every = [duration for city in durations.values() for duration in city]
    by_city = {city: timing(values) for city, values in durations.items()}
    return timing(every), by_city, returned / len(points)


def served_sql() -> str:
    sql: str = queries.bookings.nearby_venues.sql
    return sql


def served_search(conn: Connection, radius_m: float) -> Search:
    """nearby_venues through aiosql, as the service calls it."""

    async def search(point: Point) -> list[Any]:
        rows = queries.bookings.nearby_venues(
            conn, latitude=point.latitude, longitude=point.longitude, radius_m=radius_m, limit=LIMIT
        )
        return [row async for row in rows]

    return search


def plain_search(conn: Connection, sql: str, radius_m: float) -> Search:
    async def search(point: Point) -> list[Any]:
        rows: list[Any] = await conn.fetch(sql, point.latitude, point.longitude, radius_m, LIMIT)
        return rows

    return search


class FreshStatements:
    """The served SQL, each run the first of a statement prepared for it (prepare() before each
    run, not timed): so each run is planned for its values, as the first five runs of the
    statement on every new connection are. plan_cache_mode = force_custom_plan would not do: it
    would also replan, on every call, the earthdistance SQL functions the query calls for each
    venue, whose plans PostgreSQL 18 caches like a prepared statement's."""

    def __init__(self, conn: asyncpg.Connection, sql: str, radius_m: float) -> None:
        self.conn = conn
        self.sql = sql
        self.radius_m = radius_m
        self.statement: asyncpg.prepared_stmt.PreparedStatement | None = None
        self.generic_plans = 0
        self.custom_plans = 0

    async def prepare(self) -> None:
        await self.release()
        self.statement = await self.conn.prepare(self.sql)

    async def release(self) -> None:
        """Counts the plans the current statement ran and lets it go (asyncpg closes it)."""
        if self.statement is not None:
            row = await self.conn.fetchrow(PLAN_COUNTS_OF, self.statement.get_name())
            assert row is not None
            self.generic_plans += row["generic_plans"]
            self.custom_plans += row["custom_plans"]
            self.statement = None

    async def search(self, point: Point) -> list[Any]:
        assert self.statement is not None
        rows: list[Any] = await self.statement.fetch(point.latitude, point.longitude, self.radius_m, LIMIT)
        return rows


def ids_and_distances(rows: Sequence[Any]) -> list[tuple[str, float]]:
    return [(str(row["id"]), float(row["distance_km"])) for row in rows]


def answer_of(search: Search) -> Answer:
    async def answer(point: Point) -> list[tuple[str, float]]:
        return ids_and_distances(await search(point))

    return answer


def normalised(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";").strip()


async def plan_counts(conn: Connection, sql: str) -> tuple[int, int]:
    """How many generic and custom plans the connection's prepared statement of `sql` has run."""
    for row in await conn.fetch(PLAN_COUNTS):
        if normalised(row["statement"]) == normalised(sql):
            return row["generic_plans"], row["custom_plans"]
    return 0, 0


async def explain(conn: Connection, sql: str, point: Point, radius_m: float) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of one run at the point, planned for its values."""
    rows = await conn.fetch(
        "EXPLAIN (ANALYZE, BUFFERS) " + sql.strip().rstrip(";"), point.latitude, point.longitude, radius_m, LIMIT
    )
    return [row[0] for row in rows]


async def explain_generic(conn: Connection, sql: str, point: Point, radius_m: float) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of one run at the point through the statement's generic plan
    (planned once for any values): PREPARE, then EXPLAIN EXECUTE under force_generic_plan, in a
    transaction that ends the setting; the statement is deallocated after."""
    arguments = f"{point.latitude!r}, {point.longitude!r}, {radius_m!r}, {LIMIT:d}"  # numbers only
    async with conn.transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await conn.execute("PREPARE bench_venues_generic AS " + sql.strip().rstrip(";"))
        try:
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_venues_generic ({arguments})")
        finally:
            await conn.execute("DEALLOCATE bench_venues_generic")
    return [row[0] for row in rows]


async def measure_variant(
    conn: Connection,
    name: str,
    sql: str,
    search: Search | FreshStatements,
    points: Sequence[Point],
    warmup: int,
    radius_m: float,
) -> Variant:
    """Times the search at the points after a warm-up (FreshStatements: a statement prepared
    before each run); then its plans at the first point."""
    if isinstance(search, FreshStatements):
        measured, by_city, rows_mean = await time_searches(search.search, points, warmup, before=search.prepare)
        await search.release()
        generic, custom = search.generic_plans, search.custom_plans
    else:
        generic_before, custom_before = await plan_counts(conn, sql)
        measured, by_city, rows_mean = await time_searches(search, points, warmup)
        generic_after, custom_after = await plan_counts(conn, sql)
        generic, custom = generic_after - generic_before, custom_after - custom_before
    print(
        f"  {name}: p50 {measured.p50_ms:.2f} / p95 {measured.p95_ms:.2f} / p99 {measured.p99_ms:.2f} ms "
        f"({measured.runs:,} runs, {rows_mean:.1f} venues each; {generic:,} generic and {custom:,} custom plans)",
        flush=True,
    )
    return Variant(
        name=name,
        how=HOW[name],
        timing=measured,
        by_city=by_city,
        rows_mean=rows_mean,
        generic_plans=generic,
        custom_plans=custom,
        plan=await explain(conn, sql, points[0], radius_m),
        generic_plan=[]
        if isinstance(search, FreshStatements)
        else await explain_generic(conn, sql, points[0], radius_m),
    )


# --- data set -----------------------------------------------------------------------------


def load_generation(venues: int) -> Generation | None:
    if not GENERATION_FILE.exists():
        return None
    generation = Generation(**json.loads(GENERATION_FILE.read_text()))
    return generation if generation.venues == venues else None


async def settle(superuser_url: str) -> float:
    """VACUUM ANALYZE venues and a CHECKPOINT, so none of the generator's writes land in a
    measurement."""
    started = time.perf_counter()
    conn = await asyncpg.connect(superuser_url)
    try:
        await conn.execute("VACUUM ANALYZE venues")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def prepare_data(urls: DatabaseUrls, owner: asyncpg.Connection, venues: int) -> DataSet:
    """Reuses the venues there when they are `venues` many, else generates them afresh."""
    existing: int = await owner.fetchval(COUNT_VENUES)
    if existing == venues:
        print(f"reusing {venues:,} venues in {display(PGDATA)}", flush=True)
        reused, generation = True, load_generation(venues)
    else:
        if existing:
            print(f"venues holds {existing:,} rows, not {venues:,}: regenerating them")
            await owner.execute(CLEAR_VENUES)
        print(f"generating {venues:,} venues…", flush=True)
        started = time.perf_counter()
        await owner.fetchval(SEED_RANDOM, DATA_SEED)
        result = await venue_seed.generate(owner, venues=venues, bookings_per_venue=0)
        seconds = time.perf_counter() - started
        settle_seconds = await settle(with_user(urls.owner, "postgres"))
        print(f"generated in {seconds:.1f} s, VACUUM ANALYZE + CHECKPOINT {settle_seconds:.1f} s", flush=True)
        reused = False
        generation = Generation(
            venues=result.venues,
            date=now(),
            how=f"bookshop.bookings.seed.generate(conn, venues={venues}, bookings_per_venue=0) as the owner, "
            f"after SELECT setseed({DATA_SEED})",
            seconds=seconds,
            settle_seconds=settle_seconds,
        )
        GENERATION_FILE.write_text(json.dumps(asdict(generation), indent=2) + "\n")
    row = await owner.fetchrow(DATA_FACTS)
    assert row is not None
    return DataSet(**dict(row), reused=reused, generation=generation)


def query_points(centres: Sequence[venue_seed.City], count: int) -> list[Point]:
    """`count` points, uniform within POINT_SPREAD_KM of the centres taken in turn."""
    rng = random.Random(POINT_SEED)
    points = []
    for index in range(count):
        centre = centres[index % len(centres)]
        latitude, longitude = float(centre.latitude), float(centre.longitude)  # numeric from the seed's VALUES
        distance = POINT_SPREAD_KM * math.sqrt(rng.random())
        bearing = 2 * math.pi * rng.random()
        north, east = distance * math.cos(bearing), distance * math.sin(bearing)
        points.append(
            Point(
                city=centre.name,
                latitude=latitude + north / KM_PER_DEGREE,
                longitude=longitude + east / (KM_PER_DEGREE * math.cos(math.radians(latitude))),
            )
        )
    return points


async def density(owner: asyncpg.Connection, points: Sequence[Point], radius_km: float) -> Density:
    rows = await owner.fetch(DENSITY, [p.latitude for p in points], [p.longitude for p in points], radius_km * 1000)
    in_radius = [row["in_radius"] for row in rows]
    in_box = [row["in_box"] for row in rows]
    by_city = []
    for city in dict.fromkeys(p.city for p in points):
        indexes = [i for i, p in enumerate(points) if p.city == city]
        counts = [in_radius[i] for i in indexes]
        by_city.append(
            CityDensity(
                city=city,
                points=len(indexes),
                in_radius_mean=sum(counts) / len(counts),
                in_radius_min=min(counts),
                in_radius_max=max(counts),
                in_box_mean=sum(in_box[i] for i in indexes) / len(indexes),
            )
        )
    return Density(
        radius_km=radius_km,
        points=len(points),
        in_radius_mean=sum(in_radius) / len(in_radius),
        in_radius_min=min(in_radius),
        in_radius_max=max(in_radius),
        in_box_mean=sum(in_box) / len(in_box),
        points_under_limit=sum(1 for count in in_radius if count < LIMIT),
        by_city=by_city,
    )


# --- checks -------------------------------------------------------------------------------


def same_venues(first: list[tuple[str, float]], other: list[tuple[str, float]]) -> str:
    """ "same" when the two answers list the same venues in the same order, "tie" when they differ
    only where venues lie at the same distance, else "different"."""
    if [venue for venue, _ in first] == [venue for venue, _ in other]:
        return "same"
    if len(first) == len(other) and all(abs(a - b) < TIE_KM for (_, a), (_, b) in zip(first, other, strict=True)):
        return "tie"
    return "different"


async def check_answers(answers: dict[str, Answer], points: Sequence[Point]) -> Checks:
    """Every answer must give the first one's venues in its order at each point."""
    reference, *others = answers
    verdicts: list[str] = []
    for point in points:
        expected = await answers[reference](point)
        if not expected:
            raise RuntimeError(f"no venue within the radius of {point}: the check would prove nothing")
        verdict = "same"
        for name in others:
            outcome = same_venues(expected, await answers[name](point))
            if outcome == "different":
                raise RuntimeError(f"{name} gives other venues than {reference} at {point}")
            if outcome == "tie":
                verdict = "tie"
        verdicts.append(verdict)
    checks = Checks(
        points=len(points), variants=list(answers), same_order=verdicts.count("same"), ties=verdicts.count("tie")
    )
    print(
        f"  same venues in the same order from {', '.join(checks.variants)} at {checks.points} points "
        f"({checks.ties} differing only in ties)",
        flush=True,
    )
    return checks


# --- HTTP ---------------------------------------------------------------------------------


def nearby_parameters(point: Point, radius_km: float) -> dict[str, str]:
    return {
        "lat": repr(point.latitude),
        "lon": repr(point.longitude),
        "radius_km": repr(radius_km),
        "limit": str(LIMIT),
    }


async def http_variant(
    urls: DatabaseUrls, points: Sequence[Point], check_points: Sequence[Point], radius_km: float, served: Answer
) -> tuple[Variant, Checks]:
    """GET /venues/nearby from `bookshop serve` for every point, one request at a time; first
    checked against the served query at the check points."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MIGRATIONS_DATABASE_URL")}
    server = start_server(urls, port, env=env, log=SERVE_LOG)
    statuses: dict[str, int] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as client:
            await wait_ready(client, server, log=SERVE_LOG)

            async def search(point: Point) -> list[Any]:
                response = await client.get("/venues/nearby", params=nearby_parameters(point, radius_km))
                statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
                venues: list[Any] = response.json() if response.status_code == 200 else []
                return venues

            checks = await check_answers({"served": served, "GET /venues/nearby": answer_of(search)}, check_points)
            measured, by_city, rows_mean = await time_searches(search, points, WARMUP_RUNS)
    finally:
        stop_server(server)
    if set(statuses) != {"200"}:
        raise RuntimeError(f"GET /venues/nearby answered {statuses}; see {display(SERVE_LOG)}")
    print(
        f"  GET /venues/nearby: p50 {measured.p50_ms:.2f} / p95 {measured.p95_ms:.2f} / p99 {measured.p99_ms:.2f} ms "
        f"({measured.runs:,} runs, {rows_mean:.1f} venues each)",
        flush=True,
    )
    variant = Variant(
        name="HTTP",
        how="GET /venues/nearby from `bookshop serve --workers 1` (granian; pool defaults; "
        f"RATE_LIMIT_PER_MINUTE=0; application role); httpx {httpx.__version__} AsyncClient in the benchmark's "
        "process, one keep-alive connection, one request at a time over loopback, timed to the whole body; "
        "every answer a 200",
        timing=measured,
        by_city=by_city,
        rows_mean=rows_mean,
        generic_plans=None,
        custom_plans=None,
        plan=[],
        generic_plan=[],
    )
    return variant, checks


# --- the run ------------------------------------------------------------------------------


async def benchmark(args: argparse.Namespace, argv: Sequence[str]) -> Report:
    SERVE_LOG.parent.mkdir(parents=True, exist_ok=True)
    urls = embedded.database_urls(PGDATA)
    migrations.apply(urls.owner)
    radius_m = args.radius_km * 1000
    owner = await connect(Settings(statement_timeout_ms=0, command_timeout=600.0), dsn=urls.owner)
    conn = await connect(AS_SERVED, dsn=urls.app)
    try:
        data = await prepare_data(urls, owner, args.venues)
        centres = (await venue_seed.cities(owner))[:CITIES]
        points = query_points(centres, args.queries)
        slow_points = points[:SLOW_RUNS]
        check_points = points[:: max(1, len(points) // CHECK_POINTS)][:CHECK_POINTS]
        print(
            f"{len(points):,} points within {POINT_SPREAD_KM:g} km of the centres of "
            f"{', '.join(c.name for c in centres)}; radius {args.radius_km:g} km, limit {LIMIT}",
            flush=True,
        )
        dense = await density(owner, points, args.radius_km)
        print(
            f"  venues within {args.radius_km:g} km of a point: mean {dense.in_radius_mean:,.0f} "
            f"(min {dense.in_radius_min:,}, max {dense.in_radius_max:,}); in its box: mean {dense.in_box_mean:,.0f}; "
            + ", ".join(f"{c.city} {c.in_radius_mean:,.0f}" for c in dense.by_city),
            flush=True,
        )
        served = served_search(conn, radius_m)
        box_and_sort = plain_search(conn, BOX_AND_SORT, radius_m)
        no_index = plain_search(conn, NO_INDEX, radius_m)
        checks = [
            await check_answers(
                {"served": answer_of(served), "box + sort": answer_of(box_and_sort), "no index": answer_of(no_index)},
                check_points,
            )
        ]
        print("one query at a time:", flush=True)
        fresh = FreshStatements(conn, served_sql(), radius_m)
        variants = [
            await measure_variant(conn, "served", served_sql(), served, points, WARMUP_RUNS, radius_m),
            await measure_variant(
                conn, "served, custom plans", served_sql(), fresh, slow_points, SLOW_WARMUP_RUNS, radius_m
            ),
            await measure_variant(conn, "box + sort", BOX_AND_SORT, box_and_sort, points, WARMUP_RUNS, radius_m),
            await measure_variant(conn, "no index", NO_INDEX, no_index, slow_points, SLOW_WARMUP_RUNS, radius_m),
        ]
        print("HTTP, one request at a time:", flush=True)
        web, web_checks = await http_variant(urls, points, check_points, args.radius_km, answer_of(served))
        variants.append(web)
        checks.append(web_checks)
    finally:
        await conn.close()
        await owner.close()
    at_goal = args.venues == GOAL_VENUES and args.radius_km == GOAL_RADIUS_KM
    return Report(
        benchmark="venues",
        date=now(),
        command=command(Path(__file__), argv),
        machine=machine_facts(
            {"postgresql": data.postgresql, "asyncpg": asyncpg.__version__, "httpx": httpx.__version__}
        ),
        setup=(
            f"{data.venues:,} venues around the seed's 30 cities (London about a fifth, a normal spread of 8 km "
            f"around each centre), no bookings, "
            + (
                "reused"
                if data.reused
                else f"generated by this run ({data.generation.seconds:.0f} s)"
                if data.generation
                else "generated"
            )
            + f"; venues {data.table_size}, venues_location_idx {data.index_size}; embedded PostgreSQL "
            f"{data.postgresql} on the same 2 cores. Queries as the application role on one connection set up as "
            f"the service's pool sets up its own, one at a time, every row fetched; {WARMUP_RUNS} warm-up searches "
            f"per variant, then one per point ({SLOW_WARMUP_RUNS} and the first {len(slow_points)} points for the "
            "custom plans and no index)."
        ),
        data=data,
        radius_km=args.radius_km,
        limit=LIMIT,
        queries=len(points),
        points=f"uniform within {POINT_SPREAD_KM:g} km of the centres of {', '.join(c.name for c in centres)} "
        f"in turn (random.Random({POINT_SEED}))",
        density=dense,
        checks=checks,
        variants=variants,
        goal=f"nearby_venues p95 < {GOAL_P95_MS:g} ms for a {GOAL_RADIUS_KM:g} km radius in a city-density area "
        f"over {GOAL_VENUES:,} venues",
        goal_met=variants[0].timing.p95_ms < GOAL_P95_MS if at_goal else None,
        http_within_goal=web.timing.p95_ms < GOAL_P95_MS,
    )


# --- report -------------------------------------------------------------------------------


def plan_summary(plan: list[str]) -> str:
    """The plan's nodes, top down, without their figures: what the query did."""
    if not plan:
        return "n/a"
    lines = [plan[0], *(line for line in plan if line.strip().startswith("->"))]
    nodes = [re.sub(r"\s+\(cost=.*$", "", line.strip().removeprefix("->").strip()) for line in lines]
    return " → ".join(dict.fromkeys(nodes))


def plan_ran(variant: Variant) -> list[str]:
    """The plan most of the variant's runs used: generic or planned for their values."""
    generic, custom = variant.generic_plans or 0, variant.custom_plans or 0
    return variant.generic_plan if variant.generic_plan and generic > custom else variant.plan


def table(report: Report) -> str:
    lines = [
        "| variant | runs | p50 ms | p95 ms | p99 ms | venues each | plans (warm-up included) | plan of those runs |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for v in report.variants:
        t = v.timing
        plan = plan_summary(plan_ran(v)) if v.plan else "the server's"
        used = "n/a" if v.generic_plans is None else f"{v.generic_plans:,} generic, {v.custom_plans:,} custom"
        lines.append(
            f"| {v.name} | {t.runs:,} | {t.p50_ms:.2f} | {t.p95_ms:.2f} | {t.p99_ms:.2f} | {v.rows_mean:.1f} | "
            f"{used} | {plan} |"
        )
    lines += [
        "",
        f"| city | points | venues within {report.radius_km:g} km (mean, min to max) | in the box (mean) | "
        + " | ".join(f"{v.name} p50 / p95 ms" for v in report.variants)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(report.variants),
    ]
    for city in report.density.by_city:
        figures = " | ".join(
            f"{v.by_city[city.city].p50_ms:.2f} / {v.by_city[city.city].p95_ms:.2f}" for v in report.variants
        )
        lines.append(
            f"| {city.city} | {city.points:,} | {city.in_radius_mean:,.0f} ({city.in_radius_min:,} to "
            f"{city.in_radius_max:,}) | {city.in_box_mean:,.0f} | {figures} |"
        )
    dense = report.density
    if report.goal_met is None:
        met = "not judged (not the goal's size or radius)"
    else:
        met = "met" if report.goal_met else "not met"
    served = report.variants[0].timing
    lines += [
        "",
        f"Venues within {dense.radius_km:g} km of a query point: mean {dense.in_radius_mean:,.0f} (min "
        f"{dense.in_radius_min:,}, max {dense.in_radius_max:,}); {dense.points_under_limit} of {dense.points:,} "
        f"points have fewer than {report.limit}.",
        *(
            f"Same venues in the same order from {', '.join(c.variants)} at {c.points} points: yes "
            f"({c.ties} differing only in ties)."
            for c in report.checks
        ),
        f"Goal: {report.goal}: served p95 {served.p95_ms:.2f} ms: **{met}**; over HTTP p95 "
        f"{report.variants[-1].timing.p95_ms:.2f} ms ({'under' if report.http_within_goal else 'over'} "
        f"{GOAL_P95_MS:g} ms).",
    ]
    return "\n".join(lines)


def readme_body(report: Report) -> str:
    served = report.variants[0]
    return (
        f"{report.setup} Points: {report.queries:,}, {report.points}; radius {report.radius_km:g} km, limit "
        f"{report.limit}. The served query at the first point, planned for its values: {plan_summary(served.plan)}; "
        f"through its generic plan: {plan_summary(served.generic_plan)} (both in the JSON).\n\n{table(report)}"
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venues", type=positive_int, default=GOAL_VENUES, help="venues in the data set (100000)")
    parser.add_argument("--queries", type=positive_int, default=2_000, help="query points, one search each (2000)")
    parser.add_argument("--radius-km", type=positive_float, default=GOAL_RADIUS_KM, help="search radius in km (5)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    try:
        report = asyncio.run(benchmark(args, argv))
    finally:
        embedded.stop(PGDATA)
    record = section(
        report.benchmark, date=report.date, command=report.command, machine=report.machine, body=readme_body(report)
    )
    publish(report.benchmark, report, table=table(report), section=record)


if __name__ == "__main__":
    main(sys.argv[1:])
