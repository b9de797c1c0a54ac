"""Liveness, readiness, the OpenAPI document, and riding out a database outage."""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from bookshop.accounts import service
from bookshop.app import create_app
from bookshop.db import embedded, migrations
from bookshop.db.pool import connect
from bookshop.settings import Settings
from tests.support.accounts import TEST_PEPPER
from tests.support.clients import Client


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
