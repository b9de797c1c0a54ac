"""OPTIONS says every method a path takes, as the OpenAPI document lists them (Litestar 2 told
only those of the first handler registered on the path)."""

from typing import Any

import pytest

from tests.support.clients import Client

AN_ID = "01900000-0000-7000-8000-000000000000"
EXAMPLE_SEGMENT = {"key": "theme", "job_id": "7"}  # any other parameter is an id (a slug may be one too)


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    return body


def concrete(path: str) -> str:
    parts = path.split("/")
    return "/".join(EXAMPLE_SEGMENT.get(part[1:-1], AN_ID) if part.startswith("{") else part for part in parts)


async def test_options_lists_every_documented_method_of_each_path(client: Client, document: dict[str, Any]) -> None:
    """A URL may match two documented paths (`/books/{id_or_slug}` GET, `/books/{book_id}` PATCH):
    it takes the methods of both."""
    by_url: dict[str, set[str]] = {}
    for path, item in document["paths"].items():
        methods = {method.upper() for method in item if method in {"get", "post", "put", "patch", "delete"}}
        by_url.setdefault(concrete(path), set()).update(methods)
    for url, methods in by_url.items():
        response = await client.options(url)
        assert response.status_code == 204, (url, response.text)
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert allowed - {"HEAD"} == methods | {"OPTIONS"}, url


async def test_a_url_takes_the_methods_of_the_routes_its_segments_fit(client: Client) -> None:
    """/books/{id_or_slug} (GET) and /books/{book_id} (PATCH, DELETE) share a place: a slug fits
    only the first, a book's id both."""
    by_slug = await client.options("/books/dune")
    assert by_slug.headers["allow"] == "GET, OPTIONS"
    by_id = await client.options(f"/books/{AN_ID}")
    assert by_id.headers["allow"] == "DELETE, GET, OPTIONS, PATCH"
