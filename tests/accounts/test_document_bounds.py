"""Free-form JSON a user stores is bounded: preferences and each setting's value hold at most
16 KiB of compact JSON nested at most 16 levels (a 400 naming the field), the ?prefers= filter
likewise, and the database refuses more than 64 KiB of jsonb text from any writer."""

from typing import Any

import asyncpg
import msgspec
import pytest

from bookshop.accounts.schemas import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_DEPTH
from tests.support.accounts import Account
from tests.support.clients import Client
from tests.support.problems import assert_problem


def sized(size: int) -> dict[str, Any]:
    """An object whose compact JSON is exactly `size` bytes."""
    value = {"note": ""}
    value["note"] = "x" * (size - len(msgspec.json.encode(value)))
    assert len(msgspec.json.encode(value)) == size
    return value


def nested(depth: int) -> dict[str, Any]:
    """`depth` objects, each the only member of the one around it, the innermost holding 1."""
    value: dict[str, Any] = {"a": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


WITHIN = [sized(MAX_DOCUMENT_BYTES), nested(MAX_DOCUMENT_DEPTH)]
BEYOND = [sized(MAX_DOCUMENT_BYTES + 1), nested(MAX_DOCUMENT_DEPTH + 1)]


@pytest.mark.parametrize("preferences", WITHIN, ids=["largest", "deepest"])
async def test_preferences_up_to_the_bounds_are_stored(client: Client, preferences: dict[str, Any]) -> None:
    response = await client.post("/users", json={"email": "r@example.com", "name": "R", "preferences": preferences})
    assert response.status_code == 201, response.text
    assert response.json()["user"]["preferences"] == preferences


@pytest.mark.parametrize("preferences", BEYOND, ids=["too-large", "too-deep"])
async def test_preferences_past_the_bounds_are_400_naming_the_field(
    client: Client, customer: Account, preferences: dict[str, Any]
) -> None:
    registration = {"email": "r@example.com", "name": "R", "preferences": preferences}
    assert_problem(await client.post("/users", json=registration), 400, field="preferences")
    patch = await client.patch(
        f"/users/{customer.user_id}", json={"preferences": preferences}, headers=customer.headers
    )
    assert_problem(patch, 400, field="preferences")


@pytest.mark.parametrize(("value", "status"), [(WITHIN[0], 201), (WITHIN[1], 201), (BEYOND[0], 400), (BEYOND[1], 400)])
async def test_a_settings_value_has_the_same_bounds(
    client: Client, customer: Account, value: dict[str, Any], status: int
) -> None:
    url = f"/users/{customer.user_id}/settings/layout"
    response = await client.put(url, json={"value": value}, headers=customer.headers)
    if status == 201:
        assert response.status_code == 201, response.text
    else:
        assert_problem(response, 400, field="value")
    big_list = ["x" * 100] * 200  # not an object: any JSON value is bounded alike
    assert_problem(await client.put(url, json={"value": big_list}, headers=customer.headers), 400, field="value")


@pytest.mark.parametrize("prefers", BEYOND, ids=["too-large", "too-deep"])
async def test_the_prefers_filter_has_the_same_bounds(client: Client, staff: Account, prefers: dict[str, Any]) -> None:
    response = await client.get(
        "/users", params={"prefers": msgspec.json.encode(prefers).decode()}, headers=staff.headers
    )
    assert_problem(response, 400, field="prefers")
    fine = await client.get("/users", params={"prefers": '{"newsletter": true}'}, headers=staff.headers)
    assert fine.status_code == 200, fine.text


async def test_the_database_refuses_large_documents_from_any_writer(
    conn: asyncpg.Connection, customer: Account
) -> None:
    large = {"note": "x" * 70_000}
    with pytest.raises(asyncpg.CheckViolationError, match="users_preferences_size"):
        await conn.execute("UPDATE users SET preferences = $1 WHERE id = $2", large, customer.user_id)
    with pytest.raises(asyncpg.CheckViolationError, match="user_settings_value_size"):
        await conn.execute(
            "INSERT INTO user_settings (user_id, key, value) VALUES ($1, 'big', $2)", customer.user_id, large
        )
    # What the service accepts fits: the jsonb text of the largest document is within the bound.
    await conn.execute("UPDATE users SET preferences = $1 WHERE id = $2", WITHIN[0], customer.user_id)


async def test_a_document_the_database_expands_past_its_bound_is_a_4xx(client: Client, customer: Account) -> None:
    """jsonb writes numbers out in full: 1e308 is 309 digits. Compact, this is under 16 KiB."""
    huge_numbers = {"n": [1e308] * 300}
    assert len(msgspec.json.encode(huge_numbers)) < MAX_DOCUMENT_BYTES
    patch = await client.patch(
        f"/users/{customer.user_id}", json={"preferences": huge_numbers}, headers=customer.headers
    )
    body = assert_problem(patch, 422)
    assert body["constraint"] == "users_preferences_size"
