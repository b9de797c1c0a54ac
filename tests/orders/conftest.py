"""Books with stock to order, made by staff through the API."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.catalog.test_routes import add_author, add_book
from tests.conftest import Account

Client = AsyncTestClient[Any]
BookFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_book(client: Client, staff: Account) -> BookFactory:
    """A published book with the given stock and price; one author for all of a test's books."""
    author: dict[str, str] = {}

    async def factory(*, stock: int, price: str = "10.00", **fields: Any) -> dict[str, Any]:
        if "id" not in author:
            author["id"] = await add_author(client, staff)
        slug = f"book-{uuid.uuid4().hex[:10]}"
        return await add_book(client, staff, author["id"], slug, stock=stock, price=price, **fields)

    return factory


def order_body(*lines: tuple[dict[str, Any], int]) -> dict[str, Any]:
    return {"lines": [{"book_id": book["id"], "quantity": quantity} for book, quantity in lines]}


def key_headers(account: Account, key: str | None = None) -> dict[str, str]:
    return {**account.headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def stock_of(client: Client, book: dict[str, Any]) -> int:
    response = await client.get(f"/books/{book['id']}")
    assert response.status_code == 200, response.text
    stock: int = response.json()["stock"]
    return stock
