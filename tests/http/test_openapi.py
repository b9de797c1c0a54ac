"""The OpenAPI document says who may call each operation, what it answers, and what it accepts."""

from typing import Any

import pytest

from bookshop.http.text import decimal_text
from tests.support.clients import Client


@pytest.fixture
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_a_key_is_required_only_where_a_caller_must_be_signed_in(document: dict[str, Any]) -> None:
    assert "security" not in document  # declared per operation instead
    optional, required = [{}, {"ApiKey": []}], [{"ApiKey": []}]
    assert document["paths"]["/books"]["get"]["security"] == optional
    assert document["paths"]["/books/{book}"]["get"]["security"] == optional  # staff see drafts
    assert document["paths"]["/users"]["post"]["security"] == optional  # admins register staff
    assert document["paths"]["/me"]["get"]["security"] == required
    assert document["paths"]["/admin/jobs"]["get"]["security"] == required
    assert document["paths"]["/users/{user_id}"]["get"]["security"] == required  # the account's own dependency


def test_every_refusal_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        refusals = {status: answer for status, answer in operation["responses"].items() if status >= "400"}
        assert {"401", "503"} <= refusals.keys(), (method, path)
        for status, answer in refusals.items():
            assert answer["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, (method, path, status)
    patch_book = document["paths"]["/books/{book}"]["patch"]["responses"]
    assert {"400", "401", "403", "404", "409", "413", "415", "422", "429", "503"} <= patch_book.keys()
    assert "429" not in document["paths"]["/health"]["get"]["responses"]  # probes are never limited


def test_payloads_are_described_as_msgspec_validates_them(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    book_in = schemas["BookIn"]
    assert book_in["additionalProperties"] is False  # unknown fields are refused
    assert book_in["properties"]["stock"]["minimum"] == 0
    # Money is a decimal string in exactly the form the pattern shows (http/text.py).
    assert book_in["properties"]["price"]["type"] == "string"
    assert book_in["properties"]["price"]["pattern"] == decimal_text(10)
    assert schemas["OrderLineIn"]["additionalProperties"] is False  # nested inputs too
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status"}


def test_what_the_checks_of_schemathesis_found_undeclared_is_declared(document: dict[str, Any]) -> None:
    paths = document["paths"]
    # A deactivated account's key is refused on every route, public ones included.
    assert all("403" in operation["responses"] for _, _, operation in operations(document))
    assert "408" in paths["/users"]["post"]["responses"]  # a body that does not arrive in time
    assert set(paths["/books/export"]["get"]["responses"]["200"]["content"]) == {"application/x-ndjson"}
    for path in ("/users/{user_id}/profile", "/users/{user_id}/settings/{key}", "/books/{book_id}/reviews/me"):
        assert {"200", "201"} <= paths[path]["put"]["responses"].keys(), path  # created or replaced
    imported = paths["/books/import"]["post"]["requestBody"]
    assert imported["required"] is True
    assert set(imported["content"]) == {"application/jsonl", "application/x-ndjson", "text/csv"}
    (prefers,) = [p for p in paths["/users"]["get"]["parameters"] if p["name"] == "prefers"]
    assert prefers["content"]["application/json"]["schema"]["type"] == "object"  # JSON, not free text
    assert document["components"]["schemas"]["NewBook"]["properties"]["metadata"]["additionalProperties"] == {
        "$ref": "#/components/schemas/JsonValue"
    }
