"""`bookshop seed --orders N`: a year of orders whose invoices, jobs and events follow the
service's rules, in time order.

The property tests read one data set, generated once for the module in a database of its own.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from bookshop import cli
from bookshop.bookings import seed as venue_seed
from bookshop.catalog import seed as catalog_seed
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls
from bookshop.orders import seed
from bookshop.settings import Settings
from tests.support.accounts import TEST_PEPPER
from tests.support.cli import run
from tests.support.databases import cloned_database

ORDERS, CUSTOMERS = 6_000, 300


def uuid7_time(value: uuid.UUID) -> datetime:
    return datetime.fromtimestamp((value.int >> 80) / 1000, UTC)


@pytest.fixture(scope="module")
async def seeded_conn(
    admin_conn: asyncpg.Connection, template_urls: DatabaseUrls, server_url: str
) -> AsyncIterator[asyncpg.Connection]:
    """The owner's connection to a fresh database of the module's own, for the data set below."""
    async with cloned_database(admin_conn, server_url, "test_order_seed") as urls:
        connection = await connect(Settings(), dsn=urls.owner)
        yield connection
        await connection.close()


@pytest.fixture(scope="module")
async def seeded(seeded_conn: asyncpg.Connection) -> seed.OrderSeedResult:
    """A catalog, venues with bookings, then the orders, in batches smaller than the orders."""
    await catalog_seed.generate(seeded_conn, catalog=catalog_seed.plan(books=1_000, users=CUSTOMERS))
    await venue_seed.generate(seeded_conn, venues=300, bookings_per_venue=10)
    return await seed.generate(seeded_conn, orders=ORDERS, batch_size=2_500)


async def test_it_writes_the_counts_asked_for(seeded_conn: asyncpg.Connection, seeded: seed.OrderSeedResult) -> None:
    conn = seeded_conn
    counts = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM orders) AS orders, (SELECT count(*) FROM order_lines) AS order_lines,
                  (SELECT count(*) FROM invoices) AS invoices, (SELECT count(*) FROM jobs) AS jobs,
                  (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM api_keys) AS api_keys,
                  (SELECT count(*) FROM user_profiles) AS profiles, (SELECT count(*) FROM user_settings) AS settings"""
    )
    assert dict(counts) == {
        "orders": ORDERS,
        "order_lines": seeded.order_lines,
        "invoices": seeded.invoices,
        "jobs": seeded.jobs,
        "events": seeded.events,
        "api_keys": seeded.api_keys,
        "profiles": seeded.profiles,
        "settings": seeded.settings,
    }
    assert seeded.orders == ORDERS
    assert ORDERS < seeded.order_lines < 3 * ORDERS  # 1 to 4 lines, mostly 1
    assert 0.85 * ORDERS < seeded.invoices < ORDERS
    assert seeded.jobs == 2 * ORDERS  # an issue_invoice job per order, as many complete_booking jobs
    assert 0.7 * CUSTOMERS < seeded.api_keys < 0.9 * CUSTOMERS
    assert 0.5 * CUSTOMERS < seeded.profiles < 0.7 * CUSTOMERS
    assert CUSTOMERS < seeded.settings <= 3 * CUSTOMERS


async def test_orders_are_spread_over_the_year_their_ids_in_time_order(
    seeded_conn: asyncpg.Connection, seeded: seed.OrderSeedResult
) -> None:
    rows = await seeded_conn.fetch("SELECT id, created_at FROM orders ORDER BY created_at")
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids)  # UUIDv7 ids follow created_at, so "newest first by id" is by time
    for row in rows[:: ORDERS // 50]:
        assert abs((uuid7_time(row["id"]) - row["created_at"]).total_seconds()) < 0.002
    span = await seeded_conn.fetchrow(
        "SELECT now() - min(created_at) AS oldest, now() - max(created_at) AS newest FROM orders"
    )
    assert 360 <= span["oldest"].days <= 365
    assert span["newest"].days < 1
    # Every customer orders, a few of them often.
    per_customer = await seeded_conn.fetch("SELECT count(*) AS n FROM orders GROUP BY user_id ORDER BY n DESC")
    assert len(per_customer) > 0.9 * CUSTOMERS
    assert per_customer[0]["n"] > 4 * ORDERS / CUSTOMERS


async def test_statuses_and_lines_fit(seeded_conn: asyncpg.Connection, seeded: seed.OrderSeedResult) -> None:
    conn = seeded_conn
    shares = {
        row["status"]: row["n"] / ORDERS
        for row in await conn.fetch("SELECT status, count(*) AS n FROM orders GROUP BY status")
    }
    assert set(shares) == {"pending", "paid", "shipped", "cancelled"}
    assert 0.03 < shares["cancelled"] < 0.07
    assert shares["shipped"] > 0.85
    # Old orders are shipped or cancelled, bar a few never paid.
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM orders WHERE status = 'paid' AND created_at < now() - interval '7 days'"
        )
        == 0
    )
    # Lines: numbered from 1, distinct books per order, published live books at their price,
    # and the order's total is their sum.
    assert (
        await conn.fetchval(
            """SELECT count(*) FROM order_lines AS l JOIN books AS b ON b.id = l.book_id
           WHERE NOT b.is_published OR b.deleted_at IS NOT NULL OR l.unit_price <> b.price OR l.quantity < 1"""
        )
        == 0
    )
    assert (
        await conn.fetchval(
            """SELECT count(*) FROM (SELECT order_id FROM order_lines GROUP BY order_id
                                 HAVING max(line_no) <> count(*) OR count(DISTINCT book_id) <> count(*)
                                     OR count(*) > 4) AS bad"""
        )
        == 0
    )
    assert (
        await conn.fetchval(
            """SELECT count(*) FROM orders AS o
           WHERE o.total <> (SELECT sum(quantity * unit_price) FROM order_lines WHERE order_id = o.id)"""
        )
        == 0
    )
    assert await conn.fetchval("SELECT count(DISTINCT idempotency_key) FROM orders") == ORDERS


async def test_invoices_only_for_orders_that_may_have_them(
    seeded_conn: asyncpg.Connection, seeded: seed.OrderSeedResult
) -> None:
    conn = seeded_conn
    # Each invoice's order, owner and amount match; it was issued after the order was placed,
    # by a done issue_invoice job; a cancelled order's invoice is void, voided at the cancellation.
    mismatched = await conn.fetchval(
        """SELECT count(*) FROM invoices AS i JOIN orders AS o ON o.id = i.order_id
           LEFT JOIN jobs AS j ON j.kind = 'issue_invoice' AND j.payload ->> 'order_id' = o.id::text
           WHERE i.user_id <> o.user_id OR i.amount <> o.total OR i.issued_at <= o.created_at
              OR j.status IS DISTINCT FROM 'done'
              OR (o.status = 'cancelled') <> (i.deleted_at IS NOT NULL)
              OR (o.status = 'cancelled' AND i.deleted_at <> o.updated_at)"""
    )
    assert mismatched == 0
    # Not cancelled, its job done: invoiced. Cancelled ones are invoiced only when the
    # cancellation came after the job ran.
    missing = await conn.fetchval(
        """SELECT count(*) FROM orders AS o JOIN jobs AS j
               ON j.kind = 'issue_invoice' AND j.payload ->> 'order_id' = o.id::text
           WHERE j.status = 'done' AND o.status <> 'cancelled'
             AND NOT EXISTS (SELECT 1 FROM invoices AS i WHERE i.order_id = o.id)"""
    )
    assert missing == 0
    voided = await conn.fetchval("SELECT count(*) FROM invoices WHERE deleted_at IS NOT NULL")
    cancelled = await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'cancelled'")
    assert 0 < voided < cancelled  # some cancellations came before the invoice
    # Numbers follow the service's format and the order they were issued in.
    numbers = await conn.fetch("SELECT number, issued_at FROM invoices ORDER BY issued_at")
    assert all(
        row["number"] == f"INV-{row['issued_at'].astimezone(UTC):%Y}-{i + 1:06d}" for i, row in enumerate(numbers)
    )
    assert await conn.fetchval("SELECT last_value FROM invoice_number_seq") == len(numbers)


async def test_jobs_fit_the_queue(seeded_conn: asyncpg.Connection, seeded: seed.OrderSeedResult) -> None:
    conn = seeded_conn
    statuses = {
        (row["kind"], row["status"]): row["n"]
        for row in await conn.fetch("SELECT kind, status, count(*) AS n FROM jobs GROUP BY kind, status")
    }
    assert statuses[("issue_invoice", "done")] > 0.95 * ORDERS
    assert statuses[("complete_booking", "done")] > 0.9 * ORDERS
    assert {status for _, status in statuses} == {"queued", "running", "done", "failed"}
    # Ids follow creation; a failed job has used its attempts; a queued booking job waits for its
    # booking's end; every complete_booking job names a completed booking.
    rows = await conn.fetch("SELECT id, created_at FROM jobs ORDER BY id")
    assert [row["created_at"] for row in rows] == sorted(row["created_at"] for row in rows)
    assert await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'failed' AND attempts < max_attempts") == 0
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM jobs WHERE kind = 'complete_booking' AND status = 'queued' AND run_at <= now()"
        )
        == 0
    )
    assert (
        await conn.fetchval(
            """SELECT count(*) FROM jobs AS j
           WHERE kind = 'complete_booking'
             AND NOT EXISTS (SELECT 1 FROM bookings AS b
                             WHERE b.id = (j.payload ->> 'booking_id')::uuid AND b.status = 'completed')"""
        )
        == 0
    )


async def test_events_are_in_time_order(seeded_conn: asyncpg.Connection, seeded: seed.OrderSeedResult) -> None:
    conn = seeded_conn
    times = [row["occurred_at"] for row in await conn.fetch("SELECT occurred_at FROM events ORDER BY id")]
    assert times == sorted(times)
    # The physical order too, which is what the BRIN index reads: every block range is narrow.
    assert (
        await conn.fetchval("SELECT correlation FROM pg_stats WHERE tablename = 'events' AND attname = 'occurred_at'")
        > 0.99
    )
    kinds = {row["kind"]: row["n"] for row in await conn.fetch("SELECT kind, count(*) AS n FROM events GROUP BY kind")}
    assert kinds["order_placed"] == ORDERS
    assert kinds["invoice_issued"] == seeded.invoices
    assert kinds["order_cancelled"] == await conn.fetchval("SELECT count(*) FROM orders WHERE status = 'cancelled'")
    assert kinds["job_failed"] == await conn.fetchval("SELECT count(*) FROM jobs WHERE status = 'failed'")
    assert kinds["booking_completed"] == await conn.fetchval(
        "SELECT count(*) FROM jobs WHERE kind = 'complete_booking' AND status = 'done'"
    )


async def test_a_second_run_adds_after_the_first(seeded_conn: asyncpg.Connection, seeded: seed.OrderSeedResult) -> None:
    again = await seed.generate(seeded_conn, orders=10)
    assert again.orders == 10
    assert await seeded_conn.fetchval("SELECT count(*) FROM orders") == ORDERS + 10
    assert await seeded_conn.fetchval("SELECT max(substring(idempotency_key FROM 6)::int) FROM orders") == ORDERS + 10


async def test_no_customers_means_no_orders(conn: asyncpg.Connection) -> None:
    result = await seed.generate(conn, orders=20)
    assert (result.orders, result.jobs, result.events, result.api_keys) == (0, 0, 0, 0)


def test_the_command_seeds_orders(database_urls: DatabaseUrls) -> None:
    env = {"DATABASE_URL": database_urls.app, "MIGRATIONS_DATABASE_URL": database_urls.owner}
    seeded = run("seed", "--books", "40", "--orders", "30", env={**env, "API_KEY_PEPPER": TEST_PEPPER})
    assert seeded.returncode == 0, seeded.stderr
    assert "added 30 orders" in seeded.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed", "demo", "--orders", "10"], "not both"),
        (["seed", "--orders", "0"], "--orders must be at least 1"),
        (["seed", "--books", "5", "--venues", "5", "--orders", "0"], "--orders must be at least 1"),
    ],
)
def test_the_command_refuses_unclear_requests(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err
