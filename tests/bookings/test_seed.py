"""`bookshop seed --venues N`: venues cluster around cities, bookings never overlap and their
statuses fit their time."""

from collections import Counter

import asyncpg
import pytest

from bookshop import cli
from bookshop.bookings import seed
from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import TEST_PEPPER, AccountFactory
from tests.support.cli import run


async def test_venues_cluster_around_cities_the_biggest_first(conn: asyncpg.Connection) -> None:
    result = await seed.generate(conn, venues=3_000, bookings_per_venue=0, batch_size=1_100)
    assert (result.venues, result.bookings) == (3_000, 0)
    assert await conn.fetchval("SELECT count(*) FROM venues") == 3_000
    cities = await seed.cities(conn)
    by_city = Counter(
        {
            city.name: await conn.fetchval("SELECT count(*) FROM venues WHERE address LIKE '%, ' || $1", city.name)
            for city in cities
        }
    )
    assert sum(by_city.values()) == 3_000
    assert by_city.most_common(1)[0][0] == cities[0].name  # the biggest city has the most
    assert by_city[cities[0].name] > 8 * by_city[cities[-1].name]
    # Dense around each centre: most of a city's venues lie within 16 km (two spreads) of it.
    london = cities[0]
    near = await conn.fetchval(
        "SELECT count(*) FROM venues WHERE address LIKE '%, London'"
        " AND earth_distance(ll_to_earth($1, $2), ll_to_earth(latitude, longitude)) <= 16000",
        london.latitude,
        london.longitude,
    )
    assert near > 0.8 * by_city["London"]
    # A second run numbers after the first.
    await seed.generate(conn, venues=10, bookings_per_venue=0)
    assert await conn.fetchval("SELECT count(DISTINCT substring(name FROM ' (\\d+)$')) FROM venues") == 3_010


async def test_bookings_go_to_customers_never_overlap_and_fit_their_time(
    conn: asyncpg.Connection, make_account: AccountFactory
) -> None:
    for _ in range(5):
        await make_account()
    result = await seed.generate(conn, venues=200, bookings_per_venue=6)
    assert result.bookings == 1_200 == await conn.fetchval("SELECT count(*) FROM bookings")
    assert await conn.fetchval("SELECT count(DISTINCT user_id) FROM bookings") == 5
    overlapping = await conn.fetchval(
        "SELECT count(*) FROM bookings AS a JOIN bookings AS b"
        " ON a.venue_id = b.venue_id AND a.id < b.id AND a.during && b.during"
    )
    assert overlapping == 0  # none at all, cancelled or not
    assert (
        await conn.fetchval("SELECT count(*) FROM bookings WHERE status = 'completed' AND upper(during) > now()") == 0
    )
    assert await conn.fetchval("SELECT count(*) FROM bookings WHERE status = 'pending' AND upper(during) < now()") == 0
    statuses = {row["status"] for row in await conn.fetch("SELECT DISTINCT status FROM bookings")}
    assert statuses == {"pending", "confirmed", "completed", "cancelled"}


async def test_no_customers_means_no_bookings(conn: asyncpg.Connection) -> None:
    result = await seed.generate(conn, venues=20)
    assert (result.venues, result.bookings) == (20, 0)


def test_the_command_seeds_venues(database_urls: DatabaseUrls) -> None:
    env = {"DATABASE_URL": database_urls.app, "MIGRATIONS_DATABASE_URL": database_urls.owner}
    seeded = run("seed", "--books", "40", "--venues", "30", env={**env, "API_KEY_PEPPER": TEST_PEPPER})
    assert seeded.returncode == 0, seeded.stderr
    assert "added 30 venues and 120 bookings" in seeded.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed", "demo", "--venues", "10"], "not both"),
        (["seed", "--bookings-per-venue", "5"], "give a data set name"),
        (["seed", "--books", "5", "--venues", "10", "--bookings-per-venue", "366"], "--bookings-per-venue 0 to 365"),
        (["seed", "--venues", "0"], "--venues must be at least 1"),
    ],
)
def test_the_command_refuses_unclear_requests(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err
