"""GET /metrics: Prometheus metrics of requests, named queries, the pool and the job queue.

Each app keeps its metrics in a registry of its own (not prometheus_client's global one), so an
app counts only its own requests, and apps built side by side (the tests) do not collide.

- `bookshop_http_requests_total{method, route, status}` and
  `bookshop_http_request_duration_seconds{method, route, status}` (a histogram), observed for
  every request by http/observe.py. `route` is the route's template (`/books/{book}`),
  never the path with its ids; a request no route matched counts under `route="unmatched"`.
  `status` is what the app answered, or 499 when the client left before the response was
  complete, or 500 when a response failed after it started (http/observe.py).
- `bookshop_db_query_duration_seconds{query}`: every statement the pool runs, by the name of its
  query (`catalog.get_book_detail`), observed by db/query_log.py.
- `bookshop_db_pool_size`, `_idle`, `_in_use`, `_max_size`: the asyncpg pool, read at scrape time.
- `bookshop_db_replica_usable` (1 while public reads go to the replica, 0 while they go to the
  primary, or when REPLICA_DATABASE_URL is unset) and `bookshop_db_replica_lag_seconds` (at its
  last check; NaN when it did not answer), read at scrape time (db/replica.py).
- `bookshop_jobs{status}`: jobs queued, running and failed, counted at scrape time by
  jobs.count_jobs_by_status (sql/jobs/jobs.sql). Done jobs are not counted.

Under `bookshop serve` the metrics are the host's, whatever worker answers the scrape: serve
gives its workers one folder (PROMETHEUS_MULTIPROC_DIR, made fresh each start), every worker
writes its values there (prometheus_client's multiprocess mode) and a scrape sums them. Counters
and histograms keep the counts of workers that died (a respawn loses nothing). The pool gauges
are each live worker's, summed: a worker writes its own every POOL_GAUGE_SECONDS, and those of a
worker that is gone are dropped at the next scrape. The job counts are the latest any worker read.
Without that folder (the tests, one app in one process) each app keeps its own registry.
"""

import asyncio
import contextlib
import glob
import logging
import os
import re
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, Response, get
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import disable_created_metrics as _disable_created_metrics
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from bookshop.db.pool import Database
from bookshop.jobs import service as jobs

logger = logging.getLogger("bookshop.metrics")

METRICS_PATH = "/metrics"
# The classic text format (what every Prometheus version reads); Litestar appends the charset.
MEDIA_TYPE = "text/plain; version=0.0.4"
# How long a scrape waits for a connection and the job counts before it answers without them.
DATABASE_TIMEOUT_SECONDS = 2.0
# Where `bookshop serve` has its workers write their metrics (prometheus_client reads this name).
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# How often each worker writes its pool gauges when a scrape may reach another worker.
POOL_GAUGE_SECONDS = 1.0
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")

# From a millisecond (a cached detail) to the statement timeout's order of magnitude.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The `*_created` timestamp series double the output and no dashboard here reads them.
_disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """One app's metrics. Request timers are kept per label set, so observing one is a dict
    lookup and two additions."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        # Read when the app is built, in the worker: the folder serve made, or None.
        self.shared_dir = os.environ.get(MULTIPROCESS_DIR) or None
        if self.shared_dir:
            self.scraped = CollectorRegistry()
            MultiProcessCollector(self.scraped, path=self.shared_dir)  # type: ignore[no-untyped-call]
        request_labels = ("method", "route", "status")
        self.requests = Counter("bookshop_http_requests", "HTTP requests answered.", request_labels, registry=registry)
        self.request_seconds = Histogram(
            "bookshop_http_request_duration_seconds",
            "Time from a request's arrival to its response's last byte, in seconds.",
            request_labels,
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.query_seconds = Histogram(
            "bookshop_db_query_duration_seconds",
            "Time a statement took, by named query (unnamed: not a named query), in seconds.",
            ("query",),
            buckets=QUERY_BUCKETS,
            registry=registry,
        )

        # Modes for the multiprocess mode (ignored otherwise): the pools of live workers add up,
        # and the job counts are the database's, so the latest reading is the true one.
        def pool_gauge(name: str, documentation: str) -> Gauge:
            return Gauge(name, documentation, registry=registry, multiprocess_mode="livesum")

        self.pool_size = pool_gauge("bookshop_db_pool_size", "Connections the pool holds open.")
        self.pool_idle = pool_gauge("bookshop_db_pool_idle", "Open connections waiting in the pool.")
        self.pool_in_use = pool_gauge("bookshop_db_pool_in_use", "Connections lent out to requests.")
        self.pool_max_size = pool_gauge("bookshop_db_pool_max_size", "Most connections the pool opens.")
        # Each worker watches the replica itself; the scrape's reading is the latest.
        self.replica_usable = Gauge(
            "bookshop_db_replica_usable",
            "1 while public reads go to the replica, else 0.",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.replica_lag = Gauge(
            "bookshop_db_replica_lag_seconds",
            "The replica's lag at its last check, in seconds.",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self.jobs = Gauge(
            "bookshop_jobs",
            "Jobs in the queue by status (queued, running, failed).",
            ("status",),
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self._request_timers: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        timers = self._request_timers.get(key)
        if timers is None:
            labels = {"method": method, "route": route, "status": str(status)}
            timers = self._request_timers[key] = (
                self.requests.labels(**labels),
                self.request_seconds.labels(**labels),
            )
        timers[0].inc()
        timers[1].observe(seconds)

    async def read_database(self, database: Database) -> None:
        """Sets the pool gauges (before this scrape takes a connection) and the job counts. When
        the database does not answer, the job counts are left out rather than left stale."""
        self.read_pool(database)
        if (replica := database.replica) is not None:
            self.replica_usable.set(int(replica.usable))
            self.replica_lag.set(float("nan") if replica.lag_seconds is None else replica.lag_seconds)
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), database.connection() as conn:
                counts = await jobs.count_by_status(conn)
        except Exception as error:  # noqa: BLE001 - whatever failed, the rest of the scrape stands
            logger.warning("job counts left out of the metrics: %s", type(error).__name__)
            self.jobs.clear()
            return
        for status, count in counts.items():
            self.jobs.labels(status=status).set(count)

    def read_pool(self, database: Database) -> None:
        pool = database.pool
        size, idle = pool.get_size(), pool.get_idle_size()
        self.pool_size.set(size)
        self.pool_idle.set(idle)
        self.pool_in_use.set(size - idle)
        self.pool_max_size.set(pool.get_max_size())

    @contextlib.asynccontextmanager
    async def worker(self, database: Database) -> AsyncIterator[None]:
        """For as long as the worker serves: with a shared folder, it writes its pool gauges
        every POOL_GAUGE_SECONDS (a scrape reaches one worker, which reads only its own pool),
        and takes them out of the folder when it stops."""
        if not self.shared_dir:
            yield
            return

        async def write_pool_gauges() -> None:
            while True:
                self.read_pool(database)
                await asyncio.sleep(POOL_GAUGE_SECONDS)

        task = asyncio.create_task(write_pool_gauges())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            mark_process_dead(os.getpid(), self.shared_dir)  # type: ignore[no-untyped-call]

    def exposition(self) -> bytes:
        if not self.shared_dir:
            return generate_latest(self.registry)
        # A worker killed outright never took its pool gauges out: drop those of every process
        # that is gone (the folder is this host's, so its pids are this host's processes).
        for path in glob.glob(os.path.join(self.shared_dir, "gauge_live*.db")):
            if (found := _LIVE_GAUGE_FILE.fullmatch(os.path.basename(path))) and not _alive(int(found.group(1))):
                mark_process_dead(int(found.group(1)), self.shared_dir)  # type: ignore[no-untyped-call]
        return generate_latest(self.scraped)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, under another user
        return True
    return True


class MetricsController(Controller):
    """Unauthenticated, like /health: scrapers carry no API key, and the page holds no user data
    (counts, timings, route templates and query names). Not rate limited; METRICS_ENABLED=false
    removes it where the port is public and nothing in front blocks /metrics."""

    path = METRICS_PATH
    include_in_schema = False

    @get("/", summary="Prometheus metrics, in the text exposition format.")
    async def metrics(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        state = request.app.state
        metrics: Metrics = state.metrics
        await metrics.read_database(state.database)
        return Response(metrics.exposition(), media_type=MEDIA_TYPE)
