"""Liveness, readiness, the OpenAPI document, and riding out a database outage."""

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from bookshop.accounts import service
from bookshop.app import create_app
from bookshop.db import embedded, migrations
from bookshop.db.admin import OWNER_ROLE
from bookshop.db.pool import connect
from bookshop.db.urls import DatabaseUrls
from bookshop.ops.diagnostics import migration_files
from bookshop.settings import Settings
from tests.support.accounts import TEST_PEPPER
from tests.support.clients import Client, ClientFactory
from tests.support.databases import urls_for
from tests.support.problems import assert_problem


async def test_health_and_ready(client: Client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    assert (await client.get("/ready")).json() == {"status": "ready"}


async def test_the_openapi_document_lists_the_api(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert document["info"]["title"] == "bookshop"
    for path in [
        "/users",
        "/users/{user_id}",
        "/users/{user_id}/settings/{key}",
        "/me",
        "/me/api-keys",
        "/admin/users/deactivate-inactive",
        "/health",
        "/ready",
    ]:
        assert path in document["paths"], path


@pytest.fixture
def own_server() -> Iterator[Path]:
    """A server of this test's own, since the test stops it."""
    pgdata = Path(tempfile.mkdtemp(prefix="bookshop-outage-")) / "pg"
    embedded.server(pgdata)
    yield pgdata
    embedded.stop(pgdata)
    shutil.rmtree(pgdata.parent, ignore_errors=True)


async def test_an_outage_is_503_and_the_service_recovers_without_a_restart(own_server: Path) -> None:
    urls = embedded.database_urls(own_server)
    migrations.apply(urls.owner)
    settings = Settings(
        database_url=urls.app,
        migrations_database_url=urls.owner,
        api_key_pepper=TEST_PEPPER,
        pool_min_size=1,
        pool_acquire_timeout=1,
    )
    conn = await connect(settings, dsn=urls.owner)
    user = await service.create_user(conn, email="outage@example.com", name="Outage")
    key = (await service.issue_api_key(conn, user_id=user.id, name="t", pepper=TEST_PEPPER)).key
    await conn.close()
    headers = {"Authorization": f"Bearer {key}"}

    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/me", headers=headers)).status_code == 200

        embedded.stop(own_server)
        down = await client.get("/me", headers=headers)
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        assert down.headers["retry-after"] == "2"
        not_ready = await client.get("/ready")
        assert not_ready.status_code == 503
        assert not_ready.headers["retry-after"] == "2"
        assert (await client.get("/health")).status_code == 200  # the process itself is fine

        embedded.server(own_server).ensure_postgres_running()
        assert (await client.get("/ready")).status_code == 200
        back = await client.get("/me", headers=headers)
        assert back.status_code == 200
        assert back.json()["email"] == "outage@example.com"


async def test_ready_is_503_while_a_migration_is_pending(
    database_urls: DatabaseUrls, make_client: ClientFactory, conn: asyncpg.Connection
) -> None:
    newest = migration_files()[-1]
    assert await asyncio.to_thread(migrations.rollback, database_urls.owner) == [newest]
    async with make_client() as client:
        pending = await client.get("/ready")
        assert_problem(pending, 503)
        assert pending.headers["retry-after"] == "2"
        assert pending.json()["type"] == "urn:bookshop:problem:migrations-pending"
        assert newest in pending.json()["detail"]

        assert await asyncio.to_thread(migrations.apply, database_urls.owner) == [newest]
        assert (await client.get("/ready")).json() == {"status": "ready"}

        # A schema newer than the code (a migration the code does not know yet) is ready too.
        await conn.execute(
            "INSERT INTO _yoyo_migration (migration_hash, migration_id, applied_at_utc)"
            " VALUES ('from-a-newer-release', '9999_from_a_newer_release', now())"
        )
        assert (await client.get("/ready")).json() == {"status": "ready"}


async def test_ready_is_503_on_a_database_never_migrated(
    admin_conn: asyncpg.Connection, server_url: str, template_urls: DatabaseUrls
) -> None:
    name = f"unmigrated_{uuid.uuid4().hex[:12]}"
    await admin_conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
    try:
        urls = urls_for(server_url, name)
        settings = Settings(database_url=urls.app, api_key_pepper=TEST_PEPPER, pool_min_size=1)
        async with AsyncTestClient(app=create_app(settings)) as client:
            answer = await client.get("/ready")
            assert_problem(answer, 503)
            assert migration_files()[0] in answer.json()["detail"]
    finally:
        await admin_conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
