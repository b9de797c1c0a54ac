"""Public reads on a real streaming replica (db/replica.py), made by pg_basebackup -R from a
primary of their own (tests/support/replica.py): what is routed there, the fallback to the
primary when the replica lags or stops, and read-your-writes for signed-in callers.

The proof that a read came from the replica is data only one side has: with the replica's
replay paused, a book written on the primary is missing from the replica, so an anonymous
read that misses it was served by the replica, and one that finds it by the primary.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from bookshop.accounts.schemas import Role
from bookshop.app import create_app
from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import Account
from tests.support.catalog import add_author, add_book
from tests.support.clients import Client
from tests.support.replica import StreamingPair, account_at, service_settings
from tests.support.waiting import wait_until

NEVER_TOO_FAR = 3_600.0  # a lag limit no test reaches: the replica serves however stale it is


@asynccontextmanager
async def replica_client(urls: tuple[DatabaseUrls, DatabaseUrls], **changes: Any) -> AsyncIterator[Client]:
    primary, replica = urls
    settings = service_settings(
        primary, **{"replica_database_url": replica.app, "replica_max_lag_seconds": NEVER_TOO_FAR, **changes}
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def account(urls: tuple[DatabaseUrls, DatabaseUrls], role: Role) -> Account:
    return await account_at(urls[0], role)


async def on_replica(pair: StreamingPair, urls: tuple[DatabaseUrls, DatabaseUrls], slug: str) -> bool:
    """Whether the replica itself has the book (asked directly, not through the service)."""
    database = urls[1].app.rsplit("/", 1)[1]
    found = await pair.replica.fetchval("SELECT count(*) FROM books WHERE slug = $1", slug, database=database)
    return found == 1


@pytest.fixture
async def staff(replicated_urls: tuple[DatabaseUrls, DatabaseUrls]) -> Account:
    return await account(replicated_urls, "staff")


async def test_public_reads_are_served_by_the_replica(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls], staff: Account
) -> None:
    async with replica_client(replicated_urls) as client:
        author_id = await add_author(client, staff)
        await add_book(client, staff, author_id, "seen-on-both")
        await wait_until(streaming_pair.caught_up, "the replica replayed the first book")
        await streaming_pair.pause_replay()
        await add_book(client, staff, author_id, "only-on-the-primary")

        assert (await client.get("/books/seen-on-both")).status_code == 200
        assert (await client.get("/books/only-on-the-primary")).status_code == 404
        assert (await client.get("/books/search?q=primary")).json()["items"] == []
        listed = [book["slug"] for book in (await client.get("/books?limit=10")).json()["items"]]
        assert listed == ["seen-on-both"]
        assert [a["id"] for a in (await client.get("/authors")).json()["items"]] == [author_id]
        assert client.app.state.database.replica.usable

        await streaming_pair.resume_replay()
        found = await wait_until(
            lambda: _status_is(client.get("/books/only-on-the-primary"), 200), "the replica replayed the second book"
        )
        assert found.json()["slug"] == "only-on-the-primary"


async def test_reads_go_to_the_primary_while_the_replica_lags_too_far(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls], staff: Account
) -> None:
    async with replica_client(replicated_urls, replica_max_lag_seconds=1.0) as client:
        author_id = await add_author(client, staff)
        await wait_until(streaming_pair.caught_up, "the replica replayed the author")
        await streaming_pair.pause_replay()
        book = await add_book(client, staff, author_id, "fresh-from-the-primary", price="12.50")

        # Once the replica is more than a second behind, anonymous reads are fresh again.
        fresh = await wait_until(
            lambda: _status_is(client.get("/books/fresh-from-the-primary"), 200), "reads fell back to the primary"
        )
        assert fresh.json()["price"] == "12.50"
        assert not await on_replica(streaming_pair, replicated_urls, "fresh-from-the-primary")
        replica = client.app.state.database.replica
        assert not replica.usable
        assert replica.lag_seconds is not None
        assert replica.lag_seconds > 1.0
        listed = [b["id"] for b in (await client.get("/books?limit=10")).json()["items"]]
        assert listed == [book["id"]]
        assert "\nbookshop_db_replica_usable 0.0\n" in (await client.get("/metrics")).text

        await streaming_pair.resume_replay()
        await wait_until(lambda: _usable(client), "reads went back to the replica once it caught up")
        assert (await client.get("/books/fresh-from-the-primary")).status_code == 200
        assert "\nbookshop_db_replica_usable 1.0\n" in (await client.get("/metrics")).text


async def test_lag_counts_from_the_first_write_not_replayed_not_from_the_last_commit(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls], staff: Account
) -> None:
    async with replica_client(replicated_urls, replica_max_lag_seconds=1.0) as client:
        author_id = await add_author(client, staff)
        await wait_until(streaming_pair.caught_up, "the replica replayed the author")
        # A quiet spell: the last commit the replica replayed grows older than the limit...
        await wait_until(lambda: _quiet_for(streaming_pair, seconds=2), "two seconds without a commit")
        assert client.app.state.database.replica.usable
        paused_at = time.monotonic()
        await streaming_pair.pause_replay()
        await add_book(client, staff, author_id, "after-a-quiet-spell")
        # ...which is not lag: the replica falls behind only from the write it has not replayed.
        await wait_until(lambda: _unusable(client), "the replica fell behind")
        lag = client.app.state.database.replica.lag_seconds
        assert 1.0 < lag <= time.monotonic() - paused_at


async def test_reads_stay_up_when_the_replica_stops(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls], staff: Account
) -> None:
    async with replica_client(replicated_urls) as client:
        author_id = await add_author(client, staff)
        await add_book(client, staff, author_id, "still-readable")
        await wait_until(streaming_pair.caught_up, "the replica replayed the book")
        assert (await client.get("/books/still-readable")).status_code == 200
        assert client.app.state.database.replica.usable

        await asyncio.to_thread(streaming_pair.replica.stop)
        for _ in range(20):
            for path in ("/books/still-readable", "/books?limit=5", "/tags", f"/authors/{author_id}"):
                response = await client.get(path)
                assert response.status_code == 200, (path, response.text)
        assert not client.app.state.database.replica.usable

        await asyncio.to_thread(streaming_pair.replica.start)
        await wait_until(lambda: _usable(client), "reads went back to the replica once it was up")
        assert (await client.get("/books/still-readable")).status_code == 200


async def test_a_replica_down_at_start_does_not_stop_the_service(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls], staff: Account
) -> None:
    await asyncio.to_thread(streaming_pair.replica.stop)
    async with replica_client(replicated_urls) as client:
        assert (await client.get("/ready")).status_code == 200
        author_id = await add_author(client, staff)
        await add_book(client, staff, author_id, "served-by-the-primary")
        assert (await client.get("/books/served-by-the-primary")).status_code == 200
        assert not client.app.state.database.replica.usable


async def test_a_signed_in_caller_reads_what_they_just_wrote(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls], staff: Account
) -> None:
    customer = await account(replicated_urls, "customer")
    async with replica_client(replicated_urls) as client:
        author_id = await add_author(client, staff)
        book_id = (await add_book(client, staff, author_id, "reviewed"))["id"]
        await wait_until(streaming_pair.caught_up, "the replica replayed the book")
        # Replay paused: a read served by the replica would miss every write that follows.
        await streaming_pair.pause_replay()
        seen = 0
        for n in range(50):
            price = f"{10 + n}.00"
            changed = await client.patch(f"/books/{book_id}", json={"price": price}, headers=staff.headers)
            assert changed.status_code == 200, changed.text
            read = await client.get("/books/reviewed", headers=staff.headers)
            seen += read.json()["price"] == price
        assert seen == 50
        # The same read without a key came from the replica, which has none of the 50 changes.
        assert (await client.get("/books/reviewed")).json()["price"] == "9.99"

        review = {"rating": 5, "body": "Yes."}
        put = await client.put(f"/books/{book_id}/reviews/me", json=review, headers=customer.headers)
        assert put.status_code == 201, put.text
        reviews = (await client.get(f"/books/{book_id}/reviews", headers=customer.headers)).json()["items"]
        assert [r["rating"] for r in reviews] == [5]
        assert (await client.get(f"/books/{book_id}/reviews")).json()["items"] == []


async def _status_is(request: Any, status: int) -> httpx.Response | None:
    response: httpx.Response = await request
    return response if response.status_code == status else None


async def _unusable(client: Client) -> bool:
    return not await _usable(client)


async def _quiet_for(pair: StreamingPair, *, seconds: float) -> bool:
    age = await pair.replica.fetchval("SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())")
    return float(str(age)) > seconds


async def _usable(client: Client) -> bool:
    usable: bool = client.app.state.database.replica.usable
    return usable
