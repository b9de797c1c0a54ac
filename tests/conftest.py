"""Every test that touches data runs against a real PostgreSQL.

The server is, in order: TEST_DATABASE_URL (a superuser URL, so roles and databases can be
created); else a testcontainers PostgreSQL 18 when a Docker engine answers; else an embedded
PostgreSQL 18 in a temporary folder. The bootstrap makes the owner and application roles, the
owner migrates a template database once, and every test gets its own fresh database cloned from
it (about 50 ms), so tests never see each other's rows.

The app and service tests run as the application role, as the service does; fixtures that
arrange or inspect data (`conn`, `make_account`) use the owner, as a migration would.
"""

import asyncio
import compileall
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from bookshop.accounts import service
from bookshop.accounts.schemas import Role
from bookshop.app import create_app
from bookshop.db import admin, embedded, migrations
from bookshop.db.pool import Database, connect, create_pool
from bookshop.db.urls import DatabaseUrls
from bookshop.jobs.handlers import HANDLERS
from bookshop.jobs.worker import Worker, WorkerOptions
from bookshop.settings import Settings
from tests.support.accounts import TEST_PEPPER, Account, AccountFactory
from tests.support.clients import Client, ClientFactory, ConcurrentClient, ConcurrentClientFactory, concurrent_client
from tests.support.databases import ROLE_PASSWORD, TEMPLATE_DATABASE, cloned_database, urls_for
from tests.support.logs import LogLines
from tests.support.pgbouncer import PgBouncer, running_pgbouncer
from tests.support.replica import StreamingPair
from tests.support.waiting import wait_until

# The modules that take longest, longest first: they start first, so that with two workers
# (pytest-xdist, pyproject.toml's addopts) neither ends the run alone while the other idles.
SLOW_MODULES = (
    "tests/test_fuzz.py",
    "tests/db/test_query_plans.py",
    "tests/cli/test_concurrent_starts.py",
    "tests/cli/test_db.py",
    "tests/cli/test_migrate.py",
    "tests/db/test_migrations.py",
    "tests/http/test_metrics_workers.py",
    "tests/cli/test_serve.py",
    "tests/db/test_sql_review.py",
    "tests/cli/test_serve_workers.py",
    "tests/http/test_docs_page.py",
    "tests/ops/test_doctor.py",
    "tests/http/test_rate_limit_workers.py",
    "tests/http/test_body_timeout.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Moves SLOW_MODULES' tests to the front, keeping every other test in its order (only the
    order changes: every collected test still runs)."""

    def rank(item: pytest.Item) -> int:
        module = item.nodeid.partition("::")[0]
        return SLOW_MODULES.index(module) if module in SLOW_MODULES else len(SLOW_MODULES)

    items.sort(key=rank)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compiles the project's own modules once, before any test starts a `bookshop` process:
    where PYTHONDONTWRITEBYTECODE is set (CI's machine), each process would compile them anew.
    (The dependencies are installed compiled: pyproject.toml's [tool.uv].)"""
    if not hasattr(session.config, "workerinput"):  # the xdist controller, or a run without workers
        compileall.compile_dir(Path(__file__).resolve().parents[1] / "src", quiet=1)


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

        # Preloaded as the embedded server does, for the diagnostics' slowest statements.
        preload = "postgres -c shared_preload_libraries=pg_stat_statements"
        with PostgresContainer("postgres:18").with_command(preload) as container:
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
def template_urls(server_url: str) -> DatabaseUrls:
    """The template database: bootstrapped and migrated once per run."""
    with admin.admin_connection(server_url) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DATABASE} WITH (FORCE)")
    admin.bootstrap(server_url, database=TEMPLATE_DATABASE, owner_password=ROLE_PASSWORD, app_password=ROLE_PASSWORD)
    urls = urls_for(server_url, TEMPLATE_DATABASE)
    migrations.apply(urls.owner)
    return urls


@pytest.fixture(scope="session")
async def admin_conn(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(server_url)
    yield conn
    await conn.close()


@pytest.fixture
async def database_urls(
    admin_conn: asyncpg.Connection, template_urls: DatabaseUrls, server_url: str
) -> AsyncIterator[DatabaseUrls]:
    """A fresh, migrated database for this test alone."""
    async with cloned_database(admin_conn, server_url, "test") as urls:
        yield urls


@pytest.fixture
def database_url(database_urls: DatabaseUrls) -> str:
    """The test database as the service reaches it: as the application role."""
    return database_urls.app


@pytest.fixture
def settings(database_urls: DatabaseUrls) -> Settings:
    return Settings(
        database_url=database_urls.app,
        migrations_database_url=database_urls.owner,
        api_key_pepper=TEST_PEPPER,
        pool_min_size=1,
        pool_max_size=8,
    )


@pytest.fixture
async def conn(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[asyncpg.Connection]:
    """The owner's connection, for arranging and inspecting data past the app's privileges."""
    connection = await connect(settings, dsn=database_urls.owner)
    yield connection
    await connection.close()


@pytest.fixture
async def app_conn(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the application role, set up like the pool's: what repositories get."""
    connection = await connect(settings, dsn=database_urls.app)
    yield connection
    await connection.close()


@pytest.fixture
def cli_env(database_urls: DatabaseUrls) -> dict[str, str]:
    """The environment the `bookshop` command needs for the test's database."""
    return {
        "DATABASE_URL": database_urls.app,
        "MIGRATIONS_DATABASE_URL": database_urls.owner,
        "API_KEY_PEPPER": TEST_PEPPER,
    }


@pytest.fixture
def make_client(settings: Settings) -> ClientFactory:
    """An app client with settings changed as a test needs; `async with make_client(x=1) as c`."""

    @asynccontextmanager
    async def factory(**changes: Any) -> AsyncIterator[Client]:
        app = create_app(msgspec.structs.replace(settings, **changes))
        async with AsyncTestClient(app=app) as client:
            yield client

    return factory


@pytest.fixture
def make_concurrent_client(settings: Settings) -> ConcurrentClientFactory:
    """As make_client, for requests that must really overlap: a concurrent_client."""

    def factory(**changes: Any) -> AbstractAsyncContextManager[ConcurrentClient]:
        return concurrent_client(create_app(msgspec.structs.replace(settings, **changes)))

    return factory


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncIterator[Client]:
    async with make_client() as test_client:
        yield test_client


@pytest.fixture
def make_account(conn: asyncpg.Connection) -> AccountFactory:
    """Creates a user with an API key straight through the service."""

    async def factory(role: Role = "customer", email: str | None = None, **fields: Any) -> Account:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        user = await service.create_user(conn, email=email, name=fields.pop("name", f"A {role}"), role=role, **fields)
        issued = await service.issue_api_key(conn, user_id=user.id, name="test", pepper=TEST_PEPPER)
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


@pytest.fixture
async def drain_queue(settings: Settings, database_urls: DatabaseUrls) -> AsyncIterator[Any]:
    """Runs the real worker (the handlers `bookshop worker` runs) until no job is due or running;
    jobs due later stay queued. Call it with an owner's connection to watch the queue."""
    pool = await create_pool(msgspec.structs.replace(settings, pool_max_size=4), dsn=database_urls.app)
    database = Database(pool, acquire_timeout=5)

    async def drain(conn: asyncpg.Connection) -> None:
        stop = asyncio.Event()
        worker = Worker(
            database,
            settings=settings,
            listen_dsn=database_urls.app,
            handlers=HANDLERS,
            options=WorkerOptions(concurrency=2, poll_interval=0.05),
        )
        task = asyncio.create_task(worker.run(stop))

        async def queue_empty() -> bool:
            due_or_running = await conn.fetchval(
                "SELECT count(*) FROM jobs WHERE (status = 'queued' AND run_at <= now()) OR status = 'running'"
            )
            return due_or_running == 0

        await wait_until(queue_empty, "the worker emptied the queue")
        stop.set()
        await asyncio.wait_for(task, 10)

    yield drain
    await pool.close()


@pytest.fixture
def logs(capfd: pytest.CaptureFixture[str]) -> LogLines:
    """The app's JSON log lines, read as they arrive."""
    return LogLines(capfd)


# A primary and its streaming replica (tests/support/replica.py): a cluster of their own, so
# stopping, pausing or turning them read-only never reaches the suite's server.
REPLICA_TEMPLATE = "bookshop_replica_template"


@pytest.fixture(scope="session")
def streaming_pair() -> Iterator[StreamingPair]:
    """The pair, with a template database bootstrapped and migrated on the primary."""
    pair = StreamingPair.create()
    try:
        pair.bootstrap(REPLICA_TEMPLATE)
        yield pair
    finally:
        pair.close()


@pytest.fixture
async def replicated_urls(streaming_pair: StreamingPair) -> AsyncIterator[tuple[DatabaseUrls, DatabaseUrls]]:
    """A fresh database on the primary, (primary URLs, replica URLs), once the replica has
    replayed it. Whatever a test did to the pair (replay paused, replica stopped, primary
    read-only) is undone afterwards."""
    primary, replica = streaming_pair.primary, streaming_pair.replica
    name = f"replicated_{uuid.uuid4().hex[:12]}"
    await primary.execute(f"CREATE DATABASE {name} TEMPLATE {REPLICA_TEMPLATE} OWNER {admin.OWNER_ROLE}")
    await wait_until(streaming_pair.caught_up, "the replica replayed the new database")
    try:
        yield urls_for(primary.url(), name), urls_for(replica.url(), name)
    finally:
        if not replica.running:
            await asyncio.to_thread(replica.start)
        await streaming_pair.resume_replay()
        await streaming_pair.set_primary_read_only(False)
        await primary.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
def promotable_pair() -> Iterator[tuple[StreamingPair, DatabaseUrls]]:
    """A pair of this test's own, for a failover that promotes the replica (which ends the
    pair): the pair and the URLs of its migrated database on the primary."""
    pair = StreamingPair.create()
    try:
        yield pair, pair.bootstrap("bookshop")
    finally:
        pair.close()


@pytest.fixture(scope="session")
async def pgbouncer(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PgBouncer]:
    """A real PgBouncer in transaction mode in front of the suite's server, two server sessions
    per database and role (tests/support/pgbouncer.py)."""
    async with running_pgbouncer(server_url, tmp_path_factory.mktemp("pgbouncer")) as bouncer:
        yield bouncer


@pytest.fixture
def pooled_settings(settings: Settings, database_urls: DatabaseUrls, pgbouncer: PgBouncer) -> Settings:
    """The test's settings with the app behind PgBouncer in pooler mode; the worker LISTENs on a
    direct connection."""
    return msgspec.structs.replace(
        settings,
        database_url=pgbouncer.url(database_urls.app),
        database_pooler="transaction",
        worker_listen_url=database_urls.app,
    )
