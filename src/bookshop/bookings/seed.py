"""Venues and bookings for development and benchmarks: `bookshop seed --venues N`.

Every row is made in SQL (sql/bookings/seed.sql), one statement per batch, as the owner and in
one transaction, like the catalog's generator (bookshop.catalog.seed). Venues cluster around
30 cities, the biggest holding the most; bookings go to the customers already there (the
first 10,000), so seed a catalog first (`--books`) or none are made.
"""

import time
from uuid import UUID

import msgspec

from bookshop.catalog.seed import batches
from bookshop.db.pool import Connection
from bookshop.db.queries import queries

BATCH_SIZE = 50_000
DEFAULT_BOOKINGS_PER_VENUE = 4
MAX_BOOKINGS_PER_VENUE = 365  # one a day: a year of them
BOOKING_CUSTOMERS = 10_000

q = queries.bookings


class City(msgspec.Struct, frozen=True):
    name: str
    latitude: float
    longitude: float


class VenueSeedResult(msgspec.Struct, frozen=True, kw_only=True):
    venues: int
    bookings: int
    seconds: float


async def cities(conn: Connection) -> list[City]:
    """The cities venues cluster around, biggest first."""
    return [City(**row) async for row in q.seed_cities(conn)]


def check(*, venues: int, bookings_per_venue: int) -> None:
    """ValueError, before any connection, for counts out of range."""
    if venues < 1 or not 0 <= bookings_per_venue <= MAX_BOOKINGS_PER_VENUE:
        raise ValueError(f"--venues must be at least 1 and --bookings-per-venue 0 to {MAX_BOOKINGS_PER_VENUE}")


async def generate(
    conn: Connection, *, venues: int, bookings_per_venue: int = DEFAULT_BOOKINGS_PER_VENUE, batch_size: int = BATCH_SIZE
) -> VenueSeedResult:
    """Adds `venues` venues and their bookings in one transaction on an owner's connection,
    then ANALYZEs. ValueError for counts out of range."""
    check(venues=venues, bookings_per_venue=bookings_per_venue)
    started = time.monotonic()
    centres = await cities(conn)
    names = [city.name for city in centres]
    latitudes = [city.latitude for city in centres]
    longitudes = [city.longitude for city in centres]
    made_bookings = 0
    async with conn.transaction():
        first: int = await q.seed_venue_numbering(conn) + 1
        customers: list[UUID] = await queries.accounts.first_customer_ids(conn, limit=BOOKING_CUSTOMERS)
        for start, count in batches(first, venues, batch_size):
            venue_ids: list[UUID] = await q.seed_venues(
                conn, first=start, count=count, city_names=names, latitudes=latitudes, longitudes=longitudes
            )
            if bookings_per_venue and customers:
                made_bookings += await q.seed_bookings(
                    conn, venue_ids=venue_ids, per_venue=bookings_per_venue, user_ids=customers
                )
        await q.seed_analyze_bookings(conn)
    return VenueSeedResult(venues=venues, bookings=made_bookings, seconds=time.monotonic() - started)
