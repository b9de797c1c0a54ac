"""Authors and books made by staff through the API, as a client makes them."""

from datetime import UTC, datetime
from typing import Any

from tests.support.accounts import Account
from tests.support.clients import Client

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


async def add_author(client: Client, staff: Account, name: str = "Ursula K. Le Guin") -> str:
    response = await client.post("/authors", json={"name": name}, headers=staff.headers)
    assert response.status_code == 201, response.text
    author_id: str = response.json()["id"]
    return author_id


async def add_book(client: Client, staff: Account, author_id: str, slug: str, **fields: Any) -> dict[str, Any]:
    body = {
        "slug": slug,
        "title": slug.replace("-", " ").title(),
        "author_id": author_id,
        "price": "9.99",
        "is_published": True,
        "published_at": EPOCH.isoformat(),
        **fields,
    }
    response = await client.post("/books", json=body, headers=staff.headers)
    assert response.status_code == 201, response.text
    book: dict[str, Any] = response.json()
    return book
