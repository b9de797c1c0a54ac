"""Books with stock to order, made by staff through the API."""

import uuid
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.catalog import add_author, add_book
from tests.support.clients import Client
from tests.support.orders import BookFactory


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
