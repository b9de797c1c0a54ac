"""Money and stock under concurrency: no oversell, one order per key, one restock per cancel."""

import asyncio
from collections import Counter

import asyncpg

from tests.support.accounts import Account, AccountFactory
from tests.support.clients import ConcurrentClientFactory
from tests.support.orders import BookFactory, key_headers, order_body, stock_of


async def test_fifty_buyers_for_ten_copies_make_exactly_ten_orders(
    make_concurrent_client: ConcurrentClientFactory,
    make_account: AccountFactory,
    make_book: BookFactory,
    conn: asyncpg.Connection,
) -> None:
    buyers: list[Account] = [await make_account() for _ in range(50)]
    book = await make_book(stock=10)
    async with make_concurrent_client(pool_max_size=16) as client:
        responses = await asyncio.gather(
            *(client.post("/orders", json=order_body((book, 1)), headers=key_headers(buyer)) for buyer in buyers)
        )
        assert Counter(response.status_code for response in responses) == {201: 10, 409: 40}
        assert await stock_of(client, book) == 0
    assert await conn.fetchval("SELECT count(*) FROM orders") == 10
    assert await conn.fetchval("SELECT sum(quantity) FROM order_lines") == 10
    assert await conn.fetchval("SELECT count(*) FROM jobs WHERE kind = 'issue_invoice'") == 10


async def test_one_key_sent_ten_times_at_once_makes_one_order(
    make_concurrent_client: ConcurrentClientFactory, customer: Account, make_book: BookFactory, conn: asyncpg.Connection
) -> None:
    book = await make_book(stock=100)
    headers = key_headers(customer, "double-click")
    async with make_concurrent_client(pool_max_size=16) as client:
        responses = await asyncio.gather(
            *(client.post("/orders", json=order_body((book, 2)), headers=headers) for _ in range(10))
        )
        assert Counter(response.status_code for response in responses) == {201: 1, 200: 9}
        assert len({response.json()["id"] for response in responses}) == 1
        assert await stock_of(client, book) == 98
    assert await conn.fetchval("SELECT count(*) FROM orders") == 1
    assert await conn.fetchval("SELECT count(*) FROM jobs") == 1


async def test_concurrent_cancels_restock_once(
    make_concurrent_client: ConcurrentClientFactory, customer: Account, make_book: BookFactory
) -> None:
    first = await make_book(stock=10)
    second = await make_book(stock=10)
    async with make_concurrent_client(pool_max_size=16) as client:
        placed = await client.post("/orders", json=order_body((first, 4), (second, 3)), headers=key_headers(customer))
        order_id = placed.json()["id"]
        responses = await asyncio.gather(
            *(client.post(f"/orders/{order_id}/cancel", headers=customer.headers) for _ in range(8))
        )
        assert Counter(response.status_code for response in responses) == {200: 1, 409: 7}
        assert (await stock_of(client, first), await stock_of(client, second)) == (10, 10)


async def test_orders_sharing_books_in_opposite_orders_do_not_deadlock(
    make_concurrent_client: ConcurrentClientFactory, make_account: AccountFactory, make_book: BookFactory
) -> None:
    buyers: list[Account] = [await make_account() for _ in range(20)]
    one = await make_book(stock=1000)
    two = await make_book(stock=1000)
    async with make_concurrent_client(pool_max_size=16) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    "/orders",
                    json=order_body((one, 1), (two, 1)) if index % 2 else order_body((two, 1), (one, 1)),
                    headers=key_headers(buyer),
                )
                for index, buyer in enumerate(buyers)
            )
        )
        assert [response.status_code for response in responses] == [201] * 20
        assert (await stock_of(client, one), await stock_of(client, two)) == (980, 980)
