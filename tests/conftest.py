"""Every test that touches data runs against a real PostgreSQL.

The server is, in order: TEST_DATABASE_URL (a superuser URL, so databases can be created);
else a testcontainers PostgreSQL 18 when a Docker engine answers; else an embedded PostgreSQL 18
in a temporary folder. Migrations are applied once into a template database, and every test
gets its own fresh database cloned from it (about 20 ms), so tests never see each other's rows.
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from bookshop.accounts import repository
from bookshop.accounts.schemas import Role
from bookshop.app import create_app
from bookshop.db import admin, embedded, migrations
from bookshop.db.pool import connect
from bookshop.settings import Settings

TEMPLATE_DATABASE = "bookshop_test_template"
TEST_PEPPER = "pepper-for-the-test-suite-only"


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A superuser URL on the server the suite uses (its `postgres` database)."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
    elif _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:18") as container:
            yield container.get_connection_url(driver=None)
    else:
        pgdata = Path(tempfile.mkdtemp(prefix="bookshop-test-")) / "pg"
        server = embedded.server(pgdata)
        url = server.get_uri("postgres")
        # Durability buys nothing in a throwaway cluster; these are reloadable without a restart.
        with admin.admin_connection(url) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")
        yield url
        embedded.stop(pgdata)
        shutil.rmtree(pgdata.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def template_url(server_url: str) -> str:
    """The template database, migrated once per run."""
    with admin.admin_connection(server_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)")
    admin.create_database(server_url, TEMPLATE_DATABASE)
    url = with_database(server_url, TEMPLATE_DATABASE)
    migrations.apply(url)
    return url


@pytest.fixture(scope="session")
async def admin_conn(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(server_url)
    yield conn
    await conn.close()


@pytest.fixture
async def database_url(admin_conn: asyncpg.Connection, template_url: str, server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    await admin_conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE}")
    yield with_database(server_url, name)
    await admin_conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, api_key_pepper=TEST_PEPPER, pool_min_size=1, pool_max_size=8)


@pytest.fixture
async def conn(settings: Settings, database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection set up like the pool's, for repository tests and arranging data."""
    connection = await connect(settings, dsn=database_url)
    yield connection
    await connection.close()


ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncTestClient[Any]]]


@pytest.fixture
def make_client(settings: Settings) -> ClientFactory:
    """An app client with settings changed as a test needs; `async with make_client(x=1) as c`."""

    @asynccontextmanager
    async def factory(**changes: Any) -> AsyncIterator[AsyncTestClient[Any]]:
        app = create_app(msgspec.structs.replace(settings, **changes))
        async with AsyncTestClient(app=app) as client:
            yield client

    return factory


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncIterator[AsyncTestClient[Any]]:
    async with make_client() as test_client:
        yield test_client


class Account(msgspec.Struct):
    user_id: uuid.UUID
    email: str
    role: Role
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


AccountFactory = Callable[..., Any]


@pytest.fixture
def make_account(conn: asyncpg.Connection) -> AccountFactory:
    """Creates a user with an API key straight through the repository."""

    async def factory(role: Role = "customer", email: str | None = None, **fields: Any) -> Account:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        user = await repository.create_user(
            conn, email=email, name=fields.pop("name", f"A {role}"), role=role, **fields
        )
        issued = await repository.issue_api_key(conn, user_id=user.id, name="test", pepper=TEST_PEPPER)
        return Account(user_id=user.id, email=email, role=role, key=issued.key)

    return factory


@pytest.fixture
async def customer(make_account: AccountFactory) -> Account:
    account: Account = await make_account("customer")
    return account


@pytest.fixture
async def staff(make_account: AccountFactory) -> Account:
    account: Account = await make_account("staff")
    return account


@pytest.fixture
async def admin_account(make_account: AccountFactory) -> Account:
    account: Account = await make_account("admin")
    return account
