"""Orders as a client places them: bodies, idempotency keys, and a book's stock read back."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.support.accounts import Account

# make_book's factory: `await make_book(stock=3, price="10.00", **book_fields)`.
BookFactory = Callable[..., Awaitable[dict[str, Any]]]


def order_body(*lines: tuple[dict[str, Any], int]) -> dict[str, Any]:
    return {"lines": [{"book_id": book["id"], "quantity": quantity} for book, quantity in lines]}


def key_headers(account: Account, key: str | None = None) -> dict[str, str]:
    return {**account.headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def stock_of(client: httpx.AsyncClient, book: dict[str, Any]) -> int:
    response = await client.get(f"/books/{book['id']}")
    assert response.status_code == 200, response.text
    stock: int = response.json()["stock"]
    return stock
