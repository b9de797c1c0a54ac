"""A year of trade for development, benchmarks and the plan guard: `bookshop seed --orders N`.

Every row is made in SQL (sql/orders/seed.sql), one statement per batch of orders, as the owner
and in one transaction, like the catalog's generator (bookshop.catalog.seed). The orders are
spread evenly over the year before now, each batch a slice of it in time order, so their
UUIDv7 ids, the jobs' ids and the events' ids grow with time as the service's do. An order is
placed by one of the customers already there (the first ORDER_CUSTOMERS) with lines on live,
published books (the first SHELF_BOOKS) at their prices; its issue_invoice job, its invoice,
its cancellation and their events follow the service's rules. As many complete_booking jobs
record completed bookings, when there are any. The run's events are appended last, sorted by
time. The customers also get API keys (that open nothing), profiles and settings.

Seed a catalog first (`--books`): without customers or published books no orders are made.
"""

import time
from datetime import timedelta
from uuid import UUID

import msgspec

from bookshop.catalog.seed import batches
from bookshop.db.pool import Connection
from bookshop.db.queries import queries

BATCH_SIZE = 50_000
ORDER_CUSTOMERS = 20_000
SHELF_BOOKS = 50_000
BOOKINGS_DONE = 20_000  # completed bookings the complete_booking jobs draw from
SPAN = timedelta(days=365)

q = queries.orders


class OrderSeedResult(msgspec.Struct, frozen=True, kw_only=True):
    orders: int
    order_lines: int
    invoices: int
    jobs: int
    events: int
    api_keys: int
    profiles: int
    settings: int
    seconds: float


def check(*, orders: int) -> None:
    """ValueError, before any connection, for a count out of range."""
    if orders < 1:
        raise ValueError("--orders must be at least 1")


async def generate(conn: Connection, *, orders: int, batch_size: int = BATCH_SIZE) -> OrderSeedResult:
    """Adds `orders` orders over the past year with their lines, invoices, jobs and events, and
    the customers' keys, profiles and settings, in one transaction on an owner's connection,
    then ANALYZEs. ValueError for a count out of range."""
    check(orders=orders)
    started = time.monotonic()
    totals = dict.fromkeys(("orders", "order_lines", "invoices", "jobs", "events"), 0)
    async with conn.transaction():
        await queries.catalog.seed_prepare_loading(conn)  # runs take turns; memory for the sorts
        first: int = await q.seed_order_numbering(conn) + 1
        await queries.catalog.seed_set_random(conn, seed=(first % 9973) / 9973)
        customers: list[UUID] = await queries.accounts.first_customer_ids(conn, limit=ORDER_CUSTOMERS)
        shelf = await q.seed_order_shelf(conn, limit=SHELF_BOOKS)
        done = await q.seed_order_bookings(conn, limit=BOOKINGS_DONE)
        step_seconds = SPAN.total_seconds() / orders
        await q.seed_create_order_events_table(conn)
        for start, count in batches(first, orders, batch_size):
            written = await q.seed_orders(
                conn,
                first=start,
                count=count,
                run_first=first,
                span_days=SPAN.days,
                step_seconds=step_seconds,
                user_ids=customers,
                book_ids=shelf["book_ids"],
                price_cents=shelf["price_cents"],
                booking_ids=done["booking_ids"],
                venue_ids=done["venue_ids"],
            )
            for name in ("orders", "order_lines", "invoices", "jobs"):
                totals[name] += written[name]
        totals["events"] = await q.seed_write_order_events(conn)
        accounts = await q.seed_customer_accounts(conn, user_ids=customers)
        await q.seed_analyze_orders(conn)
    return OrderSeedResult(
        **totals,
        api_keys=accounts["api_keys"],
        profiles=accounts["profiles"],
        settings=accounts["settings"],
        seconds=time.monotonic() - started,
    )
