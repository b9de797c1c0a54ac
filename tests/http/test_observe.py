"""Every request: an X-Request-ID (the caller's when sane), one JSON access log line, error
responses and the records logged on their way carrying the same id."""

import re

import asyncpg
import pytest

from tests.support.accounts import Account
from tests.support.clients import ClientFactory
from tests.support.logs import LogLines

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


async def test_one_json_access_line_per_request_with_the_header_id(make_client: ClientFactory, logs: LogLines) -> None:
    async with make_client() as client:
        response = await client.get("/books/no-such-book")
    assert response.status_code == 404
    request_id = response.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(request_id)
    await logs.until(lambda _: bool(logs.access(request_id)))
    [line] = logs.access(request_id)
    assert line["level"] == "INFO"
    assert line["method"] == "GET"
    assert line["route"] == "/books/{book}"
    assert line["path"] == "/books/no-such-book"
    assert line["status"] == 404
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["time"].endswith("+00:00")


async def test_each_request_gets_its_own_id(make_client: ClientFactory) -> None:
    async with make_client() as client:
        ids = {(await client.get("/health")).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize(
    "incoming", ["0b1c3c0e-6f3b-4a2e-9a43-2b6d8b1f7e10", "5f0c6f7e8a9b4c1d", "Root-1.abc_def:9", "x" * 128]
)
async def test_a_sane_incoming_request_id_is_kept(make_client: ClientFactory, logs: LogLines, incoming: str) -> None:
    async with make_client() as client:
        response = await client.get("/health", headers={"X-Request-ID": incoming})
    assert response.headers["x-request-id"] == incoming
    await logs.until(lambda _: bool(logs.access(incoming)))
    assert logs.access(incoming)


@pytest.mark.parametrize("incoming", [b"", b"has space", b"semi;colon", b"<script>", b"x" * 129, "caf\u00e9".encode()])
async def test_a_bad_incoming_request_id_is_replaced(make_client: ClientFactory, incoming: bytes) -> None:
    async with make_client() as client:
        response = await client.get("/health", headers=[(b"X-Request-ID", incoming)])
    assert response.status_code == 200
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])


async def test_error_responses_carry_the_request_id(make_client: ClientFactory, customer: Account) -> None:
    async with make_client() as client:
        unknown_route = await client.get("/no/such/route", headers={"X-Request-ID": "r-404"})
        bad_input = await client.get("/books?limit=zero", headers={"X-Request-ID": "r-400"})
        no_key = await client.get("/me", headers={"X-Request-ID": "r-401"})
        wrong_method = await client.delete("/health", headers={"X-Request-ID": "r-405"})
    for response, status in [(unknown_route, 404), (bad_input, 400), (no_key, 401), (wrong_method, 405)]:
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-request-id"] == f"r-{status}"


async def test_a_database_fault_answers_503_and_its_log_record_carry_the_request_id(
    make_client: ClientFactory, customer: Account, conn: asyncpg.Connection, logs: LogLines
) -> None:
    async with make_client(statement_timeout_ms=300) as client, conn.transaction():
        await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", customer.user_id)
        blocked = await client.patch(
            f"/users/{customer.user_id}",
            json={"name": "Waits"},
            headers={**customer.headers, "X-Request-ID": "fault-1"},
        )
    assert blocked.status_code == 503
    assert blocked.headers["x-request-id"] == "fault-1"
    await logs.until(lambda _: bool(logs.access("fault-1")))
    warnings = [line for line in logs.lines if line["logger"] == "bookshop.errors"]
    assert [(w["level"], w["request_id"]) for w in warnings] == [("WARNING", "fault-1")]
    assert "57014" in warnings[0]["message"]  # the statement timeout's SQLSTATE
    [access] = logs.access("fault-1")
    assert access["status"] == 503
    assert access["route"] == "/users/{user_id}"


async def test_text_format_on_request(make_client: ClientFactory, logs: LogLines) -> None:
    async with make_client(log_format="text") as client:
        await client.get("/health", headers={"X-Request-ID": "text-1"})
        await logs.until(lambda _: "[request text-1]" in logs.text)
    [line] = [line for line in logs.text.splitlines() if "[request text-1]" in line]
    assert line.startswith("INFO - ")
    assert "bookshop.access" in line
    assert "GET /health 200" in line
    assert not line.startswith("{")
