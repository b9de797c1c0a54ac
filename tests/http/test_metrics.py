"""GET /metrics: requests by route template and status, named query latency, the pool and the
job queue, read by a client with no API key."""

import re
import uuid

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from bookshop.jobs import service as jobs
from tests.support.accounts import Account
from tests.support.catalog import add_author, add_book
from tests.support.clients import Client, ClientFactory
from tests.support.jobs import enqueue, numbered, set_done, set_failed

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_requests_are_counted_by_route_template_and_status(client: Client) -> None:
    unknown = uuid.uuid4()
    for _ in range(2):
        assert (await client.get("/books")).status_code == 200
    assert (await client.get(f"/books/{unknown}")).status_code == 404
    assert (await client.get("/no/such/route")).status_code == 404
    samples = await scrape(client)

    listing = {"method": "GET", "route": "/books", "status": "200"}
    detail = {"method": "GET", "route": "/books/{book}", "status": "404"}
    assert value(samples, "bookshop_http_requests_total", **listing) == 2
    assert value(samples, "bookshop_http_requests_total", **detail) == 1
    assert value(samples, "bookshop_http_request_duration_seconds_count", **listing) == 2
    assert value(samples, "bookshop_http_request_duration_seconds_bucket", **listing, le="+Inf") == 2
    assert 0 < (value(samples, "bookshop_http_request_duration_seconds_sum", **detail) or 0) < 5
    assert value(samples, "bookshop_http_requests_total", method="GET", route="unmatched", status="404") == 1
    # Labels are templates, never paths with ids.
    assert not any(str(unknown) in dict(labels).get("route", "") for _, labels in samples)


async def test_named_query_latency_after_a_book_detail(client: Client, staff: Account) -> None:
    book = await add_book(client, staff, await add_author(client, staff), "the-dispossessed")
    before = await scrape(client)
    assert (await client.get(f"/books/{book['id']}")).status_code == 200
    samples = await scrape(client)
    count = "bookshop_db_query_duration_seconds_count"
    detail = "catalog.get_book_detail"
    assert (value(samples, count, query=detail) or 0) - (value(before, count, query=detail) or 0) == 1
    assert 0 < (value(samples, "bookshop_db_query_duration_seconds_sum", query=detail) or 0) < 5
    assert value(samples, "bookshop_db_query_duration_seconds_bucket", query=detail, le="+Inf") == value(
        samples, count, query=detail
    )
    # The writes ran in transactions: asyncpg's BEGIN and COMMIT are timed under fixed names.
    assert (value(samples, count, query="transaction.begin") or 0) >= 2
    assert (value(samples, count, query="transaction.commit") or 0) >= 2
    # Every label is a query's name, never a statement's text.
    queries = {dict(labels)["query"] for name, labels in samples if name == count}
    assert {"catalog.create_author", "catalog.create_book", "auth.set_caller"} <= queries, queries
    assert all(re.fullmatch(r"\w+\.\w+|unnamed", query) for query in queries), queries


async def test_pool_gauges_are_read_at_scrape_time(make_client: ClientFactory) -> None:
    async with make_client(pool_min_size=2, pool_max_size=6) as client:
        samples = await scrape(client)
    size = value(samples, "bookshop_db_pool_size")
    idle = value(samples, "bookshop_db_pool_idle")
    assert size is not None
    assert idle is not None
    assert 2 <= size <= 6
    assert value(samples, "bookshop_db_pool_max_size") == 6
    # Read before the scrape takes a connection for the job counts: nothing else is in use.
    assert value(samples, "bookshop_db_pool_in_use") == size - idle == 0


async def test_job_queue_depth_by_status_matches_the_queue(client: Client, conn: asyncpg.Connection) -> None:
    before = await scrape(client)
    assert [value(before, "bookshop_jobs", status=s) for s in ("queued", "running", "failed")] == [0, 0, 0]

    ids = await enqueue(conn, "noop", numbered(6))
    await set_failed(conn, ids[0])
    await set_done(conn, ids[1], ids[2])
    await conn.execute("UPDATE jobs SET status = 'running', locked_by = 'w1', attempts = 1 WHERE id = $1", ids[3])
    samples = await scrape(client)
    assert value(samples, "bookshop_jobs", status="queued") == 2
    assert value(samples, "bookshop_jobs", status="running") == 1
    assert value(samples, "bookshop_jobs", status="failed") == 1
    assert value(samples, "bookshop_jobs", status="done") is None  # done jobs are not counted
    assert await jobs.count_by_status(conn) == {"queued": 2, "running": 1, "failed": 1}


async def test_metrics_need_no_key_and_are_not_rate_limited(make_client: ClientFactory) -> None:
    async with make_client(rate_limit_per_minute=2) as client:
        statuses = [(await client.get("/metrics")).status_code for _ in range(4)]
        assert statuses == [200] * 4
        limited = [(await client.get("/books")).status_code for _ in range(3)]
        assert limited[-1] == 429
        samples = await scrape(client)
    assert value(samples, "bookshop_http_requests_total", method="GET", route="/books", status="429") == 1


async def test_metrics_can_be_turned_off(make_client: ClientFactory) -> None:
    async with make_client(metrics_enabled=False) as client:
        assert (await client.get("/metrics")).status_code == 404
        response = await client.get("/books")
    assert response.status_code == 200
    assert response.headers["x-request-id"]  # request ids and the access log stay


async def test_each_app_counts_only_its_own_requests(make_client: ClientFactory) -> None:
    async with make_client() as first:
        await first.get("/health")
    async with make_client() as second:
        samples = await scrape(second)
    assert value(samples, "bookshop_http_requests_total", method="GET", route="/health", status="200") is None


async def test_metrics_stay_out_of_the_api_document(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert "/metrics" not in document["paths"]
    assert "/health" in document["paths"]
