"""The service behind a real PgBouncer in transaction mode (DATABASE_POOLER=transaction), two
server sessions for all of a test's clients: reads, an order and its replay, private reads of
callers interleaved on shared sessions, the worker issuing invoices, and a 16-client burst."""

import asyncio
import json
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from bookshop.app import create_app
from bookshop.jobs.handlers import HANDLERS
from bookshop.jobs.worker import WorkerOptions, run_worker
from bookshop.settings import Settings
from tests.support.accounts import Account, AccountFactory
from tests.support.catalog import add_author, add_book
from tests.support.clients import Client, concurrent_client
from tests.support.orders import key_headers, order_body
from tests.support.pgbouncer import POOL_SIZE
from tests.support.waiting import wait_until


@pytest.fixture
async def pooled_client(pooled_settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(pooled_settings)) as client:
        yield client


@pytest.fixture
async def books(pooled_client: Client, staff: Account) -> list[dict[str, Any]]:
    author = await add_author(pooled_client, staff)
    return [
        await add_book(pooled_client, staff, author, f"pooled-{n}-{uuid.uuid4().hex[:6]}", stock=1000, price="12.50")
        for n in range(3)
    ]


async def server_sessions(conn: asyncpg.Connection) -> int:
    """The application role's server sessions on the test's database right now."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND usename = 'bookshop_app'"
    )
    return count


async def test_reads_through_pgbouncer(pooled_client: Client, books: list[dict[str, Any]]) -> None:
    book = books[0]
    by_slug = await pooled_client.get(f"/books/{book['slug']}")
    assert by_slug.status_code == 200, by_slug.text
    assert by_slug.json()["id"] == book["id"]
    listed = await pooled_client.get("/books", params={"limit": 10})
    assert listed.status_code == 200, listed.text
    assert {item["id"] for item in listed.json()["items"]} == {book["id"] for book in books}
    assert (await pooled_client.get("/ready")).json() == {"status": "ready"}
    export = await pooled_client.get("/books/export")  # a server-side cursor in its transaction
    assert export.status_code == 200, export.text
    assert {json.loads(line)["slug"] for line in export.text.splitlines()} == {book["slug"] for book in books}


async def test_an_order_and_its_replay_through_pgbouncer(
    pooled_client: Client, books: list[dict[str, Any]], customer: Account, conn: asyncpg.Connection
) -> None:
    headers = key_headers(customer)
    first = await pooled_client.post("/orders", json=order_body((books[0], 2)), headers=headers)
    replay = await pooled_client.post("/orders", json=order_body((books[0], 2)), headers=headers)
    assert (first.status_code, replay.status_code) == (201, 200), replay.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert await conn.fetchval("SELECT count(*) FROM orders") == 1
    assert await conn.fetchval("SELECT stock FROM books WHERE id = $1", uuid.UUID(books[0]["id"])) == 998


async def test_private_reads_of_interleaved_callers_see_only_their_own(
    pooled_settings: Settings,
    pooled_client: Client,
    books: list[dict[str, Any]],
    make_account: AccountFactory,
    conn: asyncpg.Connection,
) -> None:
    customers: list[Account] = [await make_account() for _ in range(2)]
    placed: dict[str, set[str]] = {}
    for n, customer in enumerate(customers):
        for _ in range(n + 1):
            response = await pooled_client.post(
                "/orders", json=order_body((books[n], 1)), headers=key_headers(customer)
            )
            assert response.status_code == 201, response.text
            placed.setdefault(customer.email, set()).add(response.json()["id"])

    async with concurrent_client(create_app(pooled_settings)) as client:

        async def my_orders(customer: Account) -> tuple[str, set[str]]:
            response = await client.get("/me/orders", headers=customer.headers)
            assert response.status_code == 200, response.text
            return customer.email, {order["id"] for order in response.json()["items"]}

        seen = await asyncio.gather(*(my_orders(customers[n % 2]) for n in range(40)))
    assert all(ids == placed[email] for email, ids in seen), [len(ids) for _, ids in seen]
    assert 0 < await server_sessions(conn) <= POOL_SIZE


async def test_a_burst_of_16_clients_meets_no_error(
    pooled_settings: Settings,
    books: list[dict[str, Any]],
    customer: Account,
    staff: Account,
    conn: asyncpg.Connection,
) -> None:
    """400 requests from 16 clients at once, reads, writes and probes, on 2 server sessions."""
    requests: list[tuple[str, str, dict[str, Any]]] = []
    for n in range(400):
        book = books[n % len(books)]
        requests.append(
            [
                ("GET", f"/books/{book['slug']}", {}),
                ("GET", "/books", {"params": {"limit": 5}}),
                ("GET", "/me/orders", {"headers": customer.headers}),
                ("POST", "/orders", {"json": order_body((book, 1)), "headers": key_headers(customer)}),
                ("GET", "/ready", {}),
                ("GET", "/authors/stats", {}),
            ][n % 6]
        )
    statuses: Counter[int] = Counter()
    async with concurrent_client(create_app(msgspec.structs.replace(pooled_settings, pool_max_size=16))) as client:
        queue = list(reversed(requests))

        async def one_client() -> None:
            while queue:
                method, path, arguments = queue.pop()
                response = await client.request(method, path, **arguments)
                statuses[response.status_code] += 1
                assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"

        await asyncio.gather(*(one_client() for _ in range(16)))
    assert sum(statuses.values()) == 400
    assert set(statuses) <= {200, 201}, statuses
    assert await conn.fetchval("SELECT count(*) FROM orders") == statuses[201] == 400 // 6 + 1
    assert 0 < await server_sessions(conn) <= POOL_SIZE


async def test_the_timeout_asked_for_is_in_force_on_the_apps_connections(pooled_settings: Settings) -> None:
    """Read back through PgBouncer on the running app's own Database, as its handlers borrow it
    (the role's default would be 5 s)."""
    settings = msgspec.structs.replace(pooled_settings, statement_timeout_ms=1234)
    async with concurrent_client(create_app(settings)) as client:
        database = client.app.state.database
        for borrow in (database.connection, database.transaction):
            async with borrow() as conn:
                assert await conn.fetchval("SELECT current_setting('statement_timeout')") == "1234ms"
        assert (await client.get("/ready")).status_code == 200


async def place_orders(settings: Settings, customer: Account, book: dict[str, Any], count: int) -> list[str]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        ids = []
        for _ in range(count):
            response = await client.post("/orders", json=order_body((book, 1)), headers=key_headers(customer))
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids


@pytest.mark.parametrize("listens", [True, False], ids=["listening-directly", "polling-only"])
async def test_the_worker_issues_invoices_through_pgbouncer(
    listens: bool,
    pooled_settings: Settings,
    books: list[dict[str, Any]],
    customer: Account,
    conn: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Listening on its direct connection, an idle worker that polls once a minute still issues
    the invoices at once; without one it says so, and its polls find them."""
    settings = pooled_settings if listens else msgspec.structs.replace(pooled_settings, worker_listen_url=None)
    options = WorkerOptions(concurrency=4, poll_interval=60.0 if listens else 0.1)
    stop = asyncio.Event()
    caplog.set_level(logging.INFO, logger="bookshop.worker")
    task = asyncio.create_task(
        run_worker(settings, dsn=settings.database_url or "", handlers=HANDLERS, options=options, stop=stop)
    )
    try:

        async def started() -> bool:
            return any("at a time" in record.getMessage() for record in caplog.records)

        await wait_until(started, "the worker started")
        polling_only = [record for record in caplog.records if "no WORKER_LISTEN_URL" in record.getMessage()]
        assert bool(polling_only) is not listens
        orders = await place_orders(settings, customer, books[0], 12)

        async def all_invoiced() -> bool:
            return await conn.fetchval("SELECT count(*) FROM invoices") == len(orders)

        await wait_until(all_invoiced, "every order has its invoice", within=10 if listens else 15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert await conn.fetchval("SELECT count(*) FROM jobs WHERE status <> 'done'") == 0
