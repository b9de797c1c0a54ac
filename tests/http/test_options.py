"""OPTIONS says every method a path takes, as the OpenAPI document lists them (Litestar 2 told
only those of the first handler registered on the path)."""

from typing import Any

import pytest

from tests.support.clients import Client

AN_ID = "01900000-0000-7000-8000-000000000000"
EXAMPLE_SEGMENT = {"key": "theme", "job_id": "7"}  # any other parameter is an id (as a book may be)


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/schema/openapi.json")).json()
    return body


def concrete(path: str) -> str:
    parts = path.split("/")
    return "/".join(EXAMPLE_SEGMENT.get(part[1:-1], AN_ID) if part.startswith("{") else part for part in parts)


async def test_options_lists_every_documented_method_of_each_path(client: Client, document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        methods = {method.upper() for method in item if method in {"get", "post", "put", "patch", "delete"}}
        response = await client.options(concrete(path))
        assert response.status_code == 204, (path, response.text)
        allowed = {method.strip() for method in response.headers["allow"].split(",")}
        assert allowed - {"HEAD"} == methods | {"OPTIONS"}, path


async def test_a_book_by_slug_or_id_is_one_path_of_three_methods(client: Client) -> None:
    """GET takes an id or a slug, PATCH and DELETE an id: one resource, one Allow."""
    for url in ("/books/dune", f"/books/{AN_ID}"):
        assert (await client.options(url)).headers["allow"] == "DELETE, GET, OPTIONS, PATCH", url
