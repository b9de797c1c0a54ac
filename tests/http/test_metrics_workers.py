"""GET /metrics under `bookshop serve --workers 2`: one scrape covers both workers, whichever
of them answers it, and a worker killed outright leaves its counts and takes its pool along."""

import asyncio
import os
import signal
from pathlib import Path

import httpx

from bookshop.db.urls import DatabaseUrls
from tests.support.served import Served, serve
from tests.support.waiting import wait_until

REQUESTS = 60
CLIENTS = 4
POOL_MAX_SIZE = 3


async def ask_books(served: Served, count: int) -> None:
    """`count` GETs of /books, each on a new connection, so the kernel hands them to both
    workers (a kept-alive connection stays with one)."""
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=served.base, limits=limits, timeout=10) as client:
        for _ in range(count):
            assert (await client.get("/books?limit=5")).status_code == 200


async def test_one_scrape_counts_the_requests_of_every_worker(database_urls: DatabaseUrls, tmp_path: Path) -> None:
    settings = {"WORKERS": "2", "RATE_LIMIT_PER_MINUTE": "0", "POOL_MIN_SIZE": "1", "POOL_MAX_SIZE": str(POOL_MAX_SIZE)}
    with serve(database_urls, tmp_path, **settings) as served:
        served.wait_for_workers(2)
        await asyncio.gather(*(ask_books(served, REQUESTS // CLIENTS) for _ in range(CLIENTS)))
        books = {"method": "GET", "route": "/books", "status": "200"}
        scrapes = [served.metric("bookshop_http_requests_total", **books) for _ in range(4)]
        assert scrapes == [REQUESTS] * 4  # not about half, from whichever worker answered
        assert served.metric("bookshop_http_request_duration_seconds_count", **books) == REQUESTS
        # Both workers' pools, summed: each worker writes its own gauges.
        assert served.metric("bookshop_db_pool_max_size") == 2 * POOL_MAX_SIZE
        served_by = {path.name.split("_")[-1] for path in served.metrics_dir().glob("counter_*.db")}
    assert len(served_by) == 2  # the requests did reach both workers


async def test_a_killed_worker_s_counts_stay_and_its_pool_goes(database_urls: DatabaseUrls, tmp_path: Path) -> None:
    settings = {"WORKERS": "2", "RATE_LIMIT_PER_MINUTE": "0", "POOL_MIN_SIZE": "1", "POOL_MAX_SIZE": str(POOL_MAX_SIZE)}
    with serve(database_urls, tmp_path, **settings) as served:
        before = served.wait_for_workers(2)
        await asyncio.gather(*(ask_books(served, REQUESTS // CLIENTS) for _ in range(CLIENTS)))
        victim = min(before)
        os.kill(victim, signal.SIGKILL)

        async def new_worker_wrote_its_pool() -> bool:
            (new,) = served.worker_pids() - before or {0}
            return bool(new) and served.pool_max_size_written_by(new) == POOL_MAX_SIZE

        await wait_until(new_worker_wrote_its_pool, "the new worker's pool gauges written")
        assert served.metric("bookshop_db_pool_max_size") == 2 * POOL_MAX_SIZE  # the two live pools, not the dead one
        books = {"method": "GET", "route": "/books", "status": "200"}
        assert served.metric("bookshop_http_requests_total", **books) == REQUESTS  # the dead worker's count stays
