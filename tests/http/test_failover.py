"""Failover as clients see it, on the streaming pair's own primary (tests/support/replica.py):
a primary turned read-only (what a failing-over primary, or a standby, answers: SQLSTATE 25006)
and a primary restarting. Writes answer 503 with Retry-After, never 500; signed-in reads keep
working, since authentication only reads (accounts/key_use.py writes key use later); and the
pool recovers by itself once the primary is writable or back.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

from bookshop.app import create_app
from bookshop.db.urls import DatabaseUrls
from tests.support.accounts import Account
from tests.support.catalog import add_author, add_book
from tests.support.clients import Client
from tests.support.problems import assert_problem
from tests.support.replica import StreamingPair, account_at, service_settings
from tests.support.waiting import wait_until


@asynccontextmanager
async def client_on(urls: DatabaseUrls, **changes: Any) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(service_settings(urls, **changes))) as client:
        yield client


def assert_unavailable(response: httpx.Response, kind: str | None = None) -> None:
    body = assert_problem(response, 503)
    assert int(response.headers["retry-after"]) >= 1
    if kind is not None:
        assert body["type"] == f"urn:bookshop:problem:{kind}"


async def last_used_at(urls: DatabaseUrls, account: Account) -> Any:
    conn = await asyncpg.connect(urls.owner)
    try:
        return await conn.fetchval("SELECT max(last_used_at) FROM api_keys WHERE user_id = $1", account.user_id)
    finally:
        await conn.close()


async def test_a_read_only_primary_refuses_writes_with_503_and_serves_signed_in_reads(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls]
) -> None:
    primary = replicated_urls[0]
    staff, customer = await account_at(primary, "staff"), await account_at(primary, "customer")
    async with client_on(primary) as client:
        author_id = await add_author(client, staff)
        book = await add_book(client, staff, author_id, "before-the-failover")
        await wait_until(lambda: last_used_at(primary, staff), "the staff key's first use was written")

        await streaming_pair.set_primary_read_only(True)

        async def refused() -> httpx.Response | None:
            response = await client.post("/authors", json={"name": "Late"}, headers=staff.headers)
            return response if response.status_code != 201 else None

        assert_unavailable(await wait_until(refused, "the primary turned read-only"), "read-only-database")
        # The customer's key was never used: its first use is noted, and cannot be written now.
        for path in ("/me", "/me/orders", "/me/api-keys", f"/books/{book['slug']}", "/books?limit=5"):
            response = await client.get(path, headers=customer.headers)
            assert response.status_code == 200, (path, response.text)
        review = {"rating": 4, "body": "Good."}
        assert_unavailable(
            await client.put(f"/books/{book['id']}/reviews/me", json=review, headers=customer.headers),
            "read-only-database",
        )
        order = {"lines": [{"book_id": book["id"], "quantity": 1}]}
        headers = {**customer.headers, "Idempotency-Key": "failover-1"}
        assert_unavailable(await client.post("/orders", json=order, headers=headers), "read-only-database")
        assert await last_used_at(primary, customer) is None
        assert client.app.state.key_use.pending, "the customer's key use waits to be written"

        await streaming_pair.set_primary_read_only(False)

        async def accepted() -> httpx.Response | None:
            response = await client.put(f"/books/{book['id']}/reviews/me", json=review, headers=customer.headers)
            return response if response.status_code == 201 else None

        await wait_until(accepted, "writes succeed once the primary is writable again")
        assert (await client.post("/authors", json={"name": "Back"}, headers=staff.headers)).status_code == 201
        # The use noted while the primary was read-only is written, not lost.
        await wait_until(lambda: last_used_at(primary, customer), "the customer's key use was written")


async def test_a_standby_as_the_database_refuses_writes_with_503_and_serves_signed_in_reads(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls]
) -> None:
    primary, replica = replicated_urls
    staff, customer = await account_at(primary, "staff"), await account_at(primary, "customer")
    await wait_until(streaming_pair.caught_up, "the replica has the accounts")
    # DATABASE_URL names the standby: what a service sees that still points at a demoted node.
    async with client_on(replica) as client:
        for account in (staff, customer):
            for path in ("/me", "/me/orders", "/books?limit=5"):
                response = await client.get(path, headers=account.headers)
                assert response.status_code == 200, (path, response.text)
        assert_unavailable(
            await client.post("/authors", json={"name": "Nowhere"}, headers=staff.headers), "read-only-database"
        )


async def test_a_restarting_primary_answers_503_never_500_and_the_pool_recovers(
    streaming_pair: StreamingPair, replicated_urls: tuple[DatabaseUrls, DatabaseUrls]
) -> None:
    primary = replicated_urls[0]
    staff, customer = await account_at(primary, "staff"), await account_at(primary, "customer")
    async with client_on(primary) as client:
        author_id = await add_author(client, staff)
        book = await add_book(client, staff, author_id, "through-a-restart")
        answers: list[httpx.Response] = []
        restarted = asyncio.Event()

        async def load() -> None:
            requests = [
                lambda: client.get(f"/books/{book['slug']}"),
                lambda: client.get("/me/orders", headers=customer.headers),
                lambda: client.patch(f"/books/{book['id']}", json={"price": "11.00"}, headers=staff.headers),
            ]
            after = 0
            while after < 30:  # until 30 requests in a row succeed after the restart
                response = await requests[len(answers) % len(requests)]()
                answers.append(response)
                after = after + 1 if restarted.is_set() and response.status_code < 300 else 0
                await asyncio.sleep(0)

        loader = asyncio.create_task(load())
        await wait_until(lambda: _at_least(answers, 10), "the load started")
        started = time.monotonic()
        await asyncio.to_thread(streaming_pair.primary.restart)
        restarted.set()
        await asyncio.wait_for(loader, 30)
        statuses = {response.status_code for response in answers}
        assert statuses <= {200, 503}, [r.text for r in answers if r.status_code not in (200, 503)][:3]
        unavailable = [response for response in answers if response.status_code == 503]
        assert unavailable, f"no request met the restart ({len(answers)} in {time.monotonic() - started:.1f} s)"
        for response in unavailable:
            assert_unavailable(response)


async def _at_least(answers: list[httpx.Response], count: int) -> bool:
    return len(answers) >= count


async def test_after_a_failover_the_pool_finds_the_promoted_standby(
    promotable_pair: tuple[StreamingPair, DatabaseUrls],
) -> None:
    pair, primary = promotable_pair
    staff = await account_at(primary, "staff")
    # Both nodes in one URL, as libpq takes them; asyncpg connects to the first that is a primary.
    user, database = primary.app.split("@")[0], primary.app.rsplit("/", 1)[1]
    hosts = f"127.0.0.1:{pair.primary.port},127.0.0.1:{pair.replica.port}"
    both = f"{user}@{hosts}/{database}?target_session_attrs=primary"
    async with client_on(DatabaseUrls(app=both, owner=primary.owner)) as client:
        author_id = await add_author(client, staff, name="Before")
        await wait_until(pair.caught_up, "the replica has the author")

        await asyncio.to_thread(pair.primary.stop)
        await asyncio.to_thread(pair.replica.promote)

        async def written() -> httpx.Response | None:
            response = await client.post("/authors", json={"name": "After"}, headers=staff.headers)
            if response.status_code == 503:
                assert_unavailable(response)
                return None
            return response

        assert (await wait_until(written, "a write reached the promoted standby")).status_code == 201
        after = await pair.replica.fetchval("SELECT count(*) FROM authors WHERE name = 'After'", database=database)
        assert after == 1
        assert (await client.get(f"/authors/{author_id}", headers=staff.headers)).status_code == 200
