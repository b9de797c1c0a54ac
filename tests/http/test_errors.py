"""Every error leaves as problem+json with the right status; nothing internal leaks."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.testing import AsyncTestClient

from bookshop.db.pool import Database, create_pool
from bookshop.http.errors import EXCEPTION_HANDLERS
from bookshop.settings import Settings
from tests.support.accounts import Account
from tests.support.clients import Client, ClientFactory

# Statements that make the real server raise each class of error the mapping knows.
FAILING_STATEMENTS = {
    "unique": (
        "INSERT INTO users (email, name) VALUES ('dup@example.com', 'A'), ('DUP@example.com', 'B')",
        409,
        "unique-violation",
    ),
    "foreign-key": (
        "SELECT set_config('app.role', 'admin', true); INSERT INTO user_profiles (user_id) VALUES (uuid_v7())",
        409,
        "foreign-key-violation",
    ),
    "row-level-security": (
        "INSERT INTO user_profiles (user_id) VALUES (uuid_v7())",  # no caller named: the policy refuses
        403,
        "insufficient-privilege",
    ),
    "check": ("INSERT INTO users (email, name) VALUES ('no-at-sign', 'A')", 422, "check-violation"),
    "not-null": ("INSERT INTO users (email) VALUES ('x@example.com')", 400, "not-null-violation"),
    "exclusion": (
        "CREATE TEMP TABLE slots (during tstzrange, EXCLUDE USING gist (during WITH &&));"
        "INSERT INTO slots VALUES (tstzrange(now(), now() + interval '1 hour')),"
        " (tstzrange(now(), now() + interval '2 hours'))",
        409,
        "exclusion-violation",
    ),
    "invalid-data": ("SELECT 1 / 0", 400, "invalid-data"),
    "restrict-violation": (  # no mapping of its own: class 23 answers
        "CREATE TEMP TABLE parents (id int PRIMARY KEY);"
        "CREATE TEMP TABLE children (parent int REFERENCES parents ON DELETE RESTRICT);"
        "INSERT INTO parents VALUES (1); INSERT INTO children VALUES (1); DELETE FROM parents",  # 23001
        409,
        "integrity-violation",
    ),
    "input-too-large": ("SELECT array_fill(1, ARRAY[200000000])", 422, "input-too-large"),  # 54000
    "read-only": (  # what a standby, or a primary failing over, answers to a write
        "SET TRANSACTION READ ONLY; INSERT INTO users (email, name) VALUES ('ro@example.com', 'A')",
        503,
        "read-only-database",
    ),
    "statement-timeout": ("SET LOCAL statement_timeout = 50; SELECT pg_sleep(1)", 503, "statement-timeout"),
}


@pytest.fixture
async def failing_client(settings: Settings, database_url: str) -> AsyncIterator[Client]:
    """An app with the service's error handlers and one route that runs a failing statement."""

    @asynccontextmanager
    async def pool_lifespan(app: Litestar) -> AsyncIterator[None]:
        # The test client runs the app on its own event loop: the pool must be made there.
        pool = await create_pool(settings, dsn=database_url)
        app.state.database = Database(pool, acquire_timeout=1)
        yield
        await pool.close()

    @get("/fail/{case:str}")
    async def fail(case: FromPath[str], request: Request[Any, Any, Any]) -> None:
        async with request.app.state.database.transaction() as conn:
            await conn.execute(FAILING_STATEMENTS[case][0])

    @get("/crash")
    async def crash() -> None:
        raise RuntimeError("SELECT secret FROM internals; password=hunter2")

    app = Litestar(
        [fail, crash],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings}),
        lifespan=[pool_lifespan],
    )
    async with AsyncTestClient(app=app) as client:
        yield client


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


@pytest.mark.parametrize("case", FAILING_STATEMENTS)
async def test_database_errors_map_to_their_status(failing_client: Client, case: str) -> None:
    _, status, kind = FAILING_STATEMENTS[case]
    response = await failing_client.get(f"/fail/{case}")
    body = problem(response, status)
    assert body["type"] == f"urn:bookshop:problem:{kind}"
    assert "INSERT" not in response.text  # no SQL text
    assert "SELECT" not in response.text
    if status == 503:
        assert response.headers["retry-after"] == "2"
    if kind in ("unique-violation", "foreign-key-violation", "check-violation", "exclusion-violation"):
        assert body["constraint"]
    assert "Failing row" not in response.text  # a check's DETAIL shows the whole row


async def test_an_unexpected_error_is_a_bare_500(failing_client: Client) -> None:
    response = await failing_client.get("/crash")
    body = problem(response, 500)
    assert set(body) == {"type", "title", "status"}
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text


async def test_unknown_routes_and_methods(client: Client) -> None:
    problem(await client.get("/no/such/route"), 404)
    problem(await client.delete("/health"), 405)


async def test_an_oversized_body_is_413(make_client: ClientFactory) -> None:
    async with make_client(max_body_bytes=1024) as client:
        response = await client.post("/users", json={"email": "big@example.com", "name": "x" * 2000})
        problem(response, 413)
        small = await client.post("/users", json={"email": "small@example.com", "name": "Small"})
        assert small.status_code == 201


async def test_wrong_content_is_400_never_500(client: Client, customer: Account) -> None:
    url = f"/users/{customer.user_id}/settings/theme"
    for content in [b"", b"null", b"[]", b"\xff\xfe", b'{"value": 1', b'{"value": 1}{']:
        response = await client.put(
            url, content=content, headers={**customer.headers, "content-type": "application/json"}
        )
        problem(response, 400)


async def test_a_statement_timeout_on_a_real_route_is_503(
    make_client: ClientFactory, customer: Account, conn: asyncpg.Connection
) -> None:
    async with make_client(statement_timeout_ms=300) as client:
        assert (await client.get("/me", headers=customer.headers)).status_code == 200
        async with conn.transaction():
            await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", customer.user_id)
            blocked = await client.patch(f"/users/{customer.user_id}", json={"name": "Waits"}, headers=customer.headers)
        body = problem(blocked, 503)
        assert body["type"] == "urn:bookshop:problem:statement-timeout"
        assert blocked.headers["retry-after"] == "2"
        retried = await client.patch(f"/users/{customer.user_id}", json={"name": "Waits"}, headers=customer.headers)
        assert retried.status_code == 200
