"""Input a hostile client sends: each is a 4xx problem naming what is wrong, never a 500."""

import json
import uuid
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.catalog import add_author, add_book
from tests.support.clients import Client
from tests.support.problems import assert_problem

JSON = {"content-type": "application/json"}


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_text(depth: int) -> str:
    """JSON arrays nested `depth` deep, as text (encoders recurse, and give up first)."""
    return "[" * depth + "]" * depth


async def test_a_body_that_is_not_utf8_is_a_400(client: Client) -> None:
    body = b'{"email": "a@example.com", "name": "\xff\xfe"}'
    assert_problem(await client.post("/users", content=body, headers=JSON), 400, field="body")


@pytest.mark.parametrize("depth", [2000, 100_000])
async def test_json_nested_past_what_the_decoder_takes_is_a_400(client: Client, depth: int) -> None:
    body = '{"email": "a@example.com", "name": "A", "preferences": {"x": ' + nested_text(depth) + "}}"
    response = await client.post("/users", content=body, headers=JSON)
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


async def test_a_body_that_is_not_json_by_its_media_type_is_a_415(client: Client) -> None:
    body = json.dumps({"email": "plain@example.com", "name": "Plain"})
    assert_problem(await client.post("/users", content=body, headers={"content-type": "text/plain"}), 415)
    assert_problem(await client.post("/users", content=body), 415)  # no media type at all


async def test_a_string_is_not_taken_for_a_number(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    body = {"slug": "strict", "title": "Strict", "author_id": author_id, "price": "1.00", "stock": "3"}
    response = await client.post("/books", json=body, headers=staff.headers)
    problem = assert_problem(response, 400, field="stock")
    assert "$" not in json.dumps(problem)  # msgspec's path syntax is turned into the field's name


@pytest.mark.parametrize("price", ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "1e400"])
async def test_non_finite_prices_are_refused_everywhere(client: Client, staff: Account, price: str) -> None:
    author_id = await add_author(client, staff)
    body = {"slug": "priced", "title": "Priced", "author_id": author_id, "price": price}
    assert_problem(await client.post("/books", json=body, headers=staff.headers), 400, field="price")
    book = await add_book(client, staff, author_id, "fine")
    patched = await client.patch(f"/books/{book['id']}", json={"price": price}, headers=staff.headers)
    assert_problem(patched, 400, field="price")
    line = json.dumps({**body, "isbn": "9780000000002"}).encode()
    imported = await client.post(
        "/books/import", content=line, headers={**staff.headers, "content-type": "application/x-ndjson"}
    )
    assert imported.status_code == 200, imported.text
    assert [rejection["line"] for rejection in imported.json()["rejected"]] == [1]


async def test_metadata_nested_deeper_than_the_bound_is_refused(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    body = {"slug": "deep", "title": "Deep", "author_id": author_id, "price": "1.00", "metadata": {"x": nested(20)}}
    assert_problem(await client.post("/books", json=body, headers=staff.headers), 400, field="metadata")
    body["metadata"] = {"x": nested(10)}
    assert (await client.post("/books", json=body, headers=staff.headers)).status_code == 201


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/admin/events", {"until": "0001-01-01T00:00:00Z"}, "until"),  # its default window starts before year 1
        ("/admin/events", {"since": "0001-01-01T00:00:00+01:00", "until": "0001-01-02T00:00:00Z"}, "since"),
        ("/admin/bookings/stats", {"from": "9999-12-31T23:00:00-05:00", "to": "9999-12-31T23:30:00-05:00"}, "from"),
    ],
)
async def test_times_at_the_edges_of_the_calendar_are_400s(
    client: Client, admin_account: Account, path: str, params: dict[str, str], field: str
) -> None:
    assert_problem(await client.get(path, params=params, headers=admin_account.headers), 400, field=field)


async def test_each_bad_row_of_an_import_is_refused_with_its_line(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    header = "isbn,slug,title,author_id,price,is_published,published_at,metadata\n"
    good = f'9780000000019,good,Good,{author_id},1.00,true,2020-01-01T00:00:00Z,"{{}}"\n'
    rows = [
        f"9780000000026,bad-bytes,Bad \xff bytes,{author_id},1.00,false,,\n".encode("latin-1"),
        f"9780000000033,nul,Has a \x00 NUL,{author_id},1.00,false,,\n".encode(),
        f"9780000000040,huge,{'x' * 200_000},{author_id},1.00,false,,\n".encode(),
        f'9780000000057,deep,Deep,{author_id},1.00,false,,"{nested_text(3000)}"\n'.encode(),
        f"9780000000064,nan,NaN,{author_id},NaN,false,,\n".encode(),
    ]
    data = header.encode() + good.encode() + b"".join(rows) + good.replace("0019,good", "0071,also-good").encode()
    response = await client.post("/books/import", content=data, headers={**staff.headers, "content-type": "text/csv"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["inserted"] == 2
    assert [rejection["line"] for rejection in report["rejected"]] == [3, 4, 5, 6, 7]
    assert (await client.get("/books/also-good")).status_code == 200


async def test_a_nul_in_one_ndjson_row_refuses_that_row_only(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    lines = [
        {"isbn": "9780000000088", "slug": "nul-title", "title": "A\u0000B", "author_id": author_id, "price": "1"},
        {"isbn": "9780000000095", "slug": "nul-meta", "title": "M", "author_id": author_id, "price": "1",
         "metadata": {"note": "x\u0000"}},
        {"isbn": "9780000000101", "slug": "backslash", "title": "A \\u0000 B", "author_id": author_id, "price": "1"},
    ]  # fmt: skip
    data = b"\n".join(json.dumps(line).encode() for line in lines)
    response = await client.post(
        "/books/import", content=data, headers={**staff.headers, "content-type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    assert [rejection["line"] for rejection in response.json()["rejected"]] == [1, 2]
    assert response.json()["inserted"] == 1  # the text "\u0000" is no NUL


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "A\u0000B"), ("subtitle", "\u0000"), ("metadata", {"note": "x\u0000"}), ("metadata", {"\u0000": 1})],
)
async def test_a_nul_anywhere_in_a_json_body_is_a_400_naming_the_field(
    client: Client, staff: Account, field: str, value: Any
) -> None:
    author_id = await add_author(client, staff)
    body = {"slug": f"n-{uuid.uuid4().hex[:8]}", "title": "T", "author_id": author_id, "price": "1", field: value}
    assert_problem(await client.post("/books", json=body, headers=staff.headers), 400, field=field)


async def test_a_nul_in_a_query_or_a_path_is_a_400_naming_it(client: Client) -> None:
    assert_problem(await client.get("/books/search", params={"q": "a\u0000"}), 400, field="q")
    assert_problem(await client.get("/books/a%00b"), 400, field="book")


@pytest.mark.parametrize("price", [12.5, 12, "1e3", " 5", "5 ", "5.001", "05", "+5", "-1", "", "5\n", "10000000000"])
async def test_a_price_is_a_decimal_string_in_one_form(client: Client, staff: Account, price: Any) -> None:
    """The form the document's pattern shows, and only it: a JSON number (a float to many a
    client) and the other spellings Python's Decimal() reads are refused."""
    author_id = await add_author(client, staff)
    body = {"slug": f"p-{uuid.uuid4().hex[:8]}", "title": "Priced", "author_id": author_id, "price": price}
    assert_problem(await client.post("/books", json=body, headers=staff.headers), 400, field="price")


@pytest.mark.parametrize(("price", "stored"), [("0", "0.00"), ("12.5", "12.50"), ("9999999999.99", "9999999999.99")])
async def test_a_price_in_that_form_is_taken(client: Client, staff: Account, price: str, stored: str) -> None:
    author_id = await add_author(client, staff)
    body = {"slug": f"p-{uuid.uuid4().hex[:8]}", "title": "Priced", "author_id": author_id, "price": price}
    created = await client.post("/books", json=body, headers=staff.headers)
    assert created.status_code == 201, created.text
    assert created.json()["price"] == stored


async def test_an_integral_number_is_an_integer_as_json_schema_says(client: Client, staff: Account) -> None:
    book = await add_book(client, staff, await add_author(client, staff), "rated")
    url = f"/books/{book['id']}/reviews/me"
    taken = await client.put(url, json={"rating": 4.0, "body": "Good."}, headers=staff.headers)
    assert taken.status_code == 201, taken.text
    assert taken.json()["rating"] == 4
    assert_problem(await client.put(url, json={"rating": 4.5}, headers=staff.headers), 400, field="rating")
    assert_problem(await client.put(url, json={"rating": "4"}, headers=staff.headers), 400, field="rating")


@pytest.mark.parametrize(
    "email",
    ["reader@example.com\n", "read\x1cer@example.com", "read\u00a0er@example.com", "reader@exa mple.com"],
)
async def test_an_email_with_a_space_or_control_character_is_a_400(client: Client, email: str) -> None:
    """Python's \\s and the document's (ECMA) \\s differ on \\x1c and on a final newline: the
    pattern lists what it refuses, so both read it alike."""
    assert_problem(await client.post("/users", json={"email": email, "name": "R"}, headers=JSON), 400, field="email")


async def test_a_name_of_nothing_visible_is_a_400(client: Client) -> None:
    body = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "name": "\x1c\u3000"}
    assert_problem(await client.post("/users", json=body, headers=JSON), 400, field="name")


async def test_a_published_at_without_an_offset_is_a_400(client: Client, staff: Account) -> None:
    author_id = await add_author(client, staff)
    body = {"slug": "naive", "title": "N", "author_id": author_id, "price": "1", "published_at": "2020-01-01T00:00:00"}
    assert_problem(await client.post("/books", json=body, headers=staff.headers), 400, field="published_at")


async def test_a_null_setting_is_a_400_naming_value(client: Client, customer: Account) -> None:
    url = f"/users/{customer.user_id}/settings/theme"
    assert_problem(await client.put(url, json={"value": None}, headers=customer.headers), 400, field="value")


async def test_a_job_id_past_bigint_is_a_400_naming_it(client: Client, admin_account: Account) -> None:
    retried = await client.post("/admin/jobs/7850159767682260989378560/retry", headers=admin_account.headers)
    assert_problem(retried, 400, field="job_id")
